//! Queue selectors for ordered sends (Java `MessageQueueSelector`): messages with the same key
//! go to the same queue, so a consumer sees them in send order.

use rmq_remoting::body::client::MessageQueue;
use rmq_remoting::message::java_string_hash;

use crate::message::Message;

/// Picks the queue of a send among a topic's writable queues; `arg` is the caller's key.
/// Returning `None` fails the send ("select message queue return null.").
///
/// Closures `Fn(&[MessageQueue], &Message, &str) -> Option<MessageQueue>` are selectors too.
pub trait MessageQueueSelector: Send + Sync {
    /// Chooses one of `queues` (never empty) for `msg`.
    fn select(&self, queues: &[MessageQueue], msg: &Message, arg: &str) -> Option<MessageQueue>;
}

impl<F> MessageQueueSelector for F
where
    F: Fn(&[MessageQueue], &Message, &str) -> Option<MessageQueue> + Send + Sync,
{
    fn select(&self, queues: &[MessageQueue], msg: &Message, arg: &str) -> Option<MessageQueue> {
        self(queues, msg, arg)
    }
}

/// Java's `SelectMessageQueueByHash`: `abs(arg.hashCode() % queueCount)` with Java's string
/// hash, so Rust and Java producers put a key on the same queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectMessageQueueByHash;

impl MessageQueueSelector for SelectMessageQueueByHash {
    fn select(&self, queues: &[MessageQueue], _msg: &Message, arg: &str) -> Option<MessageQueue> {
        let n = i32::try_from(queues.len()).ok().filter(|n| *n > 0)?;
        let index = (java_string_hash(arg) % n).unsigned_abs() as usize;
        queues.get(index).cloned()
    }
}

/// Java's `SelectMessageQueueByRandom`: any queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectMessageQueueByRandom;

impl MessageQueueSelector for SelectMessageQueueByRandom {
    fn select(&self, queues: &[MessageQueue], _msg: &Message, _arg: &str) -> Option<MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        queues.get(fastrand::usize(..queues.len())).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_java() {
        let queues: Vec<_> = (0..4).map(|i| MessageQueue::new("T", "b", i)).collect();
        let msg = Message::new("T", "x");
        // "order-1".hashCode() = -1207111310 (Java); -1207111310 % 4 = -2; abs = 2.
        assert_eq!(java_string_hash("order-1"), -1_207_111_310);
        let q = SelectMessageQueueByHash
            .select(&queues, &msg, "order-1")
            .unwrap();
        assert_eq!(q.queue_id, 2);
        // A negative hash still yields a valid index.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert!(SelectMessageQueueByHash
            .select(&queues, &msg, "polygenelubricants")
            .is_some());
        let custom = |q: &[MessageQueue], _: &Message, _: &str| q.last().cloned();
        assert_eq!(custom.select(&queues, &msg, "").unwrap().queue_id, 3);
    }
}
