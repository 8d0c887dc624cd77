//! Scale-out: three `modelreg serve` processes on one PostgreSQL database and one S3-protocol
//! store, as production runs them behind a balancer. They apply the migrations together, once;
//! what one replica writes every other reads at once; a rolling restart (SIGTERM, start again,
//! next) under steady reads and writes costs a client that retries `UNAVAILABLE` on another
//! replica no call and loses nothing; and a watcher that follows the restarts from replica to
//! replica sees every event once, in order.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use migration::{Migrator, MigratorTrait};
use modelreg::pb::download_artifact_response::Payload as Download;
use modelreg::pb::model_artifact_service_client::ModelArtifactServiceClient;
use modelreg::pb::model_event_service_client::ModelEventServiceClient;
use modelreg::pb::model_registration_service_client::ModelRegistrationServiceClient;
use modelreg::pb::{self, watch_models_response::Message};
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::artifacts::{chunk_message, header_for, header_message, random_bytes};
use crate::common::connections::never_sent;
use crate::common::process::{Serve, ServeProcess};
use crate::common::trials::{Needs, name, trial};
use crate::common::watching::Watching;
use crate::common::{Backend, Objects, TestDatabase, model};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    let test = "three_replicas_share_one_database_and_one_store";
    vec![trial(
        name(module_path!(), Some("postgres_s3"), test),
        &[Needs::Postgres, Needs::S3],
        three_replicas_share_one_database_and_one_store,
    )]
}

const REPLICAS: usize = 3;
const WRITERS: usize = 4;
/// Attempts of one call, each on the next replica, before the call counts as failed.
const ATTEMPTS: usize = 100;

/// The clients of one replica, on a channel that reconnects to its address after a restart.
#[derive(Clone)]
struct Clients {
    registration: ModelRegistrationServiceClient<Channel>,
    artifacts: ModelArtifactServiceClient<Channel>,
    events: ModelEventServiceClient<Channel>,
}

impl Clients {
    /// The registration `id` as this replica reads it.
    async fn get(&self, id: &str) -> Result<pb::ModelRelatedInformation, Status> {
        let mut client = self.registration.clone();
        Ok(client.get_model_registration(get(id)).await?.into_inner())
    }

    fn of(addr: SocketAddr) -> Self {
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect_timeout(Duration::from_secs(1))
            .connect_lazy();
        Self {
            registration: ModelRegistrationServiceClient::new(channel.clone()),
            artifacts: ModelArtifactServiceClient::new(channel.clone()),
            events: ModelEventServiceClient::new(channel),
        }
    }
}

fn serve(addr: Option<SocketAddr>, database_url: &str, store: &str) -> Serve {
    let serve = match addr {
        Some(addr) => Serve::listening_on(addr),
        None => Serve::new(),
    };
    serve
        .args(["--database-url", database_url, "--artifact-store", store])
        // Three pools share the database with other tests.
        .args(["--database-max-connections", "8", "--gc-interval", "0s"])
        .args(["--shutdown-grace", "5s"])
}

/// What the client of a balanced service counts.
#[derive(Default)]
struct Tally {
    calls: AtomicU64,
    retries: AtomicU64,
    failures: AtomicU64,
    /// Retries of calls the client never sent (see `never_sent`).
    connections_closed: AtomicU64,
    first_failures: Mutex<Vec<String>>,
}

impl Tally {
    /// Runs `call` on replica `start`, and on the next one for as long as it answers
    /// `UNAVAILABLE` (a replica stopping or not yet started); any other error fails the call.
    async fn call<T, F, Fut>(&self, replicas: &[Clients], start: usize, call: F) -> Option<T>
    where
        F: Fn(Clients) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            let replica = replicas[(start + attempt) % replicas.len()].clone();
            match call(replica).await {
                Ok(answer) => return Some(answer),
                Err(status) if unavailable(&status) => {
                    if never_sent(&status) {
                        self.connections_closed.fetch_add(1, Ordering::SeqCst);
                    }
                    self.retries.fetch_add(1, Ordering::SeqCst);
                    last = Some(status);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(status) => {
                    last = Some(status);
                    break;
                }
            }
        }
        self.failures.fetch_add(1, Ordering::SeqCst);
        self.first_failures
            .lock()
            .unwrap()
            .push(format!("{last:?}"));
        None
    }
}

/// The replica cannot serve the call now, and another may: it answered UNAVAILABLE (it is
/// stopping, or its connection closed under the call), or the client never sent the call,
/// as the replica's GOAWAY raced it.
fn unavailable(status: &Status) -> bool {
    status.code() == Code::Unavailable || never_sent(status)
}

fn get(id: &str) -> pb::GetModelRegistrationRequest {
    pb::GetModelRegistrationRequest {
        model_registration_id: id.into(),
        model: None,
    }
}

async fn upload(
    mut client: ModelArtifactServiceClient<Channel>,
    id: &str,
    content: &[u8],
) -> pb::ArtifactInfo {
    let mut messages = vec![header_message(header_for(id, content))];
    messages.extend(content.chunks(64 * 1024).map(chunk_message));
    client
        .upload_artifact(futures::stream::iter(messages))
        .await
        .expect("upload")
        .into_inner()
}

