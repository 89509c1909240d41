//! Generation of the client-side unique message id (`UNIQ_KEY`, docs/remoting-protocol.md §8.2).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use rmq_remoting::message::encode_uniq_id;

/// Produces `UNIQ_KEY`s in Java's layout: client IP, pid, a per-process random number (Java's
/// class-loader hash), milliseconds since the start of the month, and a counter. Consumers
/// report this id as `msgId`, and the broker indexes it for lookups.
pub(crate) struct UniqIdGenerator {
    ip: IpAddr,
    pid: u16,
    salt: i32,
    counter: AtomicU16,
}

impl UniqIdGenerator {
    /// The process-wide generator, keyed to `ip` the first time it is asked for.
    pub(crate) fn global(ip: &str) -> &'static UniqIdGenerator {
        static GEN: OnceLock<UniqIdGenerator> = OnceLock::new();
        GEN.get_or_init(|| UniqIdGenerator {
            ip: ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            pid: std::process::id() as u16,
            salt: fastrand::i32(..),
            counter: AtomicU16::new(fastrand::u16(..)),
        })
    }

    /// The next id.
    pub(crate) fn next(&self) -> String {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        encode_uniq_id(
            self.ip,
            self.pid,
            self.salt,
            ms_since_month_start(now_ms),
            self.counter.fetch_add(1, Ordering::Relaxed),
        )
    }
}

/// Milliseconds since 00:00 UTC on the first day of the month containing `epoch_ms`.
fn ms_since_month_start(epoch_ms: i64) -> u32 {
    const DAY_MS: i64 = 86_400_000;
    let days = epoch_ms.div_euclid(DAY_MS);
    let in_day = epoch_ms.rem_euclid(DAY_MS);
    let (_, _, day_of_month) = rmq_remoting::time::civil_from_days(days);
    ((i64::from(day_of_month) - 1) * DAY_MS + in_day) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_start() {
        // 2024-03-01T00:00:00Z = 1709251200000; 2024-02-29T12:00:00Z = 1709208000000.
        assert_eq!(ms_since_month_start(1_709_251_200_000), 0);
        assert_eq!(ms_since_month_start(1_709_251_200_123), 123);
        assert_eq!(
            ms_since_month_start(1_709_208_000_000),
            28 * 86_400_000 + 43_200_000
        );
    }

    #[test]
    fn ids_are_distinct_and_java_shaped() {
        let g = UniqIdGenerator::global("127.0.0.1");
        let a = g.next();
        let b = g.next();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.starts_with("7F000001"));
    }
}
