//! Request-reply (RPC over RocketMQ, Java `DefaultMQProducer.request`): a request is an ordinary
//! message carrying `CORRELATION_ID`, `REPLY_TO_CLIENT` (this client's id) and `TTL`; the
//! replier answers with [`create_reply_message`] sent by any producer, the broker pushes that
//! reply to this client (PUSH_REPLY_MESSAGE_TO_CLIENT) and [`ReplyWaiters`] hands it to the
//! waiting request by its correlation id (docs/request-reply.md).

use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rmq_remoting::body::client::MessageQueue;
use rmq_remoting::header::broker::ReplyMessageRequestHeader;
use rmq_remoting::message::{decode_properties, keys, reply_topic, sys_flag, REPLY_MESSAGE_FLAG};
use rmq_remoting::transport::{Connection, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::oneshot;

use super::{MessageQueueSelector, Mode, Producer, ProducerInner};
use crate::error::{ClientError, Result};
use crate::message::{inflate, Message, ReceivedMessage};

/// The requests of one client instance that still wait for their reply, by correlation id.
///
/// An entry lives exactly as long as its waiting request: it is removed when the reply comes,
/// when the wait times out, and when the waiting future is dropped, so replies that never
/// come leave nothing behind.
#[derive(Default)]
pub(crate) struct ReplyWaiters {
    pending: Mutex<HashMap<String, oneshot::Sender<ReceivedMessage>>>,
}

impl ReplyWaiters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<ReceivedMessage>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a request; the reply arrives on the returned waiter.
    fn register(self: &Arc<Self>, correlation_id: String) -> Waiter {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(correlation_id.clone(), tx);
        Waiter {
            waiters: self.clone(),
            correlation_id,
            reply: rx,
        }
    }

    /// Hands a pushed reply to its request; false when no request waits for it (timed out, or
    /// meant for another process).
    fn deliver(&self, reply: ReceivedMessage) -> bool {
        let Some(id) = reply.property(keys::CORRELATION_ID) else {
            return false;
        };
        let Some(tx) = self.lock().remove(id) else {
            return false;
        };
        tx.send(reply).is_ok()
    }

    /// How many requests wait.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// One waiting request; dropping it forgets the request.
struct Waiter {
    waiters: Arc<ReplyWaiters>,
    correlation_id: String,
    reply: oneshot::Receiver<ReceivedMessage>,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.waiters.lock().remove(&self.correlation_id);
    }
}

/// Adds the client's answer to PUSH_REPLY_MESSAGE_TO_CLIENT to its router.
pub(crate) fn routes(router: Router, waiters: &Arc<ReplyWaiters>) -> Router {
    let waiters = waiters.clone();
    router.route(
        RequestCode::PUSH_REPLY_MESSAGE_TO_CLIENT,
        move |conn: Connection, req: RemotingCommand| {
            let waiters = waiters.clone();
            async move {
                let header: ReplyMessageRequestHeader = req.decode_header().map_err(|e| {
                    CommandError::new(ResponseCode::SYSTEM_ERROR, e.to_string())
                })?;
                let reply = received_reply(header, req.body).map_err(|e| {
                    tracing::warn!(broker = %conn.peer_addr(), error = %e, "unreadable reply message");
                    CommandError::new(ResponseCode::SYSTEM_ERROR, "process reply message fail")
                })?;
                let correlation_id = reply.property(keys::CORRELATION_ID).map(str::to_owned);
                if !waiters.deliver(reply) {
                    tracing::warn!(correlation_id, broker = %conn.peer_addr(),
                        "a reply matches no waiting request (timed out or not ours)");
                }
                Ok(RemotingCommand::success())
            }
        },
    )
}

