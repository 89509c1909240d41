//! Test support shared by rmq's integration tests.
//!
//! Every rmq server binary prints one boot line ending in `listening on IP:PORT` on stdout;
//! [`ServerProcess`] starts a binary with `--listenPort 0`-style arguments, reads that line
//! and kills the process when dropped, so tests run in parallel on ephemeral ports; crash tests
//! signal it ([`ServerProcess::signal`]) and restart it on the same store and ports.
//! With the `stack` feature, [`LocalStack`] runs a name server and a broker in-process;
//! [`hostile`] attacks a running server the way issue 15 asks (and measures it meanwhile);
//! [`scrape_metrics`] reads a server's Prometheus endpoint.

pub mod hostile;
mod scrape;
#[cfg(feature = "stack")]
mod stack;
pub use scrape::scrape_metrics;
#[cfg(feature = "stack")]
pub use stack::LocalStack;

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A port nobody listens on now, for a server whose port must be known before it starts (a
/// metrics or controller port, or a broker that must come back on the ports it had: a restart
/// cannot use `--listenPort 0`).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding an ephemeral port");
    listener
        .local_addr()
        .expect("the address of a bound socket")
        .port()
}

/// A server binary running for the length of a test.
pub struct ServerProcess {
    child: Child,
    /// The address from the boot line, e.g. `127.0.0.1:40123`.
    pub addr: String,
}

impl ServerProcess {
    /// Spawns `command` (stdout captured, stderr discarded) and waits for its boot line.
    ///
    /// Panics with the process's exit status if it ends before printing one: this is test
    /// support, and a server that cannot start fails the test.
    pub fn start(command: Command) -> Self {
        Self::spawn(command, Stdio::null(), None)
    }

    /// Like [`ServerProcess::start`], with the server's stderr (its log) appended to `log`:
    /// a test that kills and restarts a server keeps what every run of it said.
    pub fn start_logging_to(command: Command, log: &Path) -> Self {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open the server's log file");
        let before = file.metadata().map(|m| m.len()).unwrap_or(0) as usize;
        Self::spawn(command, Stdio::from(file), Some((log, before)))
    }

    fn spawn(mut command: Command, stderr: Stdio, log: Option<(&Path, usize)>) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn the server binary");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the boot line");
        let Some((_, addr)) = line.trim().rsplit_once("listening on ") else {
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            // What this run wrote to the log (earlier runs' lines stay out of the message).
            let said = log
                .and_then(|(log, before)| Some(std::fs::read(log).ok()?.split_off(before)))
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default();
            panic!(
                "the server printed no boot line (got {line:?}; exit {status}); its log:\n{said}"
            );
        };
        ServerProcess {
            addr: addr.to_owned(),
            child,
        }
    }
}

impl ServerProcess {
    /// The process id, for tests that signal the server themselves.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (e.g. `libc::SIGSTOP`) to the server; crash and stall tests use it.
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.pid()).expect("a pid fits in pid_t");
        // SAFETY: kill(2) with a pid this test spawned and has not reaped yet.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// Stops the server the way an operator does (SIGTERM), waiting up to `timeout` for it to
    /// exit; SIGKILL after that. Returns the exit status, None when it had to be killed.
    pub fn stop(mut self, timeout: Duration) -> Option<ExitStatus> {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
