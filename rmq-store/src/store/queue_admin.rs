//! Dropping whole consume queues at an admin's request (CLEAN_EXPIRED_CONSUMEQUEUE and
//! CLEAN_UNUSED_TOPIC, as Apache's DefaultMessageStore serves them). A dropped queue's files and
//! directory go; a later message to it starts a new queue at offset 0, as with Apache.

use super::*;

impl MessageStore {
    /// Drops every consume queue whose last entry points below the commit log's minimum offset
    /// (all its messages are gone), except those of `keep`'s topics; a queue never written is
    /// kept (it may have been created a moment ago). Returns the dropped `(topic, queue id)`s.
    pub fn clean_expired_consume_queues(&self, keep: &[&str]) -> Result<Vec<(String, i32)>> {
        let min_phys = self.inner.commit_log.min_offset() as i64;
        // The last entry written, even when the minimum readable offset has moved past it.
        let expired = |q: &ConsumeQueue| {
            q.max_offset()
                .checked_sub(1)
                .and_then(|last| q.entry(last))
                .is_some_and(|last| !last.is_hole() && last.phys_offset < min_phys)
        };
        self.drop_queues(|topic, q| !keep.contains(&topic) && expired(q))
    }

    /// Drops every consume queue of the topics `in_use` does not accept. Returns the dropped
    /// `(topic, queue id)`s.
    pub fn clean_unused_topics(&self, in_use: &dyn Fn(&str) -> bool) -> Result<Vec<(String, i32)>> {
        self.drop_queues(|topic, _| !in_use(topic))
    }

    fn drop_queues(
        &self,
        doomed: impl Fn(&str, &ConsumeQueue) -> bool,
    ) -> Result<Vec<(String, i32)>> {
        let removed: Vec<Arc<ConsumeQueue>> = {
            let mut map = self.inner.queues.write().unwrap_or_else(|p| p.into_inner());
            let mut removed = Vec::new();
            for queues in map.values_mut() {
                let ids: Vec<i32> = queues
                    .iter()
                    .filter(|(_, q)| doomed(q.topic(), q))
                    .map(|(id, _)| *id)
                    .collect();
                removed.extend(ids.iter().filter_map(|id| queues.remove(id)));
            }
            map.retain(|_, queues| !queues.is_empty());
            removed
        };
        let root = self.inner.config.consume_queue_dir();
        let mut dropped = Vec::new();
        for q in removed {
            q.destroy()?;
            let dir = root.join(q.topic());
            // Directories go when empty; a queue of the topic still in use keeps its own.
            let _ = std::fs::remove_dir(dir.join(q.queue_id().to_string()));
            let _ = std::fs::remove_dir(&dir);
            tracing::info!(
                topic = q.topic(),
                queue = q.queue_id(),
                "consume queue dropped at an admin's request"
            );
            dropped.push((q.topic().to_owned(), q.queue_id()));
        }
        dropped.sort();
        Ok(dropped)
    }
}
