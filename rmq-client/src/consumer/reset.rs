//! RESET_CONSUMER_CLIENT_OFFSET (Java `MQClientInstance.resetOffset`): an admin moved the
//! group's offsets (e.g. `mqadmin resetOffsetByTime`); the broker already stored them and tells
//! each live consumer, which drops the affected queues — messages pulled but not consumed are
//! abandoned, in-flight results no longer commit — and pulls them again from the new offsets
//! without a restart.

use std::sync::Arc;

use rmq_remoting::body::stats::ResetOffsetBody;

use super::ConsumerInner;

impl ConsumerInner {
    /// Adopts the offsets in `body` and restarts pulling the queues it names.
    pub(crate) async fn reset_offsets(self: &Arc<Self>, body: ResetOffsetBody) {
        let dropped: Vec<_> = {
            let mut queues = self.queues();
            body.offset_table
                .keys()
                .filter_map(|mq| queues.remove(mq).map(|pq| (mq.clone(), pq)))
                .collect()
        };
        for (_, pq) in &dropped {
            pq.set_dropped();
        }
        for (mq, offset) in &body.offset_table {
            self.offsets.update(mq, *offset, false);
        }
        let queues: Vec<_> = body.offset_table.keys().cloned().collect();
        self.offsets.persist(&queues, true).await;
        tracing::info!(
            group = %self.config.consumer_group,
            queues = queues.len(),
            restarted = dropped.len(),
            "consumer offsets reset; pulling from the new offsets"
        );
        self.instance.rebalance_soon();
    }
}
