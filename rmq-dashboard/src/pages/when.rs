//! Times on the pages: message timestamps (ms since the epoch) shown and entered as UTC
//! `YYYY-MM-DD HH:MM:SS` (the form of an `<input type="datetime-local">`, read as UTC), so
//! the console never depends on the server's or the browser's time zone.

use std::time::{SystemTime, UNIX_EPOCH};

use rmq_remoting::time::{civil_from_days, days_from_civil};

/// Milliseconds since the epoch now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `ms` as `YYYY-MM-DD HH:MM:SS.mmm` UTC.
pub fn format_ms(ms: i64) -> String {
    let (days, rest) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let secs = rest / 1000;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        rest % 1000
    )
}

/// `ms` as an `<input type="datetime-local" step="1">` value (`YYYY-MM-DDTHH:MM:SS`).
pub fn input_value(ms: i64) -> String {
    format_ms(ms)[..19].replacen(' ', "T", 1)
}

/// Reads `YYYY-MM-DD[T ]HH:MM[:SS]` as UTC; `None` when it is not that.
pub fn parse_input(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', ' '])?;
    let mut dp = date.splitn(3, '-');
    let y = dp.next()?.parse::<i64>().ok()?;
    let (m, d) = (
        dp.next()?.parse::<u32>().ok()?,
        dp.next()?.parse::<u32>().ok()?,
    );
    let mut tp = time.splitn(3, ':').map(str::parse::<i64>);
    let (h, min) = (tp.next()?.ok()?, tp.next()?.ok()?);
    let sec = tp.next().map_or(Some(0), Result::ok)?;
    let valid = (1..=12).contains(&m)
        && (1..=31).contains(&d)
        && (0..24).contains(&h)
        && (0..60).contains(&min)
        && (0..60).contains(&sec);
    valid.then(|| ((days_from_civil(y, m, d) * 24 + h) * 60 + min) * 60_000 + sec * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_reads_back_utc() {
        assert_eq!(format_ms(0), "1970-01-01 00:00:00.000");
        // 2024-02-29 23:59:58.123 UTC, a leap day
        assert_eq!(format_ms(1_709_251_198_123), "2024-02-29 23:59:58.123");
        assert_eq!(input_value(1_709_251_198_123), "2024-02-29T23:59:58");
        assert_eq!(parse_input("2024-02-29T23:59:58"), Some(1_709_251_198_000));
        assert_eq!(parse_input("2024-02-29 23:59"), Some(1_709_251_140_000));
        assert_eq!(parse_input("2024-13-01T00:00"), None);
        assert_eq!(parse_input("yesterday"), None);
        let now = now_ms() / 1000 * 1000;
        assert_eq!(parse_input(&input_value(now)), Some(now));
    }
}
