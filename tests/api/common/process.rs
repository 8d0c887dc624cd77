//! `modelreg serve` as a child process, for the tests that need the real binary and for the
//! benchmarks (which include this file with `#[path]`). It listens on a free port of
//! 127.0.0.1 (or on the address of a server it replaces), tells its address in its log, and
//! counts as started once `grpc.health.v1.Health/Check` answers SERVING.

// Each includer uses a part of this module.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// What the server logs once it listens, followed by its address.
const SERVING_LINE: &str = "serving gRPC address=";
/// How long a start may take, from spawning to SERVING.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How to start `modelreg serve`: arguments after `serve --listen 127.0.0.1:0`, environment,
/// and where its log goes.
pub struct Serve {
    command: Command,
    log: Option<File>,
    /// The CA (PEM) of the server's certificate, when it serves TLS.
    ca: Option<String>,
}

impl Default for Serve {
    fn default() -> Self {
        Self::new()
    }
}

impl Serve {
    /// The server's own log filter (RUST_LOG removed), its log discarded.
    pub fn new() -> Self {
        Self::listening_on(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// On `addr`: a server started again where its clients were connected.
    pub fn listening_on(addr: SocketAddr) -> Self {
        Self::of_program(env!("CARGO_BIN_EXE_modelreg").as_ref(), addr)
    }

    /// Another build of `modelreg` (a benchmark's baseline), on any free port.
    #[allow(dead_code)]
    pub fn of_binary(program: &std::path::Path) -> Self {
        Self::of_program(program.as_os_str(), SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    fn of_program(program: &OsStr, addr: SocketAddr) -> Self {
        let mut command = Command::new(program);
        command
            .args(["serve", "--listen", &addr.to_string()])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        Self {
            command,
            log: None,
            ca: None,
        }
    }

    /// The server serves TLS with a certificate of `ca_pem`: clients, and the check that it
    /// serves, connect over https and trust that CA.
    pub fn tls_trusting(mut self, ca_pem: String) -> Self {
        self.ca = Some(ca_pem);
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.command.args(args);
        self
    }

    /// Sets a variable; `RUST_LOG` must still let the `modelreg` info line through.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Copies every line the server logs into `file`.
    pub fn log_to(mut self, file: File) -> Self {
        self.log = Some(file);
        self
    }

    /// Spawns the server and returns once it answers SERVING.
    pub async fn start(self) -> ServeProcess {
        let Self {
            mut command,
            log,
            ca,
        } = self;
        let mut child = command.spawn().expect("start modelreg");
        let stderr = child.stderr.take().expect("the log is piped");
        let (told, address) = oneshot::channel();
        // The log is read to its end, so that the server never blocks on a full pipe.
        std::thread::spawn(move || read_log(stderr, log, told));
        let mut server = match tokio::time::timeout(START_TIMEOUT, address).await {
            Ok(Ok(Ok(addr))) => ServeProcess { child, addr, ca },
            Ok(Ok(Err(log))) => {
                let status = child.wait().expect("wait for modelreg");
                panic!("modelreg exited with {status} before serving; its log:\n{log}");
            }
            Ok(Err(_)) => panic!("the log reader of modelreg stopped"),
            Err(_) => {
                let _ = child.kill();
                panic!("modelreg did not log its address within {START_TIMEOUT:?}");
            }
        };
        server.wait_until_serving().await;
        server
    }
}

/// Reads the server's log line by line: tells the address once it shows, or everything logged
/// when the log ends before it.
fn read_log(
    stderr: std::process::ChildStderr,
    copy: Option<File>,
    told: oneshot::Sender<Result<SocketAddr, String>>,
) {
    // Buffered: under load the server logs a line per request. Flushed when the log ends.
    let mut copy = copy.map(BufWriter::new);
    let mut told = Some(told);
    let mut seen = String::new();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if let Some(file) = &mut copy {
            let _ = writeln!(file, "{line}");
        }
        if told.is_none() {
            continue;
        }
        match line.split_once(SERVING_LINE) {
            Some((_, rest)) => {
                let addr = rest
                    .trim()
                    .parse()
                    .expect("a socket address after the log line");
                let _ = told.take().unwrap().send(Ok(addr));
            }
            None => {
                seen.push_str(&line);
                seen.push('\n');
            }
        }
    }
    if let Some(told) = told {
        let _ = told.send(Err(seen));
    }
}

/// A running `modelreg serve`; killed when dropped.
pub struct ServeProcess {
    child: Child,
    addr: SocketAddr,
    ca: Option<String>,
}

impl ServeProcess {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDRESS`, or `https://ADDRESS` when it serves TLS, for clients.
    pub fn url(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_until_serving(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut endpoint = Channel::from_shared(self.url()).unwrap();
        if let Some(ca) = &self.ca {
            let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
            endpoint = endpoint.tls_config(tls).expect("a TLS client");
        }
        loop {
            if let Some(status) = self.child.try_wait().expect("poll modelreg") {
                panic!("modelreg exited with {status} before serving");
            }
            if let Ok(channel) = endpoint.connect().await {
                let answer = HealthClient::new(channel)
                    .check(HealthCheckRequest::default())
                    .await;
                if answer.is_ok_and(|a| a.into_inner().status == ServingStatus::Serving as i32) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "modelreg did not serve within {START_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// SIGKILL, and waits until it is gone: the server has no chance to flush anything.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill -9 modelreg");
        self.child.wait().expect("wait for modelreg");
    }

    /// SIGTERM: asks for a graceful stop, without waiting for it.
    pub fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {} failed", self.pid());
    }

    /// Waits for the process to exit; `None` when it is still running after `within`.
    pub async fn wait(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(exit) = self.child.try_wait().expect("poll modelreg") {
                return Some(exit);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `modelreg gc` with `args` on the database and store; returns what it printed.
pub fn gc(database_url: &str, store: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_modelreg"))
        .arg("gc")
        .args(["--database-url", database_url, "--artifact-store", store])
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run modelreg gc");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "modelreg gc {args:?} failed with {}:\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
