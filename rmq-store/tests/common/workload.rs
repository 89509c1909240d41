//! Random workloads, a ledger of what the store acknowledged, simulated power loss, and the
//! checks that follow it (messages counted as multisets: duplicates and losses both show).

use std::collections::HashMap;

use rmq_remoting::message::decode_record;
use rmq_store::fault::{FaultHandle, LossMode};
use rmq_store::{AcceptAll, GetMessageStatus, MessageStore, PutMessage, StoreConfig};

use super::msg;

/// Queue ids a workload uses (0..QUEUES).
pub const QUEUES: i32 = 3;

/// One message the store answered OK to.
#[derive(Debug, Clone)]
pub struct Acked {
    /// Its topic and queue.
    pub queue: (String, i32),
    /// Its body (unique: it starts with the message's id).
    pub body: Vec<u8>,
    /// Commit-log offset after its batch: durable once the flushed offset reaches it.
    pub end: i64,
}

/// What a workload wrote, in acknowledgement order.
#[derive(Default)]
pub struct Ledger {
    /// Acknowledged messages.
    pub acked: Vec<Acked>,
    /// Appended but not acknowledged when the machine went down (may survive or not).
    pub pending: Vec<((String, i32), Vec<u8>)>,
    next_id: u64,
}

impl Ledger {
    /// A batch of `n` messages of `len` body bytes for `topic`/`queue`, with unique bodies,
    /// UNIQ_KEYs and a few shared KEYS.
    pub fn batch(
        &mut self,
        rng: &mut fastrand::Rng,
        topic: &str,
        queue: i32,
        n: usize,
        len: usize,
    ) -> Vec<PutMessage> {
        (0..n)
            .map(|_| {
                let id = self.next_id;
                self.next_id += 1;
                let mut body = format!("m{id}:").into_bytes();
                body.extend((0..len).map(|_| rng.u8(..)));
                let tag = if id % 2 == 0 { "even" } else { "odd" };
                let uniq = format!("U{id}-{}", rng.u64(..));
                msg(
                    topic,
                    queue,
                    &body,
                    Some(tag),
                    Some(&format!("k{}", id % 5)),
                    Some(&uniq),
                )
            })
            .collect()
    }

    /// A batch of `n` messages for `topic` and a random queue, of a random length in `len`.
    pub fn random_batch(
        &mut self,
        rng: &mut fastrand::Rng,
        topic: &str,
        n: usize,
        len: std::ops::Range<usize>,
    ) -> Vec<PutMessage> {
        let (queue, len) = (rng.i32(0..QUEUES), rng.usize(len));
        self.batch(rng, topic, queue, n, len)
    }

    /// Records an acknowledged batch.
    pub fn ack(&mut self, batch: &[PutMessage], end: i64) {
        for m in batch {
            self.acked.push(Acked {
                queue: (m.topic.clone(), m.queue_id),
                body: m.body.to_vec(),
                end,
            });
        }
    }

    /// Records a batch appended but not (yet) acknowledged at the crash point.
    pub fn pend(&mut self, batch: &[PutMessage]) {
        for m in batch {
            self.pending
                .push(((m.topic.clone(), m.queue_id), m.body.to_vec()));
        }
    }

    /// After a recovery: what survived is now durable (open syncs it) and becomes the ledger.
    pub fn settle(&mut self, survivors: &Survivors) {
        self.pending.clear();
        self.acked = survivors
            .iter()
            .flat_map(|(q, bodies)| {
                bodies.iter().map(|b| Acked {
                    queue: q.clone(),
                    body: b.clone(),
                    end: 0,
                })
            })
            .collect();
    }
}

/// Every readable message body, per (topic, queue), in queue order.
pub type Survivors = HashMap<(String, i32), Vec<Vec<u8>>>;