async fn download(
    mut client: ModelArtifactServiceClient<Channel>,
    id: &str,
) -> Result<(String, Vec<u8>), Status> {
    let request = pb::DownloadArtifactRequest {
        model_registration_id: id.into(),
        ..Default::default()
    };
    let mut stream = client.download_artifact(request).await?.into_inner();
    let (mut version, mut bytes) = (String::new(), Vec::new());
    while let Some(response) = stream.message().await? {
        match response.payload {
            Some(Download::Info(info)) => version = info.artifact_version,
            Some(Download::Chunk(chunk)) => bytes.extend_from_slice(&chunk),
            None => {}
        }
    }
    Ok((version, bytes))
}

async fn three_replicas_share_one_database_and_one_store() {
    let database = TestDatabase::create(&Backend::postgres()).await;
    let Objects::S3(bucket) = Objects::s3().await else {
        unreachable!("an S3 store")
    };
    let prefix = uuid::Uuid::new_v4().simple().to_string();
    let store = format!("{}/{prefix}", bucket.trim_end_matches('/'));

    // Started together, they apply the migrations together: each once.
    let starts = (0..REPLICAS).map(|_| serve(None, &database.url, &store).start());
    let mut processes: Vec<ServeProcess> = futures::future::join_all(starts).await;
    let addrs: Vec<SocketAddr> = processes.iter().map(ServeProcess::addr).collect();
    let replicas: Vec<Clients> = addrs.iter().map(|addr| Clients::of(*addr)).collect();
    let applied = database
        .count("SELECT COUNT(*) FROM seaql_migrations")
        .await;
    assert_eq!(applied as usize, Migrator::migrations().len());
    assert_eq!(database.pending_migrations().await, 0);

    every_write_is_read_back_on_every_replica(&replicas).await;
    rolling_restart_under_load(&mut processes, &addrs, &replicas, &database.url, &store).await;
}

/// Registration, upload, update and delete, each on another replica than the one before, each
/// read back on all three at once.
async fn every_write_is_read_back_on_every_replica(replicas: &[Clients]) {
    for i in 0..REPLICAS {
        let on = |offset: usize| replicas[(i + offset) % REPLICAS].clone();
        let request = pb::RegisterModelRequest {
            model_related_information: Some(model(&format!("shared-{i}"), "1", 1)),
            request_id: String::new(),
        };
        let registered = on(0)
            .registration
            .register_model(request)
            .await
            .unwrap()
            .into_inner();
        let id = registered.model_registration_id.clone();
        for replica in replicas {
            let read = replica.get(&id).await;
            assert_eq!(read.unwrap().etag, registered.etag);
        }

        let content = random_bytes(300_000, i as u64);
        let stored = upload(on(1).artifacts, &id, &content).await;
        for replica in replicas {
            let (version, bytes) = download(replica.artifacts.clone(), &id).await.unwrap();
            assert_eq!(version, stored.artifact_version);
            assert!(bytes == content, "the same bytes on every replica");
        }

        let current = on(1).get(&id).await;
        let change = pb::ModelRelatedInformation {
            model_registration_id: id.clone(),
            description: format!("changed on replica {}", (i + 2) % REPLICAS),
            etag: current.unwrap().etag,
            ..Default::default()
        };
        let updated = on(2)
            .registration
            .update_model_registration(pb::UpdateModelRegistrationRequest {
                model_related_information: Some(change),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["description".into()],
                }),
            })
            .await
            .unwrap()
            .into_inner();
        for replica in replicas {
            let read = replica.get(&id).await;
            let read = read.unwrap();
            assert_eq!(
                (&read.etag, &read.description),
                (&updated.etag, &updated.description)
            );
        }

        on(0)
            .registration
            .delete_model_registration(pb::DeleteModelRegistrationRequest {
                model_registration_id: id.clone(),
                etag: updated.etag.clone(),
            })
            .await
            .unwrap();
        for replica in replicas {
            let read = replica.get(&id).await;
            assert_eq!(read.unwrap_err().code(), Code::NotFound);
            let download = download(replica.artifacts.clone(), &id).await;
            assert_eq!(download.unwrap_err().code(), Code::NotFound);
        }
    }
}

