//! ModelArtifactService over real gRPC, on both databases and on both object stores: version
//! sequence, byte-identical round trips, verification, cleanup after every kind of failure,
//! concurrency, download by version and offset, history, and the delete cascade.

use std::time::Duration;

use bytes::Bytes;
use modelreg::pb::{
    self, download_artifact_response::Payload as Download,
    upload_artifact_request::Payload as Upload,
};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

use crate::common::{
    Backend, Objects, TestServer, assert_error, model, on_every_store, violated_fields,
};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_store!(
        artifact_versions_count_up_with_each_upload,
        a_multi_chunk_artifact_round_trips_byte_for_byte,
        mismatched_checksums_and_sizes_are_rejected_and_leave_nothing,
        a_cancelled_upload_leaves_nothing,
        concurrent_uploads_get_distinct_consecutive_versions,
        downloads_by_version_latest_and_offset,
        history_is_listed_newest_first_page_by_page,
        deleting_a_registration_removes_its_artifacts,
        uploads_name_the_model_by_id_or_by_name_and_version,
        malformed_upload_streams_are_rejected,
        an_upload_is_stopped_as_soon_as_it_crosses_the_limit,
        a_registration_deleted_during_an_upload_keeps_nothing,
        a_lost_object_is_reported_as_data_loss,
    )
}

const CHUNK: usize = 64 * 1024;

/// Deterministic pseudo-random bytes (SHA-256 in counter mode): no pattern a store could
/// compress away or a bug could reproduce by accident.
pub(crate) fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len + 32);
    let mut counter = 0u64;
    while bytes.len() < len {
        let mut hasher = Sha256::new();
        hasher.update(seed.to_le_bytes());
        hasher.update(counter.to_le_bytes());
        bytes.extend_from_slice(&hasher.finalize());
        counter += 1;
    }
    bytes.truncate(len);
    bytes
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A header naming the model by id and declaring the size and digest of `content`.
pub(crate) fn header_for(id: &str, content: &[u8]) -> pb::ArtifactHeader {
    pb::ArtifactHeader {
        model_registration_id: id.into(),
        sha256: sha256_hex(content),
        size_bytes: content.len() as u64,
        filename: "model.onnx".into(),
        content_type: "application/octet-stream".into(),
        ..Default::default()
    }
}

pub(crate) fn header_message(header: pb::ArtifactHeader) -> pb::UploadArtifactRequest {
    pb::UploadArtifactRequest {
        payload: Some(Upload::Header(header)),
    }
}

pub(crate) fn chunk_message(chunk: &[u8]) -> pb::UploadArtifactRequest {
    pb::UploadArtifactRequest {
        payload: Some(Upload::Chunk(Bytes::copy_from_slice(chunk))),
    }
}

async fn upload_messages(
    server: &TestServer,
    messages: Vec<pb::UploadArtifactRequest>,
) -> Result<pb::ArtifactInfo, tonic::Status> {
    server
        .artifacts
        .clone()
        .upload_artifact(futures::stream::iter(messages))
        .await
        .map(tonic::Response::into_inner)
}

/// Uploads `content` in 64 KiB chunks under `header`.
async fn upload_with(
    server: &TestServer,
    header: pb::ArtifactHeader,
    content: &[u8],
) -> Result<pb::ArtifactInfo, tonic::Status> {
    let mut messages = vec![header_message(header)];
    messages.extend(content.chunks(CHUNK).map(chunk_message));
    upload_messages(server, messages).await
}

pub(crate) async fn upload(server: &TestServer, id: &str, content: &[u8]) -> pb::ArtifactInfo {
    upload_with(server, header_for(id, content), content)
        .await
        .expect("the upload succeeds")
}

pub(crate) fn by_id(id: &str) -> pb::DownloadArtifactRequest {
    pb::DownloadArtifactRequest {
        model_registration_id: id.into(),
        ..Default::default()
    }
}

