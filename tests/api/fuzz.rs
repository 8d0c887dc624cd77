//! A fuzzer of the live server over raw HTTP/2 (h2), which unlike a tonic channel can send
//! broken gRPC: random bytes, encoded messages with flipped bytes, truncated frames, a length
//! prefix of 1 GB, compressed-flag bytes, upload streams with garbage and header-less
//! messages, and valid messages with strings of 100 000 characters. It calls every RPC of the
//! three services a few thousand times in all, within about 20 s, and checks each answer: a
//! `grpc-status` always (no stream reset without one), never UNKNOWN, INTERNAL only where tonic
//! could not decode the request, and metadata under 8 KiB. Afterwards the server must still
//! be healthy and register a model.
//!
//! Every case is made from the seed and its number, so a failure is reproduced by running
//! again with `MODELREG_FUZZ_SEED` set to the seed it prints (and `MODELREG_FUZZ_REQUESTS` to
//! change the number of requests).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use modelreg::pb::{self, upload_artifact_request::Payload as Upload};
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::codegen::http::{self, HeaderMap};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
use tonic_types::StatusExt;

use crate::common::{Backend, TestServer, model, on_every_backend};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(
        malformed_and_oversized_requests_get_bounded_answers,
        texts_with_nul_characters_are_invalid_arguments,
        listings_of_the_longest_names_continue_page_by_page,
        echoed_mask_paths_keep_the_answer_under_8_kib,
        errors_naming_the_longest_models_stay_under_8_kib,
    )
}

const SEED_VAR: &str = "MODELREG_FUZZ_SEED";
const REQUESTS_VAR: &str = "MODELREG_FUZZ_REQUESTS";
const REQUESTS: usize = 16_000;
/// The run stops after this long even if fewer requests were sent.
const TIME_BUDGET: Duration = Duration::from_secs(20);
/// Requests in flight at once (on two connections).
const WORKERS: usize = 16;
/// An answer must come within this long.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);
/// What gRPC clients accept by default, as HTTP/2 counts a header list.
const MAX_METADATA: usize = 8 * 1024;
const HUGE_CHARS: usize = 100_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rpc {
    RegisterModel,
    GetModelRegistration,
    UpdateModelRegistration,
    DeleteModelRegistration,
    ListModels,
    UploadArtifact,
    DownloadArtifact,
    ListArtifacts,
    WatchModels,
    ListEvents,
    SetModelAlias,
    DeleteModelAlias,
}

impl Rpc {
    const ALL: [Rpc; 12] = [
        Rpc::RegisterModel,
        Rpc::GetModelRegistration,
        Rpc::UpdateModelRegistration,
        Rpc::DeleteModelRegistration,
        Rpc::ListModels,
        Rpc::UploadArtifact,
        Rpc::DownloadArtifact,
        Rpc::ListArtifacts,
        Rpc::WatchModels,
        Rpc::ListEvents,
        Rpc::SetModelAlias,
        Rpc::DeleteModelAlias,
    ];

    fn path(self) -> &'static str {
        match self {
            Rpc::RegisterModel => "/modelregistry.v1.ModelRegistrationService/RegisterModel",
            Rpc::GetModelRegistration => {
                "/modelregistry.v1.ModelRegistrationService/GetModelRegistration"
            }
            Rpc::UpdateModelRegistration => {
                "/modelregistry.v1.ModelRegistrationService/UpdateModelRegistration"
            }
            Rpc::DeleteModelRegistration => {
                "/modelregistry.v1.ModelRegistrationService/DeleteModelRegistration"
            }
            Rpc::ListModels => "/modelregistry.v1.ModelDiscoveryService/ListModels",
            Rpc::UploadArtifact => "/modelregistry.v1.ModelArtifactService/UploadArtifact",
            Rpc::DownloadArtifact => "/modelregistry.v1.ModelArtifactService/DownloadArtifact",
            Rpc::ListArtifacts => "/modelregistry.v1.ModelArtifactService/ListArtifacts",
            Rpc::WatchModels => "/modelregistry.v1.ModelEventService/WatchModels",
            Rpc::ListEvents => "/modelregistry.v1.ModelEventService/ListEvents",
            Rpc::SetModelAlias => "/modelregistry.v1.ModelRegistrationService/SetModelAlias",
            Rpc::DeleteModelAlias => "/modelregistry.v1.ModelRegistrationService/DeleteModelAlias",
        }
    }
}

/// How a case breaks its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A well-formed message of plausible (often invalid) content.
    Valid,
    /// A well-formed message with strings of 100 000 characters.
    Huge,
    /// An encoded message with some bytes flipped, in a correct frame.
    Flipped,
    /// Random bytes in a correct frame.
    RandomMessage,
    /// Random bytes without gRPC framing.
    RandomBytes,
    /// A frame whose length prefix promises more than is sent before the end of the stream.
    Truncated,
    /// A length prefix of 1 GB, then a few bytes.
    GigabytePrefix,
    /// Part of the 5-byte frame header only.
    PartialHeader,
    /// A compressed-flag byte other than 0.
    CompressedFlag,
    /// No message at all.
    Empty,
    /// Two messages where one is expected.
    TwoMessages,
    /// An upload stream of a header and a mix of chunks, garbage and header-less messages.
    Stream,
}

