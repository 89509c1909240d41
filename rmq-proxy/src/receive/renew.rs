//! Auto-renew for push consumers, as Apache's proxy does it (`DefaultReceiptHandleManager`,
//! `ReceiptHandleGroup`; docs/grpc-proxy.md, "Auto-renew"). A receive with `auto_renew` hides
//! its messages for `defaultInvisibleTimeMills`; the proxy remembers each delivered message per
//! client and group, and every `renewSchedulePeriodMillis` renews those within
//! `renewAheadTimeMillis` of becoming visible (CHANGE_MESSAGE_INVISIBLETIME for 1m, 3m, 5m,
//! 10m, 30m, then 1h each time, Apache's `RenewStrategyPolicy`). The client keeps the handle it
//! received: an ack, change of invisible duration or dead-letter forward takes the message out
//! and acts on its newest handle. After `renewMaxTimeMillis` the message is given back with the
//! group's retry delay; a client the proxy no longer knows has its messages given back in
//! `invisibleTimeMillisWhenClear`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rmq_client::{ChangedReceipt, ClientError};
use tokio::sync::Mutex as AsyncMutex;

use super::receipt::ReceiptHandle;
use crate::context::ProxyContext;
use crate::convert::now_ms;
use crate::proto::v2::{retry_policy::Strategy, settings::PubSub, Settings, Subscription};
use crate::settings;

/// Apache's `RenewStrategyPolicy`: the invisible time of the n-th renewal (the last repeats).
const RENEW_STEPS_MS: [i64; 6] = [60_000, 180_000, 300_000, 600_000, 1_800_000, 3_600_000];

/// Whose messages: one client of one group (Apache's `ReceiptHandleGroupKey`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    client_id: String,
    group: String,
}

/// Which message: its id and where it was popped (Apache's `HandleKey`: two deliveries of one
/// message id from different queues or offsets are different entries).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct HandleKey {
    msg_id: String,
    broker: String,
    queue_id: i32,
    offset: i64,
}

impl HandleKey {
    fn of(msg_id: &str, handle: &ReceiptHandle) -> HandleKey {
        HandleKey {
            msg_id: msg_id.to_owned(),
            broker: handle.info.broker_name.clone(),
            queue_id: handle.info.queue_id,
            offset: handle
                .info
                .queue_offset
                .unwrap_or(handle.info.ck_queue_offset),
        }
    }
}

/// One remembered message. Its lock is held while it is renewed, so an ack arriving meanwhile
/// waits and then uses the renewed handle.
struct Tracked {
    topic: String,
    /// The newest handle (the broker's current checkpoint).
    handle: ReceiptHandle,
    /// When the client received it (the first pop time), ms.
    received_at: i64,
    reconsume_times: i32,
    renewals: usize,
    failures: i32,
    /// Taken out (acked, changed, given back): nothing more to do.
    done: bool,
}

impl Tracked {
    /// Hides the message from `group` for `ms` from now: a renewal, or a give-back (soon, or
    /// after the group's retry delay). Answers the broker's new checkpoint.
    async fn hide(
        &self,
        ctx: &ProxyContext,
        group: &str,
        ms: i64,
    ) -> Result<ChangedReceipt, ClientError> {
        ctx.receive
            .pop
            .change_invisible_time(group, &self.topic, &self.handle.info, millis(ms))
            .await
    }
}

type Entry = Arc<AsyncMutex<Tracked>>;

/// The messages being renewed, by client and group.
#[derive(Default)]
pub struct Renewals {
    groups: Mutex<HashMap<GroupKey, HashMap<HandleKey, Entry>>>,
}

impl Renewals {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<GroupKey, HashMap<HandleKey, Entry>>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers a message delivered to `client_id` with `handle`, to renew it.
    pub(super) fn remember(
        &self,
        client_id: &str,
        group: &str,
        topic: &str,
        msg_id: &str,
        handle: &ReceiptHandle,
        reconsume_times: i32,
    ) {
        let tracked = Tracked {
            topic: topic.to_owned(),
            handle: handle.clone(),
            received_at: handle.info.pop_time,
            reconsume_times,
            renewals: 0,
            failures: 0,
            done: false,
        };
        self.lock()
            .entry(GroupKey {
                client_id: client_id.to_owned(),
                group: group.to_owned(),
            })
            .or_default()
            .insert(
                HandleKey::of(msg_id, handle),
                Arc::new(AsyncMutex::new(tracked)),
            );
    }