/// Downloads; returns the info, the bytes and the number of chunk messages.
pub(crate) async fn download(
    server: &TestServer,
    request: pb::DownloadArtifactRequest,
) -> Result<(pb::ArtifactInfo, Vec<u8>, usize), tonic::Status> {
    let mut stream = server
        .artifacts
        .clone()
        .download_artifact(request)
        .await?
        .into_inner();
    let first = stream.message().await?.expect("a first response");
    let Some(Download::Info(info)) = first.payload else {
        panic!("the first response carries no info: {first:?}");
    };
    let (mut bytes, mut chunks) = (Vec::new(), 0);
    while let Some(response) = stream.message().await? {
        match response.payload {
            Some(Download::Chunk(chunk)) => {
                assert!(!chunk.is_empty() && chunk.len() <= 4 * 1024 * 1024);
                bytes.extend_from_slice(&chunk);
                chunks += 1;
            }
            other => panic!("a later response carries no chunk: {other:?}"),
        }
    }
    Ok((info, bytes, chunks))
}

async fn list_all(server: &TestServer, id: &str, page_size: i32) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = server
            .artifacts
            .clone()
            .list_artifacts(pb::ListArtifactsRequest {
                model_registration_id: id.into(),
                page_size,
                page_token,
                ..Default::default()
            })
            .await
            .expect("list artifacts")
            .into_inner();
        pages.push(
            page.artifacts
                .iter()
                .map(|a| a.artifact_version.clone())
                .collect(),
        );
        if page.next_page_token.is_empty() {
            return pages;
        }
        page_token = page.next_page_token;
    }
}

async fn register(server: &TestServer, name: &str) -> pb::ModelRelatedInformation {
    server
        .register(model(name, "1.0", 1))
        .await
        .expect("register")
}

/// What the store holds, staged bytes and pending multipart uploads included.
async fn stored(server: &TestServer) -> Vec<String> {
    server.objects.everything().await
}

async fn artifact_rows(server: &TestServer) -> i64 {
    server
        .database
        .count("SELECT COUNT(*) FROM model_artifacts")
        .await
}