impl Kind {
    /// Each kind as often as it is listed: most requests decode, so that validation and the
    /// registry see many of them.
    const WEIGHTED: [Kind; 20] = [
        Kind::Valid,
        Kind::Valid,
        Kind::Valid,
        Kind::Valid,
        Kind::Valid,
        Kind::Huge,
        Kind::Huge,
        Kind::Huge,
        Kind::Flipped,
        Kind::Flipped,
        Kind::Flipped,
        Kind::RandomMessage,
        Kind::RandomBytes,
        Kind::Truncated,
        Kind::GigabytePrefix,
        Kind::PartialHeader,
        Kind::CompressedFlag,
        Kind::Empty,
        Kind::TwoMessages,
        Kind::Stream,
    ];
}

/// One request to send.
struct Case {
    rpc: Rpc,
    kind: Kind,
    /// Extra request headers (a compression, a deadline).
    headers: Vec<(&'static str, String)>,
    /// The body, sent as this many DATA frames.
    body: Vec<Bytes>,
}

/// Models that exist on the server, so that plausible requests reach the registry.
#[derive(Clone)]
struct Known {
    models: Vec<KnownModel>,
}

#[derive(Clone)]
struct KnownModel {
    id: String,
    name: String,
    version: String,
    etag: String,
}

/// Characters that are awkward to carry: controls, white space, quotes, multi-byte text.
const AWKWARD: &[char] = &[
    'a',
    ' ',
    '\t',
    '\n',
    '\0',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{a0}',
    '\u{2028}',
    '\u{feff}',
    '"',
    '\\',
    '%',
    '{',
    '/',
    'é',
    '模',
    '😀',
    '\u{10ffff}',
];

/// Text of `len` characters of one alphabet: letters and digits, printable ASCII, awkward
/// characters, or any character at all.
fn text_in(alphabet: u8, rng: &mut fastrand::Rng, len: usize) -> String {
    match alphabet % 4 {
        0 => (0..len).map(|_| rng.alphanumeric()).collect(),
        1 => (0..len).map(|_| char::from(rng.u8(0x20..0x7f))).collect(),
        2 => (0..len)
            .map(|_| AWKWARD[rng.usize(..AWKWARD.len())])
            .collect(),
        _ => (0..len).map(|_| rng.char(..)).collect(),
    }
}

fn text(rng: &mut fastrand::Rng, len: usize) -> String {
    let alphabet = rng.u8(..);
    text_in(alphabet, rng, len)
}

fn random_bytes(rng: &mut fastrand::Rng, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rng.fill(&mut bytes);
    bytes
}

const MASK_PATHS: [&str; 14] = [
    "*",
    "description",
    "model_location",
    "model_information",
    "model_information.metadata",
    "model_information.metadata.author",
    "model_information.metadata.owner",
    "model_information.input_data_type",
    "model_information.output_data_type",
    "model_information.target_environment",
    "model_id",
    "etag",
    "create_time",
    "nope",
];

/// Plausible request content from one case's random numbers.
struct Generator<'a> {
    rng: fastrand::Rng,
    known: &'a Known,
    huge: bool,
    /// In a huge case: only the update mask is huge (its paths long texts, each echoed in a
    /// violation), so that the id and the etag let the request reach the mask.
    huge_mask: bool,
    /// The alphabet of this case's random text.
    alphabet: u8,
}

