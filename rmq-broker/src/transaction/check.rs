//! The transaction check service: every `transactionCheckInterval` it walks the half queue from
//! the saved progress, skips half messages an op message settled, and asks a live producer of
//! the group about each one older than `transactionTimeOut` (CHECK_TRANSACTION_STATE, oneway).
//!
//! As in RocketMQ, a checked half message is first stored again at the end of the half queue
//! with its check count raised; the check names that copy, so the producer's answer settles it
//! and the progress can move past the original. After `transactionCheckMax` checks a half
//! message is logged and moved to `TRANS_CHECK_MAX_TIME_TOPIC`, never to be delivered.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::body::topic::perm;
use rmq_remoting::header::broker::CheckTransactionStateRequestHeader;
use rmq_remoting::message::{self, decode_record, encode_offset_msg_id, keys, RecordView};
use rmq_remoting::{RemotingCommand, RequestCode};
use rmq_store::{AcceptAll, GetMessageStatus};

use super::{
    edit_properties, now_ms, real_destination, CHECK_GROUP, CHECK_IMMUNITY_SECONDS, CHECK_TIMES,
    DISCARD_TOPIC, HALF_QUEUE, HALF_TOPIC, OP_TOPIC,
};
use crate::state::BrokerContext;
use crate::topics::topic_settings;

/// How many records one read of the half or op queue returns.
const READ_BATCH: usize = 32;

/// Runs check rounds until stopped; on masters only (`role::run_while`): a slave's master asks
/// the producers, and a slave cannot store the op messages that record a verdict.
pub(crate) async fn run(ctx: Arc<BrokerContext>) {
    let period = Duration::from_millis(ctx.config.transaction_check_interval.max(100));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        check_round(&ctx).await;
    }
}

/// Registers the half topic (1 queue, read-write) when the broker has none, as Apache's first
/// check does: consoles then list it and exporters read its offsets, as on Apache's brokers.
fn ensure_half_topic(ctx: &BrokerContext) {
    if ctx.topics.get(HALF_TOPIC).is_some() {
        return;
    }
    match ctx
        .topics
        .put(topic_settings(HALF_TOPIC, 1, perm::READ | perm::WRITE))
    {
        Ok(_) => {
            ctx.topic_changes.announce();
        }
        Err(e) => tracing::warn!(error = %e, "cannot register the transaction half topic"),
    }
}

/// One pass over the half queue.
async fn check_round(ctx: &BrokerContext) {
    ensure_half_topic(ctx);
    let store = &ctx.store;
    let started = now_ms();
    let half_max = store.max_offset_in_queue(HALF_TOPIC, HALF_QUEUE);
    let mut half_progress = progress(ctx, HALF_TOPIC);
    if half_progress >= half_max {
        return;
    }
    let ops = settled_offsets(ctx);
    let settled: HashSet<i64> = ops.iter().map(|(_, half)| *half).collect();
    let timeout = i64::try_from(ctx.live.transaction_time_out()).unwrap_or(i64::MAX);
    'walk: while half_progress < half_max {
        let read = store.get_message(
            HALF_TOPIC,
            HALF_QUEUE,
            half_progress,
            READ_BATCH,
            usize::MAX,
            &AcceptAll,
        );
        if read.status != GetMessageStatus::Found {
            if read.next_begin_offset > half_progress {
                // Expired files took the records away: nothing there to check.
                half_progress = read.next_begin_offset;
                continue;
            }
            break;
        }
        for (buf, &offset) in read.messages.iter().zip(&read.queue_offsets) {
            if settled.contains(&offset) {
                half_progress = offset + 1;
                continue;
            }
            let half = match decode_record(buf.as_slice(), false) {
                Ok(half) => half,
                Err(e) => {
                    tracing::error!(offset, error = %e, "unreadable half message skipped");
                    half_progress = offset + 1;
                    continue;
                }
            };
            if half.store_timestamp >= started {
                break 'walk;
            }
            let checks: i32 = message::property_value(half.properties, CHECK_TIMES)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if checks >= ctx.live.transaction_check_max() {
                if let Err(e) = discard(ctx, &half, checks).await {
                    tracing::warn!(offset, error = %e, "cannot discard a half message; retrying next round");
                    break 'walk;
                }
                half_progress = offset + 1;
                continue;
            }
            let immunity = message::property_value(half.properties, CHECK_IMMUNITY_SECONDS)
                .and_then(|s| s.parse::<i64>().ok())
                .map_or(timeout, |s| s.saturating_mul(1000));
            let age = started - half.born_timestamp;
            // A born time in the future (producer clock ahead) is checked at once, as in Java.
            if (0..immunity).contains(&age) {
                // Later half messages are younger still.
                break 'walk;
            }
            if let Err(e) = check_back(ctx, &half, checks + 1).await {
                tracing::warn!(offset, error = %e, "cannot re-store a half message for its check; retrying next round");
                break 'walk;
            }
            half_progress = offset + 1;
        }
    }
    ctx.offsets
        .commit(CHECK_GROUP, HALF_TOPIC, HALF_QUEUE, half_progress);
    // Op messages about half messages behind the progress are no longer needed.
    let op_progress = ops
        .iter()
        .find(|(_, half)| *half >= half_progress)
        .map_or_else(
            || store.max_offset_in_queue(OP_TOPIC, HALF_QUEUE),
            |(op, _)| *op,
        );
    ctx.offsets
        .commit(CHECK_GROUP, OP_TOPIC, HALF_QUEUE, op_progress);
}