/// Waits until the store and the table are empty: cleanup after a cancelled call runs after
/// the client has gone.
async fn assert_nothing_left(server: &TestServer) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let objects = stored(server).await;
        let rows = artifact_rows(server).await;
        if objects.is_empty() && rows == 0 {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("left behind: {rows} artifact rows, objects {objects:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the upload in progress shows in the store (a staging file, a multipart upload),
/// so a test knows the server was storing bytes at that moment.
async fn wait_for_staged_bytes(server: &TestServer) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while stored(server).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never started storing the upload"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An upload fed by hand: the test decides when (and whether) the stream ends.
struct OpenUpload {
    sender: mpsc::Sender<pb::UploadArtifactRequest>,
    call: tokio::task::JoinHandle<Result<pb::ArtifactInfo, tonic::Status>>,
}

impl OpenUpload {
    fn start(server: &TestServer, header: pb::ArtifactHeader) -> Self {
        let (sender, receiver) = mpsc::channel(4);
        sender
            .try_send(header_message(header))
            .expect("room for the header");
        let mut client = server.artifacts.clone();
        let call = tokio::spawn(async move {
            client
                .upload_artifact(ReceiverStream::new(receiver))
                .await
                .map(tonic::Response::into_inner)
        });
        Self { sender, call }
    }

    async fn send(&self, content: &[u8]) {
        for chunk in content.chunks(CHUNK) {
            self.sender
                .send(chunk_message(chunk))
                .await
                .expect("the call is still open");
        }
    }
}

async fn artifact_versions_count_up_with_each_upload(backend: Backend, objects: Objects) {
    let server = TestServer::start_with_objects(backend, objects, |_| {}).await;
    let registered = register(&server, "qoe").await;
    let id = &registered.model_registration_id.clone();
    assert_eq!(
        registered.model_id.as_ref().unwrap().artifact_version,
        "0.0.0"
    );
    let mut previous = registered;
    for (seed, expected) in ["1.0.0", "1.1.0", "1.2.0"].into_iter().enumerate() {
        let content = random_bytes(1000 + seed, seed as u64);
        let info = upload(&server, id, &content).await;
        assert_eq!(info.artifact_version, expected);
        assert_eq!(info.model_id.as_ref().unwrap().artifact_version, expected);
        assert_eq!(info.size_bytes, content.len() as u64);
        assert_eq!(info.sha256, sha256_hex(&content));
        let now = server.get(id).await.unwrap();
        assert_eq!(now.model_id.as_ref().unwrap().artifact_version, expected);
        assert_ne!(
            now.etag, previous.etag,
            "the etag changes with the artifact"
        );
        let time = |t: Option<prost_types::Timestamp>| t.map(|t| (t.seconds, t.nanos));
        assert!(time(now.update_time) > time(previous.update_time));
        assert_eq!(now.create_time, previous.create_time);
        previous = now;
    }
}

async fn a_multi_chunk_artifact_round_trips_byte_for_byte(backend: Backend, objects: Objects) {
    let server = TestServer::start_with_objects(backend, objects, |_| {}).await;
    let id = register(&server, "qoe").await.model_registration_id;
    // Several store parts (5 MiB each) and an odd tail.
    let content = random_bytes(11 * 1024 * 1024 + 17, 7);
    let info = upload(&server, &id, &content).await;
    assert_eq!(info.filename, "model.onnx");

    let (downloaded, bytes, chunks) = download(&server, by_id(&id)).await.unwrap();
    assert_eq!(downloaded, info);
    assert_eq!(bytes.len(), content.len());
    assert!(bytes == content, "downloaded bytes differ from the upload");
    assert!(chunks > 1, "a large artifact is streamed in chunks");
}

async fn mismatched_checksums_and_sizes_are_rejected_and_leave_nothing(
    backend: Backend,
    objects: Objects,
) {
    let server = TestServer::start_with_objects(backend, objects, |_| {}).await;
    let registered = register(&server, "qoe").await;
    let id = &registered.model_registration_id;
    let content = random_bytes(200_000, 1);

    let wrong_digest = pb::ArtifactHeader {
        sha256: sha256_hex(b"something else"),
        ..header_for(id, &content)
    };
    let err = upload_with(&server, wrong_digest, &content)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["header.sha256"]);

    let too_few = pb::ArtifactHeader {
        size_bytes: content.len() as u64 + 1,
        ..header_for(id, &content)
    };
    let err = upload_with(&server, too_few, &content).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["header.size_bytes"]);

    let too_many = pb::ArtifactHeader {
        size_bytes: 1000,
        ..header_for(id, &content)
    };
    let err = upload_with(&server, too_many, &content).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["header.size_bytes"]);

    assert_nothing_left(&server).await;
    let after = server.get(id).await.unwrap();
    assert_eq!(after.model_id.unwrap().artifact_version, "0.0.0");
    assert_eq!(
        after.etag, registered.etag,
        "a rejected upload changes nothing"
    );
}

async fn a_cancelled_upload_leaves_nothing(backend: Backend, objects: Objects) {
    let server = TestServer::start_with_objects(backend, objects, |_| {}).await;
    let id = register(&server, "qoe").await.model_registration_id;
    let content = random_bytes(12 * 1024 * 1024, 3);
    let open = OpenUpload::start(&server, header_for(&id, &content));
    // More than one part, so the store holds bytes when the client goes away.
    open.send(&content[..7 * 1024 * 1024]).await;
    wait_for_staged_bytes(&server).await;
    // Dropping the call resets the HTTP/2 stream, as a client that dies does.
    open.call.abort();
    let _ = open.call.await;
    drop(open.sender);
    assert_nothing_left(&server).await;

    // The cancelled upload used no version.
    let info = upload(&server, &id, &content).await;
    assert_eq!(info.artifact_version, "1.0.0");
}

async fn concurrent_uploads_get_distinct_consecutive_versions(backend: Backend, objects: Objects) {
    let server = TestServer::start_with_objects(backend, objects, |_| {}).await;
    let id = register(&server, "qoe").await.model_registration_id;
    let contents: Vec<Vec<u8>> = (0..8).map(|seed| random_bytes(300_000, seed)).collect();
    let uploads = contents.iter().map(|content| upload(&server, &id, content));
    let infos = futures::future::join_all(uploads).await;

    let mut versions: Vec<String> = infos.iter().map(|i| i.artifact_version.clone()).collect();
    versions.sort_by_key(|v| v.split('.').nth(1).unwrap().parse::<u32>().unwrap());
    let expected: Vec<String> = (0..8).map(|minor| format!("1.{minor}.0")).collect();
    assert_eq!(versions, expected);

    // Every version holds the bytes of the upload that got it.
    for (info, content) in infos.iter().zip(&contents) {
        let request = pb::DownloadArtifactRequest {
            artifact_version: info.artifact_version.clone(),
            ..by_id(&id)
        };
        let (_, bytes, _) = download(&server, request).await.unwrap();
        assert!(
            bytes == *content,
            "version {} holds other bytes",
            info.artifact_version
        );
    }
    let latest = server.get(&id).await.unwrap();
    assert_eq!(latest.model_id.unwrap().artifact_version, "1.7.0");
    assert_eq!(artifact_rows(&server).await, 8);
}

