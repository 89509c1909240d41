//! Delivery of delay-level messages (Java `ScheduleMessageService`): one task per level walks
//! its schedule queue in order. Within a level, delivery times grow with the queue offset (store
//! time + the level's delay, kept as the entry's tag code), so the task only ever looks at the
//! head: deliver it when due, otherwise sleep until it is.

use std::sync::Arc;
use std::time::Duration;

use rmq_store::SCHEDULE_TOPIC;

use super::{now_ms, release};
use crate::state::BrokerContext;

/// Pause after a failed re-store (disk full, store closing) before trying again.
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(1);

/// Longest sleep with nothing pending; new messages wake the task earlier.
const IDLE_WAIT: Duration = Duration::from_secs(60);

/// Delivers `level`'s messages as they fall due, until the broker stops.
pub(crate) async fn deliver_level(ctx: Arc<BrokerContext>, level: i32) {
    let queue_id = level - 1;
    let mut arrivals = ctx.arrivals.subscribe(SCHEDULE_TOPIC, queue_id);
    loop {
        arrivals.borrow_and_update();
        let wait = deliver_due(&ctx, level, queue_id).await;
        tokio::select! {
            () = ctx.stopping.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
            _ = arrivals.changed() => {}
        }
    }
}

/// Delivers every due message at the head of the queue; returns how long to wait before the
/// next one is due.
async fn deliver_due(ctx: &Arc<BrokerContext>, level: i32, queue_id: i32) -> Duration {
    let progress = &ctx.schedule_progress;
    let mut offset = progress
        .level_offset(level)
        .max(ctx.store.min_offset_in_queue(SCHEDULE_TOPIC, queue_id));
    let max = ctx.store.max_offset_in_queue(SCHEDULE_TOPIC, queue_id);
    let wait = loop {
        if offset >= max {
            break IDLE_WAIT;
        }
        let Some(entry) = ctx
            .store
            .consume_queue_entry(SCHEDULE_TOPIC, queue_id, offset)
        else {
            offset += 1;
            continue;
        };
        let now = now_ms();
        if entry.tag_code > now {
            break Duration::from_millis(u64::try_from(entry.tag_code - now).unwrap_or(0));
        }
        if let Err(e) = release(ctx, entry.phys_offset).await {
            tracing::warn!(level, offset, error = %e, "cannot deliver a delayed message yet; retrying");
            break RETRY_AFTER_ERROR;
        }
        offset += 1;
    };
    if offset != progress.level_offset(level) {
        progress.set_level_offset(level, offset);
    }
    wait
}