/// The saved progress of the check group in `topic`, or the queue's start.
fn progress(ctx: &BrokerContext, topic: &str) -> i64 {
    let min = ctx.store.min_offset_in_queue(topic, HALF_QUEUE);
    ctx.offsets
        .query(CHECK_GROUP, topic, HALF_QUEUE)
        .map_or(min, |p| p.max(min))
}

/// Op messages from the op progress on: (op queue offset, settled half queue offset).
fn settled_offsets(ctx: &BrokerContext) -> Vec<(i64, i64)> {
    let mut ops = Vec::new();
    let mut at = progress(ctx, OP_TOPIC);
    let max = ctx.store.max_offset_in_queue(OP_TOPIC, HALF_QUEUE);
    while at < max {
        let read =
            ctx.store
                .get_message(OP_TOPIC, HALF_QUEUE, at, READ_BATCH, usize::MAX, &AcceptAll);
        if read.status != GetMessageStatus::Found {
            if read.next_begin_offset <= at {
                break;
            }
            at = read.next_begin_offset;
            continue;
        }
        for (buf, &offset) in read.messages.iter().zip(&read.queue_offsets) {
            let half = decode_record(buf.as_slice(), false)
                .ok()
                .and_then(|op| std::str::from_utf8(op.body).ok()?.trim().parse().ok());
            match half {
                Some(half) => ops.push((offset, half)),
                None => tracing::warn!(offset, "unreadable op message skipped"),
            }
        }
        at = read.next_begin_offset;
    }
    ops
}

/// Moves a half message checked too often to [`DISCARD_TOPIC`], where it is kept for
/// inspection but never delivered.
async fn discard(
    ctx: &BrokerContext,
    half: &RecordView<'_>,
    checks: i32,
) -> Result<(), rmq_store::StoreError> {
    let msg_id = message::property_value(half.properties, keys::UNIQ_KEY).unwrap_or_default();
    tracing::warn!(
        msg_id,
        group = message::property_value(half.properties, keys::PGROUP).unwrap_or_default(),
        checks,
        "the half message has been checked too many times (transactionCheckMax), so discard it by moving it to system topic {DISCARD_TOPIC}"
    );
    let moved = rmq_store::PutMessage {
        topic: DISCARD_TOPIC.to_owned(),
        queue_id: HALF_QUEUE,
        ..rmq_store::PutMessage::from_record(half, ctx.store_host)
    };
    ctx.store.put_message(moved).await.map(drop)
}

/// Stores `half` again with its check count set to `checks` and asks a producer of its group
/// about the new copy.
async fn check_back(
    ctx: &BrokerContext,
    half: &RecordView<'_>,
    checks: i32,
) -> Result<(), rmq_store::StoreError> {
    let count = checks.to_string();
    let again = rmq_store::PutMessage {
        properties: edit_properties(half.properties, &[(CHECK_TIMES, &count)], &[]),
        ..rmq_store::PutMessage::from_record(half, ctx.store_host)
    };
    let put = ctx.store.put_message(again).await?;
    let Some(copy) = ctx.store.look_message_by_offset(put.phys_offset) else {
        return Err(rmq_store::StoreError::MessageIllegal(format!(
            "the re-stored half message at {} cannot be read back",
            put.phys_offset
        )));
    };
    let copy = decode_record(copy.as_slice(), false)
        .map_err(|e| rmq_store::StoreError::MessageIllegal(e.to_string()))?;
    ask_producer(ctx, &copy).await;
    Ok(())
}

/// Sends CHECK_TRANSACTION_STATE about `half` to one live producer of its group.
async fn ask_producer(ctx: &BrokerContext, half: &RecordView<'_>) {
    let group = message::property_value(half.properties, keys::PGROUP).unwrap_or_default();
    let uniq = message::property_value(half.properties, keys::UNIQ_KEY).map(str::to_owned);
    let mut producers = ctx.clients.producers(group);
    producers.retain(|p| !p.conn.is_closed());
    if producers.is_empty() {
        tracing::warn!(
            group,
            msg_id = uniq.as_deref().unwrap_or_default(),
            "no live producer of the group to check a half message with; asking again next round"
        );
        return;
    }
    let producer = &producers[fastrand::usize(..producers.len())];
    let mut shown = half.to_owned_message();
    if let Some((topic, queue_id)) = real_destination(half) {
        shown.topic = topic;
        shown.queue_id = queue_id;
    }
    let body = match shown.encode() {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(group, error = %e, "cannot encode a half message for its check");
            return;
        }
    };
    let header = CheckTransactionStateRequestHeader {
        tran_state_table_offset: half.queue_offset,
        commit_log_offset: half.physical_offset,
        msg_id: uniq.clone(),
        transaction_id: uniq,
        offset_msg_id: Some(encode_offset_msg_id(ctx.store_host, half.physical_offset)),
        topic: Some(shown.topic.clone()),
        bname: Some(ctx.config.broker_name.clone()),
    };
    let request =
        RemotingCommand::request(RequestCode::CHECK_TRANSACTION_STATE, &header).with_body(body);
    if let Err(e) = producer.conn.invoke_oneway(request).await {
        tracing::warn!(group, peer = %producer.conn.peer_addr(), error = %e, "cannot send a transaction check");
    }
}
