//! The throughput and latency summary every `mqbench` mode prints.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latency recorder with bounded memory (a log-linear histogram, 1 µs to 60 s, 3 digits).
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        // Constant, valid bounds: this cannot fail.
        Latencies(Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds"))
    }
}

impl Latencies {
    /// Records one operation's latency.
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.0.saturating_record(micros);
    }

    /// Adds another recorder's samples.
    pub fn merge(&mut self, other: &Latencies) {
        let _ = self.0.add(&other.0);
    }

    /// Operations recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }
}

/// One run's result; printed as text or, with `--json`, as one JSON object.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The mode, e.g. `route`.
    pub mode: String,
    /// The server measured.
    pub target: String,
    /// Successful operations.
    pub ok: u64,
    /// Failed operations (errors and unexpected response codes).
    pub failed: u64,
    /// Wall-clock seconds of the measured phase.
    pub seconds: f64,
    /// Successful operations per second.
    pub ops_per_sec: f64,
    /// Latency in microseconds.
    pub latency_us: LatencySummary,
    /// CPU seconds (user + system) this process spent in the measured phase, where a mode
    /// measures it (`consume --drain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<f64>,
}

/// Latency percentiles in microseconds.
#[derive(Debug, Serialize)]
pub struct LatencySummary {
    /// Mean.
    pub avg: f64,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

impl Report {
    /// Summarises a run.
    pub fn new(
        mode: &str,
        target: &str,
        latencies: &Latencies,
        failed: u64,
        elapsed: Duration,
    ) -> Self {
        let h = &latencies.0;
        let seconds = elapsed.as_secs_f64();
        Report {
            mode: mode.to_owned(),
            target: target.to_owned(),
            ok: h.len(),
            failed,
            seconds,
            ops_per_sec: if seconds > 0.0 {
                h.len() as f64 / seconds
            } else {
                0.0
            },
            latency_us: LatencySummary {
                avg: h.mean(),
                p50: h.value_at_quantile(0.5),
                p99: h.value_at_quantile(0.99),
                p999: h.value_at_quantile(0.999),
                max: h.max(),
            },
            cpu_seconds: None,
        }
    }

    /// The human-readable form.
    pub fn text(&self) -> String {
        let l = &self.latency_us;
        format!(
            "{} against {}: {} ok, {} failed in {:.1} s = {:.0} ops/s; latency µs avg {:.0} p50 {} p99 {} p999 {} max {}",
            self.mode, self.target, self.ok, self.failed, self.seconds, self.ops_per_sec, l.avg, l.p50, l.p99, l.p999, l.max
        )
    }
}
