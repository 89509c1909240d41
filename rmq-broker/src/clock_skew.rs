//! Producers whose clocks disagree with the broker's (rmq's own check; Apache has none).
//!
//! Every send carries the producer's born timestamp. A producer host whose clock is off by more
//! than `clockSkewWarnThresholdMillis` makes message times (born vs. store time, consumer lag
//! latency, time-based offset resets, trace times) misleading, and is usually a host without
//! time synchronisation. The broker logs one warning per host and keeps the host's latest skew
//! for metrics and the console. The send path pays one subtraction and one comparison; the
//! per-host table is touched only for a host beyond the threshold, or for any host while some
//! host is known to be skewed (so a host that was fixed is seen to be fixed).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// The GET_BROKER_RUNTIME_INFO key listing skewed producer hosts (read by rmq-dashboard).
pub const RUNTIME_INFO_KEY: &str = "producerClockSkewMillis";

/// What is known about one skewed producer host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostSkew {
    /// The producer's clock minus the broker's, in milliseconds, at its latest send (positive:
    /// the producer is ahead). Network and queueing time makes it a little negative.
    pub skew_millis: i64,
    /// When the broker last compared (its own clock, epoch milliseconds).
    pub seen_at_millis: i64,
}

/// Per producer host, the clock skew of hosts that went beyond the threshold.
pub struct ClockSkew {
    threshold_millis: i64,
    any_skewed: AtomicBool,
    hosts: Mutex<HashMap<IpAddr, HostSkew>>,
}

impl ClockSkew {
    /// A check warning beyond `threshold_millis`; 0 switches the check off.
    pub fn new(threshold_millis: u64) -> Self {
        ClockSkew {
            threshold_millis: i64::try_from(threshold_millis).unwrap_or(i64::MAX),
            any_skewed: AtomicBool::new(false),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Compares a send's born timestamp with the broker's clock `now_millis`. Born timestamps of
    /// 0 or less (clients that do not set one) are ignored.
    pub fn check(&self, host: IpAddr, born_millis: i64, now_millis: i64) {
        if self.threshold_millis == 0 || born_millis <= 0 {
            return;
        }
        let skew = born_millis.saturating_sub(now_millis);
        let beyond = skew.unsigned_abs() > self.threshold_millis.unsigned_abs();
        if !beyond && !self.any_skewed.load(Ordering::Relaxed) {
            return;
        }
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let seen = HostSkew {
            skew_millis: skew,
            seen_at_millis: now_millis,
        };
        match hosts.get_mut(&host) {
            Some(known) => *known = seen,
            None if beyond => {
                hosts.insert(host, seen);
                self.any_skewed.store(true, Ordering::Relaxed);
                warn(host, skew, self.threshold_millis);
            }
            None => {}
        }
    }

    /// [`ClockSkew::check`] against the broker's clock now (the send path's hook).
    pub fn check_now(&self, host: IpAddr, born_millis: i64) {
        if self.threshold_millis == 0 {
            return;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.check(host, born_millis, now);
    }

    /// The latest skew of every producer host that has been beyond the threshold since the
    /// broker started (for metrics and the console), by host.
    pub fn hosts(&self) -> Vec<(IpAddr, HostSkew)> {
        let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<_> = hosts.iter().map(|(h, s)| (*h, *s)).collect();
        all.sort_by_key(|(h, _)| *h);
        all
    }

    /// The runtime-info entry for the console (rmq's own key, absent while no producer host
    /// is skewed): `producerClockSkewMillis` = `host=skew` pairs joined by `;`, skew as in
    /// [`HostSkew::skew_millis`].
    pub fn runtime_info(&self) -> Option<(String, String)> {
        let hosts = self.hosts();
        if hosts.is_empty() {
            return None;
        }
        let pairs: Vec<String> = hosts
            .iter()
            .map(|(host, s)| format!("{host}={}", s.skew_millis))
            .collect();
        Some((RUNTIME_INFO_KEY.to_owned(), pairs.join(";")))
    }
}

fn warn(host: IpAddr, skew: i64, threshold: i64) {
    let direction = if skew > 0 { "ahead of" } else { "behind" };
    tracing::warn!(
        producer_host = %host,
        skew_millis = skew,
        "the clock of producer host {host} is {} ms {direction} this broker's (more than \
         clockSkewWarnThresholdMillis={threshold}): message born times, lag latencies and \
         time-based offset resets will be off. Synchronise the clocks of both hosts with NTP \
         (chrony: `chronyc tracking` shows the offset); a container uses its host's clock, so fix \
         the host; for a VM, enable the hypervisor's time synchronisation. Warned once per host; \
         the current skew is the rmq_producer_clock_skew_milliseconds metric",
        skew.unsigned_abs()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn hosts_within_the_threshold_are_not_recorded() {
        let skew = ClockSkew::new(5_000);
        skew.check(host(1), 1_000_000 - 4_999, 1_000_000);
        skew.check(host(1), 1_000_000 + 5_000, 1_000_000);
        skew.check(host(1), 0, 1_000_000);
        assert!(skew.hosts().is_empty());
    }

    #[test]
    fn a_skewed_host_is_kept_and_its_recovery_seen() {
        let skew = ClockSkew::new(5_000);
        skew.check(host(2), 1_000_000 - 120_000, 1_000_000);
        skew.check(host(3), 1_000_000 + 10, 1_000_000);
        assert_eq!(
            skew.hosts(),
            vec![(
                host(2),
                HostSkew {
                    skew_millis: -120_000,
                    seen_at_millis: 1_000_000
                }
            )]
        );
        skew.check(host(2), 2_000_003, 2_000_000);
        assert_eq!(skew.hosts()[0].1.skew_millis, 3);
    }

    #[test]
    fn runtime_info_lists_skewed_hosts_only_once_some_exist() {
        let skew = ClockSkew::new(5_000);
        skew.check(host(5), 1_000_000 + 1_000, 1_000_000);
        assert_eq!(skew.runtime_info(), None);
        skew.check(host(7), 1_000_000 + 90_000, 1_000_000);
        skew.check(host(6), 1_000_000 - 60_000, 1_000_000);
        assert_eq!(
            skew.runtime_info(),
            Some((
                RUNTIME_INFO_KEY.to_owned(),
                "10.0.0.6=-60000;10.0.0.7=90000".to_owned()
            ))
        );
    }

    #[test]
    fn zero_threshold_switches_the_check_off() {
        let skew = ClockSkew::new(0);
        skew.check(host(4), 1, 1_000_000_000);
        assert!(skew.hosts().is_empty());
    }
}
