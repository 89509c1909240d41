//! How a clustering group splits a topic's queues among its members (Java
//! `AllocateMessageQueueStrategy`). Every member computes the same answer from the same sorted
//! inputs; there is no coordinator.

use rmq_remoting::body::client::MessageQueue;

/// Chooses the queues one member of a group consumes.
pub trait AllocateMessageQueueStrategy: Send + Sync {
    /// The strategy's name, as Java's `getName()` (shown by admin tools).
    fn name(&self) -> &str;

    /// The queues of `queues` (sorted) that `current_cid` gets among `cids` (sorted).
    fn allocate(
        &self,
        group: &str,
        current_cid: &str,
        queues: &[MessageQueue],
        cids: &[String],
    ) -> Vec<MessageQueue>;
}

/// Java's default `AllocateMessageQueueAveragely` (`AVG`): contiguous blocks, the first
/// `queues % members` members get one extra; members beyond the queue count get nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocateMessageQueueAveragely;

impl AllocateMessageQueueStrategy for AllocateMessageQueueAveragely {
    fn name(&self) -> &str {
        "AVG"
    }

    fn allocate(
        &self,
        _group: &str,
        current_cid: &str,
        queues: &[MessageQueue],
        cids: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = cids.iter().position(|c| c == current_cid) else {
            return Vec::new();
        };
        let (n, m) = (queues.len(), cids.len());
        if n == 0 {
            return Vec::new();
        }
        let rem = n % m;
        let average = if n <= m {
            1
        } else if rem > 0 && index < rem {
            n / m + 1
        } else {
            n / m
        };
        let start = if rem > 0 && index < rem {
            index * average
        } else {
            index * average + rem
        };
        let range = average.min(n.saturating_sub(start));
        (0..range)
            .map(|i| queues[(start + i) % n].clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(queues: usize, members: usize) -> Vec<Vec<i32>> {
        let qs: Vec<_> = (0..queues as i32)
            .map(|i| MessageQueue::new("T", "b", i))
            .collect();
        let cids: Vec<String> = (0..members).map(|i| format!("c{i}")).collect();
        cids.iter()
            .map(|c| {
                AllocateMessageQueueAveragely
                    .allocate("g", c, &qs, &cids)
                    .iter()
                    .map(|q| q.queue_id)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn averagely_matches_java() {
        assert_eq!(split(8, 3), vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]);
        assert_eq!(split(4, 2), vec![vec![0, 1], vec![2, 3]]);
        assert_eq!(split(2, 3), vec![vec![0], vec![1], vec![]]);
        assert_eq!(split(0, 2), vec![Vec::<i32>::new(), vec![]]);
        let qs = vec![MessageQueue::new("T", "b", 0)];
        assert!(AllocateMessageQueueAveragely
            .allocate("g", "stranger", &qs, &["c0".to_owned()])
            .is_empty());
    }
}
