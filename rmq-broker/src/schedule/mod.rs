//! Delayed delivery: messages sent with a delay level wait in `SCHEDULE_TOPIC_XXXX` (one queue
//! per level, RocketMQ 4), messages with a delivery time wait in the timer topic (RocketMQ 5's
//! `TIMER_DELIVER_MS` / `TIMER_DELAY_SEC` / `TIMER_DELAY_MS` / `__STARTDELIVERTIME`). Both keep
//! the real topic and queue in `REAL_TOPIC` / `REAL_QID`; when due, the message is stored again
//! under them, with its id, body and properties kept (`DELAY` too, as Apache 4.9.7 does).
//!
//! [`divert`] is the send-path hook; [`levels`] and [`timer`] deliver; [`release`] is the
//! re-store both share.

mod levels;
pub mod progress;
mod timer;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rmq_remoting::message::{decode_record, edit_properties, iter_pairs, keys, property_value};
use rmq_store::{DelayLevels, PutMessage, PutStatus, StoreError, SCHEDULE_TOPIC, TIMER_TOPIC};

use crate::state::BrokerContext;

/// Properties that ask for a delivery time, in the order they are looked at.
const TIMER_REQUESTS: [&str; 4] = [
    keys::TIMER_DELIVER_MS,
    keys::START_DELIVER_TIME,
    keys::TIMER_DELAY_SEC,
    keys::TIMER_DELAY_MS,
];

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The delivery properties of a message (`DELAY`, `TIMER_OUT_MS`, the timer requests), taken
/// in one pass over its properties: the send path reads them in the same pass as its other
/// properties (`processor::SendProperties`) instead of scanning the text once per key.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct DeliveryProperties<'a> {
    /// `DELAY`: the delay level as sent.
    pub(crate) delay: Option<&'a str>,
    /// `TIMER_OUT_MS`: set on a message the timer delivered once.
    pub(crate) timer_out_ms: Option<&'a str>,
    /// The values of [`TIMER_REQUESTS`], in that order.
    pub(crate) timer_requests: [Option<&'a str>; 4],
}

/// What a message asks for: a delay level (0: none) and a delivery time, checked not to be both.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked {
    level: i32,
    deliver_at: Option<i64>,
}

impl<'a> DeliveryProperties<'a> {
    /// Reads them from a properties string (the last occurrence of a key wins, as in Java).
    pub(crate) fn read(properties: &'a str) -> Self {
        let mut found = Self::default();
        for (name, value) in iter_pairs(properties) {
            found.offer(name, value);
        }
        found
    }

    /// Keeps `value` when `name` is a delivery property; whether it was one, so a caller reading
    /// more properties in the same pass knows the pair is taken.
    pub(crate) fn offer(&mut self, name: &str, value: &'a str) -> bool {
        let slot = match name {
            keys::DELAY => &mut self.delay,
            keys::TIMER_OUT_MS => &mut self.timer_out_ms,
            _ => match TIMER_REQUESTS.iter().position(|key| *key == name) {
                Some(i) => &mut self.timer_requests[i],
                None => return false,
            },
        };
        *slot = Some(value);
        true
    }

    /// The delay level asked for, 0 without `DELAY`; `Err` is the remark of a MESSAGE_ILLEGAL
    /// answer.
    pub(crate) fn delay_level(&self) -> Result<i32, String> {
        match self.delay {
            None => Ok(0),
            Some(text) => text.trim().parse::<i32>().map_err(|_| {
                format!("the DELAY property {text:?} is not a delay level (a whole number)")
            }),
        }
    }

    /// Whether the message asks for later delivery at all (what a batch may not do).
    pub(crate) fn asks_delay(&self) -> bool {
        self.delay.is_some_and(|level| level.trim() != "0")
            || self.timer_requests.iter().any(Option::is_some)
    }

    /// The delay level and delivery time asked for; `Err` is the remark of a MESSAGE_ILLEGAL
    /// answer.
    pub(crate) fn asked(&self, now: i64) -> Result<Asked, String> {
        let level = self.delay_level()?;
        // A message that was parked once carries TIMER_OUT_MS: it is delivered as it is, never
        // parked again (Apache 5.3's HookUtils.checkIfTimerMessage "double check"), so a
        // delivered message keeps its timer properties (gRPC receivers read their delivery time
        // from them).
        let deliver_at = if self.timer_out_ms.is_some() {
            None
        } else {
            self.timer_request(now)?
        };
        if level > 0 && deliver_at.is_some() {
            return Err(
                "the message has both a delay level (DELAY) and a delivery time (TIMER_*); \
                    set only one"
                    .to_owned(),
            );
        }
        Ok(Asked { level, deliver_at })
    }