    /// Takes a message out (its client acks, changes or forwards it) and answers its newest
    /// handle; `None` when the proxy was not renewing it (then the client's handle is the one).
    /// `handle` is any handle of the delivery (the client's, or the one it was sent with).
    pub(super) async fn take(
        &self,
        client_id: &str,
        group: &str,
        msg_id: &str,
        handle: &ReceiptHandle,
    ) -> Option<ReceiptHandle> {
        let key = GroupKey {
            client_id: client_id.to_owned(),
            group: group.to_owned(),
        };
        let entry = self.forget(&key, &HandleKey::of(msg_id, handle))?;
        let mut tracked = entry.lock().await;
        if tracked.done {
            return None;
        }
        tracked.done = true;
        Some(tracked.handle.clone())
    }

    /// How many messages are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().values().map(HashMap::len).sum()
    }

    /// Removes one message (and its group's map once empty); answers its entry if it was there.
    fn forget(&self, key: &GroupKey, handle: &HandleKey) -> Option<Entry> {
        let mut groups = self.lock();
        let handles = groups.get_mut(key)?;
        let entry = handles.remove(handle);
        if handles.is_empty() {
            groups.remove(key);
        }
        entry
    }
}

/// Runs the renewal scan every `renewSchedulePeriodMillis` until the proxy is dropped.
pub(super) fn spawn(ctx: &Arc<ProxyContext>) {
    let weak: Weak<ProxyContext> = Arc::downgrade(ctx);
    let period = Duration::from_millis(ctx.config.renew_schedule_period_millis.max(10));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            let Some(ctx) = weak.upgrade() else { break };
            scan(&ctx);
        }
    });
}

/// One pass (Apache's `scheduleRenewTask`): groups of clients gone are given back; messages
/// close to visible are renewed, each in a task of its own.
fn scan(ctx: &Arc<ProxyContext>) {
    let renewals = &ctx.receive.renewals;
    let snapshot: Vec<(GroupKey, Vec<(HandleKey, Entry)>)> = renewals
        .lock()
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.iter().map(|(h, e)| (h.clone(), e.clone())).collect(),
            )
        })
        .collect();
    let ahead = ctx.config.renew_ahead_time_millis;
    for (key, entries) in snapshot {
        if !ctx.sessions.contains(&key.client_id) {
            give_back_group(ctx, &key);
            continue;
        }
        for (handle_key, entry) in entries {
            // A message being renewed or taken out is skipped; the next pass looks again.
            let due = entry
                .try_lock()
                .is_ok_and(|t| !t.done && t.handle.next_visible_time() - now_ms() <= ahead);
            if due {
                tokio::spawn(renew(ctx.clone(), key.clone(), handle_key, entry));
            }
        }
    }
}

/// Gives back every message remembered for `client_id` (it said goodbye), as Apache's proxy
/// does when a client unregisters.
pub(super) fn client_gone(ctx: &Arc<ProxyContext>, client_id: &str) {
    let keys: Vec<GroupKey> = ctx
        .receive
        .renewals
        .lock()
        .keys()
        .filter(|k| k.client_id == client_id)
        .cloned()
        .collect();
    for key in keys {
        give_back_group(ctx, &key);
    }
}

/// Takes out the messages of one client and group and gives each back.
fn give_back_group(ctx: &Arc<ProxyContext>, key: &GroupKey) {
    let Some(handles) = ctx.receive.renewals.lock().remove(key) else {
        return;
    };
    tracing::info!(client_id = %key.client_id, group = %key.group, count = handles.len(),
        "client gone: its auto-renewed messages are given back");
    for entry in handles.into_values() {
        tokio::spawn(give_back(ctx.clone(), key.group.clone(), entry));
    }
}

/// Gives a message of a client gone back to its group soon (Apache's CLEAR_GROUP event).
async fn give_back(ctx: Arc<ProxyContext>, group: String, entry: Entry) {
    let mut tracked = entry.lock().await;
    if tracked.done {
        return;
    }
    tracked.done = true;
    let invisible_ms = ctx.config.invisible_time_millis_when_clear;
    if let Err(e) = tracked.hide(&ctx, &group, invisible_ms).await {
        tracing::debug!(group, error = %e, "give-back failed; the message comes back after its invisible time");
    }
}

