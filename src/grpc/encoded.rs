//! A ListModels answer written from registrations encoded once: each registration's protobuf
//! is kept with it (`Held`), and a page is those bytes behind their field keys, then the page
//! token and the sequence. The wire form is `ListModelsResponse`'s exactly: a repeated message
//! field is a run of length-delimited fields, whatever made their bytes.

use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes};
use prost::Message;
use prost::encoding::{self, DecodeContext, WireType};

use super::convert;
use crate::domain::{Encoding, Held};

/// `ListModelsResponse`'s field numbers.
const MODELS: u32 = 1;
const NEXT_PAGE_TOKEN: u32 = 2;
const SEQUENCE: u32 = 3;

/// The answer of ListModels, ready to be written.
#[derive(Debug, Default)]
pub(crate) struct EncodedPage {
    models: Vec<Bytes>,
    next_page_token: String,
    sequence: i64,
}

impl EncodedPage {
    pub(super) fn new(models: &[Arc<Held>], next_page_token: String, sequence: i64) -> Self {
        Self {
            models: models.iter().map(|held| encoded(held).clone()).collect(),
            next_page_token,
            sequence,
        }
    }
}

/// The protobuf of a registration, made the first time it is asked for.
fn encoded(held: &Held) -> &Bytes {
    held.encoded(Encoding::Protobuf, |registration| {
        Bytes::from(convert::registration(registration).encode_to_vec())
    })
}

impl Message for EncodedPage {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        for model in &self.models {
            encoding::encode_key(MODELS, WireType::LengthDelimited, buf);
            encoding::encode_varint(model.len() as u64, buf);
            buf.put_slice(model);
        }
        if !self.next_page_token.is_empty() {
            encoding::string::encode(NEXT_PAGE_TOKEN, &self.next_page_token, buf);
        }
        if self.sequence != 0 {
            encoding::int64::encode(SEQUENCE, &self.sequence, buf);
        }
    }

    /// Only ever written: a server does not read its own answers.
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        encoding::skip_field(wire_type, tag, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        let models: usize = self
            .models
            .iter()
            .map(|model| {
                encoding::key_len(MODELS)
                    + encoding::encoded_len_varint(model.len() as u64)
                    + model.len()
            })
            .sum();
        let token = if self.next_page_token.is_empty() {
            0
        } else {
            encoding::string::encoded_len(NEXT_PAGE_TOKEN, &self.next_page_token)
        };
        let sequence = if self.sequence == 0 {
            0
        } else {
            encoding::int64::encoded_len(SEQUENCE, &self.sequence)
        };
        models + token + sequence
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Alias, ArtifactVersion, Etag, Registration, RegistrationId, clock};
    use crate::pb;

    #[test]
    fn an_encoded_page_reads_back_as_the_list_models_response() {
        let registration = Registration {
            id: RegistrationId::generate(),
            spec: crate::registry::testing::spec("qoe-predictor"),
            artifact_version: ArtifactVersion::initial(),
            etag: Etag::generate(),
            create_time: clock::now(),
            update_time: clock::now(),
            aliases: vec![Alias::stored("production".into())],
        };
        let held = Held::new(registration.clone());
        let page = EncodedPage::new(&[held.clone(), held], "next".into(), 42);
        let bytes = page.encode_to_vec();
        assert_eq!(bytes.len(), page.encoded_len());
        let decoded = pb::ListModelsResponse::decode(bytes.as_slice()).unwrap();
        let model = convert::registration(&registration);
        assert_eq!(
            decoded,
            pb::ListModelsResponse {
                models: vec![model.clone(), model],
                next_page_token: "next".into(),
                sequence: 42,
            }
        );
        let empty = EncodedPage::new(&[], String::new(), 0).encode_to_vec();
        assert_eq!(
            pb::ListModelsResponse::decode(empty.as_slice()).unwrap(),
            pb::ListModelsResponse::default()
        );
    }
}
