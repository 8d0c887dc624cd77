//! A registration as the read cache holds it and pages hand it out: shared rather than
//! copied, with a slot for each front-end's encoding of it. An encoding is made the first
//! time a page carries the registration and reused by every page after, until a change
//! replaces the registration (and with it the slots). The registration cannot be changed in
//! place, so an encoding never goes stale.

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use super::Registration;

/// The encodings front-ends keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// gRPC's: the protobuf of `ModelRelatedInformation`.
    Protobuf,
    /// REST's JSON, in its R1AP profile.
    R1apJson,
    /// REST's JSON, in its AIMLFW (Go service) profile.
    AimlfwJson,
}

const ENCODINGS: usize = 3;

#[derive(Debug)]
pub(crate) struct Held {
    registration: Registration,
    encodings: [OnceLock<Bytes>; ENCODINGS],
}

impl Held {
    pub(crate) fn new(registration: Registration) -> Arc<Self> {
        Arc::new(Self {
            registration,
            encodings: Default::default(),
        })
    }

    /// The registration's `encoding`, made by `encode` the first time it is asked for.
    pub(crate) fn encoded(
        &self,
        encoding: Encoding,
        encode: impl FnOnce(&Registration) -> Bytes,
    ) -> &Bytes {
        self.encodings[encoding as usize].get_or_init(|| encode(&self.registration))
    }
}

impl Deref for Held {
    type Target = Registration;

    fn deref(&self) -> &Registration {
        &self.registration
    }
}

impl PartialEq for Held {
    /// Equal when the registrations are: the encodings follow from them.
    fn eq(&self, other: &Self) -> bool {
        self.registration == other.registration
    }
}
