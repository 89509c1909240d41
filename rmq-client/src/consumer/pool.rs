//! The consume thread pool of a concurrent push consumer (Java's `consumeExecutor`):
//! `consumeThreadMax` named threads calling the listener on pulled messages.
//!
//! A pulled batch goes in whole, as one run of messages; a worker takes up to
//! `consumeMessageBatchMaxSize` messages of the front run per listener call and keeps taking
//! until nothing is queued, so a busy pool hands messages over without a wake-up (a job and
//! a wake-up per message, as before, were most of the consumer's cost with fast listeners).
//! Idle workers are woken only when no worker is busy; while some are, one
//! idle worker watches the queue and joins in when the front message has waited
//! [`HELP_AFTER`], and the next idle worker takes over the watch: slow listeners still get
//! every thread (one more per [`HELP_AFTER`]), fast ones keep one or two threads busy instead
//! of twenty threads taking turns (docs/behaviour.md §5.1, "Consume threads").
//!
//! The queue is bounded by the consumer's flow control: a queue stops being pulled once
//! `pullThresholdForQueue` messages of it are in flight, and every queued message is one.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::message::ReceivedMessage;

/// How long queued messages wait for the busy workers before an idle worker joins in.
const HELP_AFTER: Duration = Duration::from_millis(1);

/// Where a run of messages goes: one listener call with its follow-up (commit or retry).
pub(crate) trait ConsumeRun: Send + Sync + 'static {
    /// Consumes `msgs` (1 to `per_call` messages of this run, in queue order). What it leaves
    /// in `msgs` is dropped.
    fn consume(self: &Arc<Self>, msgs: &mut Vec<ReceivedMessage>);
}

/// Queued messages of one pulled batch.
struct Run<R> {
    target: Arc<R>,
    msgs: std::vec::IntoIter<ReceivedMessage>,
    queued: Instant,
}

struct State<R> {
    runs: VecDeque<Run<R>>,
    /// Workers inside or between listener calls.
    active: usize,
    /// Workers waiting for work.
    idle: usize,
    /// An idle worker watches the queue for messages the busy workers leave waiting.
    watching: bool,
    /// A wake-up was sent and no worker has woken since.
    wake_pending: bool,
    stopped: bool,
}

/// A fixed set of worker threads and their queue of pulled runs.
pub(crate) struct ConsumePool<R> {
    state: Mutex<State<R>>,
    ready: Condvar,
    per_call: usize,
}

