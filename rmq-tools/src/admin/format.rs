//! Text as RocketMQ's mqadmin prints it: permission strings, padded names, timestamps.
//! Times are printed and parsed in UTC (the tool has no time-zone database).

use rmq_remoting::body::topic::perm;
use rmq_remoting::time::{civil_from_days, days_from_civil};

/// `PermName.perm2String`: `R`, `W`, `X` (inherit) or `-` in three places.
pub fn perm_string(p: i32) -> String {
    let flag = |bit: i32, c: char| if p & bit != 0 { c } else { '-' };
    [
        flag(perm::READ, 'R'),
        flag(perm::WRITE, 'W'),
        flag(perm::INHERIT, 'X'),
    ]
    .into_iter()
    .collect()
}

/// `UtilAll.frontStringAtLeast`: at most `n` characters of `s`.
pub fn front(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
    millis: i64,
}

fn parts(millis: i64) -> Parts {
    let days = millis.div_euclid(86_400_000);
    let in_day = millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    Parts {
        year,
        month,
        day,
        hour: in_day / 3_600_000,
        minute: in_day / 60_000 % 60,
        second: in_day / 1000 % 60,
        millis: in_day % 1000,
    }
}

/// `yyyy-MM-dd HH:mm:ss,SSS` (Java's `timeMillisToHumanString2`).
pub fn human_millis(millis: i64) -> String {
    let p = parts(millis);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{:03}",
        p.year, p.month, p.day, p.hour, p.minute, p.second, p.millis
    )
}

/// `yyyy-MM-dd HH:mm:ss`.
pub fn human_seconds(millis: i64) -> String {
    let p = parts(millis);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        p.year, p.month, p.day, p.hour, p.minute, p.second
    )
}

/// A timestamp as mqadmin accepts it: `now`, milliseconds since the epoch, or
/// `yyyy-MM-dd#HH:mm:ss:SSS` (UTC). `now_millis` is the current time.
pub fn parse_timestamp(text: &str, now_millis: i64) -> Option<i64> {
    let text = text.trim();
    if text == "now" {
        return Some(now_millis);
    }
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    let (date, time) = text.split_once('#')?;
    let mut d = date.split('-').map(str::parse::<i64>);
    let (year, month, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.split(':').map(str::parse::<i64>);
    let (h, mi, s, ms) = (
        t.next()?.ok()?,
        t.next()?.ok()?,
        t.next()?.ok()?,
        t.next()?.ok()?,
    );
    if d.next().is_some()
        || t.next().is_some()
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0..60).contains(&s)
        || !(0..1000).contains(&ms)
    {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    Some(days * 86_400_000 + h * 3_600_000 + mi * 60_000 + s * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perm_strings_are_javas() {
        assert_eq!(perm_string(6), "RW-");
        assert_eq!(perm_string(7), "RWX");
        assert_eq!(perm_string(4), "R--");
        assert_eq!(perm_string(0), "---");
    }

    #[test]
    fn times_round_trip_in_utc() {
        // 2021-03-04 05:06:07.089 UTC
        let ms = 1_614_834_367_089;
        assert_eq!(human_millis(ms), "2021-03-04 05:06:07,089");
        assert_eq!(human_seconds(ms), "2021-03-04 05:06:07");
        assert_eq!(parse_timestamp("2021-03-04#05:06:07:089", 0), Some(ms));
        assert_eq!(human_millis(0), "1970-01-01 00:00:00,000");
        assert_eq!(
            parse_timestamp("2024-02-29#23:59:59:999", 0)
                .map(human_millis)
                .as_deref(),
            Some("2024-02-29 23:59:59,999")
        );
    }

    #[test]
    fn timestamps_accept_now_millis_and_reject_junk() {
        assert_eq!(parse_timestamp("now", 42), Some(42));
        assert_eq!(parse_timestamp(" 1234 ", 0), Some(1234));
        assert_eq!(parse_timestamp("2021-13-01#00:00:00:000", 0), None);
        assert_eq!(parse_timestamp("yesterday", 0), None);
        assert_eq!(parse_timestamp("2021-01-01#00:00:00", 0), None);
    }
}
