//! A push consumer's rates per topic (Java `ConsumerStatsManager`): pull round trips and
//! messages pulled, listener time, messages consumed and failed, over the last minute (failures
//! also over the last hour), plus when each queue was last pulled and consumed. These fill the
//! `statusTable` and `mqTable` of the running info admins ask for.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rmq_remoting::body::client::MessageQueue;
use rmq_remoting::body::running::ConsumeStatus;

/// Width of one bucket of a [`Window`].
const BUCKET: Duration = Duration::from_secs(10);
/// Rates are over this span (Java's "in minute" figures).
const MINUTE: Duration = Duration::from_secs(60);
/// Failure totals are over this span (Java's "in hour" sum).
const HOUR: Duration = Duration::from_secs(3600);

/// Sums and counts of one figure in 10-second buckets, kept for an hour.
#[derive(Debug)]
struct Window {
    created: Instant,
    /// (bucket start, sum of values, number of records), oldest first.
    buckets: VecDeque<(Instant, u64, u64)>,
}

impl Window {
    fn new(now: Instant) -> Self {
        Window {
            created: now,
            buckets: VecDeque::new(),
        }
    }

    fn add(&mut self, now: Instant, value: u64) {
        self.add_many(now, value, 1);
    }

    /// Adds `count` records whose values sum to `value`.
    fn add_many(&mut self, now: Instant, value: u64, count: u64) {
        match self.buckets.back_mut() {
            Some((start, sum, times)) if now.saturating_duration_since(*start) < BUCKET => {
                *sum += value;
                *times += count;
            }
            _ => self.buckets.push_back((now, value, count)),
        }
        while self
            .buckets
            .front()
            .is_some_and(|(start, _, _)| now.saturating_duration_since(*start) > HOUR)
        {
            self.buckets.pop_front();
        }
    }

    /// (sum, times) of the records within `span` before `now`.
    fn totals(&self, now: Instant, span: Duration) -> (u64, u64) {
        self.buckets
            .iter()
            .filter(|(start, _, _)| now.saturating_duration_since(*start) < span)
            .fold((0, 0), |(s, t), (_, sum, times)| (s + sum, t + times))
    }

    /// Values per second over the last minute (or since the window began, if later).
    fn tps(&self, now: Instant) -> f64 {
        let (sum, _) = self.totals(now, MINUTE);
        let span = now.saturating_duration_since(self.created).min(MINUTE);
        sum as f64 / span.as_secs_f64().max(1.0)
    }

    /// Mean value per record over `span`.
    fn average(&self, now: Instant, span: Duration) -> f64 {
        match self.totals(now, span) {
            (_, 0) => 0.0,
            (sum, times) => sum as f64 / times as f64,
        }
    }
}

#[derive(Debug)]
struct TopicRates {
    pull_rt: Window,
    pulled: Window,
    consume_rt: Window,
    consumed_ok: Window,
    consumed_failed: Window,
}

impl TopicRates {
    fn new(now: Instant) -> Self {
        TopicRates {
            pull_rt: Window::new(now),
            pulled: Window::new(now),
            consume_rt: Window::new(now),
            consumed_ok: Window::new(now),
            consumed_failed: Window::new(now),
        }
    }
}

#[derive(Debug, Default)]
struct Tables {
    topics: HashMap<String, TopicRates>,
    /// Queue → (last pull, last consume), ms since the epoch.
    queues: HashMap<MessageQueue, (i64, i64)>,
}

impl Tables {
    /// Updates the (last pull, last consume) entry of `mq`. These run for every pull and
    /// listener call, so the entry is looked up before the queue's strings are copied.
    fn touch(&mut self, mq: &MessageQueue, set: impl FnOnce(&mut (i64, i64))) {
        if let Some(times) = self.queues.get_mut(mq) {
            set(times);
            return;
        }
        let mut times = (0, 0);
        set(&mut times);
        self.queues.insert(mq.clone(), times);
    }

    /// The rates of `topic`, created on first use (looked up first, as in [`Self::touch`]).
    fn rates(&mut self, topic: &str, now: Instant) -> Option<&mut TopicRates> {
        if !self.topics.contains_key(topic) {
            self.topics.insert(topic.to_owned(), TopicRates::new(now));
        }
        self.topics.get_mut(topic)
    }
}

/// Listener calls not yet added to a [`ConsumeStatusTable`]: a pulled batch's calls are
/// added when the batch is done, one lock and lookup per batch instead of per call.
#[derive(Debug, Default)]
pub(crate) struct CallTally {
    calls: u64,
    /// Sum of the calls' times in whole milliseconds each (Java's unit).
    rt_ms: u64,
    ok: u64,
    failed: u64,
}

impl CallTally {
    /// One listener call that took `rt`, consumed `ok` messages and failed `failed`.
    pub(crate) fn add(&mut self, rt: Duration, ok: usize, failed: usize) {
        self.calls += 1;
        self.rt_ms += millis(rt);
        self.ok += ok as u64;
        self.failed += failed as u64;
    }
}