async fn downloads_by_version_latest_and_offset(backend: Backend, objects: Objects) {
    let server = TestServer::start_with_objects(backend, objects, |_| {}).await;
    let id = register(&server, "qoe").await.model_registration_id;
    let first = random_bytes(500_000, 1);
    let second = random_bytes(300_000, 2);
    upload(&server, &id, &first).await;
    upload(&server, &id, &second).await;

    let version = |v: &str| pb::DownloadArtifactRequest {
        artifact_version: v.into(),
        ..by_id(&id)
    };
    let (info, bytes, _) = download(&server, version("1.0.0")).await.unwrap();
    assert_eq!(info.artifact_version, "1.0.0");
    assert!(bytes == first);
    let (info, bytes, _) = download(&server, by_id(&id)).await.unwrap();
    assert_eq!(
        info.artifact_version, "1.1.0",
        "no version means the latest"
    );
    assert!(bytes == second);

    // Resuming: the rest from an offset, nothing from the end, an error past it.
    let resume = pb::DownloadArtifactRequest {
        offset: 123_457,
        ..version("1.0.0")
    };
    let (info, bytes, _) = download(&server, resume).await.unwrap();
    assert_eq!(
        info.size_bytes,
        first.len() as u64,
        "info gives the whole size"
    );
    assert!(bytes == first[123_457..]);
    let at_end = pb::DownloadArtifactRequest {
        offset: first.len() as u64,
        ..version("1.0.0")
    };
    let (_, bytes, chunks) = download(&server, at_end).await.unwrap();
    assert!(bytes.is_empty() && chunks == 0);
    let past_end = pb::DownloadArtifactRequest {
        offset: first.len() as u64 + 1,
        ..version("1.0.0")
    };
    let err = download(&server, past_end).await.unwrap_err();
    assert_error(&err, Code::OutOfRange, "OFFSET_OUT_OF_RANGE");

    let err = download(&server, version("9.9.9")).await.unwrap_err();
    assert_error(&err, Code::NotFound, "ARTIFACT_NOT_FOUND");
    let empty = register(&server, "no-artifacts")
        .await
        .model_registration_id;
    let err = download(&server, by_id(&empty)).await.unwrap_err();
    assert_error(&err, Code::NotFound, "ARTIFACT_NOT_FOUND");
    let by_name = pb::DownloadArtifactRequest {
        model_id: Some(pb::ModelId {
            model_name: "qoe".into(),
            model_version: "1.0".into(),
            artifact_version: String::new(),
        }),
        ..Default::default()
    };
    let (info, _, _) = download(&server, by_name).await.unwrap();
    assert_eq!(info.artifact_version, "1.1.0");
}