/// Renews one message (Apache's `startRenewMessage`), or gives it back with the group's retry
/// delay once it has been renewed for `renewMaxTimeMillis`.
async fn renew(ctx: Arc<ProxyContext>, key: GroupKey, handle_key: HandleKey, entry: Entry) {
    let config = &ctx.config;
    let mut tracked = entry.lock().await;
    let now = now_ms();
    if tracked.done || tracked.handle.next_visible_time() - now > config.renew_ahead_time_millis {
        return;
    }
    let keep = if tracked.failures >= config.max_renew_retry_times {
        tracing::warn!(msg_id = %handle_key.msg_id, "renewal failed too often; the message is no longer renewed");
        false
    } else if tracked.handle.next_visible_time() <= now {
        // Apache's proxy refuses an expired handle: the message may be with someone else.
        false
    } else if now - tracked.received_at < config.renew_max_time_millis {
        let step = RENEW_STEPS_MS[tracked.renewals.min(RENEW_STEPS_MS.len() - 1)];
        match tracked.hide(&ctx, &key.group, step).await {
            Ok(info) => {
                tracked.handle = ReceiptHandle::new(info, tracked.handle.commit_log_offset);
                tracked.renewals += 1;
                tracked.failures = 0;
                true
            }
            Err(ClientError::Refused { code, remark, .. }) => {
                tracing::warn!(msg_id = %handle_key.msg_id, code, remark, "renewal refused; the message is no longer renewed");
                false
            }
            Err(e) => {
                tracing::warn!(msg_id = %handle_key.msg_id, error = %e, "renewal failed; tried again");
                tracked.failures += 1;
                true
            }
        }
    } else {
        let delay = retry_delay(&ctx, &key.group, tracked.reconsume_times).await;
        if let Err(e) = tracked.hide(&ctx, &key.group, delay).await {
            tracing::warn!(msg_id = %handle_key.msg_id, error = %e, "giving back a message renewed for too long failed");
        }
        false
    };
    if !keep {
        tracked.done = true;
        ctx.receive.renewals.forget(&key, &handle_key);
    }
}

/// The group's retry delay for a message consumed `reconsume_times` times before (Java's
/// `RetryPolicy.nextDelayDuration`: the customized delays from index times + 2, or
/// `initial × multiplier^times` capped at max), from the settings the proxy answers consumers.
async fn retry_delay(ctx: &ProxyContext, group: &str, reconsume_times: i32) -> i64 {
    let raw = Settings {
        pub_sub: Some(PubSub::Subscription(Subscription::default())),
        ..Settings::default()
    };
    let group_config = ctx.cluster.group_config(group).await;
    let answered = settings::answer(&ctx.config, &raw, group_config.as_ref());
    let times = reconsume_times.clamp(0, 32);
    let ms = |d: Option<&prost_types::Duration>| d.map_or(0, super::stream::duration_ms);
    match answered.backoff_policy.and_then(|p| p.strategy) {
        Some(Strategy::CustomizedBackoff(c)) if !c.next.is_empty() => {
            let index = usize::try_from(times).unwrap_or(0).saturating_add(2);
            ms(c.next.get(index.min(c.next.len() - 1)))
        }
        Some(Strategy::ExponentialBackoff(e)) => {
            let grown = ms(e.initial.as_ref()) as f64 * f64::from(e.multiplier).powi(times);
            (grown as i64).min(ms(e.max.as_ref()))
        }
        _ => 1_000,
    }
}

fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_client::ExtraInfo;

    fn handle(pop_time: i64, offset: i64) -> ReceiptHandle {
        let info = ExtraInfo::parse(&format!("0 {pop_time} 1000 0 0 broker-a 1 {offset}")).unwrap();
        ReceiptHandle::new(info, 77)
    }

    #[tokio::test]
    async fn a_message_is_taken_out_once_by_its_client_and_any_handle_of_its_delivery() {
        let renewals = Renewals::default();
        let first = handle(1_000, 5);
        renewals.remember("c1", "g", "t", "id", &first, 0);
        renewals.remember("c1", "g", "t", "other", &handle(1_000, 6), 0);
        assert_eq!(renewals.len(), 2);
        // Another client, group or message id is not this delivery.
        assert!(renewals.take("c2", "g", "id", &first).await.is_none());
        assert!(renewals.take("c1", "h", "id", &first).await.is_none());
        assert!(renewals
            .take("c1", "g", "id", &handle(1_000, 9))
            .await
            .is_none());
        // A renewed handle (new pop time) names the same delivery: same broker, queue, offset.
        let renewed = handle(2_000, 5);
        let taken = renewals.take("c1", "g", "id", &renewed).await;
        assert_eq!(taken, Some(first));
        assert!(renewals.take("c1", "g", "id", &renewed).await.is_none());
        assert_eq!(renewals.len(), 1);
    }
}