impl Generator<'_> {
    /// A string field: usually `plausible`, sometimes empty or random text, and in a huge case
    /// often 100 000 characters.
    fn string(&mut self, plausible: impl FnOnce(&mut fastrand::Rng) -> String) -> String {
        if self.huge && !self.huge_mask && self.rng.u8(..3) == 0 {
            return text_in(self.alphabet, &mut self.rng, HUGE_CHARS);
        }
        match self.rng.u8(..10) {
            0 => String::new(),
            1 => {
                let len = self.rng.usize(..300);
                text_in(self.alphabet, &mut self.rng, len)
            }
            _ => plausible(&mut self.rng),
        }
    }

    fn known(&mut self) -> &KnownModel {
        &self.known.models[self.rng.usize(..self.known.models.len())]
    }

    fn word(&mut self) -> String {
        self.string(|rng| {
            let len = rng.usize(1..12);
            (0..len).map(|_| rng.alphanumeric()).collect()
        })
    }

    fn id(&mut self) -> String {
        let known = self.known().id.clone();
        self.string(|rng| {
            if rng.bool() {
                known
            } else {
                uuid::Uuid::from_u128(rng.u128(..)).to_string()
            }
        })
    }

    fn etag(&mut self) -> String {
        let known = self.known().etag.clone();
        self.string(|rng| if rng.bool() { known } else { String::new() })
    }

    fn model_id(&mut self) -> Option<pb::ModelId> {
        if self.rng.u8(..3) == 0 {
            return None;
        }
        let known = self.known().clone();
        Some(pb::ModelId {
            model_name: self.string(|_| known.name),
            model_version: self.string(|_| known.version),
            artifact_version: self.string(|_| "1.0.0".into()),
        })
    }

    fn list(&mut self, max: usize) -> Vec<String> {
        let len = if self.rng.u8(..20) == 0 {
            self.rng.usize(95..110)
        } else {
            self.rng.usize(..max)
        };
        (0..len).map(|_| self.word()).collect()
    }

    fn resource(&mut self) -> pb::ModelRelatedInformation {
        let environments = self.rng.usize(..4);
        pb::ModelRelatedInformation {
            model_registration_id: self.id(),
            model_id: self.model_id(),
            description: self.word(),
            model_information: self.rng.u8(..8).ne(&0).then(|| pb::ModelInformation {
                metadata: self.rng.u8(..8).ne(&0).then(|| pb::Metadata {
                    author: self.word(),
                    owner: self.word(),
                }),
                input_data_type: self.list(3),
                output_data_type: self.list(3),
                target_environment: (0..environments)
                    .map(|_| pb::TargetEnvironment {
                        platform_name: self.word(),
                        environment_type: self.word(),
                        dependency_list: self.word(),
                    })
                    .collect(),
            }),
            labels: self.labels(),
            aliases: self.list(2),
            model_location: self.string(|rng| format!("s3://models/{}.zip", rng.u32(..))),
            create_time: None,
            update_time: None,
            etag: self.etag(),
        }
    }

    fn mask(&mut self) -> Option<prost_types::FieldMask> {
        if self.rng.u8(..4) == 0 {
            return None;
        }
        let len = if self.rng.u8(..8) == 0 {
            self.rng.usize(30..40)
        } else {
            self.rng.usize(..4)
        };
        if self.huge_mask {
            // Every path a long text, within the message size limit.
            let len = self.rng.usize(20..40);
            let paths = (0..len)
                .map(|_| {
                    let chars = self.rng.usize(64..2_000);
                    text_in(self.alphabet, &mut self.rng, chars)
                })
                .collect();
            return Some(prost_types::FieldMask { paths });
        }
        let paths = (0..len)
            .map(|_| {
                let path = MASK_PATHS[self.rng.usize(..MASK_PATHS.len())];
                self.string(|_| path.into())
            })
            .collect();
        Some(prost_types::FieldMask { paths })
    }

    fn labels(&mut self) -> std::collections::BTreeMap<String, String> {
        let len = if self.rng.u8(..20) == 0 {
            self.rng.usize(60..70)
        } else {
            self.rng.usize(..4)
        };
        (0..len).map(|_| (self.word(), self.word())).collect()
    }

    /// A filter: often one that parses, sometimes one a character off, sometimes noise.
    fn filter(&mut self) -> String {
        const FILTERS: [&str; 6] = [
            "model_information.target_environment(platform_name = \"kserve\" AND environment_type = \"onnx\")",
            "labels.team = \"ran\" OR labels:stage",
            "model_id.model_name = \"q*\" AND NOT aliases:production",
            "create_time > \"2020-01-01T00:00:00Z\" model_information.input_data_type:\"x\"",
            "-model_information.metadata.owner = \"\" description != \"*%_'\\\\\"",
            "model_information.target_environment.platform_name:k",
        ];
        let chosen = FILTERS[self.rng.usize(..FILTERS.len())];
        self.string(|rng| match rng.u8(..3) {
            0 => {
                let mut chars: Vec<char> = chosen.chars().collect();
                let at = rng.usize(..chars.len());
                chars[at] = rng.char(' '..='~');
                chars.into_iter().collect()
            }
            _ => chosen.to_owned(),
        })
    }

    fn order_by(&mut self) -> String {
        const ORDERS: [&str; 3] = [
            "create_time desc",
            "model_id.model_version, update_time",
            "x",
        ];
        let chosen = ORDERS[self.rng.usize(..ORDERS.len())];
        self.string(|_| chosen.to_owned())
    }

    fn selector(&mut self) -> Option<pb::ModelSelector> {
        use pb::model_selector::VersionOrAlias;
        if self.rng.u8(..3) != 0 {
            return None;
        }
        let known = self.known().clone();
        let version_or_alias = match self.rng.u8(..3) {
            0 => None,
            1 => Some(VersionOrAlias::ModelVersion(self.string(|_| known.version))),
            _ => Some(VersionOrAlias::Alias(self.string(|_| "production".into()))),
        };
        Some(pb::ModelSelector {
            model_name: self.string(|_| known.name),
            version_or_alias,
        })
    }

    fn page_token(&mut self) -> String {
        if self.rng.u8(..3) == 0 {
            self.string(|rng| text(rng, 40))
        } else {
            String::new()
        }
    }

    fn page_size(&mut self) -> i32 {
        match self.rng.u8(..4) {
            0 => self.rng.i32(..),
            _ => self.rng.i32(-2..50),
        }
    }

    fn header(&mut self) -> pb::ArtifactHeader {
        let by_name = self.rng.u8(..4) == 0;
        pb::ArtifactHeader {
            model_registration_id: if by_name { String::new() } else { self.id() },
            model_id: if by_name { self.model_id() } else { None },
            sha256: self.string(|rng| hex::encode(random_bytes(rng, 32))),
            size_bytes: if self.rng.bool() { 0 } else { self.rng.u64(..) },
            filename: self.word(),
            content_type: self.word(),
        }
    }

    /// Mostly none; sometimes known types, unknown numbers or "unspecified".
    fn event_types(&mut self) -> Vec<i32> {
        (0..self.rng.usize(..4))
            .map(|_| match self.rng.u8(..4) {
                0 => self.rng.i32(..),
                _ => self.rng.i32(0..=4),
            })
            .collect()
    }

    /// A start sequence: mostly near the log, sometimes far outside it.
    fn sequence(&mut self) -> i64 {
        match self.rng.u8(..4) {
            0 => self.rng.i64(..),
            _ => self.rng.i64(-2..20),
        }
    }

    /// Any time a client may send, including ones beyond what calendars hold.
    fn timestamp(&mut self) -> prost_types::Timestamp {
        prost_types::Timestamp {
            seconds: match self.rng.u8(..3) {
                0 => self.rng.i64(..),
                _ => self.rng.i64(0..4_000_000_000),
            },
            nanos: self.rng.i32(..),
        }
    }

    /// An encoded request message for `rpc` (for an upload, its first message).
    fn message(&mut self, rpc: Rpc) -> Vec<u8> {
        match rpc {
            Rpc::RegisterModel => pb::RegisterModelRequest {
                model_related_information: self.rng.u8(..10).ne(&0).then(|| self.resource()),
                request_id: self.word(),
            }
            .encode_to_vec(),
            Rpc::GetModelRegistration => pb::GetModelRegistrationRequest {
                model_registration_id: self.id(),
                model: self.selector(),
            }
            .encode_to_vec(),
            Rpc::UpdateModelRegistration => pb::UpdateModelRegistrationRequest {
                model_related_information: self.rng.u8(..10).ne(&0).then(|| self.resource()),
                update_mask: self.mask(),
            }
            .encode_to_vec(),
            Rpc::DeleteModelRegistration => {
                let id = self.id();
                let mut etag = self.string(|rng| text(rng, 32));
                // The known models stay for the other calls: a delete names one of them only
                // with an etag that cannot match.
                if etag.is_empty() && self.known.models.iter().any(|model| model.id == id) {
                    etag = "stale".into();
                }
                pb::DeleteModelRegistrationRequest {
                    model_registration_id: id,
                    etag,
                }
                .encode_to_vec()
            }
            Rpc::ListModels => pb::ListModelsRequest {
                model_name: self.string(|_| String::new()),
                model_version: self.string(|_| String::new()),
                page_size: self.page_size(),
                page_token: self.page_token(),
                filter: self.filter(),
                order_by: self.order_by(),
            }
            .encode_to_vec(),
            Rpc::UploadArtifact => pb::UploadArtifactRequest {
                payload: Some(Upload::Header(self.header())),
            }
            .encode_to_vec(),
            Rpc::DownloadArtifact => pb::DownloadArtifactRequest {
                model_registration_id: self.id(),
                model_id: self.model_id(),
                model: self.selector(),
                artifact_version: self.string(|_| String::new()),
                offset: match self.rng.u8(..3) {
                    0 => self.rng.u64(..),
                    _ => self.rng.u64(..5_000),
                },
            }
            .encode_to_vec(),
            Rpc::ListArtifacts => pb::ListArtifactsRequest {
                model_registration_id: self.id(),
                model_id: self.model_id(),
                page_size: self.page_size(),
                page_token: self.page_token(),
            }
            .encode_to_vec(),
            Rpc::WatchModels => pb::WatchModelsRequest {
                model_name: self.string(|_| String::new()),
                model_version: self.string(|_| String::new()),
                types: self.event_types(),
                start_sequence: self.rng.bool().then(|| self.sequence()),
                send_initial_state: self.rng.bool(),
            }
            .encode_to_vec(),
            Rpc::ListEvents => pb::ListEventsRequest {
                model_registration_id: self.id(),
                model_name: self.string(|_| String::new()),
                actor: self.word(),
                types: self.event_types(),
                start_time: self.rng.bool().then(|| self.timestamp()),
                end_time: self.rng.bool().then(|| self.timestamp()),
                newest_first: self.rng.bool(),
                page_size: self.page_size(),
                page_token: self.page_token(),
            }
            .encode_to_vec(),
            Rpc::SetModelAlias => {
                let known = self.known().clone();
                pb::SetModelAliasRequest {
                    model_name: self.string(|_| known.name),
                    alias: self.string(|_| "production".into()),
                    model_version: self.string(|_| known.version),
                }
                .encode_to_vec()
            }
            Rpc::DeleteModelAlias => {
                let known = self.known().clone();
                pb::DeleteModelAliasRequest {
                    model_name: self.string(|_| known.name),
                    alias: self.string(|_| "production".into()),
                }
                .encode_to_vec()
            }
        }
    }
}

