//! PULL_MESSAGE and LITE_PULL_MESSAGE with long polling: a pull that finds nothing waits until
//! its queue gets a message or the consumer's suspend timeout ends.
//!
//! Every answer tells the consumer which broker of the group to pull that queue from next
//! (`suggestWhichBrokerId`, Apache 4.9's rules): the master, unless `slaveReadEnable` is on,
//! when it is the group's `brokerId`, or its `whichBrokerWhenConsumeSlowly` for a consumer
//! whose next message is more than `accessMessageInMemoryMaxRatio` % of the machine's memory
//! behind the commit log's end. A slave serves pulls but never stores the commit offset they
//! carry, and does not correct out-of-range offsets (it may only be behind its master) unless
//! `offsetCheckInSlave` is on: the consumer is told to retry where it was.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rmq_remoting::body::route::MASTER_ID;
use rmq_remoting::body::stats::SubscriptionGroupConfig;
use rmq_remoting::body::topic::perm;
use rmq_remoting::header::broker::{PullMessageRequestHeader, PullMessageResponseHeader};
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};
use rmq_store::{GetMessageResult, GetMessageStatus};
use tokio::time::Instant;

use super::handler;
use crate::filter::{self, PullFilter};
use crate::state::BrokerContext;
use crate::stats::in_flight::Family;

/// Pull sysFlag bits (PullSysFlag).
const FLAG_COMMIT_OFFSET: i32 = 0x1;
const FLAG_SUSPEND: i32 = 0x2;
const FLAG_SUBSCRIPTION: i32 = 0x4;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router
        .route(RequestCode::PULL_MESSAGE, handler(ctx, pull))
        .route(RequestCode::LITE_PULL_MESSAGE, handler(ctx, pull))
}

fn refuse(code: ResponseCode, remark: impl Into<String>) -> CommandError {
    CommandError::new(code, remark)
}

async fn pull(ctx: Arc<BrokerContext>, conn: Connection, req: RemotingCommand) -> HandlerResult {
    // Served until parked for long polling, and again from each wake-up.
    let mut serving = Some(ctx.stats.in_flight.enter(Family::Pull));
    let h: PullMessageRequestHeader = req.decode_header()?;
    if ctx.live.broker_permission() & perm::READ == 0 {
        return Err(refuse(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] pulling message is forbidden",
                ctx.broker_addr()
            ),
        ));
    }
    let Some(group) = ctx.groups.get_or_create(&h.consumer_group) else {
        return Err(refuse(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!(
                "subscription group [{}] does not exist and autoCreateSubscriptionGroup=false: create it with `mqadmin updateSubGroup -g {}`",
                h.consumer_group, h.consumer_group
            ),
        ));
    };
    if !group.consume_enable {
        return Err(refuse(
            ResponseCode::NO_PERMISSION,
            format!("subscription group no permission, {}", h.consumer_group),
        ));
    }
    let Some(topic) = ctx.topics.get(&h.topic) else {
        return Err(refuse(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!", h.topic),
        ));
    };
    if topic.perm & perm::READ == 0 {
        return Err(refuse(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] pulling message is forbidden", h.topic),
        ));
    }
    if h.queue_id < 0 || h.queue_id >= topic.read_queue_nums {
        return Err(refuse(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                h.queue_id,
                h.topic,
                topic.read_queue_nums,
                conn.peer_addr()
            ),
        ));
    }
    let filter = subscription(&ctx, &h)?;
    if h.sys_flag & FLAG_COMMIT_OFFSET != 0 && h.commit_offset >= 0 && !crate::role::is_slave(&ctx)
    {
        ctx.offsets
            .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    }

    let store_config = ctx.store.config();
    let max_count = usize::try_from(h.max_msg_nums).unwrap_or(0).clamp(
        1,
        store_config.max_transfer_count_on_message_in_memory.max(1),
    );
    let max_bytes = store_config.max_transfer_bytes_on_message_in_memory;
    let hold = if h.sys_flag & FLAG_SUSPEND == 0 {
        Duration::ZERO
    } else if ctx.live.long_polling_enable() {
        Duration::from_millis(u64::try_from(h.suspend_timeout_millis).unwrap_or(0))
    } else {
        Duration::from_millis(ctx.live.short_polling_time_mills())
    };
    let deadline = Instant::now() + hold;
    // Subscribe before reading, so a message stored in between still wakes us.
    let mut arrivals = ctx.arrivals.subscribe(&h.topic, h.queue_id);
    let mut last_read = false;
    loop {
        let read_at = Instant::now();
        let result = ctx.store.get_message(
            &h.topic,
            h.queue_id,
            h.queue_offset,
            max_count,
            max_bytes,
            &filter,
        );
        let found = result.status == GetMessageStatus::Found;
        let read_ms = u64::try_from(read_at.elapsed().as_millis()).unwrap_or(u64::MAX);
        ctx.stats.on_pull(found, read_ms);
        let nothing_yet = matches!(
            result.status,
            GetMessageStatus::OffsetOverflowOne | GetMessageStatus::OffsetFoundNull
        ) || (matches!(
            result.status,
            GetMessageStatus::NoMessageInQueue | GetMessageStatus::NoMatchedLogicQueue
        ) && h.queue_offset == 0);
        if !nothing_yet || last_read || Instant::now() >= deadline {
            return Ok(respond(&ctx, &h, &group, result, read_at));
        }
        // Woken by an arrival: read again. Timed out, the consumer went away or the broker is
        // stopping: read once more and answer whatever is there.
        drop(serving.take());
        let woken = tokio::select! {
            arrival = tokio::time::timeout_at(deadline, arrivals.changed()) => matches!(arrival, Ok(Ok(()))),
            () = conn.closed() => false,
            () = ctx.stopping.cancelled() => false,
        };
        last_read = !woken;
        serving = Some(ctx.stats.in_flight.enter(Family::Pull));
    }
}