async fn history_is_listed_newest_first_page_by_page(backend: Backend, objects: Objects) {
    let server = TestServer::start_with_objects(backend, objects, |_| {}).await;
    let id = register(&server, "qoe").await.model_registration_id;
    let other = register(&server, "other").await.model_registration_id;
    for seed in 0..5 {
        upload(&server, &id, &random_bytes(100, seed)).await;
    }
    upload(&server, &other, &random_bytes(100, 9)).await;

    assert_eq!(
        list_all(&server, &id, 2).await,
        [
            vec!["1.4.0", "1.3.0"],
            vec!["1.2.0", "1.1.0"],
            vec!["1.0.0"]
        ]
    );
    assert_eq!(list_all(&server, &other, 0).await, [vec!["1.0.0"]]);

    // A token is bound to its model.
    let first_page = server
        .artifacts
        .clone()
        .list_artifacts(pb::ListArtifactsRequest {
            model_registration_id: id.clone(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let err = server
        .artifacts
        .clone()
        .list_artifacts(pb::ListArtifactsRequest {
            model_registration_id: other.clone(),
            page_token: first_page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["page_token"]);
    let err = server
        .artifacts
        .clone()
        .list_artifacts(pb::ListArtifactsRequest {
            model_registration_id: uuid::Uuid::now_v7().to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_error(&err, Code::NotFound, "MODEL_REGISTRATION_NOT_FOUND");
    let err = server
        .artifacts
        .clone()
        .list_artifacts(pb::ListArtifactsRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&err),
        ["model_registration_id", "page_size"],
        "every violation at once"
    );
}

async fn deleting_a_registration_removes_its_artifacts(backend: Backend, objects: Objects) {
    let server = TestServer::start_with_objects(backend, objects, |_| {}).await;
    let id = register(&server, "qoe").await.model_registration_id;
    let kept = register(&server, "kept").await.model_registration_id;
    upload(&server, &id, &random_bytes(1000, 1)).await;
    upload(&server, &id, &random_bytes(1000, 2)).await;
    upload(&server, &kept, &random_bytes(1000, 3)).await;
    assert_eq!(server.objects.keys().await.len(), 3);

    server.delete(&id, "").await.expect("delete");
    let keys = server.objects.keys().await;
    assert_eq!(
        keys.len(),
        1,
        "only the other model's object is left: {keys:?}"
    );
    assert!(keys[0].contains(&kept), "{keys:?}");
    assert_eq!(artifact_rows(&server).await, 1);
    let (_, bytes, _) = download(&server, by_id(&kept)).await.unwrap();
    assert!(bytes == random_bytes(1000, 3));
}

async fn uploads_name_the_model_by_id_or_by_name_and_version(backend: Backend, objects: Objects) {
    let server = TestServer::start_with_objects(backend, objects, |_| {}).await;
    let id = register(&server, "qoe").await.model_registration_id;
    let content = random_bytes(4096, 1);
    let names = |name: &str| {
        Some(pb::ModelId {
            model_name: name.into(),
            model_version: "1.0".into(),
            artifact_version: String::new(),
        })
    };

    let by_name = pb::ArtifactHeader {
        model_registration_id: String::new(),
        model_id: names("qoe"),
        ..header_for(&id, &content)
    };
    let info = upload_with(&server, by_name, &content).await.unwrap();
    assert_eq!(info.model_registration_id, id);
    assert_eq!(info.artifact_version, "1.0.0");
    assert_eq!(
        upload(&server, &id, &content).await.artifact_version,
        "1.1.0"
    );

    let unknown_name = pb::ArtifactHeader {
        model_registration_id: String::new(),
        model_id: names("nope"),
        ..header_for(&id, &content)
    };
    let err = upload_with(&server, unknown_name, &content)
        .await
        .unwrap_err();
    assert_error(&err, Code::NotFound, "MODEL_NOT_FOUND");
    let unknown_id = header_for(&uuid::Uuid::now_v7().to_string(), &content);
    let err = upload_with(&server, unknown_id, &content)
        .await
        .unwrap_err();
    assert_error(&err, Code::NotFound, "MODEL_REGISTRATION_NOT_FOUND");
    let both = pb::ArtifactHeader {
        model_id: names("qoe"),
        ..header_for(&id, &content)
    };
    let err = upload_with(&server, both, &content).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["header.model_id"]);
    assert_eq!(artifact_rows(&server).await, 2);
}

async fn malformed_upload_streams_are_rejected(backend: Backend, objects: Objects) {
    let server = TestServer::start_with_objects(backend, objects, |_| {}).await;
    let id = register(&server, "qoe").await.model_registration_id;
    let content = random_bytes(1000, 1);

    let err = upload_messages(&server, vec![]).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["header"]);
    let chunk_first = vec![
        chunk_message(&content),
        header_message(header_for(&id, &content)),
    ];
    let err = upload_messages(&server, chunk_first).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["header"]);
    let two_headers = vec![
        header_message(header_for(&id, &content)),
        chunk_message(&content),
        header_message(header_for(&id, &content)),
    ];
    let err = upload_messages(&server, two_headers).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["header"]);
    let empty = pb::ArtifactHeader {
        sha256: String::new(),
        size_bytes: 0,
        ..header_for(&id, &content)
    };
    let err = upload_with(&server, empty, &[]).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["chunk"]);
    let bad_header = pb::ArtifactHeader {
        sha256: "xyz".into(),
        filename: "a/b".into(),
        ..header_for(&id, &content)
    };
    let err = upload_with(&server, bad_header, &content)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["header.sha256", "header.filename"]);
    assert_nothing_left(&server).await;
}