/// A gRPC frame: compressed flag, length prefix, message.
fn frame(flag: u8, len: u32, message: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(5 + message.len());
    frame.push(flag);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(message);
    frame
}

fn framed(message: &[u8]) -> Vec<u8> {
    frame(0, message.len() as u32, message)
}

fn flip(rng: &mut fastrand::Rng, bytes: &mut [u8]) {
    if bytes.is_empty() {
        return;
    }
    for _ in 0..rng.usize(1..8) {
        let at = rng.usize(..bytes.len());
        bytes[at] ^= rng.u8(1..);
    }
}

/// The messages of an upload stream after its header: chunks, garbage, header-less messages,
/// a second header, broken frames. A few are complete, correct uploads.
fn upload_stream(generator: &mut Generator<'_>, header: Vec<u8>) -> Vec<u8> {
    let rng = &mut generator.rng;
    if rng.u8(..6) == 0 {
        // A correct upload of a known model, which is stored.
        let len = rng.usize(..20_000);
        let content = random_bytes(rng, len);
        let known = &generator.known.models[rng.usize(..generator.known.models.len())];
        let header = pb::UploadArtifactRequest {
            payload: Some(Upload::Header(pb::ArtifactHeader {
                model_registration_id: known.id.clone(),
                sha256: hex::encode(Sha256::digest(&content)),
                size_bytes: content.len() as u64,
                ..Default::default()
            })),
        };
        let mut body = framed(&header.encode_to_vec());
        for chunk in content.chunks(rng.usize(1..8_192)) {
            let message = pb::UploadArtifactRequest {
                payload: Some(Upload::Chunk(Bytes::copy_from_slice(chunk))),
            };
            body.extend(framed(&message.encode_to_vec()));
        }
        return body;
    }
    let mut body = if rng.u8(..4) == 0 {
        Vec::new()
    } else {
        framed(&header)
    };
    for _ in 0..rng.usize(..6) {
        match rng.u8(..9) {
            0..=2 => {
                let len = rng.usize(..5_000);
                let message = pb::UploadArtifactRequest {
                    payload: Some(Upload::Chunk(random_bytes(rng, len).into())),
                };
                body.extend(framed(&message.encode_to_vec()));
            }
            // A message without a payload.
            3 => body.extend(framed(&[])),
            4 => body.extend(framed(&header)),
            5 => {
                let len = rng.usize(1..200);
                body.extend(framed(&random_bytes(rng, len)));
            }
            6 => {
                let len = rng.usize(1..50);
                body.extend(random_bytes(rng, len));
            }
            7 => body.extend(frame(0, 1 << 30, b"chunk")),
            _ => {
                let chunk = pb::UploadArtifactRequest {
                    payload: Some(Upload::Chunk(random_bytes(rng, 100).into())),
                }
                .encode_to_vec();
                body.extend(frame(0, chunk.len() as u32 + 50, &chunk));
                break;
            }
        }
    }
    body
}

