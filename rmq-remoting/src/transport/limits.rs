//! The caps that protect a server from its peers, and the log lines that report them.
//!
//! A cap that is hit by a hostile peer is usually hit thousands of times a second, so each kind
//! of cap logs at most one line a second ([`LogGate`]); the next line says how many it left out,
//! and if none comes, a summary line does when the second is over.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Open files a server keeps for itself (store files, logs, outgoing connections) when it
/// derives its connection cap from the open-file limit: an eighth of the limit, at least this.
const RESERVED_FILES: u64 = 256;

/// Lets one line through per second for a kind of event; the others are counted.
pub(crate) struct LogGate {
    /// What the held-back lines were about, for the summary line.
    what: &'static str,
    /// Milliseconds since [`epoch`] before which no line is let through.
    next_ms: AtomicU64,
    /// Lines held back since the last one let through (or the last summary).
    suppressed: AtomicU64,
}

impl LogGate {
    /// A gate that lets the first line through.
    pub(crate) const fn new(what: &'static str) -> Self {
        LogGate {
            what,
            next_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(held back)` when a line may be logged now, `None` when this one is held back.
    pub(crate) fn admit(&'static self) -> Option<u64> {
        let now = now_ms();
        let next = self.next_ms.load(Ordering::Relaxed);
        if now >= next
            && self
                .next_ms
                .compare_exchange(next, now + 1000, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        if self.suppressed.fetch_add(1, Ordering::Relaxed) == 0 {
            self.summarize_at(next);
        }
        None
    }

    /// When the second is over, logs how many lines were held back unless a line let through
    /// since has said so already. Outside a runtime (unit tests) there is no summary.
    fn summarize_at(&'static self, due_ms: u64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            tokio::time::sleep(Duration::from_millis(due_ms.saturating_sub(now_ms()))).await;
            let held_back = self.suppressed.swap(0, Ordering::Relaxed);
            if held_back > 0 {
                tracing::warn!(
                    held_back,
                    "{}: {held_back} more, not logged one by one",
                    self.what
                );
            }
        });
    }
}

fn now_ms() -> u64 {
    epoch().elapsed().as_millis() as u64
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Connections refused because the server holds `maxConnections` already.
pub(crate) static CONNECTION_CAP: LogGate = LogGate::new("connections refused at maxConnections");
/// `accept` failures (typically EMFILE: the open-file limit).
pub(crate) static ACCEPT_FAILED: LogGate = LogGate::new("accept failures");
/// Plaintext peers closed by a server in `tls.server.mode=enforcing`.
pub(crate) static PLAINTEXT_REFUSED: LogGate =
    LogGate::new("plaintext connections refused in tls.server.mode=enforcing");
/// TLS handshakes that failed or timed out.
pub(crate) static TLS_HANDSHAKE_FAILED: LogGate = LogGate::new("failed TLS handshakes");
/// Peers that reached `maxInFlightPerConnection` (each logged once per connection at most).
pub(crate) static IN_FLIGHT_CAP: LogGate = LogGate::new("peers reaching maxInFlightPerConnection");
/// Peers closed for not reading their responses within `writeStallTimeoutMillis`.
pub(crate) static WRITE_STALL: LogGate =
    LogGate::new("peers closed for not reading within writeStallTimeoutMillis");
/// Peers closed for sending bytes that are not a frame (too large, bad header, garbage).
pub(crate) static MALFORMED_FRAME: LogGate =
    LogGate::new("connections closed for malformed frames");

/// The soft limit on open files (`ulimit -n`), if the platform reports one.
pub fn open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a valid pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    Some(limit.rlim_cur)
}

/// Raises the soft open-file limit to the hard limit and logs the result.
///
/// Every connection is a file descriptor; the usual soft limit (1024) would make `accept` and
/// the store's file opens fail long before a server's memory is a concern. Raising the soft
/// limit up to the hard one needs no privilege and is what Apache's start scripts do with
/// `ulimit -n`. Returns the soft limit in force afterwards.
pub fn raise_open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a valid pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "cannot read the open-file limit");
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads one rlimit through a valid pointer.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            tracing::info!(
                from = limit.rlim_cur,
                to = raised.rlim_cur,
                "raised the open-file limit (ulimit -n) to its hard limit"
            );
            limit = raised;
        } else {
            tracing::warn!(
                soft = limit.rlim_cur,
                hard = limit.rlim_max,
                error = %std::io::Error::last_os_error(),
                "cannot raise the open-file limit to its hard limit"
            );
        }
    } else {
        tracing::info!(limit = limit.rlim_cur, "open-file limit (ulimit -n)");
    }
    Some(limit.rlim_cur)
}

/// The connections a server accepts: `configured`, lowered so that accepting them cannot use
/// up the open files the rest of the process needs (`open_files`, the soft limit).
pub(crate) fn connection_cap(configured: usize, open_files: Option<u64>) -> usize {
    let Some(open_files) = open_files else {
        return configured;
    };
    let reserved = (open_files / 8).max(RESERVED_FILES);
    let usable = usize::try_from(open_files.saturating_sub(reserved)).unwrap_or(usize::MAX);
    configured.min(usable.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_lets_one_line_a_second_through_and_counts_the_rest() {
        static GATE: LogGate = LogGate::new("test events");
        assert_eq!(GATE.admit(), Some(0));
        assert_eq!(GATE.admit(), None);
        assert_eq!(GATE.admit(), None);
        GATE.next_ms.store(0, Ordering::Relaxed);
        assert_eq!(GATE.admit(), Some(2));
    }

    #[tokio::test(start_paused = true)]
    async fn lines_held_back_at_the_end_of_a_burst_are_summarized() {
        static GATE: LogGate = LogGate::new("test events");
        assert_eq!(GATE.admit(), Some(0));
        assert_eq!(GATE.admit(), None);
        assert_eq!(GATE.suppressed.load(Ordering::Relaxed), 1);
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        tokio::task::yield_now().await;
        assert_eq!(
            GATE.suppressed.load(Ordering::Relaxed),
            0,
            "the summary took the count"
        );
    }

    #[test]
    fn the_cap_leaves_room_for_the_process_own_files() {
        assert_eq!(connection_cap(65_536, Some(1024)), 768);
        assert_eq!(connection_cap(65_536, Some(20_000)), 17_500);
        assert_eq!(connection_cap(10_000, Some(1_048_576)), 10_000);
        assert_eq!(connection_cap(10_000, None), 10_000);
        assert_eq!(connection_cap(10_000, Some(100)), 1);
    }
}