    /// The delivery time asked for through RocketMQ 5's timer properties, if any: the first of
    /// [`TIMER_REQUESTS`] present.
    fn timer_request(&self, now: i64) -> Result<Option<i64>, String> {
        let Some((key, text)) = TIMER_REQUESTS
            .iter()
            .zip(self.timer_requests)
            .find_map(|(key, value)| Some((*key, value?)))
        else {
            return Ok(None);
        };
        let value: i64 = text
            .trim()
            .parse()
            .map_err(|_| format!("the {key} property {text:?} is not a whole number"))?;
        Ok(Some(match key {
            keys::TIMER_DELAY_SEC => now.saturating_add(value.saturating_mul(1000)),
            keys::TIMER_DELAY_MS => now.saturating_add(value),
            _ => value,
        }))
    }
}

/// When a message asks to be delivered later, moves it to the schedule or timer topic (keeping
/// its real topic and queue in properties). Messages due now are left alone. `Err` is the remark
/// of a MESSAGE_ILLEGAL answer.
pub(crate) fn divert(
    msg: &mut PutMessage,
    levels: &DelayLevels,
    max_delay: Duration,
    now: i64,
) -> Result<(), String> {
    let asked = DeliveryProperties::read(&msg.properties).asked(now)?;
    park(msg, asked, levels, max_delay, now)
}

/// [`divert`] with the request already read: the send path reads it from the properties as sent,
/// in the pass that reads its other properties.
pub(crate) fn park(
    msg: &mut PutMessage,
    asked: Asked,
    levels: &DelayLevels,
    max_delay: Duration,
    now: i64,
) -> Result<(), String> {
    let (topic, queue_id, key, value) = if asked.level > 0 {
        let level = asked.level.min(levels.max_level());
        (SCHEDULE_TOPIC, level - 1, keys::DELAY, level.to_string())
    } else {
        let Some(deliver_at) = asked.deliver_at.filter(|&at| at > now) else {
            return Ok(());
        };
        let max_ms = i64::try_from(max_delay.as_millis()).unwrap_or(i64::MAX);
        if deliver_at - now > max_ms {
            return Err(format!(
                "the delivery time is {} s away; this broker accepts at most timerMaxDelaySec = {} s",
                (deliver_at - now) / 1000,
                max_delay.as_secs()
            ));
        }
        (TIMER_TOPIC, 0, keys::TIMER_OUT_MS, deliver_at.to_string())
    };
    let real_queue = msg.queue_id.to_string();
    msg.properties = edit_properties(
        &msg.properties,
        &[
            (keys::REAL_TOPIC, &msg.topic),
            (keys::REAL_QID, &real_queue),
            (key, &value),
        ],
        &[],
    );
    msg.topic = topic.to_owned();
    msg.queue_id = queue_id;
    Ok(())
}

/// Why a due message could not be re-stored.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReleaseError {
    /// The store refused the write (disk full, shutting down): try again later.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Re-stores the parked message at commit-log offset `phys` under its real topic and queue.
/// A record that is gone (retention removed it) or is not a parked message is skipped with a
/// warning: there is nothing to deliver.
pub(crate) async fn release(ctx: &Arc<BrokerContext>, phys: i64) -> Result<(), ReleaseError> {
    let Some(msg) = released_message(ctx, phys) else {
        return Ok(());
    };
    let result = ctx.store.put_message(msg).await?;
    if result.status != PutStatus::PutOk {
        tracing::debug!(phys, status = ?result.status, "delayed message delivered; flush or replica wait timed out");
    }
    Ok(())
}

/// The message to store for the parked record at `phys`, or `None` (with a warning) when there
/// is none.
fn released_message(ctx: &BrokerContext, phys: i64) -> Option<PutMessage> {
    let Some(buffer) = ctx.store.look_message_by_offset(phys) else {
        tracing::warn!(
            phys,
            "a delayed message is no longer in the commit log (removed by retention); skipping it"
        );
        return None;
    };
    let record = match decode_record(buffer.as_slice(), false) {
        Ok(record) => record,
        Err(e) => {
            tracing::warn!(phys, error = %e, "a delayed message's record cannot be read; skipping it");
            return None;
        }
    };
    let real_topic = property_value(record.properties, keys::REAL_TOPIC);
    let real_queue = property_value(record.properties, keys::REAL_QID).and_then(|q| q.parse().ok());
    let (Some(topic), Some(queue_id)) = (real_topic, real_queue) else {
        tracing::warn!(
            phys,
            topic = record.topic,
            "a delayed message has no REAL_TOPIC/REAL_QID; skipping it"
        );
        return None;
    };
    // Apache delivers the parked properties unchanged: DELAY (4.9.7; a consumer sees the level
    // it was delayed by), and the timer requests with TIMER_OUT_MS (5.3), which keeps a re-send
    // of the delivered message from being parked again (see `divert`).
    Some(PutMessage {
        topic: topic.to_owned(),
        queue_id,
        ..PutMessage::from_record(&record, ctx.store_host)
    })
}