/// Case number `index` of the run with `seed`.
fn case(seed: u64, index: usize, known: &Known) -> Case {
    let mut rng =
        fastrand::Rng::with_seed(seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let rpc = Rpc::ALL[rng.usize(..Rpc::ALL.len())];
    // An upload is a stream: its plain requests are a header and more messages. The other
    // calls take one message.
    let kind = match (rpc, Kind::WEIGHTED[rng.usize(..Kind::WEIGHTED.len())]) {
        (Rpc::UploadArtifact, Kind::Valid | Kind::TwoMessages) => Kind::Stream,
        (Rpc::UploadArtifact, kind) => kind,
        (_, Kind::Stream) => Kind::Valid,
        (_, kind) => kind,
    };
    let mut generator = Generator {
        rng: fastrand::Rng::with_seed(rng.u64(..)),
        known,
        huge: kind == Kind::Huge,
        huge_mask: kind == Kind::Huge && rpc == Rpc::UpdateModelRegistration && rng.bool(),
        alphabet: rng.u8(..),
    };
    let message = generator.message(rpc);
    let body = match kind {
        Kind::Valid | Kind::Huge => framed(&message),
        Kind::Flipped => {
            let mut message = message;
            flip(&mut rng, &mut message);
            framed(&message)
        }
        Kind::RandomMessage => {
            let len = rng.usize(..2_000);
            framed(&random_bytes(&mut rng, len))
        }
        Kind::RandomBytes => {
            let len = rng.usize(1..2_000);
            random_bytes(&mut rng, len)
        }
        Kind::Truncated => {
            let sent = rng.usize(..=message.len());
            let promised = message.len() as u32 + rng.u32(1..1_000);
            frame(0, promised, &message[..sent])
        }
        Kind::GigabytePrefix => frame(0, 1 << 30, &message[..message.len().min(64)]),
        Kind::PartialHeader => framed(&message)[..rng.usize(1..5)].to_vec(),
        Kind::CompressedFlag => frame(rng.u8(1..), message.len() as u32, &message),
        Kind::Empty => Vec::new(),
        Kind::TwoMessages => {
            let mut body = framed(&message);
            body.extend(framed(&generator.message(rpc)));
            body
        }
        Kind::Stream => upload_stream(&mut generator, message),
    };
    let mut headers = Vec::new();
    match rng.u8(..32) {
        0 => headers.push(("grpc-encoding", "gzip".to_owned())),
        1 => headers.push((
            "grpc-encoding",
            text(&mut rng, 8).replace(|c: char| !c.is_ascii_graphic(), "x"),
        )),
        2 => headers.push(("grpc-timeout", format!("{}m", rng.u32(..100)))),
        3 => headers.push((
            "grpc-timeout",
            text(&mut rng, 6).replace(|c: char| !c.is_ascii_graphic(), "x"),
        )),
        _ => {}
    }
    // Split into DATA frames at random points.
    let mut pieces = Vec::new();
    let mut rest = Bytes::from(body);
    for _ in 0..rng.usize(..4) {
        if rest.len() < 2 {
            break;
        }
        let at = rng.usize(1..rest.len());
        pieces.push(rest.split_to(at));
    }
    pieces.push(rest);
    Case {
        rpc,
        kind,
        headers,
        body: pieces,
    }
}

/// What came back for one request.
struct Answer {
    http_status: u16,
    /// grpc-status, from the headers (trailers-only) or the trailers.
    code: Option<i32>,
    message: String,
    reason: Option<String>,
    metadata_bytes: usize,
}

/// The size of a header list as HTTP/2 counts it (RFC 9113 §6.5.2).
fn header_list_size(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum()
}

fn grpc_status(headers: &HeaderMap) -> Option<(i32, String, Option<String>)> {
    let code = headers.get("grpc-status")?.to_str().ok()?.parse().ok()?;
    let status = tonic::Status::from_header_map(headers)?;
    let reason = status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone());
    Some((code, status.message().to_owned(), reason))
}

