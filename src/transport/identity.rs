//! The identity a client certificate proves, as authorization rules name callers: its URI SAN
//! (a SPIFFE id such as `spiffe://cluster.local/ns/ran/sa/trainer`), else its DNS SAN, else
//! its subject CN. The handshake has already verified the chain; this only reads names.

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The identity of a DER certificate, or `None` when it names nothing usable (or does not
/// parse, which a verified certificate always does).
pub(crate) fn certificate_identity(der: &[u8]) -> Option<String> {
    let (_, certificate) = X509Certificate::from_der(der).ok()?;
    let extension = certificate.subject_alternative_name().ok().flatten();
    let alternative_names: &[GeneralName<'_>] =
        extension.map_or(&[], |extension| &extension.value.general_names);
    let uri = alternative_names.iter().find_map(|name| match name {
        GeneralName::URI(uri) => Some(*uri),
        _ => None,
    });
    let dns = alternative_names.iter().find_map(|name| match name {
        GeneralName::DNSName(dns) => Some(*dns),
        _ => None,
    });
    let common_name = || {
        certificate
            .subject()
            .iter_common_name()
            .find_map(|attribute| attribute.as_str().ok())
    };
    uri.or(dns)
        .or_else(common_name)
        .filter(|identity| !identity.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType};

    use super::certificate_identity;

    fn certificate(names: Vec<SanType>, common_name: Option<&str>) -> Vec<u8> {
        let mut params = CertificateParams::default();
        params.subject_alt_names = names;
        // rcgen names every certificate "rcgen self signed cert" unless told otherwise.
        params.distinguished_name = DistinguishedName::new();
        if let Some(common_name) = common_name {
            params
                .distinguished_name
                .push(DnType::CommonName, common_name);
        }
        let key = KeyPair::generate().expect("a key pair");
        params
            .self_signed(&key)
            .expect("a certificate")
            .der()
            .to_vec()
    }

    fn uri(value: &str) -> SanType {
        SanType::URI(value.try_into().unwrap())
    }

    fn dns(value: &str) -> SanType {
        SanType::DnsName(value.try_into().unwrap())
    }

    const SPIFFE_ID: &str = "spiffe://cluster.local/ns/ran/sa/trainer";

    #[test]
    fn a_uri_san_wins_over_dns_sans_and_the_common_name() {
        let der = certificate(
            vec![dns("trainer.ran.svc"), uri(SPIFFE_ID)],
            Some("trainer"),
        );
        assert_eq!(certificate_identity(&der).as_deref(), Some(SPIFFE_ID));
    }

    #[test]
    fn a_dns_san_wins_over_the_common_name() {
        let der = certificate(vec![dns("trainer.ran.svc")], Some("trainer"));
        assert_eq!(
            certificate_identity(&der).as_deref(),
            Some("trainer.ran.svc")
        );
    }

    #[test]
    fn the_common_name_is_the_identity_of_a_certificate_without_names() {
        let der = certificate(vec![], Some("trainer"));
        assert_eq!(certificate_identity(&der).as_deref(), Some("trainer"));
    }

    #[test]
    fn ip_sans_are_not_identities() {
        let der = certificate(
            vec![SanType::IpAddress("10.0.0.7".parse().unwrap())],
            Some("trainer"),
        );
        assert_eq!(certificate_identity(&der).as_deref(), Some("trainer"));
    }

    #[test]
    fn a_certificate_that_names_nothing_has_no_identity() {
        assert_eq!(certificate_identity(&certificate(vec![], None)), None);
        assert_eq!(certificate_identity(b"not a certificate"), None);
    }
}
