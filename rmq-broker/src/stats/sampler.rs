//! The one background task behind every statistic: once a second it samples the store-wide
//! totals; every 10 s, 10 min and hour it samples every stats item's minute, hour and day
//! window (counted from broker start, as Apache's executors are); at local midnight it takes
//! the morning snapshots; once a minute it rolls the put-latency histograms.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::runtime::{self, Totals};
use super::{BrokerStats, Window};
use crate::state::BrokerContext;

/// Seconds between samplings of each window.
const MINUTE_EVERY: u64 = 10;
const HOUR_EVERY: u64 = 600;
const DAY_EVERY: u64 = 3_600;
/// Seconds between rolls of the put-time histograms (Apache's `printTPSInterval`).
const PUT_TIMES_EVERY: u64 = 60;

/// Runs until aborted.
pub async fn run(ctx: Arc<BrokerContext>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_midnight = runtime::next_local_midnight_ms(now_ms());
    for second in 0u64.. {
        ticker.tick().await;
        let now = now_ms();
        let put_total = ctx.store.put_count();
        tick(&ctx.stats, second, now, put_total);
        if second > 0 && second % PUT_TIMES_EVERY == 0 {
            ctx.stats.runtime.roll_put_times(ctx.store.put_times());
        }
        if now >= next_midnight {
            ctx.stats
                .runtime
                .record_midnight(put_total, ctx.stats.transferred());
            next_midnight = runtime::next_local_midnight_ms(now);
        }
    }
}

/// What the task does in its `second`-th second (0 at start) at `now_ms`, given the store's
/// put total then.
pub fn tick(stats: &BrokerStats, second: u64, now_ms: i64, put_total: u64) {
    let (found, missed) = stats.reads();
    stats.runtime.sample(
        now_ms,
        Totals {
            put: put_total,
            found,
            missed,
            transferred: stats.transferred(),
        },
    );
    for (every, window) in [
        (MINUTE_EVERY, Window::Minute),
        (HOUR_EVERY, Window::Hour),
        (DAY_EVERY, Window::Day),
    ] {
        if second % every == 0 {
            stats.sample_items(window, now_ms);
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::runtime::Figure;

    #[test]
    fn windows_are_sampled_on_their_own_periods() {
        let stats = BrokerStats::new("C");
        stats.on_put("T", 1, 10);
        let start = 1_000_000;
        for second in 0..=600u64 {
            tick(&stats, second, start + second as i64 * 1000, second);
        }
        let item = stats.item("TOPIC_PUT_NUMS", "T").expect("counted");
        // The put came before every sample: the minute window (the last 7 of 61 samples) no
        // longer holds the zero sample, the hour window (2 samples so far) and the day window
        // (only the start's) still measure from it.
        assert_eq!(item.figures(Window::Minute).sum, 0);
        assert_eq!(item.figures(Window::Hour).sum, 1);
        assert_eq!(item.figures(Window::Hour).tps, 1.0 / 1200.0);
        assert_eq!(item.figures(Window::Day).sum, 1);
        assert_eq!(stats.runtime.tps(Figure::Put, 600), Some(1.0));
    }
}