/// The filter for this pull: from the request when it carries the expression, otherwise
/// from the group's last heartbeat.
fn subscription(
    ctx: &BrokerContext,
    h: &PullMessageRequestHeader,
) -> Result<PullFilter, CommandError> {
    if h.sys_flag & FLAG_SUBSCRIPTION != 0 {
        return filter::build(
            ctx,
            &h.consumer_group,
            &h.topic,
            h.expression_type.as_deref(),
            h.subscription.as_deref(),
        );
    }
    let Some(group) = ctx.clients.consumer_group(&h.consumer_group) else {
        return Err(refuse(
            ResponseCode::SUBSCRIPTION_NOT_EXIST,
            format!(
                "the consumer's group info not exist: {} (no heartbeat yet)",
                h.consumer_group
            ),
        ));
    };
    let Some(sub) = group.subscriptions.get(&h.topic) else {
        return Err(refuse(
            ResponseCode::SUBSCRIPTION_NOT_EXIST,
            format!(
                "the consumer's subscription not exist: group {} topic {}",
                h.consumer_group, h.topic
            ),
        ));
    };
    if sub.sub_version < h.sub_version {
        return Err(refuse(
            ResponseCode::SUBSCRIPTION_NOT_LATEST,
            "the consumer's subscription not latest",
        ));
    }
    let mut filter = filter::build(
        ctx,
        &h.consumer_group,
        &h.topic,
        Some(&sub.expression_type),
        Some(&sub.sub_string),
    )?;
    if let PullFilter::Tag(tags) = &mut filter {
        if !tags.all && !sub.code_set.is_empty() {
            tags.codes = sub.code_set.clone();
        }
    }
    Ok(filter)
}

/// Whether the consumer reads far enough behind the commit log's end to be sent to a slave
/// (Apache's `suggestPullingFromSlave`): measured from the last consume-queue entry this pull
/// looked at, for the answers that looked at entries.
fn lags(ctx: &BrokerContext, h: &PullMessageRequestHeader, result: &GetMessageResult) -> bool {
    if !read_entries(result.status) || result.next_begin_offset <= h.queue_offset {
        return false;
    }
    let Some(last) =
        ctx.store
            .consume_queue_entry(&h.topic, h.queue_id, result.next_begin_offset - 1)
    else {
        return false;
    };
    let behind = ctx.store.max_phy_offset() - last.phys_offset;
    let ratio = f64::from(ctx.live.access_message_in_memory_max_ratio()) / 100.0;
    behind > (total_memory() as f64 * ratio) as i64
}

/// Whether the read got as far as consume-queue entries (the offset was in range).
fn read_entries(status: GetMessageStatus) -> bool {
    matches!(
        status,
        GetMessageStatus::Found
            | GetMessageStatus::NoMatchedMessage
            | GetMessageStatus::MessageWasRemoving
    )
}