async fn send(
    client: h2::client::SendRequest<Bytes>,
    addr: SocketAddr,
    case: &Case,
) -> Result<Answer, String> {
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{}", case.rpc.path()))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in &case.headers {
        request = request.header(*name, value);
    }
    let request = request.body(()).unwrap();
    let mut client = client
        .ready()
        .await
        .map_err(|err| format!("connection lost: {err}"))?;
    let (response, mut stream) = client
        .send_request(request, false)
        .map_err(|err| format!("request refused: {err}"))?;
    let last = case.body.len() - 1;
    for (index, piece) in case.body.iter().enumerate() {
        // The server may answer and stop reading before the end: that is not an error here.
        if stream.send_data(piece.clone(), index == last).is_err() {
            break;
        }
    }
    let response = response
        .await
        .map_err(|err| format!("stream reset without an answer: {err}"))?;
    let http_status = response.status().as_u16();
    let (parts, mut body) = response.into_parts();
    // The `:status` pseudo-header counts too (h2 keeps it out of the map).
    let mut metadata_bytes = ":status".len() + 3 + 32 + header_list_size(&parts.headers);
    let mut status = grpc_status(&parts.headers);
    if status.is_none() && case.rpc == Rpc::WatchModels {
        // A watch that started goes on until the client leaves: its first message (or its
        // end, if it failed) is the answer.
        match body.data().await {
            Some(Ok(_)) => status = Some((tonic::Code::Ok as i32, String::new(), None)),
            Some(Err(err)) => return Err(format!("stream reset after the headers: {err}")),
            None => {}
        }
    }
    if status.is_none() {
        while let Some(data) = body.data().await {
            let data = data.map_err(|err| format!("stream reset after the headers: {err}"))?;
            let _ = body.flow_control().release_capacity(data.len());
        }
        let trailers = body
            .trailers()
            .await
            .map_err(|err| format!("stream reset before the trailers: {err}"))?;
        if let Some(trailers) = trailers {
            metadata_bytes += header_list_size(&trailers);
            status = grpc_status(&trailers);
        }
    }
    let (code, message, reason) = match status {
        Some((code, message, reason)) => (Some(code), message, reason),
        None => (None, String::new(), None),
    };
    Ok(Answer {
        http_status,
        code,
        message,
        reason,
        metadata_bytes,
    })
}

