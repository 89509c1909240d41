//! Test support shared by rmq's integration tests.
//!
//! Every rmq server binary prints one boot line ending in `listening on IP:PORT` on stdout;
//! [`ServerProcess`] starts a binary with `--listenPort 0`-style arguments, reads that line
//! and kills the process when dropped, so tests run in parallel on ephemeral ports.
//! With the `stack` feature, [`LocalStack`] runs a name server and a broker in-process.

#[cfg(feature = "stack")]
mod stack;
#[cfg(feature = "stack")]
pub use stack::LocalStack;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

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
    pub fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the server binary");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the boot line");
        let Some((_, addr)) = line.trim().rsplit_once("listening on ") else {
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            panic!("the server printed no boot line (got {line:?}; exit {status})");
        };
        ServerProcess {
            addr: addr.to_owned(),
            child,
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
