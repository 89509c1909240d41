//! The store-wide figures of GET_BROKER_RUNTIME_INFO as Apache 4.9.7 computes them:
//! `StoreStatsService` samples the put, found, missed and transferred totals once a second,
//! keeps 601 samples and reports rates over the last 10, 60 and 600 seconds (blank while fewer
//! samples exist); `BrokerStats` snapshots the put and get totals at each local midnight.
//! Nothing is persisted: a restart starts every figure again from zero, as in Apache.

use std::collections::VecDeque;
use std::sync::Mutex;

use rmq_store::{PutTimes, DISTRIBUTION_LABELS, LATENCY_BOUNDS};

/// Samples kept: 600 seconds plus the one they are measured from.
const MAX_SAMPLES: usize = 601;

/// The spans, in seconds, Apache reports each rate over.
const SPANS: [usize; 3] = [10, 60, 600];

/// Store-wide totals at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Messages stored (all topics, internal ones included).
    pub put: u64,
    /// Reads that found messages.
    pub found: u64,
    /// Reads that found nothing.
    pub missed: u64,
    /// Messages transferred to consumers.
    pub transferred: u64,
}

/// Which total a rate is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    /// `putTps`.
    Put,
    /// `getFoundTps`.
    Found,
    /// `getMissTps`.
    Missed,
    /// `getTransferedTps`.
    Transferred,
}

impl Figure {
    fn of(self, t: &Totals) -> u64 {
        match self {
            Figure::Put => t.put,
            Figure::Found => t.found,
            Figure::Missed => t.missed,
            Figure::Transferred => t.transferred,
        }
    }
}

/// The totals at the last two local midnights (`BrokerStats.record()`); zero until the first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mornings {
    /// `msgPutTotalYesterdayMorning`.
    pub put_yesterday: u64,
    /// `msgPutTotalTodayMorning`.
    pub put_today: u64,
    /// `msgGetTotalYesterdayMorning`.
    pub get_yesterday: u64,
    /// `msgGetTotalTodayMorning`.
    pub get_today: u64,
}

/// Per-second samples, midnight snapshots and the last minute's put times.
#[derive(Default)]
pub struct RuntimeStats {
    samples: Mutex<VecDeque<(i64, Totals)>>,
    mornings: Mutex<Mornings>,
    put_minutes: Mutex<PutMinutes>,
}

/// The store's put-time counters at the last minute boundary, and their increase over the
/// minute before it (None until a minute has passed, as Apache's `lastPutMessageDistributeTime`).
#[derive(Default)]
struct PutMinutes {
    at_last_roll: Option<PutTimes>,
    last_minute: Option<PutTimes>,
}

impl RuntimeStats {
    /// Records the totals at `now_ms` (once a second).
    pub fn sample(&self, now_ms: i64, totals: Totals) {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.push_back((now_ms, totals));
        if samples.len() > MAX_SAMPLES {
            samples.pop_front();
        }
    }

    /// Per second over the last `span` samples, or None while fewer than `span + 1` exist.
    pub fn tps(&self, figure: Figure, span: usize) -> Option<f64> {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let (end_ms, end) = samples.back()?;
        if samples.len() <= span {
            return None;
        }
        let (begin_ms, begin) = samples.get(samples.len() - (span + 1))?;
        let count = figure.of(end).saturating_sub(figure.of(begin)) as f64;
        Some(count / (end_ms - begin_ms) as f64 * 1000.0)
    }

    /// The rates over 10, 60 and 600 s joined by spaces, each blank while its span is not
    /// covered yet (Apache's `getPutTps()` and friends).
    pub fn tps_line(&self, figure: Figure) -> String {
        SPANS
            .map(|span| self.tps(figure, span).map(java_double).unwrap_or_default())
            .join(" ")
    }

    /// Found plus missed reads per second over 10, 60 and 600 s; an uncovered span counts as 0
    /// (Apache's `getGetTotalTps()`).
    pub fn total_tps_line(&self) -> String {
        SPANS
            .map(|span| {
                let found = self.tps(Figure::Found, span).unwrap_or(0.0);
                let missed = self.tps(Figure::Missed, span).unwrap_or(0.0);
                java_double(found + missed)
            })
            .join(" ")
    }

