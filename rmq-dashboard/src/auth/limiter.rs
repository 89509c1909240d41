//! Failed logins per client address: past the limit within a minute, logins from that
//! address are refused (429) until the oldest failure is a minute old.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at most; past it, addresses with no recent failure are forgotten first.
const MAX_ADDRESSES: usize = 10_000;

/// Recent failed logins by client address.
pub struct LoginLimiter {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
    per_minute: usize,
}

impl LoginLimiter {
    /// Allows `per_minute` failures per address per minute.
    pub fn new(per_minute: u32) -> LoginLimiter {
        LoginLimiter {
            failures: Mutex::new(HashMap::new()),
            per_minute: per_minute as usize,
        }
    }

    /// Whether `addr` has used up its failures for now.
    pub fn blocked(&self, addr: IpAddr) -> bool {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.get_mut(&addr).is_some_and(|q| {
            prune(q, now);
            q.len() >= self.per_minute
        })
    }

    /// Records a failed login from `addr`.
    pub fn fail(&self, addr: IpAddr) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ADDRESSES && !map.contains_key(&addr) {
            map.retain(|_, q| {
                prune(q, now);
                !q.is_empty()
            });
        }
        let q = map.entry(addr).or_default();
        prune(q, now);
        q.push_back(now);
    }
}

fn prune(q: &mut VecDeque<Instant>, now: Instant) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
        q.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_per_address() {
        let limiter = LoginLimiter::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        limiter.fail(a);
        assert!(!limiter.blocked(a));
        limiter.fail(a);
        assert!(limiter.blocked(a));
        assert!(!limiter.blocked(b));
    }
}
