//! A value loaded from the cluster and reused for a few seconds, so lists of 10,000 topics
//! or 1,000 groups cost one admin round trip per few seconds, not one per page view.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// One cached value with its age limit. Concurrent misses wait for one load.
pub struct Cached<T> {
    slot: Mutex<Option<(Instant, Arc<T>)>>,
    ttl: Duration,
}

impl<T> Cached<T> {
    /// Values are reused for `ttl`.
    pub fn new(ttl: Duration) -> Cached<T> {
        Cached {
            slot: Mutex::new(None),
            ttl,
        }
    }

    /// The cached value when younger than the limit, else what `load` returns (kept only
    /// when it succeeded).
    pub async fn get<E, F>(&self, load: F) -> Result<Arc<T>, E>
    where
        F: std::future::Future<Output = Result<T, E>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some((at, value)) = slot.as_ref() {
            if at.elapsed() < self.ttl {
                return Ok(value.clone());
            }
        }
        let value = Arc::new(load.await?);
        *slot = Some((Instant::now(), value.clone()));
        Ok(value)
    }

    /// Forgets the value, after an action that changed it.
    pub async fn invalidate(&self) {
        *self.slot.lock().await = None;
    }
}
