//! One PULL_MESSAGE round trip and the decoding of its answer (Java `PullAPIWrapper`), shared by
//! the push consumer's pull loops, the lite pull consumer and the admin's query by offset.

use std::time::Duration;

use bytes::Bytes;
use rmq_remoting::body::client::MessageQueue;
use rmq_remoting::header::broker::{PullMessageRequestHeader, PullMessageResponseHeader};
use rmq_remoting::message::{decode_record, keys, property_value, TagSubscription};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use crate::error::{ClientError, Result};
use crate::instance::{refused, ClientInstance};
use crate::message::ReceivedMessage;

/// Pull flag: store `commitOffset` as the group's offset.
pub(crate) const FLAG_COMMIT_OFFSET: i32 = 0x1;
/// Pull flag: the broker may hold the request until messages arrive.
pub(crate) const FLAG_SUSPEND: i32 = 0x2;
/// Pull flag: filter by the subscription carried in the request.
pub(crate) const FLAG_SUBSCRIPTION: i32 = 0x4;

/// What the broker answered to one pull.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PullStatus {
    /// Messages were returned (possibly none left after client-side tag filtering).
    Found,
    /// Nothing new (19).
    NoNewMsg,
    /// Nothing matching (20), or a slave that cannot serve the offset yet: pull again.
    RetryImmediately,
    /// The offset is out of range (21); `next_begin_offset` is the broker's correction.
    OffsetIllegal,
}

/// A decoded pull answer.
#[derive(Debug)]
pub(crate) struct PullResult {
    /// What kind of answer it was.
    pub(crate) status: PullStatus,
    /// Where the next pull of this queue starts.
    pub(crate) next_begin_offset: i64,
    /// The messages that passed the tag filter, in queue order.
    pub(crate) msgs: Vec<ReceivedMessage>,
    /// The broker id of the group to pull this queue from next (0 = master).
    pub(crate) suggest_which_broker_id: i64,
}

/// Sends `header` (which names `mq`'s topic and queue) to `addr` and decodes the answer,
/// dropping messages whose tag `filter` rejects (the broker filters by tag hash only).
pub(crate) async fn pull(
    instance: &ClientInstance,
    addr: &str,
    mq: &MessageQueue,
    header: &PullMessageRequestHeader,
    filter: Option<&TagSubscription>,
    retry_topic: &str,
    timeout: Duration,
) -> Result<PullResult> {
    let req = RemotingCommand::request(RequestCode::PULL_MESSAGE, header);
    let resp = instance.remoting().invoke(addr, req, timeout).await?;
    let code = ResponseCode::from_i32(resp.code);
    let status = match code {
        Some(ResponseCode::SUCCESS) => PullStatus::Found,
        Some(ResponseCode::PULL_NOT_FOUND) => PullStatus::NoNewMsg,
        Some(ResponseCode::PULL_RETRY_IMMEDIATELY) => PullStatus::RetryImmediately,
        Some(ResponseCode::PULL_OFFSET_MOVED) => PullStatus::OffsetIllegal,
        _ => return Err(refused(addr, resp)),
    };
    let h: PullMessageResponseHeader = resp.decode_header().map_err(|e| ClientError::Protocol {
        addr: addr.to_owned(),
        reason: format!("pull response header: {e}"),
    })?;
    let msgs = if status == PullStatus::Found {
        let offsets = (h.min_offset, h.max_offset);
        decode_records(
            addr,
            &resp.body,
            &mq.broker_name,
            offsets,
            retry_topic,
            filter,
        )?
    } else {
        Vec::new()
    };
    Ok(PullResult {
        status,
        next_begin_offset: h.next_begin_offset,
        msgs,
        suggest_which_broker_id: h.suggest_which_broker_id,
    })
}

/// Decodes the stored records one after another in `frame` (a pull or query answer from
/// `addr`), keeping those whose tag `filter` accepts. `offsets` are the queue's bounds the
/// records are labelled with (`MIN_OFFSET`/`MAX_OFFSET`). Uncompressed bodies are views of
/// `frame`, not copies.
pub(crate) fn decode_records(
    addr: &str,
    frame: &Bytes,
    broker_name: &str,
    offsets: (i64, i64),
    retry_topic: &str,
    filter: Option<&TagSubscription>,
) -> Result<Vec<ReceivedMessage>> {
    let protocol = |reason: String| ClientError::Protocol {
        addr: addr.to_owned(),
        reason,
    };
    let mut msgs = Vec::new();
    let mut body: &[u8] = frame;
    while !body.is_empty() {
        let record =
            decode_record(body, false).map_err(|e| protocol(format!("stored record: {e}")))?;
        let size = usize::try_from(record.total_size)
            .ok()
            .filter(|s| *s > 0 && *s <= body.len())
            .ok_or_else(|| protocol("stored record size out of range".into()))?;
        let tag_ok = filter.is_none_or(|f| {
            f.all
                || property_value(record.properties, keys::TAGS)
                    .is_some_and(|t| f.tags.iter().any(|s| s == t))
        });
        if tag_ok {
            msgs.push(
                ReceivedMessage::from_record_in(
                    &record,
                    Some(frame),
                    broker_name,
                    offsets.0,
                    offsets.1,
                    retry_topic,
                )
                .map_err(protocol)?,
            );
        }
        body = &body[size..];
    }
    Ok(msgs)
}
