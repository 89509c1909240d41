//! Delayed-message support the store owns, as RocketMQ's store does: the delay-level table
//! (`messageDelayLevel`) and the consume-queue tag code of the schedule and timer topics, which
//! is the delivery time rather than a tag hash so the broker can find due messages from the
//! consume queue alone.

use std::time::Duration;

use rmq_remoting::message::{keys, property_value};

/// System topic holding messages sent with a delay level; queue id = level − 1.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// System topic holding messages with an arbitrary delivery time (RocketMQ 5's timer topic).
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";

/// The delay levels, level 1 first (`messageDelayLevel = 1s 5s 10s …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelayLevels(Vec<Duration>);

impl Default for DelayLevels {
    fn default() -> Self {
        Self::parse("1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h")
            .unwrap_or(DelayLevels(vec![Duration::from_secs(1)]))
    }
}

impl DelayLevels {
    /// Parses RocketMQ's form: space-separated numbers each followed by `s`, `m`, `h` or `d`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let levels = text
            .split_whitespace()
            .map(|level| {
                let unit_at = level.len().saturating_sub(1);
                let (number, unit) = level.split_at(unit_at);
                let unit_secs = match unit {
                    "s" => 1,
                    "m" => 60,
                    "h" => 3_600,
                    "d" => 86_400,
                    _ => return Err(format!("`{level}` does not end with s, m, h or d")),
                };
                let n: u64 = number
                    .parse()
                    .map_err(|_| format!("`{level}` does not start with a whole number"))?;
                Ok(Duration::from_secs(n.saturating_mul(unit_secs)))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if levels.is_empty() {
            return Err("at least one level is needed".to_owned());
        }
        Ok(DelayLevels(levels))
    }

    /// Number of levels (the highest level).
    pub fn max_level(&self) -> i32 {
        i32::try_from(self.0.len()).unwrap_or(i32::MAX)
    }

    /// The delay of `level` (1-based), levels above the highest counting as the highest, as
    /// RocketMQ clamps them. `None` for levels below 1.
    pub fn delay(&self, level: i32) -> Option<Duration> {
        let index = usize::try_from(level.checked_sub(1)?).ok()?;
        self.0.get(index).or(self.0.last()).copied()
    }
}

impl rmq_config::ConfigValue for DelayLevels {
    fn parse_value(text: &str) -> Result<Self, String> {
        Self::parse(text).map_err(|why| {
            format!("space-separated delays such as `1s 5s 10s 30s 1m 2h 1d` ({why})")
        })
    }

    fn render(&self) -> String {
        let render = |d: &Duration| {
            let s = d.as_secs();
            match s {
                s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
                s if s > 0 && s % 3_600 == 0 => format!("{}h", s / 3_600),
                s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
                s => format!("{s}s"),
            }
        };
        self.0.iter().map(render).collect::<Vec<_>>().join(" ")
    }
}

/// The consume-queue tag code of a record of the schedule or timer topic: its delivery time in
/// epoch milliseconds. `None` for other topics (their tag code is the tag hash).
pub(crate) fn delivery_tag_code(
    topic: &str,
    properties: &str,
    store_timestamp: i64,
    levels: &DelayLevels,
) -> Option<i64> {
    match topic {
        SCHEDULE_TOPIC => {
            let level = property_value(properties, keys::DELAY)?
                .trim()
                .parse()
                .ok()?;
            let delay = levels.delay(level)?;
            Some(store_timestamp.saturating_add(i64::try_from(delay.as_millis()).ok()?))
        }
        TIMER_TOPIC => property_value(properties, keys::TIMER_OUT_MS)?
            .trim()
            .parse()
            .ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use rmq_config::ConfigValue;

    use super::*;

    #[test]
    fn default_levels_are_rocketmq_s() {
        let levels = DelayLevels::default();
        assert_eq!(levels.max_level(), 18);
        assert_eq!(levels.delay(1), Some(Duration::from_secs(1)));
        assert_eq!(levels.delay(3), Some(Duration::from_secs(10)));
        assert_eq!(levels.delay(18), Some(Duration::from_secs(7_200)));
        assert_eq!(levels.delay(40), Some(Duration::from_secs(7_200)));
        assert_eq!(levels.delay(0), None);
        assert_eq!(
            levels.render(),
            "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
        );
    }

    #[test]
    fn bad_levels_say_what_is_wrong() {
        let err = DelayLevels::parse_value("1s 5x").unwrap_err();
        assert!(err.contains("`5x` does not end with s, m, h or d"), "{err}");
        assert!(DelayLevels::parse("").is_err());
        assert!(DelayLevels::parse("s").is_err());
    }

    #[test]
    fn tag_code_is_the_delivery_time() {
        let levels = DelayLevels::parse("1s 2s").unwrap();
        let code = delivery_tag_code(SCHEDULE_TOPIC, "DELAY\u{1}2\u{2}", 1_000, &levels);
        assert_eq!(code, Some(3_000));
        let timer = delivery_tag_code(TIMER_TOPIC, "TIMER_OUT_MS\u{1}77\u{2}", 1, &levels);
        assert_eq!(timer, Some(77));
        assert_eq!(delivery_tag_code("T", "DELAY\u{1}2\u{2}", 1, &levels), None);
    }
}