async fn connect(addr: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the server");
    tcp.set_nodelay(true).unwrap();
    let (client, connection) = h2::client::Builder::new()
        .initial_window_size(1 << 20)
        .initial_connection_window_size(4 << 20)
        .handshake(tcp)
        .await
        .expect("an HTTP/2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// INTERNAL is the gRPC code for a request that does not decode; any other INTERNAL is a bug.
fn undecodable(answer: &Answer) -> bool {
    const TONIC_DECODING: [&str; 5] = [
        "failed to decode",
        "Unexpected EOF",
        "protocol error",
        "decompress",
        // A unary call whose stream ended before its first message.
        "Missing request message",
    ];
    answer.reason.as_deref() == Some("MALFORMED_MESSAGE")
        || TONIC_DECODING
            .iter()
            .any(|words| answer.message.contains(words))
}

fn code_name(code: i32) -> String {
    format!("{:?}", tonic::Code::from_i32(code))
}

#[derive(Default)]
struct Tally {
    sent: usize,
    codes: BTreeMap<String, usize>,
    rpcs: BTreeMap<Rpc, usize>,
    /// The codes each kind of case got.
    kinds: BTreeMap<String, BTreeMap<String, usize>>,
    largest_metadata: usize,
    failures: Vec<String>,
}

impl Tally {
    fn record(&mut self, seed: u64, index: usize, case: &Case, answer: Result<Answer, String>) {
        self.sent += 1;
        *self.rpcs.entry(case.rpc).or_default() += 1;
        let what = format!(
            "case {index} of seed {seed} ({:?}, {:?}, {} bytes, headers {:?})",
            case.rpc,
            case.kind,
            case.body.iter().map(Bytes::len).sum::<usize>(),
            case.headers
        );
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) => {
                *self.codes.entry("no answer".into()).or_default() += 1;
                self.failures.push(format!("{what}: {err}"));
                return;
            }
        };
        self.largest_metadata = self.largest_metadata.max(answer.metadata_bytes);
        let Some(code) = answer.code else {
            *self.codes.entry("no grpc-status".into()).or_default() += 1;
            self.failures.push(format!(
                "{what}: HTTP {} without a grpc-status",
                answer.http_status
            ));
            return;
        };
        *self.codes.entry(code_name(code)).or_default() += 1;
        *self
            .kinds
            .entry(format!("{:?}", case.kind))
            .or_default()
            .entry(code_name(code))
            .or_default() += 1;
        let message: String = answer.message.chars().take(300).collect();
        let failure = match tonic::Code::from_i32(code) {
            tonic::Code::Unknown => Some("UNKNOWN"),
            tonic::Code::Internal if !undecodable(&answer) => {
                Some("INTERNAL (not a decoding failure)")
            }
            _ if answer.metadata_bytes >= MAX_METADATA => Some("metadata over 8 KiB"),
            _ => None,
        };
        if let Some(failure) = failure {
            self.failures.push(format!(
                "{what}: {failure}: {} bytes of metadata, reason {:?}, message {message:?}",
                answer.metadata_bytes, answer.reason
            ));
        }
    }
}

async fn known_models(server: &TestServer) -> Known {
    let mut models = Vec::new();
    for (i, environments) in [0, 1, 3].into_iter().enumerate() {
        let registered = server
            .register(model(&format!("fuzz-{i}"), "1", environments))
            .await
            .expect("register a model");
        let id = registered.model_id.unwrap();
        models.push(KnownModel {
            id: registered.model_registration_id.clone(),
            name: id.model_name,
            version: id.model_version,
            etag: registered.etag,
        });
    }
    crate::artifacts::upload(server, &models[0].id, &[7; 4_096]).await;
    Known { models }
}

async fn malformed_and_oversized_requests_get_bounded_answers(backend: Backend) {
    let seed = match std::env::var(SEED_VAR) {
        Ok(seed) => seed
            .parse()
            .unwrap_or_else(|_| panic!("{SEED_VAR}={seed:?} is not a u64")),
        Err(_) => fastrand::u64(..),
    };
    let requests = std::env::var(REQUESTS_VAR)
        .ok()
        .map(|n| n.parse().expect("MODELREG_FUZZ_REQUESTS is a number"))
        .unwrap_or(REQUESTS);
    println!("fuzz: seed {seed} (rerun with {SEED_VAR}={seed})");

    // A watch answers with its first message: a heartbeat comes soon when nothing matches.
    let server = TestServer::start_with(backend, |config| {
        config.events.watch_heartbeat = Duration::from_millis(200);
    })
    .await;
    let known = Arc::new(known_models(&server).await);
    let addr = server.addr;
    let connections = [connect(addr).await, connect(addr).await];
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let (next, tally, known) = (next.clone(), tally.clone(), known.clone());
            let mut client = connections[worker % connections.len()].clone();
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= requests || started.elapsed() > TIME_BUDGET {
                        break;
                    }
                    let case = case(seed, index, &known);
                    let answer =
                        tokio::time::timeout(ANSWER_TIMEOUT, send(client.clone(), addr, &case))
                            .await
                            .unwrap_or_else(|_| {
                                Err(format!("no answer within {ANSWER_TIMEOUT:?}"))
                            });
                    if matches!(&answer, Err(err) if err.starts_with("connection lost")) {
                        client = connect(addr).await;
                    }
                    tally.lock().unwrap().record(seed, index, &case, answer);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("a fuzzing worker");
    }
    let elapsed = started.elapsed();
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    println!(
        "fuzz: {} requests in {:.1} s (seed {seed}); codes {:?}; per RPC {:?}; largest answer metadata {} bytes",
        tally.sent,
        elapsed.as_secs_f64(),
        tally.codes,
        tally.rpcs,
        tally.largest_metadata,
    );
    println!("fuzz: codes by kind of request {:?}", tally.kinds);
    for rpc in Rpc::ALL {
        assert!(tally.rpcs.contains_key(&rpc), "{rpc:?} was never called");
    }
    assert!(
        tally.failures.is_empty(),
        "{} failures (rerun with {SEED_VAR}={seed}):\n{}",
        tally.failures.len(),
        tally
            .failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );

    // The server is still healthy and serves a normal request.
    let health = server
        .health
        .clone()
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("a health check")
        .into_inner();
    assert_eq!(health.status, ServingStatus::Serving as i32);
    server
        .register(model("after-the-fuzz", "1", 2))
        .await
        .expect("a normal RegisterModel after the fuzzing");
    server.stop().await;
}

