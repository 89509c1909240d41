//! What the hostile scenarios are judged by: the latency a well-behaved client sees, and the
//! server's resident memory.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::RemotingCommand;

/// The server's resident set (VmRSS of /proc/PID/status) in KiB; None once it is gone.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples a process's RSS every 20 ms on a thread of its own, keeping the peak.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl RssSampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kib(pid).unwrap_or(0)));
        let thread = std::thread::spawn({
            let (stop, peak) = (stop.clone(), peak.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(rss) = rss_kib(pid) {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
        RssSampler { stop, peak, thread }
    }

    /// Stops sampling and returns the peak RSS seen, in KiB.
    pub fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak.load(Ordering::Relaxed)
    }
}

/// The well-behaved client's view of a scenario.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    /// Requests answered (any response code: the server answered).
    pub answered: usize,
    /// Requests that timed out or failed to connect or were cut off.
    pub errors: usize,
    /// Median, 99th percentile and worst latency of the answered requests.
    pub p50: Duration,
    /// See `p50`.
    pub p99: Duration,
    /// See `p50`.
    pub max: Duration,
}

impl Latencies {
    fn of(mut samples: Vec<Duration>, errors: usize) -> Self {
        samples.sort();
        let at = |q: f64| {
            samples
                .get(((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        Latencies {
            answered: samples.len(),
            errors,
            p50: at(0.50),
            p99: at(0.99),
            max: samples.last().copied().unwrap_or_default(),
        }
    }
}

/// A well-behaved client: one connection, one request at a time, every few milliseconds, on a
/// thread and runtime of its own, so the hostile peers' tasks do not delay it on our side.
pub struct Probe {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Latencies>,
}

impl Probe {
    /// Starts sending `request` to `addr` every `every`, each with a 5 s timeout.
    pub fn start(addr: String, request: RemotingCommand, every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return Latencies::default();
                };
                runtime.block_on(async move {
                    let client = RemotingClient::new(TransportConfig::default(), Router::new());
                    let (mut samples, mut errors) = (Vec::new(), 0);
                    while !stop.load(Ordering::Relaxed) {
                        let started = Instant::now();
                        match client
                            .invoke(&addr, request.clone(), Duration::from_secs(5))
                            .await
                        {
                            Ok(_) => samples.push(started.elapsed()),
                            Err(_) => errors += 1,
                        }
                        tokio::time::sleep(every).await;
                    }
                    Latencies::of(samples, errors)
                })
            }
        });
        Probe { stop, thread }
    }

    /// Stops after the request in progress and returns what it saw.
    pub async fn stop(self) -> Latencies {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread;
        tokio::task::spawn_blocking(move || thread.join().unwrap_or_default())
            .await
            .unwrap_or_default()
    }
}
