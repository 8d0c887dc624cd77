//! Trust, tried as an attacker would: which configuration admits which identity, streams that
//! must end when their credentials do, page tokens that reveal nothing, secrets and
//! caller-chosen text kept out of the logs, header limits on every HTTP version, and a
//! consumers file that fails closed.

mod fail_closed;
mod headers;
mod logs;
mod matrix;
mod page_tokens;
mod streams;

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    [
        matrix::trials(),
        streams::trials(),
        page_tokens::trials(),
        headers::trials(),
        fail_closed::trials(),
        logs::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
