//! The consume thread pool of a concurrent push consumer (Java's `consumeExecutor`):
//! `consumeThreadMax` named threads taking listener calls from one queue. Handing a batch to a
//! waiting thread costs a lock and a wake-up, far less than a tokio task plus a
//! `spawn_blocking` per batch.
//!
//! The queue is bounded by the consumer's flow control: a queue stops being pulled once
//! `pullThresholdForQueue` messages of it are in flight, and every queued job holds such
//! messages.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};

/// One listener call and what follows it.
type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    stopped: bool,
}

/// A fixed set of worker threads and their job queue.
pub(crate) struct ConsumePool {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl ConsumePool {
    /// Starts `threads` workers named `<name>_<n>`; an error if the OS refuses a thread.
    pub(crate) fn start(threads: usize, name: &str) -> std::io::Result<Arc<ConsumePool>> {
        let pool = Arc::new(ConsumePool {
            queue: Mutex::default(),
            ready: Condvar::new(),
        });
        for n in 1..=threads.max(1) {
            let worker = pool.clone();
            std::thread::Builder::new()
                .name(format!("{name}_{n}"))
                .spawn(move || worker.work())?;
        }
        Ok(pool)
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn work(&self) {
        loop {
            let job = {
                let mut queue = self.queue();
                loop {
                    if queue.stopped {
                        return;
                    }
                    if let Some(job) = queue.jobs.pop_front() {
                        break job;
                    }
                    queue = self.ready.wait(queue).unwrap_or_else(|e| e.into_inner());
                }
            };
            job();
        }
    }

    /// Queues `job` for the next free worker; dropped at once when the pool is stopped.
    pub(crate) fn submit(&self, job: impl FnOnce() + Send + 'static) {
        let mut queue = self.queue();
        if queue.stopped {
            return;
        }
        queue.jobs.push_back(Box::new(job));
        drop(queue);
        self.ready.notify_one();
    }

    /// Drops the jobs not started yet and lets every worker exit after its current job.
    pub(crate) fn stop(&self) {
        let dropped: VecDeque<Job> = {
            let mut queue = self.queue();
            queue.stopped = true;
            std::mem::take(&mut queue.jobs)
        };
        self.ready.notify_all();
        drop(dropped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    #[test]
    fn jobs_run_on_the_workers_and_stop_drops_the_rest() {
        let pool = ConsumePool::start(2, "TestConsumeThread").unwrap();
        let (done, finished) = mpsc::channel();
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let (ran, done) = (ran.clone(), done.clone());
            pool.submit(move || {
                ran.fetch_add(1, Ordering::SeqCst);
                let name = std::thread::current().name().map(str::to_owned);
                let _ = done.send(name);
            });
        }
        for _ in 0..10 {
            let name = finished.recv().unwrap().unwrap();
            assert!(name.starts_with("TestConsumeThread_"), "{name}");
        }
        pool.stop();
        let ran_after = ran.clone();
        pool.submit(move || {
            ran_after.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(ran.load(Ordering::SeqCst), 10);
    }
}
