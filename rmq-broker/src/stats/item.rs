//! Apache RocketMQ's `StatsItem`/`StatsItemSet`: per key, a cumulative value and call count,
//! sampled into three sliding windows so tools can ask "how much in the last minute, hour, day".
//! The sampling instants are passed in (`now_ms`), so tests drive the clock.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// One of the three windows a stats item keeps, as Apache samples them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Sampled every 10 s, 7 samples kept: the last minute.
    Minute,
    /// Sampled every 10 min, 7 samples kept: the last hour.
    Hour,
    /// Sampled every hour, 25 samples kept: the last day.
    Day,
}

impl Window {
    /// The sampling period, also the age of the zero sample a first sampling inserts.
    pub const fn period_ms(self) -> i64 {
        match self {
            Window::Minute => 10_000,
            Window::Hour => 600_000,
            Window::Day => 3_600_000,
        }
    }

    const fn capacity(self) -> usize {
        match self {
            Window::Minute | Window::Hour => 7,
            Window::Day => 25,
        }
    }

    const fn slot(self) -> usize {
        self as usize
    }
}

/// What Apache's `StatsSnapshot` reports for one window: the increase of the value between the
/// window's first and last samples, per second, and per call.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowFigures {
    /// Increase of the value across the window.
    pub sum: u64,
    /// `sum` per second of the window's span.
    pub tps: f64,
    /// `sum` per call counted across the window (0 when no calls were counted).
    pub avgpt: f64,
    /// Calls counted across the window.
    pub times: u64,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at_ms: i64,
    times: u64,
    value: u64,
}

/// One stats key: cheap atomic adds on the hot path, windows touched only by the sampler.
#[derive(Default)]
pub struct StatsItem {
    value: AtomicU64,
    times: AtomicU64,
    windows: Mutex<[VecDeque<Sample>; 3]>,
}

impl StatsItem {
    /// Adds `value` to the value and `times` to the call count.
    pub fn add(&self, value: u64, times: u64) {
        self.value.fetch_add(value, Ordering::Relaxed);
        if times > 0 {
            self.times.fetch_add(times, Ordering::Relaxed);
        }
    }

    /// The value since the item was created.
    pub fn value(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }

    /// The call count since the item was created.
    pub fn times(&self) -> u64 {
        self.times.load(Ordering::Relaxed)
    }

    /// Takes a sample for `window` at `now_ms`. The first sample of a window is preceded by a
    /// zero sample one period earlier, as Apache's `samplingInSeconds` does, so a new key has
    /// figures after its first sampling.
    pub fn sample(&self, window: Window, now_ms: i64) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let list = &mut windows[window.slot()];
        if list.is_empty() {
            list.push_back(Sample {
                at_ms: now_ms - window.period_ms(),
                times: 0,
                value: 0,
            });
        }
        list.push_back(Sample {
            at_ms: now_ms,
            times: self.times(),
            value: self.value(),
        });
        if list.len() > window.capacity() {
            list.pop_front();
        }
    }

    /// The figures of `window` as Apache's `computeStatsData` computes them (all zero before the
    /// window's first sampling).
    pub fn figures(&self, window: Window) -> WindowFigures {
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let list = &windows[window.slot()];
        let (Some(first), Some(last)) = (list.front(), list.back()) else {
            return WindowFigures::default();
        };
        let sum = last.value.saturating_sub(first.value);
        let span_ms = (last.at_ms - first.at_ms) as f64;
        let times = last.times.saturating_sub(first.times);
        WindowFigures {
            sum,
            // Java divides doubles: a zero span would give NaN or Infinity there too, but the
            // zero sample one period back rules it out.
            tps: sum as f64 * 1000.0 / span_ms,
            avgpt: if times > 0 {
                sum as f64 / times as f64
            } else {
                0.0
            },
            times,
        }
    }
}

/// All items of one stats name (`TOPIC_PUT_NUMS`, ...), by key. Lookups of an existing key take
/// a read lock and allocate nothing; a key's first use inserts it under the write lock.
#[derive(Default)]
pub struct StatsItemSet {
    items: RwLock<HashMap<Box<str>, Arc<StatsItem>>>,
}

impl StatsItemSet {
    /// Adds to `key`'s item, creating it on first use.
    pub fn add(&self, key: &str, value: u64, times: u64) {
        {
            let items = self.items.read().unwrap_or_else(|e| e.into_inner());
            if let Some(item) = items.get(key) {
                item.add(value, times);
                return;
            }
        }
        let mut items = self.items.write().unwrap_or_else(|e| e.into_inner());
        items.entry(key.into()).or_default().add(value, times);
    }

    /// Adds to the item keyed `first@second` (Apache's compound keys, `topic@group`) without
    /// allocating once the key exists.
    pub fn add_pair(&self, first: &str, second: &str, value: u64, times: u64) {
        with_pair_key(first, second, |key| self.add(key, value, times));
    }