impl<R: ConsumeRun> ConsumePool<R> {
    /// Starts `threads` workers named `<name>_<n>`, each calling the listener with at most
    /// `per_call` messages; an error if the OS refuses a thread.
    pub(crate) fn start(
        threads: usize,
        per_call: usize,
        name: &str,
    ) -> std::io::Result<Arc<ConsumePool<R>>> {
        let pool = Arc::new(ConsumePool {
            state: Mutex::new(State {
                runs: VecDeque::new(),
                active: 0,
                idle: 0,
                watching: false,
                wake_pending: false,
                stopped: false,
            }),
            ready: Condvar::new(),
            per_call: per_call.max(1),
        });
        for n in 1..=threads.max(1) {
            let worker = pool.clone();
            std::thread::Builder::new()
                .name(format!("{name}_{n}"))
                .spawn(move || worker.work())?;
        }
        Ok(pool)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<R>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves up to `per_call` messages of the front run into `call`.
    fn take(&self, state: &mut State<R>, call: &mut Vec<ReceivedMessage>) -> Option<Arc<R>> {
        let run = state.runs.front_mut()?;
        call.extend(run.msgs.by_ref().take(self.per_call));
        let target = run.target.clone();
        if run.msgs.as_slice().is_empty() {
            state.runs.pop_front();
        }
        Some(target)
    }

    fn work(&self) {
        let mut call = Vec::with_capacity(self.per_call);
        let mut state = self.state();
        let mut busy = false;
        let mut watcher = false;
        loop {
            if state.stopped {
                return;
            }
            let may_take = busy
                || state.active == 0
                || state
                    .runs
                    .front()
                    .is_some_and(|r| r.queued.elapsed() >= HELP_AFTER);
            if may_take {
                if let Some(target) = self.take(&mut state, &mut call) {
                    if !busy {
                        busy = true;
                        state.active += 1;
                    }
                    if watcher {
                        // joined the busy ones: another idle worker watches from now on
                        watcher = false;
                        state.watching = false;
                    }
                    if !state.watching && !state.runs.is_empty() {
                        self.wake(&mut state);
                    }
                    drop(state);
                    target.consume(&mut call);
                    call.clear();
                    drop(target);
                    state = self.state();
                    continue;
                }
            }
            if busy {
                busy = false;
                state.active -= 1;
            }
            if !watcher && !state.watching && !state.runs.is_empty() {
                watcher = true;
                state.watching = true;
            }
            state.idle += 1;
            state = if watcher && (state.active > 0 || !state.runs.is_empty()) {
                let wait = state.runs.front().map_or(HELP_AFTER, |r| {
                    HELP_AFTER
                        .saturating_sub(r.queued.elapsed())
                        .max(Duration::from_micros(50))
                });
                self.ready
                    .wait_timeout(state, wait)
                    .map(|(s, _)| s)
                    .unwrap_or_else(|e| e.into_inner().0)
            } else {
                if watcher {
                    // nothing queued and nobody busy: nothing to watch
                    watcher = false;
                    state.watching = false;
                }
                self.ready.wait(state).unwrap_or_else(|e| e.into_inner())
            };
            state.idle -= 1;
            state.wake_pending = false;
        }
    }

    /// Wakes one idle worker unless one is already on its way.
    fn wake(&self, state: &mut State<R>) {
        if state.idle > 0 && !state.wake_pending {
            state.wake_pending = true;
            self.ready.notify_one();
        }
    }

    /// Queues a pulled batch for `target`; dropped at once when the pool is stopped. Wakes a
    /// worker only if none is busy, or if no idle worker watches the queue yet.
    pub(crate) fn submit(&self, target: Arc<R>, msgs: Vec<ReceivedMessage>) {
        if msgs.is_empty() {
            return;
        }
        let mut state = self.state();
        if state.stopped {
            return;
        }
        state.runs.push_back(Run {
            target,
            msgs: msgs.into_iter(),
            queued: Instant::now(),
        });
        if state.active == 0 || !state.watching {
            self.wake(&mut state);
        }
    }

    /// Drops the messages not handed to the listener yet and lets every worker exit after
    /// its current call.
    pub(crate) fn stop(&self) {
        let dropped: VecDeque<Run<R>> = {
            let mut state = self.state();
            state.stopped = true;
            std::mem::take(&mut state.runs)
        };
        self.ready.notify_all();
        drop(dropped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{mpsc, Barrier};

    /// Sends each call's offsets and thread name, after waiting at `barrier` if any.
    struct Probe {
        calls: Mutex<mpsc::Sender<(Vec<i64>, String)>>,
        barrier: Option<Barrier>,
    }

    impl ConsumeRun for Probe {
        fn consume(self: &Arc<Self>, msgs: &mut Vec<ReceivedMessage>) {
            if let Some(barrier) = &self.barrier {
                barrier.wait();
            }
            let name = std::thread::current().name().unwrap_or("").to_owned();
            let offsets = msgs.iter().map(|m| m.queue_offset).collect();
            let _ = self.calls.lock().unwrap().send((offsets, name));
        }
    }

    fn msgs(offsets: std::ops::Range<i64>) -> Vec<ReceivedMessage> {
        offsets
            .map(crate::consumer::process_queue::tests::msg)
            .collect()
    }

    fn probe(barrier: Option<Barrier>) -> (Arc<Probe>, mpsc::Receiver<(Vec<i64>, String)>) {
        let (tx, rx) = mpsc::channel();
        let probe = Probe {
            calls: Mutex::new(tx),
            barrier,
        };
        (Arc::new(probe), rx)
    }

    #[test]
    fn every_message_is_consumed_once_in_calls_of_at_most_per_call() {
        let pool = ConsumePool::start(3, 2, "TestConsumeThread").unwrap();
        let (target, calls) = probe(None);
        pool.submit(target.clone(), msgs(0..7));
        pool.submit(target.clone(), msgs(7..10));
        let mut seen = Vec::new();
        while seen.len() < 10 {
            let (offsets, name) = calls.recv_timeout(Duration::from_secs(10)).unwrap();
            assert!(name.starts_with("TestConsumeThread_"), "{name}");
            assert!((1..=2).contains(&offsets.len()), "{offsets:?}");
            seen.extend(offsets);
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        pool.stop();
        pool.submit(target, msgs(10..11));
        assert!(calls.recv_timeout(Duration::from_millis(200)).is_err());
    }

    #[test]
    fn blocked_listener_calls_get_every_thread() {
        // Each call blocks until all 8 are running at once: the idle workers must join the
        // busy one (one per HELP_AFTER) although nothing but this one batch was submitted.
        let pool = ConsumePool::start(8, 1, "TestSlowThread").unwrap();
        let (target, calls) = probe(Some(Barrier::new(8)));
        pool.submit(target, msgs(0..8));
        let mut threads = std::collections::HashSet::new();
        for _ in 0..8 {
            threads.insert(calls.recv_timeout(Duration::from_secs(10)).unwrap().1);
        }
        assert_eq!(threads.len(), 8, "{threads:?}");
        pool.stop();
    }
}