// What fuzzing found, kept as plain tests.

/// PostgreSQL cannot store or compare text with NUL: such text is refused on every database,
/// by the field that holds it, rather than failing in the database as INTERNAL.
async fn texts_with_nul_characters_are_invalid_arguments(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut info = model("nul", "1", 1);
    info.description = "a\0b".into();
    let status = server.register(info).await.unwrap_err();
    assert_eq!(
        crate::common::violated_fields(&status),
        ["model_related_information.description"]
    );

    let status = server
        .list(pb::ListModelsRequest {
            model_name: "\0".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(crate::common::violated_fields(&status), ["model_name"]);

    let registered = server.register(model("nul", "1", 1)).await.unwrap();
    let status = server
        .artifacts
        .clone()
        .download_artifact(pb::DownloadArtifactRequest {
            model_registration_id: registered.model_registration_id,
            artifact_version: "1.0.0\0".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        crate::common::violated_fields(&status),
        ["artifact_version"]
    );
    server.stop().await;
}

/// A token for a name filter and names of 255 four-byte characters is longer than 4096
/// characters; the server accepts every token it issues.
async fn listings_of_the_longest_names_continue_page_by_page(backend: Backend) {
    let server = TestServer::start(backend).await;
    let name = "😀".repeat(255);
    let versions = [format!("{}a", "😀".repeat(254)), "😀".repeat(255)];
    for version in &versions {
        server.register(model(&name, version, 0)).await.unwrap();
    }
    let mut listed = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = server
            .list(pb::ListModelsRequest {
                model_name: name.clone(),
                page_size: 1,
                page_token,
                ..Default::default()
            })
            .await
            .expect("every page, by the token of the one before");
        listed.extend(
            page.models
                .into_iter()
                .map(|m| m.model_id.unwrap().model_version),
        );
        page_token = page.next_page_token;
        if page_token.is_empty() {
            break;
        }
        // Two names of 255 four-byte characters.
        assert!(page_token.len() > 2_720, "{}", page_token.len());
    }
    let mut expected = versions.to_vec();
    expected.sort();
    assert_eq!(listed, expected);
    server.stop().await;
}

/// An update naming 32 unknown mask paths of emoji: each violation echoes its path, and the
/// answer's metadata (measured as it travels) stays under 8 KiB.
async fn echoed_mask_paths_keep_the_answer_under_8_kib(backend: Backend) {
    let server = TestServer::start(backend).await;
    let registered = server.register(model("masked", "1", 1)).await.unwrap();
    let request = pb::UpdateModelRegistrationRequest {
        model_related_information: Some(pb::ModelRelatedInformation {
            model_registration_id: registered.model_registration_id,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: (0..32).map(|_| "😀".repeat(128)).collect(),
        }),
    };
    let answer = call(
        &server,
        Rpc::UpdateModelRegistration,
        request.encode_to_vec(),
    )
    .await;
    assert_eq!(answer.code, Some(tonic::Code::InvalidArgument as i32));
    assert!(
        answer.metadata_bytes < MAX_METADATA,
        "{} bytes of metadata",
        answer.metadata_bytes
    );
    server.stop().await;
}

/// Errors that name a model (already registered, not registered) repeat its name and version
/// cut to 64 characters: with names of 255 characters of three or four bytes, the answer's
/// metadata stays under 8 KiB.
async fn errors_naming_the_longest_models_stay_under_8_kib(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (name, version) = ("模".repeat(255), "型".repeat(255));
    server.register(model(&name, &version, 0)).await.unwrap();
    let again = pb::RegisterModelRequest {
        model_related_information: Some(model(&name, &version, 0)),
        request_id: String::new(),
    };
    let answer = call(&server, Rpc::RegisterModel, again.encode_to_vec()).await;
    assert_eq!(answer.code, Some(tonic::Code::AlreadyExists as i32));
    assert!(
        answer.metadata_bytes < MAX_METADATA,
        "{}",
        answer.metadata_bytes
    );

    let unknown = pb::DownloadArtifactRequest {
        model_id: Some(pb::ModelId {
            model_name: "😀".repeat(255),
            model_version: "😀".repeat(255),
            artifact_version: String::new(),
        }),
        ..Default::default()
    };
    let answer = call(&server, Rpc::DownloadArtifact, unknown.encode_to_vec()).await;
    assert_eq!(answer.code, Some(tonic::Code::NotFound as i32));
    assert!(
        answer.metadata_bytes < MAX_METADATA,
        "{}",
        answer.metadata_bytes
    );
    server.stop().await;
}

/// One well-formed call over raw HTTP/2, to measure its answer as it travels.
async fn call(server: &TestServer, rpc: Rpc, message: Vec<u8>) -> Answer {
    let case = Case {
        rpc,
        kind: Kind::Valid,
        headers: Vec::new(),
        body: vec![framed(&message).into()],
    };
    send(connect(server.addr).await, server.addr, &case)
        .await
        .expect("an answer")
}
