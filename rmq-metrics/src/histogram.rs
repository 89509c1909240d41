//! A fixed-bucket histogram of whole numbers with lock-free observation.

use std::sync::atomic::{AtomicU64, Ordering};

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
        let slot = self.bounds.partition_point(|&bound| bound < value);
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(value, Ordering::Relaxed);
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
