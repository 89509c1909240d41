//! POP_MESSAGE: up to `maxMsgNums` messages from the topic's queues (one queue, or all of them
//! from a random start) and the group's pop retry topic, each hidden from the group for
//! `invisibleTime`; with `pollTime`, a pop finding nothing waits for an arrival like a pull.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rmq_remoting::header::broker::{ExtraInfo, PopMessageRequestHeader, PopMessageResponseHeader};
use rmq_remoting::message::{decode_record, edit_properties};
use rmq_remoting::transport::{Connection, HandlerResult};
use rmq_remoting::{CommandError, RemotingCommand, ResponseCode};
use rmq_store::{GetMessageResult, GetMessageStatus};
use tokio::time::Instant;

use super::order::ORDER_REVIVE_QID;
use super::state::{Checkpoint, QueueKey};
use super::{check_consumable, ensure_retry_topic, fifo, polling, requested_queues, retry_topic};
use crate::filter::{self, PullFilter};
use crate::schedule::now_ms;
use crate::state::BrokerContext;

/// The property a retried message carries its receipt in (Java's `PROPERTY_POP_CK`).
pub(super) const POP_CK: &str = "POP_CK";
/// Percent of pops that read the retry topic before the normal one (Apache's
/// `popFromRetryProbability` default).
const RETRY_FIRST_PERCENT: u32 = 20;
/// `initMode` MIN: a group without a position starts at the queue's first message.
const INIT_MODE_MIN: i32 = 0;

fn refuse(code: ResponseCode, remark: impl Into<String>) -> CommandError {
    CommandError::new(code, remark)
}

/// What one pop collected so far.
pub(super) struct Batch<'a> {
    pub(super) h: &'a PopMessageRequestHeader,
    pub(super) filter: &'a PullFilter,
    pub(super) pop_time: i64,
    pub(super) revive_qid: i32,
    pub(super) body: BytesMut,
    pub(super) count: usize,
    pub(super) rest: i64,
    start_offset_info: Vec<String>,
    msg_offset_info: Vec<String>,
    pub(super) order_count_info: Vec<String>,
}

impl Batch<'_> {
    /// How many more messages the pop wants.
    pub(super) fn wanted(&self) -> usize {
        usize::try_from(self.h.max_msg_nums)
            .unwrap_or(0)
            .saturating_sub(self.count)
    }

    /// Notes the messages taken from one queue for the response headers.
    pub(super) fn taken(&mut self, mark: &str, queue_id: i32, start: i64, offsets: &[i64]) {
        self.count += offsets.len();
        self.start_offset_info
            .push(format!("{mark} {queue_id} {start}"));
        let offsets: Vec<String> = offsets.iter().map(i64::to_string).collect();
        self.msg_offset_info
            .push(format!("{mark} {queue_id} {}", offsets.join(",")));
    }
}

pub(super) async fn pop(
    ctx: Arc<BrokerContext>,
    conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: PopMessageRequestHeader = req.decode_header()?;
    let topic = check_consumable(&ctx, &conn, &h.topic, h.queue_id, &h.consumer_group)?;
    if h.max_msg_nums > 32 {
        return Err(refuse(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "the broker[{}] pop message's num is greater than 32",
                ctx.broker_addr()
            ),
        ));
    }
    if h.max_msg_nums <= 0 || h.invisible_time <= 0 {
        return Err(refuse(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "maxMsgNums {} and invisibleTime {} must be positive",
                h.max_msg_nums, h.invisible_time
            ),
        ));
    }
    let filter = filter::build(
        &ctx,
        &h.consumer_group,
        &h.topic,
        h.exp_type.as_deref(),
        h.exp.as_deref(),
    )?;
    let retry = retry_topic(&h.consumer_group, &h.topic);
    if !crate::role::is_slave(&ctx) {
        ensure_retry_topic(&ctx, &retry)?;
    }
    let queues = requested_queues(&topic, h.queue_id);
    let deadline = Instant::now() + Duration::from_millis(u64::try_from(h.poll_time).unwrap_or(0));
    let mut arrivals = polling::subscribe(&ctx, &h.topic, &queues, &retry);
    let mut parked = None;
    loop {
        let batch = collect(&ctx, &h, &filter, &queues, &retry)?;
        if batch.count > 0 || Instant::now() >= deadline {
            return Ok(respond(batch, ResponseCode::POLLING_TIMEOUT));
        }
        if parked.is_none() {
            parked = polling::park(&ctx, &h.topic, &h.consumer_group, h.queue_id);
            if parked.is_none() {
                return Ok(respond(batch, ResponseCode::POLLING_FULL));
            }
        }
        if !polling::wait(&ctx, &conn, &mut arrivals, deadline).await {
            let batch = collect(&ctx, &h, &filter, &queues, &retry)?;
            return Ok(respond(batch, ResponseCode::POLLING_TIMEOUT));
        }
    }
}

