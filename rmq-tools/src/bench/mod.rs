//! `mqbench` modes and their common report.

pub mod consume;
pub mod delay;
pub mod driver;
pub mod produce;
pub mod report;
pub mod route;

/// Milliseconds since the epoch (delivery times and lateness).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
