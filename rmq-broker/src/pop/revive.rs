//! The revive service: every `reviveInterval` ms, popped messages whose invisible time has
//! passed are stored again in the group's pop retry topic with their reconsume count plus one
//! (Apache's `PopReviveService.reviveRetry`), and their checkpoints end. Moving a message to
//! the dead-letter queue after the group's maximum is the consumer's (or proxy's) decision, as
//! in Apache: it sends the message back with CONSUMER_SEND_MSG_BACK (docs/pop.md). Pop state of
//! deleted topics and groups is dropped on each pass.

use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::message::{decode_record, edit_properties, property_value};
use rmq_store::PutMessage;

use super::state::{Checkpoint, QueueKey};
use super::{ensure_retry_topic, retry_topic};
use crate::schedule::now_ms;
use crate::state::BrokerContext;

/// Java's `PROPERTY_FIRST_POP_TIME`: when the message was first popped.
const FIRST_POP_TIME: &str = "1ST_POP_TIME";
/// Checkpoints revived per pass, so one pass never holds the state long.
const BATCH: usize = 1024;

/// Runs the revive loop until aborted (the broker runs it while it is a master).
pub async fn run(ctx: Arc<BrokerContext>) {
    let mut ticks =
        tokio::time::interval(Duration::from_millis(ctx.config.revive_interval.max(10)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        forget_deleted(&ctx);
        loop {
            let due = ctx.pop.due(now_ms(), BATCH);
            let full = due.len() == BATCH;
            for (key, ck) in due {
                if let Err(why) = revive(&ctx, &key, &ck).await {
                    tracing::warn!(
                        group = key.group,
                        topic = key.topic,
                        queue = key.queue_id,
                        offset = ck.queue_offset,
                        "cannot revive a popped message: {why}"
                    );
                }
            }
            if !full {
                break;
            }
        }
    }
}

/// Drops the pop state of topics and groups deleted since: their messages are not revived.
fn forget_deleted(ctx: &BrokerContext) {
    let dropped = ctx
        .pop
        .retain(|key| ctx.topics.get(&key.topic).is_some() && ctx.groups.get(&key.group).is_some());
    if dropped > 0 {
        tracing::info!(
            queues = dropped,
            "pop state of deleted topics or groups dropped"
        );
    }
}

async fn revive(ctx: &BrokerContext, key: &QueueKey, ck: &Checkpoint) -> Result<(), String> {
    let Some(buffer) = ctx.store.look_message_by_offset(ck.commit_log_offset) else {
        // The commit log no longer holds it: nothing to revive.
        finish(ctx, key, ck);
        return Err("the message is no longer stored; checkpoint dropped".to_owned());
    };
    let record = decode_record(buffer.as_slice(), false).map_err(|e| e.to_string())?;
    let topic = if key.topic.starts_with("%RETRY%") {
        key.topic.clone()
    } else {
        retry_topic(&key.group, &key.topic)
    };
    ensure_retry_topic(ctx, &topic).map_err(|e| e.to_string())?;
    let first_pop = ck.pop_time.to_string();
    let properties = if record.reconsume_times == 0
        || property_value(record.properties, FIRST_POP_TIME).is_none()
    {
        edit_properties(record.properties, &[(FIRST_POP_TIME, &first_pop)], &[])
    } else {
        record.properties.to_owned()
    };
    let msg = PutMessage {
        topic,
        queue_id: 0,
        properties,
        born_host: ctx.store_host,
        reconsume_times: record.reconsume_times + 1,
        ..PutMessage::from_record(&record, ctx.store_host)
    };
    ctx.store
        .put_message(msg)
        .await
        .map_err(|e| format!("put to the retry topic failed: {e}"))?;
    finish(ctx, key, ck);
    Ok(())
}

fn finish(ctx: &BrokerContext, key: &QueueKey, ck: &Checkpoint) {
    if let Some(committed) = ctx.pop.finish(key, ck.queue_offset, ck.pop_time) {
        ctx.offsets
            .commit(&key.group, &key.topic, key.queue_id, committed);
    }
}