/// One pass over the retry topic and the topic's queues.
fn collect<'a>(
    ctx: &BrokerContext,
    h: &'a PopMessageRequestHeader,
    filter: &'a PullFilter,
    queues: &[i32],
    retry: &str,
) -> Result<Batch<'a>, CommandError> {
    let order = h.order == Some(true);
    let mut batch = Batch {
        h,
        filter,
        pop_time: now_ms(),
        revive_qid: if order {
            ORDER_REVIVE_QID
        } else {
            ctx.pop.next_revive_qid()
        },
        body: BytesMut::new(),
        count: 0,
        rest: 0,
        start_offset_info: Vec::new(),
        msg_offset_info: Vec::new(),
        order_count_info: Vec::new(),
    };
    if crate::role::is_slave(ctx) {
        // Apache's slave cannot store the checkpoint a pop writes, so its pops find nothing;
        // rmq's answers the same and keeps no pop state (docs/pop.md).
        return Ok(batch);
    }
    let random = fastrand::u32(0..100);
    if order {
        // FIFO pops read the topic's queues only: nothing orderly goes to the retry topic.
        let start = usize::try_from(random).unwrap_or(0);
        for i in 0..queues.len() {
            fifo::take_queue(ctx, &mut batch, queues[(start + i) % queues.len()])?;
        }
        return Ok(batch);
    }
    let retry_first = random < RETRY_FIRST_PERCENT;
    if retry_first {
        take_queue(ctx, &mut batch, retry, 0)?;
    }
    let start = usize::try_from(random).unwrap_or(0);
    for i in 0..queues.len() {
        let queue_id = queues[(start + i) % queues.len()];
        take_queue(ctx, &mut batch, &h.topic, queue_id)?;
    }
    if !retry_first {
        take_queue(ctx, &mut batch, retry, 0)?;
    }
    Ok(batch)
}

/// Where a group without a position starts in a queue (Apache's `getInitOffset`; rmq treats a
/// queue that still holds its first message as Apache's "offset 0 is in memory").
pub(super) fn init_offset(
    ctx: &BrokerContext,
    h: &PopMessageRequestHeader,
    topic: &str,
    q: i32,
) -> i64 {
    if let Some(committed) = ctx.offsets.query(&h.consumer_group, topic, q) {
        if committed >= 0 {
            return committed;
        }
    }
    let min = ctx.store.min_offset_in_queue(topic, q);
    if h.init_mode == INIT_MODE_MIN || topic.starts_with("%RETRY%") || min <= 0 {
        return min;
    }
    (ctx.store.max_offset_in_queue(topic, q) - 1).max(0)
}