    /// Midnight: today's morning becomes yesterday's, and the totals now today's.
    pub fn record_midnight(&self, put_total: u64, get_total: u64) {
        let mut m = self.mornings.lock().unwrap_or_else(|e| e.into_inner());
        *m = Mornings {
            put_yesterday: m.put_today,
            put_today: put_total,
            get_yesterday: m.get_today,
            get_today: get_total,
        };
        tracing::info!(
            "yesterday put message total: {}, get message total: {}",
            m.put_today.saturating_sub(m.put_yesterday),
            m.get_today.saturating_sub(m.get_yesterday)
        );
    }

    /// The midnight snapshots.
    pub fn mornings(&self) -> Mornings {
        *self.mornings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A minute passed: the put times counted since the previous roll (or since the store
    /// opened) become the last minute's.
    pub fn roll_put_times(&self, now: PutTimes) {
        let mut m = self.put_minutes.lock().unwrap_or_else(|e| e.into_inner());
        let before = m.at_last_roll.unwrap_or(PutTimes {
            distribution: [0; 13],
            latency: [0; 76],
            max_ms: 0,
            failed: 0,
        });
        m.last_minute = Some(PutTimes {
            distribution: std::array::from_fn(|i| {
                now.distribution[i].saturating_sub(before.distribution[i])
            }),
            latency: std::array::from_fn(|i| now.latency[i].saturating_sub(before.latency[i])),
            max_ms: now.max_ms,
            failed: now.failed.saturating_sub(before.failed),
        });
        m.at_last_roll = Some(now);
    }

    /// `putMessageDistributeTime`: the last minute's puts per range, `null` before the first
    /// minute has passed.
    pub fn put_distribution_line(&self) -> String {
        let m = self.put_minutes.lock().unwrap_or_else(|e| e.into_inner());
        let Some(last) = &m.last_minute else {
            return "null".to_owned();
        };
        DISTRIBUTION_LABELS
            .iter()
            .zip(last.distribution)
            .map(|(label, count)| format!("{label}:{count} "))
            .collect()
    }

    /// `putLatency99` (`px` 0.99) and friends: the last minute's put latency at `px`,
    /// interpolated in its bucket (0 before the first minute has passed).
    pub fn put_latency(&self, px: f64) -> f64 {
        let m = self.put_minutes.lock().unwrap_or_else(|e| e.into_inner());
        m.last_minute
            .as_ref()
            .map_or(0.0, |last| latency_percentile(&last.latency, px))
    }
}

/// Apache's `findPutMessageEntireTimePX`: the bucket holding the `px` quantile, and a linear
/// interpolation inside it (integer arithmetic where Java's is, overflow included).
fn latency_percentile(counts: &[u64; 76], px: f64) -> f64 {
    let total: u64 = counts.iter().sum();
    let index = (total as f64 * px) as i64;
    let mut passed: i64 = 0;
    for (i, (&count, &bound)) in counts.iter().zip(LATENCY_BOUNDS.iter()).enumerate() {
        let count = count as i64;
        if index <= passed + count {
            let relative = index - passed;
            if count == 0 {
                return if i == 0 {
                    0.0
                } else {
                    LATENCY_BOUNDS[i - 1] as f64
                };
            }
            let lower = if i == 0 {
                0
            } else {
                LATENCY_BOUNDS[i - 1] as i64
            };
            let width = (bound as i64).wrapping_sub(lower);
            return lower as f64 + width.wrapping_mul(relative) as f64 / count as f64;
        }
        passed += count;
    }
    0.0
}

/// The next local midnight after `now_ms` (Apache's `computeNextMorningTimeMillis`), using the
/// UTC offset in force at `now_ms`.
pub fn next_local_midnight_ms(now_ms: i64) -> i64 {
    const DAY_MS: i64 = 86_400_000;
    let offset_ms = local_utc_offset_secs(now_ms / 1000) * 1000;
    let local = now_ms + offset_ms;
    (local.div_euclid(DAY_MS) + 1) * DAY_MS - offset_ms
}

/// Seconds east of UTC of the local time zone at `epoch_secs`.
fn local_utc_offset_secs(epoch_secs: i64) -> i64 {
    let t: libc::time_t = epoch_secs;
    // SAFETY: localtime_r writes only into the zeroed `tm` we own and reads `t`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let converted = unsafe { libc::localtime_r(&t, &mut tm) };
    if converted.is_null() {
        0
    } else {
        tm.tm_gmtoff
    }
}

/// A double as Java's `Double.toString` writes it: `0.0`, `12.5`, and `1.0E7`/`1.0E-4`
/// outside [10⁻³, 10⁷).
pub fn java_double(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let magnitude = value.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        return format!("{value:?}");
    }
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    if mantissa.contains('.') {
        format!("{mantissa}E{exponent}")
    } else {
        format!("{mantissa}.0E{exponent}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(put: u64, found: u64, missed: u64) -> Totals {
        Totals {
            put,
            found,
            missed,
            transferred: found * 2,
        }
    }

    #[test]
    fn rates_are_blank_until_their_span_is_covered() {
        let stats = RuntimeStats::default();
        for s in 0..=10 {
            stats.sample(s * 1000, totals(s as u64 * 5, 0, 0));
        }
        assert_eq!(stats.tps_line(Figure::Put), "5.0  ");
        assert_eq!(stats.total_tps_line(), "0.0 0.0 0.0");
        for s in 11..=600 {
            stats.sample(s * 1000, totals(50 + (s as u64 - 10), s as u64, 0));
        }
        // The last 10 s: 1 put/s; the last 600 s: 590 + 50 ... measured from sample 0.
        assert_eq!(stats.tps(Figure::Put, 10), Some(1.0));
        let over_600 = stats.tps(Figure::Put, 600).expect("601 samples");
        assert!((over_600 - 640.0 / 600.0).abs() < 1e-9);
        assert_eq!(stats.tps(Figure::Found, 60), Some(1.0));
        assert_eq!(stats.tps(Figure::Transferred, 60), Some(2.0));
        assert_eq!(stats.total_tps_line(), "1.0 1.0 1.0");
        // One more sample pushes the oldest out: still 601 kept.
        stats.sample(601_000, totals(641, 601, 0));
        assert!(stats.tps(Figure::Put, 600).is_some());
    }

    #[test]
    fn midnight_moves_today_to_yesterday() {
        let stats = RuntimeStats::default();
        assert_eq!(stats.mornings(), Mornings::default());
        stats.record_midnight(10, 4);
        stats.record_midnight(25, 9);
        assert_eq!(
            stats.mornings(),
            Mornings {
                put_yesterday: 10,
                put_today: 25,
                get_yesterday: 4,
                get_today: 9
            }
        );
    }

    #[test]
    fn the_next_midnight_is_within_a_day_and_a_day_apart() {
        let now = 1_765_000_000_123;
        let next = next_local_midnight_ms(now);
        assert!(next > now && next - now <= 86_400_000, "{next}");
        assert_eq!(next_local_midnight_ms(next), next + 86_400_000);
    }

    #[test]
    fn put_times_are_reported_per_minute() {
        let stats = RuntimeStats::default();
        assert_eq!(stats.put_distribution_line(), "null");
        assert_eq!(stats.put_latency(0.99), 0.0);
        let mut times = PutTimes {
            distribution: [0; 13],
            latency: [0; 76],
            max_ms: 7,
            failed: 1,
        };
        times.distribution[1] = 100;
        times.latency[4] = 100; // 100 puts of 5 ms
        stats.roll_put_times(times);
        assert!(stats
            .put_distribution_line()
            .starts_with("[<=0ms]:0 [0~10ms]:100 [10~50ms]:0 "));
        assert!(stats.put_distribution_line().ends_with("[10s~]:0 "));
        // Index 99 of 100 in the 4~5 ms bucket: 4 + 1 * 99 / 100.
        assert!((stats.put_latency(0.99) - 4.99).abs() < 1e-9);
        // The next minute has no puts: the figures drop to nothing, the counters do not.
        stats.roll_put_times(times);
        assert!(stats
            .put_distribution_line()
            .starts_with("[<=0ms]:0 [0~10ms]:0 "));
        assert_eq!(stats.put_latency(0.99), 0.0);
    }

    #[test]
    fn percentiles_interpolate_as_apache_does() {
        let mut counts = [0u64; 76];
        counts[0] = 10; // 10 puts of at most 1 ms
        assert!((latency_percentile(&counts, 0.5) - 0.5).abs() < 1e-9);
        counts[20] = 10; // and 10 of 21~22 ms
        assert!((latency_percentile(&counts, 0.99) - (20.0 + 2.0 * 9.0 / 10.0)).abs() < 1e-9);
        assert_eq!(latency_percentile(&[0; 76], 0.999), 0.0);
    }

    #[test]
    fn doubles_read_like_javas() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(12.5), "12.5");
        assert_eq!(java_double(0.1), "0.1");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(1.25e-4), "1.25E-4");
        assert_eq!(java_double(f64::NAN), "NaN");
    }
}