/// The rates of one consumer, updated by its pull loops and listener calls.
#[derive(Debug)]
pub(crate) struct ConsumeStatusTable {
    started_ms: i64,
    tables: Mutex<Tables>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl ConsumeStatusTable {
    /// An empty table for a consumer starting now.
    pub(crate) fn new() -> Self {
        ConsumeStatusTable {
            started_ms: now_ms(),
            tables: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When the consumer started, ms since the epoch.
    pub(crate) fn started_ms(&self) -> i64 {
        self.started_ms
    }

    /// A pull of `mq` returned after `rt` with `found` messages (Java counts round trips and
    /// messages of pulls that found some).
    pub(crate) fn pulled(&self, mq: &MessageQueue, rt: Duration, found: usize) {
        let now = Instant::now();
        let mut t = self.lock();
        let ms = now_ms();
        t.touch(mq, |times| times.0 = ms);
        if found > 0 {
            if let Some(rates) = t.rates(&mq.topic, now) {
                rates.pull_rt.add(now, millis(rt));
                rates.pulled.add(now, found as u64);
            }
        }
    }

    /// A listener call for `mq` took `rt` and consumed `ok` messages and failed `failed`.
    pub(crate) fn consumed(&self, mq: &MessageQueue, rt: Duration, ok: usize, failed: usize) {
        let mut calls = CallTally::default();
        calls.add(rt, ok, failed);
        self.consumed_calls(mq, &calls);
    }

    /// Several listener calls for `mq` at once, as [`Self::consumed`] would add them one by
    /// one.
    pub(crate) fn consumed_calls(&self, mq: &MessageQueue, calls: &CallTally) {
        if calls.calls == 0 {
            return;
        }
        let now = Instant::now();
        let mut t = self.lock();
        let ms = now_ms();
        t.touch(mq, |times| times.1 = ms);
        let Some(rates) = t.rates(&mq.topic, now) else {
            return;
        };
        rates.consume_rt.add_many(now, calls.rt_ms, calls.calls);
        if calls.ok > 0 {
            rates.consumed_ok.add(now, calls.ok);
        }
        if calls.failed > 0 {
            rates.consumed_failed.add(now, calls.failed);
        }
    }

    /// Java's `ConsumeStatus` of `topic`: minute rates, hourly failures; the listener time
    /// falls back to the hour when nothing was consumed in the last minute, as Java's does.
    pub(crate) fn status(&self, topic: &str) -> ConsumeStatus {
        let now = Instant::now();
        let t = self.lock();
        let Some(r) = t.topics.get(topic) else {
            return ConsumeStatus::default();
        };
        let consume_rt = match r.consume_rt.totals(now, MINUTE) {
            (_, 0) => r.consume_rt.average(now, HOUR),
            _ => r.consume_rt.average(now, MINUTE),
        };
        ConsumeStatus {
            consume_failed_msgs: i64::try_from(r.consumed_failed.totals(now, HOUR).0)
                .unwrap_or(i64::MAX),
            consume_failed_tps: r.consumed_failed.tps(now),
            consume_ok_tps: r.consumed_ok.tps(now),
            consume_rt,
            pull_rt: r.pull_rt.average(now, MINUTE),
            pull_tps: r.pulled.tps(now),
        }
    }

    /// (last pull, last consume) of `mq`, ms since the epoch; 0 when never.
    pub(crate) fn queue_times(&self, mq: &MessageQueue) -> (i64, i64) {
        self.lock().queues.get(mq).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq() -> MessageQueue {
        MessageQueue::new("T", "b", 0)
    }

    #[test]
    fn counts_what_was_recorded_and_nothing_for_other_topics() {
        let table = ConsumeStatusTable::new();
        table.pulled(&mq(), Duration::from_millis(4), 10);
        table.pulled(&mq(), Duration::from_millis(8), 0);
        table.consumed(&mq(), Duration::from_millis(2), 3, 0);
        table.consumed(&mq(), Duration::from_millis(6), 0, 2);
        let s = table.status("T");
        assert_eq!(s.consume_failed_msgs, 2);
        assert_eq!(s.pull_rt, 4.0, "pulls that found nothing are not timed");
        assert_eq!(s.consume_rt, 4.0);
        // The table is younger than a second, so rates are per the first second.
        assert_eq!(s.pull_tps, 10.0);
        assert_eq!(s.consume_ok_tps, 3.0);
        assert_eq!(s.consume_failed_tps, 2.0);
        assert_eq!(table.status("U"), ConsumeStatus::default());
        let (pulled, consumed) = table.queue_times(&mq());
        assert!(pulled > 0 && consumed >= pulled);
    }

    #[test]
    fn a_tally_adds_what_its_calls_would_one_by_one() {
        let (single, tallied) = (ConsumeStatusTable::new(), ConsumeStatusTable::new());
        let mut calls = CallTally::default();
        for (rt, ok, failed) in [(2, 1, 0), (7, 0, 1), (3, 1, 0)] {
            single.consumed(&mq(), Duration::from_millis(rt), ok, failed);
            calls.add(Duration::from_millis(rt), ok, failed);
        }
        tallied.consumed_calls(&mq(), &calls);
        assert_eq!(tallied.status("T"), single.status("T"));
        assert_eq!(tallied.status("T").consume_failed_msgs, 1);
        assert_eq!(tallied.status("T").consume_rt, 4.0);
    }

    #[test]
    fn old_buckets_leave_the_minute_but_failures_stay_for_the_hour() {
        let start = Instant::now();
        let mut w = Window::new(start);
        w.add(start, 5);
        let later = start + Duration::from_secs(120);
        w.add(later, 1);
        assert_eq!(w.totals(later, MINUTE), (1, 1));
        assert_eq!(w.totals(later, HOUR), (6, 2));
        let much_later = start + Duration::from_secs(3700);
        w.add(much_later, 1);
        assert_eq!(w.totals(much_later, HOUR), (2, 2));
    }
}