    /// Adds to the item keyed `queue@topic@group` (Apache's per-queue latency keys).
    pub fn add_queue_key(&self, queue_id: i32, topic: &str, group: &str, value: u64, times: u64) {
        with_pair_key(topic, group, |pair| {
            QUEUE_KEY.with(|buffer| match buffer.try_borrow_mut() {
                Ok(mut key) => {
                    key.clear();
                    // Writing into a String cannot fail.
                    let _ = write!(key, "{queue_id}@{pair}");
                    self.add(&key, value, times);
                }
                Err(_) => self.add(&format!("{queue_id}@{pair}"), value, times),
            })
        });
    }

    /// The item of `key`, if anything was ever counted under it.
    pub fn get(&self, key: &str) -> Option<Arc<StatsItem>> {
        let items = self.items.read().unwrap_or_else(|e| e.into_inner());
        items.get(key).cloned()
    }

    /// Samples every item's `window` at `now_ms`.
    pub fn sample(&self, window: Window, now_ms: i64) {
        for (_, item) in self.entries() {
            item.sample(window, now_ms);
        }
    }

    /// Every key with its item (a snapshot of the table; the items stay live).
    pub fn entries(&self) -> Vec<(Box<str>, Arc<StatsItem>)> {
        let items = self.items.read().unwrap_or_else(|e| e.into_inner());
        items.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

thread_local! {
    static PAIR_KEY: RefCell<String> = const { RefCell::new(String::new()) };
    static QUEUE_KEY: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs `f` on `first@second`, built in a per-thread buffer so the hot path does not allocate.
pub(super) fn with_pair_key<R>(first: &str, second: &str, f: impl FnOnce(&str) -> R) -> R {
    PAIR_KEY.with(|buffer| match buffer.try_borrow_mut() {
        Ok(mut key) => {
            key.clear();
            key.push_str(first);
            key.push('@');
            key.push_str(second);
            f(&key)
        }
        // Only reachable if `f` itself built a pair key; fall back to a fresh string.
        Err(_) => f(&format!("{first}@{second}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_empty_until_sampled_and_starts_from_a_zero_sample() {
        let item = StatsItem::default();
        item.add(30, 3);
        assert_eq!(item.figures(Window::Minute), WindowFigures::default());
        item.sample(Window::Minute, 100_000);
        let f = item.figures(Window::Minute);
        // The zero sample sits 10 s before the first one, so 30 over 10 s.
        assert_eq!((f.sum, f.times), (30, 3));
        assert!((f.tps - 3.0).abs() < 1e-9, "{f:?}");
        assert!((f.avgpt - 10.0).abs() < 1e-9, "{f:?}");
    }

    #[test]
    fn the_minute_window_slides_over_seven_samples() {
        let item = StatsItem::default();
        let mut now = 0;
        item.sample(Window::Minute, now);
        // 8 more samples, 10 s apart, 5 per sample: the oldest two samples fall out.
        for _ in 0..8 {
            now += 10_000;
            item.add(5, 1);
            item.sample(Window::Minute, now);
        }
        let f = item.figures(Window::Minute);
        assert_eq!(f.sum, 30, "six intervals of 5 remain in a 7-sample window");
        assert!((f.tps - 0.5).abs() < 1e-9, "{f:?}");
        assert_eq!(f.times, 6);
    }

    #[test]
    fn hour_and_day_windows_keep_their_own_spans() {
        let item = StatsItem::default();
        item.add(600, 0);
        item.sample(Window::Hour, 1_000_000);
        item.sample(Window::Day, 1_000_000);
        let hour = item.figures(Window::Hour);
        let day = item.figures(Window::Day);
        assert!((hour.tps - 1.0).abs() < 1e-9, "600 over 600 s: {hour:?}");
        assert!((day.tps - 600.0 / 3600.0).abs() < 1e-9, "{day:?}");
        assert_eq!(hour.avgpt, 0.0, "no calls counted");
        assert_eq!(item.figures(Window::Minute), WindowFigures::default());
        for n in 1..30 {
            item.sample(Window::Day, 1_000_000 + n * 3_600_000);
        }
        let day = item.figures(Window::Day);
        assert_eq!(
            day.sum, 0,
            "the increase fell out of the 25-sample day window"
        );
    }

    #[test]
    fn pair_keys_join_with_an_at_sign() {
        let set = StatsItemSet::default();
        set.add_pair("TopicA", "GroupB", 4, 1);
        set.add_pair("TopicA", "GroupB", 1, 1);
        let item = set.get("TopicA@GroupB").expect("created");
        assert_eq!((item.value(), item.times()), (5, 2));
        assert!(set.get("TopicA").is_none());
        set.add_queue_key(3, "TopicA", "GroupB", 12, 1);
        let item = set.get("3@TopicA@GroupB").expect("created");
        assert_eq!((item.value(), item.times()), (12, 1));
    }
}
