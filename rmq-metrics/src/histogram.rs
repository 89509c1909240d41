//! A fixed-bucket histogram of whole numbers with lock-free observation.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::exposition::Exposition;

/// Observations counted into cumulative buckets with fixed upper bounds, as Prometheus
/// histograms are; observing is a handful of relaxed atomic adds.
pub struct Histogram {
    bounds: &'static [u64],
    /// One counter per bound plus the overflow (`+Inf`) bucket; not cumulative until encoded.
    buckets: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl Histogram {
    /// A histogram with upper bounds `bounds` (ascending) and `+Inf`.
    pub fn new(bounds: &'static [u64]) -> Self {
        Histogram {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    /// Counts one observation of `value`.
    pub fn observe(&self, value: u64) {
        self.observe_many(value, 1);
    }

    /// Counts `times` observations of `value` each (a batch of equal-sized messages).
    pub fn observe_many(&self, value: u64, times: u64) {
        let slot = self.bounds.partition_point(|&bound| bound < value);
        self.buckets[slot].fetch_add(times, Ordering::Relaxed);
        self.sum
            .fetch_add(value.saturating_mul(times), Ordering::Relaxed);
    }

    /// Writes `name_bucket`, `name_sum` and `name_count` samples with `labels`.
    pub fn encode(&self, out: &mut Exposition, name: &str, labels: &[(&str, &str)]) {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let count: u64 = counts.iter().sum();
        out.sample(&format!("{name}_count"), labels, count as f64);
        out.sample(
            &format!("{name}_sum"),
            labels,
            self.sum.load(Ordering::Relaxed) as f64,
        );
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        for (i, n) in counts.iter().enumerate() {
            cumulative += n;
            let le = match self.bounds.get(i) {
                Some(bound) => format!("{bound}.0"),
                None => "+Inf".to_owned(),
            };
            let mut with_le: Vec<(&str, &str)> = labels.to_vec();
            with_le.push(("le", &le));
            out.sample(&bucket, &with_le, cumulative as f64);
        }
    }
}

/// One histogram per key (a topic, a request code): a shared read lock and a hash lookup to
/// find it, the write lock only the first time a key is seen.
pub struct HistogramMap<K> {
    bounds: &'static [u64],
    by_key: RwLock<HashMap<K, Arc<Histogram>>>,
}

impl<K: Eq + Hash + Clone + Ord> HistogramMap<K> {
    /// An empty map whose histograms have upper bounds `bounds`.
    pub fn new(bounds: &'static [u64]) -> Self {
        HistogramMap {
            bounds,
            by_key: RwLock::new(HashMap::new()),
        }
    }

    /// The histogram of `key`, created on first use; `make_key` builds an owned key only then.
    pub fn get<Q>(&self, key: &Q, make_key: impl FnOnce(&Q) -> K) -> Arc<Histogram>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        if let Some(h) = self
            .by_key
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
        {
            return h.clone();
        }
        self.by_key
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(make_key(key))
            .or_insert_with(|| Arc::new(Histogram::new(self.bounds)))
            .clone()
    }

    /// Every key's histogram, in key order (for a scrape).
    pub fn sorted(&self) -> Vec<(K, Arc<Histogram>)> {
        let mut all: Vec<_> = self
            .by_key
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, h)| (k.clone(), h.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_bounds_inclusive() {
        static BOUNDS: [u64; 2] = [1, 10];
        let h = Histogram::new(&BOUNDS);
        for v in [0, 1, 2, 10, 11] {
            h.observe(v);
        }
        let mut out = Exposition::new(&[]);
        h.encode(&mut out, "m", &[("k", "v")]);
        assert_eq!(
            out.finish(),
            "m_count{k=\"v\"} 5.0\nm_sum{k=\"v\"} 24.0\nm_bucket{k=\"v\",le=\"1.0\"} 2.0\n\
             m_bucket{k=\"v\",le=\"10.0\"} 4.0\nm_bucket{k=\"v\",le=\"+Inf\"} 5.0\n"
        );
    }
}