/// Writers register (each with a request id, so that a retry cannot register twice) and read
/// each registration back on another replica, while each replica in turn is stopped with
/// SIGTERM and started again; a watcher per replica follows the log from replica to replica.
async fn rolling_restart_under_load(
    processes: &mut [ServeProcess],
    addrs: &[SocketAddr],
    replicas: &[Clients],
    database_url: &str,
    store: &str,
) {
    let replicas: Arc<Vec<Clients>> = Arc::new(replicas.to_vec());
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stale = Arc::new(AtomicU64::new(0));
    let start_sequence = last_sequence(&replicas[0]).await;
    let last_wanted = Arc::new(AtomicI64::new(0));
    let watchers: Vec<_> = (0..REPLICAS)
        .map(|home| {
            let (replicas, last_wanted) = (Arc::clone(&replicas), Arc::clone(&last_wanted));
            tokio::spawn(follow_the_log(replicas, home, start_sequence, last_wanted))
        })
        .collect();

    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (replicas, tally, stop) =
                (Arc::clone(&replicas), Arc::clone(&tally), Arc::clone(&stop));
            let (acknowledged, stale) = (Arc::clone(&acknowledged), Arc::clone(&stale));
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let request = pb::RegisterModelRequest {
                        model_related_information: Some(model(
                            &format!("load-{writer}-{n}"),
                            "1",
                            1,
                        )),
                        request_id: uuid::Uuid::new_v4().to_string(),
                    };
                    let start = writer + n;
                    let registered = tally
                        .call(&replicas, start, |replica| {
                            let request = request.clone();
                            async move {
                                let mut client = replica.registration;
                                Ok(client.register_model(request).await?.into_inner())
                            }
                        })
                        .await;
                    if let Some(registered) = registered {
                        let id = registered.model_registration_id;
                        acknowledged.lock().unwrap().push(id.clone());
                        let read = tally
                            .call(&replicas, start + 1, |replica| {
                                let id = id.clone();
                                async move { replica.get(&id).await }
                            })
                            .await;
                        if read.is_none() {
                            stale.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    n += 1;
                }
            })
        })
        .collect();

    let began = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (index, process) in processes.iter_mut().enumerate() {
        process.terminate();
        let exit = process.wait(Duration::from_secs(15)).await;
        assert!(exit.expect("the replica stops within 15 s").success());
        *process = serve(Some(addrs[index]), database_url, store).start().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.expect("a writer");
    }
    let restarts = began.elapsed();

    let acknowledged = acknowledged.lock().unwrap().clone();
    let mut lost = 0;
    for (n, id) in acknowledged.iter().enumerate() {
        if replicas[n % REPLICAS].get(id).await.is_err() {
            lost += 1;
        }
    }
    let last = last_sequence(&replicas[0]).await;
    last_wanted.store(last, Ordering::SeqCst);
    let mut moves = Vec::new();
    for watcher in watchers {
        let (seen, moved) = watcher.await.expect("a watcher");
        assert_eq!(
            seen,
            (start_sequence + 1..=last).collect::<Vec<_>>(),
            "every event once, in order"
        );
        moves.push(moved);
    }

    let (calls, retries, closed, failures) = (
        tally.calls.load(Ordering::SeqCst),
        tally.retries.load(Ordering::SeqCst),
        tally.connections_closed.load(Ordering::SeqCst),
        tally.failures.load(Ordering::SeqCst),
    );
    println!(
        "rolling restart of {REPLICAS} replicas in {:.1} s under {WRITERS} writers: {calls} calls, \
         {retries} retries ({closed} of calls a closing connection never sent), {failures} \
         failed, {} registrations acknowledged, {lost} lost, {} read stale; {} events, each \
         seen by {REPLICAS} watchers that moved {moves:?} times",
        restarts.as_secs_f64(),
        acknowledged.len(),
        stale.load(Ordering::SeqCst),
        last - start_sequence,
    );
    let first_failures = tally.first_failures.lock().unwrap().clone();
    assert_eq!(failures, 0, "failed calls: {first_failures:?}");
    assert_eq!(lost, 0, "acknowledged registrations lost");
    assert!(
        !acknowledged.is_empty() && retries > 0,
        "the restarts happened under load"
    );
}

async fn last_sequence(replica: &Clients) -> i64 {
    let request = pb::ListEventsRequest {
        newest_first: true,
        page_size: 1,
        ..Default::default()
    };
    let page = replica.events.clone().list_events(request).await.unwrap();
    page.into_inner()
        .events
        .first()
        .map_or(0, |event| event.sequence)
}

/// Watches from `after` on replica `home`; when the stream ends, resumes after the last event
/// seen on the next replica that answers. Returns the sequences seen, once `last_wanted` is
/// set and reached, and how many times it moved.
async fn follow_the_log(
    replicas: Arc<Vec<Clients>>,
    home: usize,
    after: i64,
    last_wanted: Arc<AtomicI64>,
) -> (Vec<i64>, usize) {
    let (mut seen, mut moved, mut on) = (Vec::new(), 0, home);
    let deadline = Instant::now() + Duration::from_secs(120);
    'watch: loop {
        let resume = seen.last().copied().unwrap_or(after);
        let mut watching = match Watching::after(&replicas[on].events, resume).await {
            Ok(watching) => watching,
            Err(_) => {
                on = (on + 1) % REPLICAS;
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        loop {
            let wanted = last_wanted.load(Ordering::SeqCst);
            if wanted > 0 && seen.last().copied().unwrap_or(after) >= wanted {
                return (seen, moved);
            }
            assert!(Instant::now() < deadline, "the watcher fell behind");
            match watching.try_next(Duration::from_millis(200)).await {
                Ok(Some(Message::Event(event))) => seen.push(event.sequence),
                Ok(_) => {}
                Err(_) => {
                    moved += 1;
                    on = (on + 1) % REPLICAS;
                    continue 'watch;
                }
            }
        }
    }
}