/// Reads every queue of the store from its min offset.
pub fn survivors(store: &MessageStore) -> Survivors {
    let mut out = Survivors::new();
    for topic in store.topics() {
        for q in 0..QUEUES {
            let max = store.max_offset_in_queue(&topic, q);
            let mut off = store.min_offset_in_queue(&topic, q);
            let list: &mut Vec<Vec<u8>> = out.entry((topic.clone(), q)).or_default();
            while off < max {
                let r = store.get_message(&topic, q, off, 64, 1 << 22, &AcceptAll);
                assert_eq!(r.status, GetMessageStatus::Found, "{topic}/{q} at {off}");
                for m in &r.messages {
                    list.push(decode_record(m.as_slice(), true).unwrap().body.to_vec());
                }
                off = r.next_begin_offset;
            }
        }
    }
    out.retain(|_, v| !v.is_empty());
    out
}

fn counts<'a>(items: impl Iterator<Item = &'a Vec<u8>>) -> HashMap<&'a Vec<u8>, usize> {
    let mut m = HashMap::new();
    for i in items {
        *m.entry(i).or_insert(0) += 1;
    }
    m
}

/// SYNC_FLUSH: every acknowledged message survived exactly once, and nothing else is there but
/// messages pending at the crash (each at most once). Returns how many acknowledged were lost
/// (asserted 0 by the caller, after printing).
pub fn check_sync(ledger: &Ledger, got: &Survivors) -> usize {
    let have = counts(got.values().flatten());
    let acked = counts(ledger.acked.iter().map(|a| &a.body));
    let pending = counts(ledger.pending.iter().map(|p| &p.1));
    let mut lost = 0;
    for (body, n) in &acked {
        let h = have.get(body).copied().unwrap_or(0);
        lost += n.saturating_sub(h);
    }
    for (body, h) in &have {
        let allowed =
            acked.get(body).copied().unwrap_or(0) + pending.get(body).copied().unwrap_or(0);
        assert!(
            h <= &allowed,
            "{} appears {h} times, acknowledged {} pending {} (a duplicate or an invented message)",
            String::from_utf8_lossy(&body[..body.len().min(12)]),
            acked.get(body).copied().unwrap_or(0),
            pending.get(body).copied().unwrap_or(0)
        );
    }
    lost
}

/// ASYNC_FLUSH: per queue, what survived is a prefix of what was acknowledged (no gaps, no
/// duplicates, nothing invented), and every message whose batch ended at or below `flushed`
/// (the flushed offset at the crash point) survived. Returns how many acknowledged were lost.
pub fn check_async(ledger: &Ledger, got: &Survivors, flushed: i64) -> usize {
    let mut per_queue: HashMap<&(String, i32), Vec<&Acked>> = HashMap::new();
    for a in &ledger.acked {
        per_queue.entry(&a.queue).or_default().push(a);
    }
    for q in got.keys() {
        assert!(per_queue.contains_key(q), "queue {q:?} was never written");
    }
    let mut lost = 0;
    for (q, acked) in per_queue {
        let have = got.get(q).map(Vec::as_slice).unwrap_or(&[]);
        assert!(
            have.len() <= acked.len(),
            "{q:?}: more messages than acknowledged"
        );
        for (i, h) in have.iter().enumerate() {
            assert_eq!(
                h, &acked[i].body,
                "{q:?}: message {i} is not the acknowledged one"
            );
        }
        for a in &acked[have.len()..] {
            assert!(
                a.end > flushed,
                "{q:?}: a message flushed before the crash (end {} <= flushed {flushed}) was lost",
                a.end
            );
        }
        lost += acked.len() - have.len();
    }
    lost
}

/// The machine loses power: syncs stop at once, the store stops without flushing, and every
/// byte not synced is lost as `mode` says; then the store is opened again (recovery runs).
pub fn power_cycle(
    handle: &FaultHandle,
    store: MessageStore,
    mode: LossMode,
    config: StoreConfig,
) -> MessageStore {
    handle.crash();
    store.crash();
    handle.power_loss(mode).unwrap();
    MessageStore::open(config).unwrap()
}

/// A loss mode chosen by `rng`: all unsynced bytes zeroed, or a torn subset of pages kept.
pub fn loss_mode(rng: &mut fastrand::Rng) -> LossMode {
    if rng.bool() {
        LossMode::AllUnsynced
    } else {
        LossMode::TornPages { seed: rng.u64(..) }
    }
}
