//! How long puts take and how many fail, measured as Apache 4.9.7's `StoreStatsService` does
//! (`putMessageEntireTimeMax`, `putMessageDistributeTime`, the `putLatency99` buckets,
//! `putMessageFailedTimes`). The store only counts, cumulatively and lock-free; whoever reports
//! per-minute figures takes the difference of two snapshots.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// The 13 ranges of `putMessageDistributeTime` as Apache labels them: `<=0`, `0~10`, ...
/// `5~10s`, `10s~` (a put of exactly 10 ms is in `10~50ms`: Apache compares with `<`).
pub const DISTRIBUTION_LABELS: [&str; 13] = [
    "[<=0ms]",
    "[0~10ms]",
    "[10~50ms]",
    "[50~100ms]",
    "[100~200ms]",
    "[200~500ms]",
    "[500ms~1s]",
    "[1~2s]",
    "[2~3s]",
    "[3~4s]",
    "[4~5s]",
    "[5~10s]",
    "[10s~]",
];

const DISTRIBUTION_LIMITS: [u64; 11] =
    [10, 50, 100, 200, 500, 1000, 2000, 3000, 4000, 5000, 10_000];

/// Inclusive upper bounds (ms) of the latency buckets `putLatency99`/`putLatency999` are
/// interpolated in: 1 ms steps to 20, 2 to 50, 5 to 100, 10 to 200, 50 to 500, 100 to 1 s,
/// 1 s to 10 s, then everything above.
pub const LATENCY_BOUNDS: [u64; 76] = latency_bounds();

const fn latency_bounds() -> [u64; 76] {
    const STEPS: [(u64, usize); 7] = [
        (1, 20),
        (2, 15),
        (5, 10),
        (10, 10),
        (50, 6),
        (100, 5),
        (1000, 9),
    ];
    let mut bounds = [u64::MAX; 76];
    let (mut at, mut value, mut step) = (0, 0, 0);
    while step < STEPS.len() {
        let mut n = 0;
        while n < STEPS[step].1 {
            value += STEPS[step].0;
            bounds[at] = value;
            at += 1;
            n += 1;
        }
        step += 1;
    }
    bounds
}

/// Cumulative put-time counters since the store opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutTimes {
    /// Puts per `putMessageDistributeTime` range ([`DISTRIBUTION_LABELS`]).
    pub distribution: [u64; 13],
    /// Puts per latency bucket ([`LATENCY_BOUNDS`]).
    pub latency: [u64; 76],
    /// The longest put, in ms.
    pub max_ms: u64,
    /// Puts the commit log could not complete.
    pub failed: u64,
}

/// The counters behind [`PutTimes`].
pub(super) struct PutTimeCounters {
    distribution: [AtomicU64; 13],
    latency: [AtomicU64; 76],
    max_ms: AtomicU64,
    failed: AtomicU64,
    /// When the writer lock was taken (ms since the epoch), 0 while it is free.
    locked_since_ms: AtomicI64,
}

/// Marks the writer lock held from its creation until it is dropped.
pub(super) struct LockHeld<'a>(&'a AtomicI64);

impl Drop for LockHeld<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

impl Default for PutTimeCounters {
    fn default() -> Self {
        PutTimeCounters {
            distribution: std::array::from_fn(|_| AtomicU64::new(0)),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
            max_ms: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            locked_since_ms: AtomicI64::new(0),
        }
    }
}

impl PutTimeCounters {
    /// A put finished after `elapsed`; `ok` unless the commit log failed it.
    pub(super) fn record(&self, elapsed: Duration, ok: bool) {
        let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let range = if ms == 0 {
            0
        } else {
            1 + DISTRIBUTION_LIMITS
                .iter()
                .take_while(|&&limit| ms >= limit)
                .count()
        };
        self.distribution[range].fetch_add(1, Ordering::Relaxed);
        let bucket = LATENCY_BOUNDS.partition_point(|&bound| bound < ms);
        self.latency[bucket.min(LATENCY_BOUNDS.len() - 1)].fetch_add(1, Ordering::Relaxed);
        self.max_ms.fetch_max(ms, Ordering::Relaxed);
        if !ok {
            self.failed();
        }
    }

    /// A put the commit log failed before it could be timed.
    pub(super) fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// The writer lock was taken at `now_ms`; held until the result is dropped.
    pub(super) fn hold_lock(&self, now_ms: i64) -> LockHeld<'_> {
        self.locked_since_ms.store(now_ms, Ordering::Relaxed);
        LockHeld(&self.locked_since_ms)
    }

    /// How long the writer lock has been held at `now_ms` (Apache's `lockTimeMills`), 0 when
    /// it is free.
    pub(super) fn lock_time_ms(&self, now_ms: i64) -> i64 {
        match self.locked_since_ms.load(Ordering::Relaxed) {
            0 => 0,
            since => (now_ms - since).max(0),
        }
    }

    pub(super) fn snapshot(&self) -> PutTimes {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        PutTimes {
            distribution: std::array::from_fn(|i| load(&self.distribution[i])),
            latency: std::array::from_fn(|i| load(&self.latency[i])),
            max_ms: load(&self.max_ms),
            failed: load(&self.failed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_follow_apaches_steps() {
        assert_eq!(&LATENCY_BOUNDS[..3], &[1, 2, 3]);
        assert_eq!(LATENCY_BOUNDS[19], 20);
        assert_eq!(LATENCY_BOUNDS[20], 22);
        assert_eq!(LATENCY_BOUNDS[34], 50);
        assert_eq!(LATENCY_BOUNDS[74], 10_000);
        assert_eq!(LATENCY_BOUNDS[75], u64::MAX);
    }

    #[test]
    fn puts_land_in_apaches_ranges() {
        let c = PutTimeCounters::default();
        for ms in [0, 9, 10, 49, 50, 10_000, 20_000] {
            c.record(Duration::from_millis(ms), true);
        }
        c.record(Duration::from_millis(3), false);
        c.failed();
        let t = c.snapshot();
        assert_eq!(&t.distribution[..4], &[1, 2, 2, 1]);
        assert_eq!(t.distribution[12], 2, "10 s and above");
        assert_eq!(t.max_ms, 20_000);
        assert_eq!(t.failed, 2);
        // 0 ms and 3 ms go to the first buckets (ceiling), 20 s to the open one.
        assert_eq!((t.latency[0], t.latency[2]), (1, 1));
        assert_eq!(t.latency[75], 1);
        assert_eq!(t.latency.iter().sum::<u64>(), 8);
    }

    #[test]
    fn the_lock_time_counts_while_held_only() {
        let c = PutTimeCounters::default();
        assert_eq!(c.lock_time_ms(5_000), 0);
        let held = c.hold_lock(1_000);
        assert_eq!(c.lock_time_ms(1_250), 250);
        drop(held);
        assert_eq!(c.lock_time_ms(2_000), 0);
    }
}
