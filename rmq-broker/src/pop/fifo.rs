//! The orderly (FIFO) side of POP_MESSAGE: a queue is read from the group's consumer offset
//! unless the group's last orderly pop of it is still in flight (docs/pop.md, `order.rs`).

use rmq_remoting::header::broker::ExtraInfo;
use rmq_remoting::CommandError;

use super::message::{init_offset, read, Batch};
use super::state::QueueKey;
use crate::schedule::now_ms;
use crate::state::BrokerContext;

/// Pops what the topic's `queue_id` has for an orderly batch, unless the queue is blocked.
pub(super) fn take_queue(
    ctx: &BrokerContext,
    batch: &mut Batch<'_>,
    queue_id: i32,
) -> Result<(), CommandError> {
    let h = batch.h;
    let key = QueueKey::new(&h.consumer_group, &h.topic, queue_id);
    let mut state = ctx.pop.lock();
    if state.order_blocked(&key, h.attempt_id.as_deref(), now_ms()) {
        // Apache leaves a blocked queue's backlog out of restNum, so long polls do not spin.
        return Ok(());
    }
    let offset = init_offset(ctx, h, &key.topic, queue_id);
    let Some((offset, result)) = read(ctx, batch, &key, offset) else {
        return Ok(());
    };
    // Offsets are committed under the pop lock, so an orderly ack's commit never interleaves.
    if result.messages.is_empty() {
        if result.next_begin_offset > offset {
            ctx.offsets
                .commit(&key.group, &key.topic, queue_id, result.next_begin_offset);
        }
        return Ok(());
    }
    let info = state.order_popped(
        &key,
        h.attempt_id.clone(),
        batch.pop_time,
        h.invisible_time,
        result.queue_offsets.clone(),
    );
    ctx.offsets.commit(&key.group, &key.topic, queue_id, offset);
    drop(state);
    for buffer in &result.messages {
        batch.body.extend_from_slice(buffer.as_slice());
    }
    let mark = ExtraInfo::retry_mark(&key.topic);
    batch
        .order_count_info
        .extend(info.count_info(mark, queue_id));
    batch.taken(mark, queue_id, offset, &result.queue_offsets);
    Ok(())
}
