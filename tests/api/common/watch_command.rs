//! `modelreg models watch` as a child process: its stdout read line by line as it comes, its
//! stderr kept, Ctrl-C sent as a user sends it. Killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use modelreg::client::cli::json;
use modelreg::pb;
use tokio::sync::mpsc;

/// Longer than any wait a test means to make (reconnects back off up to 5 s).
const WAIT: Duration = Duration::from_secs(30);

pub struct WatchCommand {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl WatchCommand {
    /// `modelreg models watch ARGS` against `server` (`http://…`); `args` is split at spaces.
    pub fn start(server: &str, args: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_modelreg"))
            .env("MODELREG_SERVER", server)
            .env_remove("RUST_LOG")
            .args(["models", "watch"])
            .args(args.split_whitespace())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start modelreg models watch");
        let (sender, lines) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let kept = stderr.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read @ 1..) = pipe.read(&mut buffer) {
                kept.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        });
        Self {
            child,
            lines,
            stderr,
        }
    }

    /// What it printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The next line of stdout; panics when none comes in time.
    pub async fn next_line(&mut self) -> String {
        match tokio::time::timeout(WAIT, self.lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!("the watch ended; its stderr:\n{}", self.stderr()),
            Err(_) => panic!("no line within {WAIT:?}; its stderr:\n{}", self.stderr()),
        }
    }

    /// The next `count` lines, each a ModelEvent in proto3 JSON (`-o json`).
    pub async fn events(&mut self, count: usize) -> Vec<pb::ModelEvent> {
        let mut events = Vec::with_capacity(count);
        for _ in 0..count {
            let line = self.next_line().await;
            let event = json::from_json(&line, json::EVENT)
                .unwrap_or_else(|err| panic!("not a ModelEvent ({err}): {line}"));
            events.push(event);
        }
        events
    }

    /// Waits until stderr holds `text`.
    pub async fn wait_for_stderr(&self, text: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.stderr().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no {text:?} on stderr within {WAIT:?}:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Ctrl-C (SIGINT), then its exit status.
    pub async fn interrupt(&mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -INT {} failed", self.child.id());
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll modelreg") {
                return status;
            }
            assert!(Instant::now() < deadline, "Ctrl-C did not stop the watch");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for WatchCommand {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