/// The machine's physical memory in bytes (Java's `TOTAL_PHYSICAL_MEMORY_SIZE`), read once.
fn total_memory() -> u64 {
    static TOTAL: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TOTAL.get_or_init(|| {
        // SAFETY: sysconf only reads system constants.
        let (pages, page_size) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        u64::try_from(pages)
            .unwrap_or(0)
            .saturating_mul(u64::try_from(page_size).unwrap_or(0))
    })
}

/// Answers a pull with what the store read (started at `read_at`) found.
fn respond(
    ctx: &BrokerContext,
    h: &PullMessageRequestHeader,
    group: &SubscriptionGroupConfig,
    mut result: GetMessageResult,
    read_at: Instant,
) -> RemotingCommand {
    let check_offsets = !crate::role::is_slave(ctx) || ctx.config.offset_check_in_slave;
    if !check_offsets && !read_entries(result.status) {
        // Apache's nextOffsetCorrection: a slave leaves the consumer's offset alone.
        result.next_begin_offset = h.queue_offset;
    }
    let mut suggest = if !ctx.live.slave_read_enable() {
        MASTER_ID
    } else if lags(ctx, h, &result) {
        group.which_broker_when_consume_slowly
    } else {
        group.broker_id
    };
    let (mut code, mut remark) = match result.status {
        GetMessageStatus::Found => (ResponseCode::SUCCESS, None),
        GetMessageStatus::MessageWasRemoving | GetMessageStatus::NoMatchedMessage => {
            (ResponseCode::PULL_RETRY_IMMEDIATELY, None)
        }
        GetMessageStatus::OffsetFoundNull | GetMessageStatus::OffsetOverflowOne => {
            (ResponseCode::PULL_NOT_FOUND, None)
        }
        GetMessageStatus::NoMatchedLogicQueue | GetMessageStatus::NoMessageInQueue
            if h.queue_offset == 0 =>
        {
            (ResponseCode::PULL_NOT_FOUND, None)
        }
        GetMessageStatus::NoMatchedLogicQueue
        | GetMessageStatus::NoMessageInQueue
        | GetMessageStatus::OffsetOverflowBadly
        | GetMessageStatus::OffsetTooSmall => (
            ResponseCode::PULL_OFFSET_MOVED,
            Some(format!(
                "offset {} is outside [{}, {}] of {}:{}; continue from {}",
                h.queue_offset,
                result.min_offset,
                result.max_offset,
                h.topic,
                h.queue_id,
                result.next_begin_offset
            )),
        ),
    };
    if code == ResponseCode::PULL_OFFSET_MOVED && !check_offsets {
        suggest = group.broker_id;
        code = ResponseCode::PULL_RETRY_IMMEDIATELY;
        remark = Some(format!(
            "offset {} is outside [{}, {}] of {}:{} on this slave, which may be behind its master; \
             retry (offsetCheckInSlave=false)",
            h.queue_offset, result.min_offset, result.max_offset, h.topic, h.queue_id
        ));
    }
    let header = PullMessageResponseHeader {
        suggest_which_broker_id: suggest,
        next_begin_offset: result.next_begin_offset,
        min_offset: result.min_offset,
        max_offset: result.max_offset,
        offset_delta: None,
        topic_sys_flag: None,
        group_sys_flag: None,
        forbidden_type: None,
    };
    ctx.stats.pull_offsets.record(
        &h.consumer_group,
        &h.topic,
        h.queue_id,
        result.next_begin_offset,
    );
    let mut response = RemotingCommand::success_with_header(&header);
    response.code = code.as_i32();
    response.remark = remark;
    if code == ResponseCode::SUCCESS {
        ctx.stats.on_get(
            &h.consumer_group,
            &h.topic,
            result.messages.len() as u64,
            result.buffer_total_size() as u64,
        );
        let mut body = BytesMut::with_capacity(result.buffer_total_size());
        for record in &result.messages {
            body.extend_from_slice(record.as_slice());
        }
        response.body = body.freeze();
        let latency_ms = u64::try_from(read_at.elapsed().as_millis()).unwrap_or(u64::MAX);
        ctx.stats
            .on_get_latency(&h.consumer_group, &h.topic, h.queue_id, latency_ms);
    }
    response
}
