//! The measuring loop every `mqbench` mode that issues operations shares: a fixed number of
//! workers each repeat one operation, one second of warm-up, then `duration` measured.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::report::{Latencies, Report};

/// Runs `workers` copies of `op` (given the worker's index) until the measured phase ends;
/// `op` answers whether the operation succeeded. Returns the run's report.
pub async fn drive<F, Fut>(
    mode: &str,
    target: &str,
    workers: usize,
    duration: Duration,
    op: F,
) -> anyhow::Result<Report>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..workers.max(1))
        .map(|index| {
            let (op, stop, measuring, failed) =
                (op.clone(), stop.clone(), measuring.clone(), failed.clone());
            tokio::spawn(async move {
                let mut latencies = Latencies::default();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let ok = op(index).await;
                    if measuring.load(Ordering::Relaxed) {
                        if ok {
                            latencies.record(started.elapsed());
                        } else {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut all = Latencies::default();
    for task in tasks {
        all.merge(&task.await?);
    }
    Ok(Report::new(
        mode,
        target,
        &all,
        failed.load(Ordering::Relaxed),
        elapsed,
    ))
}