/// Pops what `topic`/`queue_id` has for the batch, recording a checkpoint per message.
fn take_queue(
    ctx: &BrokerContext,
    batch: &mut Batch<'_>,
    topic: &str,
    queue_id: i32,
) -> Result<(), CommandError> {
    let h = batch.h;
    let key = QueueKey::new(&h.consumer_group, topic, queue_id);
    let mut state = ctx.pop.lock();
    let offset = state
        .next_offset(&key)
        .unwrap_or_else(|| init_offset(ctx, h, topic, queue_id));
    if ctx.config.enable_pop_message_threshold
        && state.in_flight(&key) > ctx.config.pop_inflight_message_threshold
    {
        // Apache's `isPopShouldStop`: the queue is skipped, its backlog counted in restNum.
        batch.rest += ctx.store.max_offset_in_queue(topic, queue_id) - offset;
        return Ok(());
    }
    let Some((offset, result)) = read(ctx, batch, &key, offset) else {
        return Ok(());
    };
    if result.messages.is_empty() {
        if result.next_begin_offset > offset {
            let committed = state.popped(&key, result.next_begin_offset, &[]);
            ctx.offsets.commit(&key.group, topic, queue_id, committed);
        }
        return Ok(());
    }
    let is_retry = topic.starts_with("%RETRY%");
    let mark = ExtraInfo::retry_mark(topic);
    let mut checkpoints = Vec::with_capacity(result.messages.len());
    for buffer in &result.messages {
        let record = decode_record(buffer.as_slice(), false).map_err(|e| {
            refuse(
                ResponseCode::SYSTEM_ERROR,
                format!("stored message in {topic}:{queue_id} cannot be decoded: {e}"),
            )
        })?;
        checkpoints.push(Checkpoint {
            queue_offset: record.queue_offset,
            commit_log_offset: record.physical_offset,
            pop_time: batch.pop_time,
            invisible_time: h.invisible_time,
            revive_qid: batch.revive_qid,
        });
        if is_retry {
            // The client sees the normal topic; the receipt in POP_CK names the retry topic.
            let receipt = ExtraInfo {
                ck_queue_offset: offset,
                pop_time: batch.pop_time,
                invisible_time: h.invisible_time,
                revive_qid: batch.revive_qid,
                retry: mark.to_owned(),
                broker_name: ctx.config.broker_name.clone(),
                queue_id,
                queue_offset: Some(record.queue_offset),
            }
            .to_string();
            let mut message = record.to_owned_message();
            message.topic = h.topic.clone();
            message.properties = edit_properties(record.properties, &[(POP_CK, &receipt)], &[]);
            let encoded = message.encode().map_err(|e| {
                refuse(
                    ResponseCode::SYSTEM_ERROR,
                    format!("cannot re-encode a retried message: {e}"),
                )
            })?;
            batch.body.extend_from_slice(&encoded);
        } else {
            batch.body.extend_from_slice(buffer.as_slice());
        }
    }
    let committed = state.popped(&key, result.next_begin_offset, &checkpoints);
    drop(state);
    ctx.offsets.commit(&key.group, topic, queue_id, committed);
    batch.taken(mark, queue_id, offset, &result.queue_offsets);
    Ok(())
}

/// Reads what the batch still wants from `key`'s queue at `offset`, moving an offset outside
/// the queue's range to its edge. None when the batch is full (its backlog counted in `rest`).
/// Returns the offset read from and the result.
pub(super) fn read(
    ctx: &BrokerContext,
    batch: &mut Batch<'_>,
    key: &QueueKey,
    mut offset: i64,
) -> Option<(i64, GetMessageResult)> {
    let (topic, queue_id) = (key.topic.as_str(), key.queue_id);
    let wanted = batch.wanted();
    if wanted == 0 {
        batch.rest += ctx.store.max_offset_in_queue(topic, queue_id) - offset;
        return None;
    }
    let max_bytes = ctx.store.config().max_transfer_bytes_on_message_in_memory;
    let mut result =
        ctx.store
            .get_message(topic, queue_id, offset, wanted, max_bytes, batch.filter);
    if matches!(
        result.status,
        GetMessageStatus::OffsetTooSmall
            | GetMessageStatus::OffsetOverflowBadly
            | GetMessageStatus::OffsetFoundNull
    ) {
        tracing::warn!(
            group = key.group,
            topic,
            queue_id,
            from = offset,
            to = result.next_begin_offset,
            "pop offset out of the queue's range; corrected"
        );
        offset = result.next_begin_offset;
        result = ctx
            .store
            .get_message(topic, queue_id, offset, wanted, max_bytes, batch.filter);
    }
    batch.rest += result.max_offset - result.next_begin_offset;
    Some((offset, result))
}

/// The pop's answer: FOUND, or `empty` (POLLING_TIMEOUT, or POLLING_FULL when the request
/// could not be parked) with Apache's remark.
fn respond(batch: Batch<'_>, empty: ResponseCode) -> RemotingCommand {
    let header = PopMessageResponseHeader {
        pop_time: batch.pop_time,
        invisible_time: batch.h.invisible_time,
        revive_qid: batch.revive_qid,
        rest_num: batch.rest,
        start_offset_info: Some(batch.start_offset_info.join(";")),
        msg_offset_info: Some(batch.msg_offset_info.join(";")),
        order_count_info: (!batch.order_count_info.is_empty())
            .then(|| batch.order_count_info.join(";")),
    };
    let mut response = RemotingCommand::success_with_header(&header);
    if batch.count > 0 {
        response.remark = Some("FOUND".to_owned());
        response.body = batch.body.freeze();
    } else {
        response.code = empty.as_i32();
        response.remark = Some("NO_MESSAGE_IN_QUEUE".to_owned());
    }
    response
}