/// The pushed reply as a received message (Java `ClientRemotingProcessor.receiveReplyMessage`):
/// body inflated, `ARRIVE_TIME` added.
fn received_reply(
    header: ReplyMessageRequestHeader,
    body: Bytes,
) -> Result<ReceivedMessage, String> {
    let mut flags = header.sys_flag;
    let body = if flags & sys_flag::COMPRESSED != 0 {
        flags &= !(sys_flag::COMPRESSED | sys_flag::COMPRESSION_TYPE_MASK);
        inflate(&body)?
    } else {
        body
    };
    let mut properties = decode_properties(header.properties.as_deref().unwrap_or_default());
    properties.insert(keys::ARRIVE_TIME.to_owned(), super::now_ms().to_string());
    let unknown = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
    let addr = |text: &str| text.parse().unwrap_or(unknown);
    Ok(ReceivedMessage {
        msg_id: properties.get(keys::UNIQ_KEY).cloned().unwrap_or_default(),
        queue: MessageQueue::new(&header.topic, "", header.queue_id),
        topic: header.topic,
        queue_offset: 0,
        offset_msg_id: String::new(),
        commit_log_offset: 0,
        body,
        properties,
        flag: header.flag,
        sys_flag: flags,
        reconsume_times: header.reconsume_times.unwrap_or(0),
        born_timestamp: header.born_timestamp,
        born_host: addr(&header.born_host),
        store_timestamp: header.store_timestamp,
        store_host: addr(&header.store_host),
    })
}

/// The reply to `request` carrying `body` (Java `MessageUtil.createReplyMessage`): to the reply
/// topic of the request's cluster, with its `CORRELATION_ID`, `REPLY_TO_CLIENT` and `TTL` and
/// `MSG_TYPE=reply`. Send it with any [`Producer`]; the broker pushes it to the requester.
pub fn create_reply_message(request: &ReceivedMessage, body: impl Into<Bytes>) -> Result<Message> {
    let cluster = request.property(keys::CLUSTER).ok_or_else(|| {
        ClientError::InvalidMessage(format!(
            "create reply message fail, requestMessage error, property[{}] is null.",
            keys::CLUSTER
        ))
    })?;
    let mut reply = Message::new(reply_topic(cluster), body)
        .with_system_property(keys::MSG_TYPE, REPLY_MESSAGE_FLAG);
    for key in [keys::CORRELATION_ID, keys::REPLY_TO_CLIENT, keys::TTL] {
        if let Some(value) = request.property(key) {
            reply = reply.with_system_property(key, value);
        }
    }
    Ok(reply)
}

