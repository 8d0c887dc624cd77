//! Several `modelreg serve` processes on one fresh database, as replicas run in production,
//! and writers that keep them busy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use modelreg::pb::model_registration_service_client::ModelRegistrationServiceClient;
use modelreg::pb::{self, model_event_service_client::ModelEventServiceClient};
use tonic::transport::Channel;

use super::process::{Serve, ServeProcess};
use super::{Backend, TestDatabase, model};

pub struct Replica {
    pub process: ServeProcess,
    pub registration: ModelRegistrationServiceClient<Channel>,
    pub events: ModelEventServiceClient<Channel>,
}

/// Replicas on one fresh database; the processes are killed before the database is dropped.
pub struct Cluster {
    pub replicas: Vec<Replica>,
    database: TestDatabase,
    folder: tempfile::TempDir,
}

impl Cluster {
    /// Starts `count` replicas at once (they also apply the migrations together), each with
    /// `args` as well.
    pub async fn start(backend: Backend, count: usize, args: &[&str]) -> Self {
        let database = TestDatabase::create(&backend).await;
        let folder = tempfile::tempdir().unwrap();
        let starts = (0..count).map(|i| replica(&database, &folder, i, Serve::new(), args));
        let mut replicas = Vec::new();
        for started in futures::future::join_all(starts).await {
            replicas.push(started);
        }
        Self {
            replicas,
            database,
            folder,
        }
    }

    /// Kills replica `index` (kill -9) and starts it again on its address, with `args` as
    /// well; returns once it serves. Its log goes on in the same file.
    pub async fn restart_with(&mut self, index: usize, args: &[&str]) {
        let addr = self.replicas[index].process.addr();
        self.replicas[index].process.kill();
        let serve = Serve::listening_on(addr);
        self.replicas[index] = replica(&self.database, &self.folder, index, serve, args).await;
    }

    pub fn database(&self) -> &TestDatabase {
        &self.database
    }

    /// The sequence of the newest event in the log, as the last replica reads it (tests stop
    /// the first ones).
    pub async fn last_sequence(&self) -> i64 {
        let request = pb::ListEventsRequest {
            newest_first: true,
            page_size: 1,
            ..Default::default()
        };
        let mut events = self.replicas.last().unwrap().events.clone();
        let page = events.list_events(request).await.unwrap().into_inner();
        page.events.first().map_or(0, |event| event.sequence)
    }

    /// Waits until `count` more events are in the log.
    pub async fn wait_for_writes(&self, count: i64) {
        let wanted = self.last_sequence().await + count;
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.last_sequence().await < wanted {
            assert!(Instant::now() < deadline, "the log never reached {wanted}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Starts replica `index` of the cluster on `database`, with its artifacts and log in
/// `folder`.
async fn replica(
    database: &TestDatabase,
    folder: &tempfile::TempDir,
    index: usize,
    serve: Serve,
    args: &[&str],
) -> Replica {
    let artifacts = url::Url::from_directory_path(folder.path()).unwrap();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(folder.path().join(format!("replica-{index}.log")));
    let process = serve
        .args(["--database-url", &database.url])
        .args(["--artifact-store", artifacts.as_str()])
        // Three pools share the database with other tests.
        .args(["--database-max-connections", "8", "--gc-interval", "0s"])
        .args(args)
        .log_to(log.unwrap())
        .start()
        .await;
    let channel = Channel::from_shared(process.url()).unwrap();
    let channel = channel.connect().await.unwrap();
    Replica {
        process,
        registration: ModelRegistrationServiceClient::new(channel.clone()),
        events: ModelEventServiceClient::new(channel),
    }
}

/// Registers a model named `name`; its registration id.
pub async fn register(client: &mut ModelRegistrationServiceClient<Channel>, name: &str) -> String {
    let request = pb::RegisterModelRequest {
        model_related_information: Some(model(name, "1", 1)),
        request_id: String::new(),
    };
    let registered = client.register_model(request).await.expect("register");
    registered.into_inner().model_registration_id
}

/// Registers through `client` until `stop` is set; returns how many.
pub fn keep_registering(
    mut client: ModelRegistrationServiceClient<Channel>,
    prefix: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<i64> {
    tokio::spawn(async move {
        let mut count = 0;
        while !stop.load(Ordering::SeqCst) {
            register(&mut client, &format!("{prefix}-{count}")).await;
            count += 1;
        }
        count
    })
}

/// Stops the writers; the number of events they wrote.
pub async fn stop_writers(stop: &AtomicBool, writers: Vec<tokio::task::JoinHandle<i64>>) -> i64 {
    stop.store(true, Ordering::SeqCst);
    let mut total = 0;
    for writer in writers {
        total += writer.await.expect("a writer");
    }
    total
}