/// Starts the delivery tasks (one per delay level, one for the timer); run on masters only
/// (`role::run_while`): a slave only replicates what its master delivers.
pub(crate) fn spawn(ctx: &Arc<BrokerContext>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks: Vec<_> = (1..=ctx.store.config().message_delay_level.max_level())
        .map(|level| tokio::spawn(levels::deliver_level(ctx.clone(), level)))
        .collect();
    tasks.push(tokio::spawn(timer::run(ctx.clone())));
    tasks
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use bytes::Bytes;

    use super::*;

    fn msg(properties: &str) -> PutMessage {
        let host: SocketAddr = "127.0.0.1:1".parse().unwrap();
        PutMessage {
            topic: "T".into(),
            queue_id: 3,
            flag: 0,
            body: Bytes::from_static(b"x"),
            properties: properties.into(),
            sys_flag: 0,
            born_timestamp: 0,
            born_host: host,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn a_delay_level_goes_to_its_schedule_queue_clamped_to_the_highest() {
        let levels = DelayLevels::parse("1s 2s 3s").unwrap();
        let mut m = msg("DELAY\u{1}9\u{2}KEYS\u{1}k\u{2}");
        divert(&mut m, &levels, DAY, 0).unwrap();
        assert_eq!((m.topic.as_str(), m.queue_id), (SCHEDULE_TOPIC, 2));
        assert_eq!(property_value(&m.properties, keys::DELAY), Some("3"));
        assert_eq!(property_value(&m.properties, keys::REAL_TOPIC), Some("T"));
        assert_eq!(property_value(&m.properties, keys::REAL_QID), Some("3"));
        assert_eq!(property_value(&m.properties, keys::KEYS), Some("k"));
        let mut zero = msg("DELAY\u{1}0\u{2}");
        divert(&mut zero, &levels, DAY, 0).unwrap();
        assert_eq!(zero.topic, "T");
    }

    #[test]
    fn delivery_times_go_to_the_timer_topic_unless_due() {
        let levels = DelayLevels::default();
        for (props, at) in [
            ("TIMER_DELIVER_MS\u{1}5000\u{2}", "5000"),
            ("__STARTDELIVERTIME\u{1}5000\u{2}", "5000"),
            ("TIMER_DELAY_SEC\u{1}4\u{2}", "5000"),
            ("TIMER_DELAY_MS\u{1}4000\u{2}", "5000"),
        ] {
            let mut m = msg(props);
            divert(&mut m, &levels, DAY, 1000).unwrap();
            assert_eq!((m.topic.as_str(), m.queue_id), (TIMER_TOPIC, 0), "{props}");
            assert_eq!(property_value(&m.properties, keys::TIMER_OUT_MS), Some(at));
        }
        let mut due = msg("TIMER_DELIVER_MS\u{1}900\u{2}");
        divert(&mut due, &levels, DAY, 1000).unwrap();
        assert_eq!(due.topic, "T");
        // Delivered once already (TIMER_OUT_MS): a re-send is not parked again.
        let mut resent = msg("TIMER_DELAY_SEC\u{1}4\u{2}TIMER_OUT_MS\u{1}5000\u{2}");
        divert(&mut resent, &levels, DAY, 1000).unwrap();
        assert_eq!(resent.topic, "T");
    }

    #[test]
    fn bad_requests_are_explained() {
        let levels = DelayLevels::default();
        let too_far = divert(&mut msg("TIMER_DELAY_SEC\u{1}90000\u{2}"), &levels, DAY, 0);
        assert!(too_far.unwrap_err().contains("timerMaxDelaySec"));
        let both = divert(
            &mut msg("DELAY\u{1}2\u{2}TIMER_DELAY_SEC\u{1}9\u{2}"),
            &levels,
            DAY,
            0,
        );
        assert!(both.unwrap_err().contains("set only one"));
        let junk = divert(&mut msg("DELAY\u{1}x\u{2}"), &levels, DAY, 0);
        assert!(junk.unwrap_err().contains("not a delay level"));
    }
}