/// A fresh correlation id, shaped like the random UUID Java uses.
fn correlation_id() -> String {
    let v = fastrand::u128(..);
    let v = (v & !(0xF << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Where a request goes: the producer's usual queue choice, or the selector's.
enum Target<'a> {
    Any,
    Selected(&'a dyn MessageQueueSelector, &'a str),
}

impl Producer {
    /// Sends `msg` as a request and waits up to `timeout` (sending included) for the reply a
    /// replier sends with [`create_reply_message`]. Fails with [`ClientError::RequestTimeout`]
    /// when the request went out but no reply came in time.
    pub async fn request(&self, msg: Message, timeout: Duration) -> Result<ReceivedMessage> {
        self.inner.request(msg, Target::Any, timeout).await
    }

    /// [`Self::request`] to the queue `selector` picks for `arg` (ordered requests).
    pub async fn request_with_selector(
        &self,
        msg: Message,
        selector: &dyn MessageQueueSelector,
        arg: &str,
        timeout: Duration,
    ) -> Result<ReceivedMessage> {
        let target = Target::Selected(selector, arg);
        self.inner.request(msg, target, timeout).await
    }

    /// Starts a request at once and returns a future of its reply (Java's `request` with a
    /// `RequestCallback`: chain the callback on the future). The request runs even when the
    /// future is not polled; dropping it does not cancel the send.
    pub fn request_async(
        &self,
        msg: Message,
        timeout: Duration,
    ) -> impl Future<Output = Result<ReceivedMessage>> + Send {
        let inner = self.inner.clone();
        let task = tokio::spawn(async move { inner.request(msg, Target::Any, timeout).await });
        async move {
            task.await
                .map_err(|e| ClientError::State(format!("the request task failed: {e}")))?
        }
    }

    /// How many requests of this client instance wait for their reply (a backlog or leak shows
    /// here).
    pub fn pending_requests(&self) -> usize {
        self.inner.instance.replies().len()
    }
}

impl ProducerInner {
    /// Java's `prepareSendRequest` + send + `waitResponse`.
    async fn request(
        &self,
        msg: Message,
        target: Target<'_>,
        timeout: Duration,
    ) -> Result<ReceivedMessage> {
        let started = Instant::now();
        let id = correlation_id();
        let msg = msg
            .with_system_property(keys::CORRELATION_ID, &id)
            .with_system_property(keys::REPLY_TO_CLIENT, self.instance.client_id())
            .with_system_property(keys::TTL, &timeout.as_millis().to_string());
        let prepared = self.prepare(&msg)?;
        if self.instance.cached_route(&prepared.topic).is_none() {
            // The broker pushes the reply on the connection our heartbeat registered: make
            // sure every broker of the new route has one before the request goes out.
            self.publish_info(&prepared.topic).await?;
            self.instance.send_heartbeat_to_all_brokers().await;
        }
        let mut waiter = self.instance.replies().register(id);
        let remaining = timeout.saturating_sub(started.elapsed());
        let sent = tokio::time::timeout(remaining, async {
            match target {
                Target::Any => self.send_default(prepared, Mode::Sync).await.map(drop),
                Target::Selected(selector, arg) => {
                    let info = self.publish_info(&prepared.topic).await?;
                    let mq = selector.select(&info.queues, &msg, arg).ok_or_else(|| {
                        ClientError::InvalidMessage("select message queue return null.".into())
                    })?;
                    let budget = timeout.saturating_sub(started.elapsed());
                    self.send_kernel(&mq, &prepared, Mode::Sync, budget)
                        .await
                        .map(drop)
                }
            }
        })
        .await;
        let timed_out = || ClientError::RequestTimeout {
            topic: msg.topic().to_owned(),
            timeout,
        };
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(ClientError::SendTimeout {
                    topic: msg.topic().to_owned(),
                    elapsed: started.elapsed(),
                })
            }
        }
        let remaining = timeout.saturating_sub(started.elapsed());
        match tokio::time::timeout(remaining, &mut waiter.reply).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) | Err(_) => Err(timed_out()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_are_random_version_4_uuids() {
        let a = correlation_id();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(["8", "9", "a", "b"].contains(&&a[19..20]), "{a}");
        assert_ne!(a, correlation_id());
    }

    #[test]
    fn a_reply_carries_the_request_s_pairing_properties_to_the_cluster_s_reply_topic() {
        let props = [
            (keys::CLUSTER, "C1"),
            (keys::CORRELATION_ID, "id-1"),
            (keys::REPLY_TO_CLIENT, "10.0.0.1@x"),
            (keys::TTL, "3000"),
        ];
        let request = received(&props);
        let reply = create_reply_message(&request, "pong").unwrap();
        assert_eq!(reply.topic(), "C1_REPLY_TOPIC");
        assert_eq!(reply.property(keys::MSG_TYPE), Some("reply"));
        for (key, value) in &props[1..] {
            assert_eq!(reply.property(key), Some(*value), "{key}");
        }
        let no_cluster = received(&props[1..]);
        let err = create_reply_message(&no_cluster, "x").unwrap_err();
        assert!(
            err.to_string().contains("property[CLUSTER] is null"),
            "{err}"
        );
    }

    #[test]
    fn a_reply_is_delivered_once_and_a_dropped_waiter_leaves_no_entry() {
        let waiters = Arc::new(ReplyWaiters::default());
        let mut waiter = waiters.register("a".into());
        let dropped = waiters.register("b".into());
        assert_eq!(waiters.len(), 2);
        drop(dropped);
        assert_eq!(waiters.len(), 1);
        let reply = received(&[(keys::CORRELATION_ID, "a")]);
        assert!(waiters.deliver(reply.clone()));
        assert!(!waiters.deliver(reply), "a second reply finds no request");
        assert_eq!(
            waiter
                .reply
                .try_recv()
                .unwrap()
                .property(keys::CORRELATION_ID),
            Some("a")
        );
        assert!(!waiters.deliver(received(&[(keys::CORRELATION_ID, "b")])));
        drop(waiter);
        assert_eq!(waiters.len(), 0);
    }

    fn received(props: &[(&str, &str)]) -> ReceivedMessage {
        let header = ReplyMessageRequestHeader {
            producer_group: "g".into(),
            topic: "T".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 0,
            sys_flag: 0,
            born_timestamp: 1,
            flag: 0,
            properties: Some(rmq_remoting::message::encode_properties(
                props.iter().copied(),
            )),
            reconsume_times: None,
            unit_mode: false,
            born_host: "127.0.0.1:5".into(),
            store_host: "127.0.0.1:10911".into(),
            store_timestamp: 2,
        };
        received_reply(header, Bytes::from_static(b"body")).unwrap()
    }
}
