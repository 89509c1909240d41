//! What producers and consumers record about a message, field by field as Java's trace hooks
//! (`SendMessageTraceHookImpl`, `ConsumeMessageTraceHookImpl`, `EndTransactionTraceHookImpl`)
//! fill them.

use rmq_remoting::message::{keys, property_value};

use super::record::{TraceMessageType, TraceRecord, TraceType, ABSENT};
use crate::message::ReceivedMessage;
use crate::producer::{now_ms, SendResult, SendStatus};

/// The property where a broker stamps its region on stored messages (Java
/// `MessageConst.PROPERTY_MSG_REGION`).
const MSG_REGION: &str = "MSG_REGION";
/// The property where a broker stamps whether tracing is on (`PROPERTY_TRACE_SWITCH`).
const TRACE_ON: &str = "TRACE_ON";
/// The region Java writes when a message carries none (`MixAll.DEFAULT_TRACE_REGION_ID`).
const DEFAULT_TRACE_REGION_ID: &str = "DefaultRegion";

/// How a listener call ended (Java `ConsumeReturnType`, written as its ordinal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConsumeReturn {
    /// The listener reported success.
    Success = 0,
    /// The listener panicked.
    Exception = 2,
    /// The listener asked for a retry.
    Failed = 4,
}

impl ConsumeReturn {
    /// How a call ended that reported `success` or `panicked`.
    pub(crate) fn of(success: bool, panicked: bool) -> ConsumeReturn {
        match (success, panicked) {
            (_, true) => ConsumeReturn::Exception,
            (true, false) => ConsumeReturn::Success,
            (false, false) => ConsumeReturn::Failed,
        }
    }
}

fn or_absent(v: Option<&str>) -> String {
    v.unwrap_or(ABSENT).to_owned()
}

/// A send as the producer saw it, for its Pub record.
pub(crate) struct SentMessage<'a> {
    /// The producer group.
    pub group: &'a str,
    /// The encoded properties sent.
    pub properties: &'a str,
    /// Body bytes as sent (after compression).
    pub body_len: usize,
    /// The broker address sent to.
    pub store_host: &'a str,
    /// When the attempt started, ms since the epoch.
    pub started_ms: i64,
}

/// The Pub record of a send the broker answered; `None` when the broker switched tracing off
/// (`TRACE_ON=false`), as Java skips it.
pub(crate) fn pub_record(
    sent: &SentMessage<'_>,
    result: &SendResult,
    trace_on: bool,
) -> Option<TraceRecord> {
    if !trace_on {
        return None;
    }
    let prop = |name| property_value(sent.properties, name);
    let mut r = TraceRecord::new(TraceType::Pub);
    r.timestamp = sent.started_ms;
    r.region_id = result.region_id.clone();
    r.group = sent.group.to_owned();
    r.topic = result.message_queue.topic.clone();
    r.msg_id = result.msg_id.clone();
    r.offset_msg_id = result.offset_msg_id.clone();
    r.tags = or_absent(prop(keys::TAGS));
    r.keys = or_absent(prop(keys::KEYS));
    r.store_host = sent.store_host.to_owned();
    r.body_length = i32::try_from(sent.body_len).unwrap_or(i32::MAX);
    r.cost_time = i32::try_from(now_ms() - sent.started_ms).unwrap_or(i32::MAX);
    r.msg_type = Some(if prop(keys::TRAN_MSG) == Some("true") {
        TraceMessageType::TransHalf
    } else if prop(keys::DELAY).is_some() || prop(keys::TIMER_DELIVER_MS).is_some() {
        TraceMessageType::Delay
    } else {
        TraceMessageType::Normal
    });
    r.success = result.status == SendStatus::SendOk;
    Some(r)
}

/// The SubBefore records of a listener call: one per message whose broker did not switch
/// tracing off, all with one request id that pairs them with their SubAfter records.
pub(crate) fn sub_before(
    group: &str,
    request_id: &str,
    msgs: &[ReceivedMessage],
) -> Vec<TraceRecord> {
    let started = now_ms();
    msgs.iter()
        .filter(|m| m.property(TRACE_ON) != Some("false"))
        .map(|m| {
            let mut r = TraceRecord::new(TraceType::SubBefore);
            r.timestamp = started;
            r.region_id = or_absent(m.property(MSG_REGION));
            r.group = group.to_owned();
            r.request_id = request_id.to_owned();
            r.topic = m.topic.clone();
            r.msg_id = m.msg_id.clone();
            r.tags = or_absent(m.tags());
            r.keys = or_absent(m.property(keys::KEYS));
            r.retry_times = m.reconsume_times;
            r
        })
        .collect()
}

/// The SubAfter records that follow `before`, for a call over `batch_len` messages that ended
/// as `outcome`. The cost is the call's time shared out over the batch, as Java does.
pub(crate) fn sub_after(
    before: &[TraceRecord],
    batch_len: usize,
    outcome: ConsumeReturn,
) -> Vec<TraceRecord> {
    let per_message = |started: i64| {
        let n = i64::try_from(batch_len.max(1)).unwrap_or(i64::MAX);
        i32::try_from((now_ms() - started) / n).unwrap_or(i32::MAX)
    };
    before
        .iter()
        .map(|b| {
            let mut r = b.clone();
            r.trace_type = TraceType::SubAfter;
            r.cost_time = per_message(b.timestamp);
            r.success = outcome == ConsumeReturn::Success;
            r.context_code = outcome as i32;
            r
        })
        .collect()
}

/// A transaction outcome the producer reported, for its EndTransaction record.
pub(crate) struct EndedTransaction<'a> {
    /// The producer group.
    pub group: &'a str,
    /// The message's topic.
    pub topic: &'a str,
    /// Reads one of the message's properties.
    pub property: &'a dyn Fn(&str) -> Option<&'a str>,
    /// The message id (its `UNIQ_KEY`), also the transaction id.
    pub msg_id: &'a str,
    /// The broker told.
    pub store_host: &'a str,
    /// `COMMIT_MESSAGE`, `ROLLBACK_MESSAGE` or `UNKNOW`.
    pub state: &'a str,
    /// Whether this answered a broker's check.
    pub from_check: bool,
}

/// The EndTransaction record of a reported transaction outcome.
pub(crate) fn end_transaction(ended: &EndedTransaction<'_>) -> TraceRecord {
    let prop = ended.property;
    let mut r = TraceRecord::new(TraceType::EndTransaction);
    r.timestamp = now_ms();
    r.region_id = prop(MSG_REGION)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_TRACE_REGION_ID)
        .to_owned();
    r.group = ended.group.to_owned();
    r.topic = ended.topic.to_owned();
    r.msg_id = ended.msg_id.to_owned();
    r.tags = or_absent(prop(keys::TAGS));
    r.keys = or_absent(prop(keys::KEYS));
    r.store_host = ended.store_host.to_owned();
    r.msg_type = Some(TraceMessageType::TransCommit);
    r.transaction_id = ended.msg_id.to_owned();
    r.transaction_state = ended.state.to_owned();
    r.from_transaction_check = ended.from_check;
    r
}
