//! Trust, tried as an attacker would: which configuration admits which identity, streams that
//! must end when their credentials do, secrets and caller-chosen text kept out of the logs,
//! header limits on every HTTP version, and a consumers file that fails closed.

mod matrix;
mod streams;

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    [matrix::trials(), streams::trials()]
        .into_iter()
        .flatten()
        .collect()
}