async fn an_upload_is_stopped_as_soon_as_it_crosses_the_limit(backend: Backend, objects: Objects) {
    let server = TestServer::start_with_objects(backend, objects, |config| {
        config.artifacts.max_artifact_bytes = bytesize::ByteSize::mib(1);
    })
    .await;
    let id = register(&server, "qoe").await.model_registration_id;

    // A declared size above the limit is refused before any byte is sent.
    let declared = pb::ArtifactHeader {
        size_bytes: 2 * 1024 * 1024,
        sha256: String::new(),
        ..header_for(&id, &[])
    };
    let open = OpenUpload::start(&server, declared);
    let answer = tokio::time::timeout(Duration::from_secs(10), open.call)
        .await
        .expect("refused without waiting for the stream")
        .unwrap();
    let details = assert_error(
        &answer.unwrap_err(),
        Code::ResourceExhausted,
        "ARTIFACT_TOO_LARGE",
    );
    assert_eq!(
        details.error_info().unwrap().metadata["max_artifact_bytes"],
        "1048576"
    );

    // Undeclared: stopped when the limit is crossed, while the client still holds the stream
    // open and would send more.
    let undeclared = pb::ArtifactHeader {
        size_bytes: 0,
        sha256: String::new(),
        ..header_for(&id, &[])
    };
    let open = OpenUpload::start(&server, undeclared);
    open.send(&random_bytes(1024 * 1024 + 1, 1)).await;
    let answer = tokio::time::timeout(Duration::from_secs(10), open.call)
        .await
        .expect("stopped without waiting for the end of the stream")
        .unwrap();
    assert_error(
        &answer.unwrap_err(),
        Code::ResourceExhausted,
        "ARTIFACT_TOO_LARGE",
    );
    drop(open.sender);
    assert_nothing_left(&server).await;

    // Exactly the limit is fine.
    let content = random_bytes(1024 * 1024, 2);
    assert_eq!(upload(&server, &id, &content).await.size_bytes, 1024 * 1024);
}

async fn a_registration_deleted_during_an_upload_keeps_nothing(backend: Backend, objects: Objects) {
    let server = TestServer::start_with_objects(backend, objects, |_| {}).await;
    let id = register(&server, "qoe").await.model_registration_id;
    let content = random_bytes(6 * 1024 * 1024, 4);
    let open = OpenUpload::start(&server, header_for(&id, &content));
    open.send(&content[..5 * 1024 * 1024 + 1]).await;
    wait_for_staged_bytes(&server).await;

    server
        .delete(&id, "")
        .await
        .expect("delete during the upload");
    open.send(&content[5 * 1024 * 1024 + 1..]).await;
    drop(open.sender);
    let answer = open.call.await.unwrap();
    assert_error(
        &answer.unwrap_err(),
        Code::NotFound,
        "MODEL_REGISTRATION_NOT_FOUND",
    );
    assert_nothing_left(&server).await;
}

async fn a_lost_object_is_reported_as_data_loss(backend: Backend, objects: Objects) {
    let server = TestServer::start_with_objects(backend, objects, |_| {}).await;
    let id = register(&server, "qoe").await.model_registration_id;
    upload(&server, &id, &random_bytes(1000, 1)).await;
    // Someone removes the bytes behind the registry's back.
    let keys = server.objects.keys().await;
    server.objects.delete(keys).await;

    let err = download(&server, by_id(&id)).await.unwrap_err();
    assert_error(&err, Code::DataLoss, "ARTIFACT_DATA_LOSS");
    assert!(!err.message().contains("models/"), "{}", err.message());
}
