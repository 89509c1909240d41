//! The receive side of the proxy over real gRPC (tonic's generated client) and real remoting:
//! an in-process rmq name server and broker (rmq-testkit), the proxy serving on 127.0.0.1:0.
//! ReceiveMessage and AckMessage, redelivery after the invisible time with delivery attempt 2,
//! ChangeInvisibleDuration, the dead-letter queue after the client's max attempts, a tag filter,
//! FIFO order per message group with two consumers, QueryAssignment and the refusals Apache's
//! proxy gives. Deliveries are multisets of bodies.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rmq_client::{dlq_topic, ClientConfig, Message, Producer};
use rmq_proxy::proto::v2::{
    self, messaging_service_client::MessagingServiceClient, receive_message_response::Content,
    settings::PubSub, telemetry_command::Command, Code, FilterType,
};
use tokio::sync::mpsc;
use tonic::transport::Channel;

mod common;
use common::{request, request_as, Proxied};

/// The servers with a fast revive, and a proxy that lets receivers hide messages for 1 s and
/// long-poll for 300 ms.
async fn start() -> Proxied {
    Proxied::start_with(
        |b| b.revive_interval = 100,
        |p| {
            p.min_invisible_time_mills_for_recv = 1000;
            p.grpc_client_consumer_min_long_polling_timeout_millis = 300;
        },
    )
    .await
}

/// Sends `bodies` to `topic` with tag `tag` through remoting (rmq-client's producer).
async fn send(s: &Proxied, topic: &str, tag: &str, bodies: &[&str]) {
    let producer = Producer::builder()
        .client_config(ClientConfig {
            namesrv_addr: s.servers.namesrv.clone(),
            client_ip: "127.0.0.1".into(),
            ..ClientConfig::default()
        })
        .producer_group("receive-test-producer")
        .start()
        .await
        .unwrap();
    for body in bodies {
        let msg = Message::new(topic, body.as_bytes().to_vec()).with_tags(tag);
        producer.send(msg).await.unwrap();
    }
    producer.shutdown().await;
}

fn resource(name: &str) -> Option<v2::Resource> {
    Some(common::resource(name))
}

fn ms(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap(),
        nanos: i32::try_from(d.subsec_nanos()).unwrap(),
    }
}

fn receive_request(
    group: &str,
    topic: &str,
    invisible: Duration,
    tag: &str,
) -> v2::ReceiveMessageRequest {
    v2::ReceiveMessageRequest {
        group: resource(group),
        message_queue: Some(v2::MessageQueue {
            topic: resource(topic),
            id: -1,
            permission: v2::Permission::ReadWrite as i32,
            broker: None,
            accept_message_types: Vec::new(),
        }),
        filter_expression: Some(v2::FilterExpression {
            r#type: FilterType::Tag as i32,
            expression: tag.into(),
        }),
        batch_size: 32,
        invisible_duration: Some(ms(invisible)),
        auto_renew: false,
        long_polling_timeout: Some(ms(Duration::from_millis(500))),
        attempt_id: None,
    }
}

/// One ReceiveMessage call: the leading status, the messages, and whether the stream ended
/// with a delivery timestamp (Apache's proxy always writes one last).
async fn receive(
    proxy: &mut MessagingServiceClient<Channel>,
    req: v2::ReceiveMessageRequest,
) -> (v2::Status, Vec<v2::Message>) {
    receive_as(proxy, common::CLIENT_ID, req).await
}

/// [`receive`] by the client `client_id`.
async fn receive_as(
    proxy: &mut MessagingServiceClient<Channel>,
    client_id: &str,
    req: v2::ReceiveMessageRequest,
) -> (v2::Status, Vec<v2::Message>) {
    let mut stream = proxy
        .receive_message(request_as(client_id, req))
        .await
        .unwrap()
        .into_inner();
    let mut status = None;
    let mut messages = Vec::new();
    let mut closed = false;
    while let Some(item) = stream.message().await.unwrap() {
        assert!(!closed, "nothing after the delivery timestamp");
        match item.content.unwrap() {
            Content::Status(s) => {
                assert!(status.is_none() && messages.is_empty(), "one status, first");
                status = Some(s);
            }
            Content::Message(m) => messages.push(m),
            Content::DeliveryTimestamp(_) => closed = true,
        }
    }
    assert!(closed, "the stream ends with a delivery timestamp");
    (status.unwrap(), messages)
}

/// Receives until `want` messages came or `limit` passed.
async fn receive_until(
    proxy: &mut MessagingServiceClient<Channel>,
    req: &v2::ReceiveMessageRequest,
    want: usize,
    limit: Duration,
) -> Vec<v2::Message> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < deadline {
        let (status, messages) = receive(proxy, req.clone()).await;
        if messages.is_empty() {
            assert_eq!(status.code, Code::MessageNotFound as i32, "{status:?}");
        } else {
            assert_eq!(status.code, Code::Ok as i32, "{status:?}");
        }
        got.extend(messages);
    }
    got
}

fn body(m: &v2::Message) -> String {
    String::from_utf8(m.body.clone()).unwrap()
}

fn attempt(m: &v2::Message) -> i32 {
    m.system_properties
        .as_ref()
        .unwrap()
        .delivery_attempt
        .unwrap()
}

fn handle(m: &v2::Message) -> String {
    m.system_properties
        .as_ref()
        .unwrap()
        .receipt_handle
        .clone()
        .unwrap()
}

fn bodies(msgs: &[v2::Message]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in msgs {
        *counts.entry(body(m)).or_default() += 1;
    }
    counts
}

fn each_once(names: &[&str]) -> BTreeMap<String, usize> {
    names.iter().map(|n| (n.to_string(), 1)).collect()
}

async fn ack(
    proxy: &mut MessagingServiceClient<Channel>,
    group: &str,
    topic: &str,
    msgs: &[&v2::Message],
) -> v2::AckMessageResponse {
    let entries = msgs
        .iter()
        .map(|m| v2::AckMessageEntry {
            message_id: m.system_properties.as_ref().unwrap().message_id.clone(),
            receipt_handle: handle(m),
            lite_topic: None,
        })
        .collect();
    proxy
        .ack_message(request(v2::AckMessageRequest {
            group: resource(group),
            topic: resource(topic),
            entries,
        }))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn received_messages_are_acked_and_an_unacked_one_comes_back_with_attempt_2() {
    let mut s = start().await;
    let (group, topic) = ("recv-group", "recv-topic");
    s.servers.create_topic(topic, 4).await;
    let names = ["m0", "m1", "m2", "m3", "m4", "m5"];
    send(&s, topic, "A", &names).await;
    let req = receive_request(group, topic, Duration::from_secs(2), "*");

    let first = receive_until(&mut s.client, &req, 6, Duration::from_secs(10)).await;
    assert_eq!(bodies(&first), each_once(&names));
    for m in &first {
        let sys = m.system_properties.as_ref().unwrap();
        assert_eq!(attempt(m), 1);
        assert_eq!(sys.tag.as_deref(), Some("A"));
        assert_eq!(m.topic.as_ref().unwrap().name, topic);
        assert!(!sys.message_id.is_empty());
        assert_eq!(sys.message_type, v2::MessageType::Normal as i32);
        // Apache's handle: the broker's receipt and the commit-log offset, nine fields.
        assert_eq!(handle(m).split(' ').count(), 9, "{}", handle(m));
    }
    let acked: Vec<&v2::Message> = first.iter().filter(|m| body(m) != "m0").collect();
    let answer = ack(&mut s.client, group, topic, &acked).await;
    assert_eq!(answer.status.unwrap().code, Code::Ok as i32);
    assert_eq!(answer.entries.len(), 5);
    assert!(answer
        .entries
        .iter()
        .all(|e| e.status.as_ref().unwrap().code == Code::Ok as i32));

    let again = receive_until(&mut s.client, &req, 1, Duration::from_secs(10)).await;
    assert_eq!(bodies(&again), each_once(&["m0"]));
    assert_eq!(attempt(&again[0]), 2);
    let answer = ack(&mut s.client, group, topic, &[&again[0]]).await;
    assert_eq!(answer.status.unwrap().code, Code::Ok as i32);

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, rest) = receive(&mut s.client, req.clone()).await;
    assert!(rest.is_empty(), "{:?}", bodies(&rest));
    assert_eq!(status.code, Code::MessageNotFound as i32);
    assert_eq!(status.message, "no new message");
    s.stop().await;
}

#[tokio::test]
async fn a_changed_invisible_duration_holds_the_message_back_and_answers_a_new_handle() {
    let mut s = start().await;
    let (group, topic) = ("change-group", "change-topic");
    s.servers.create_topic(topic, 2).await;
    send(&s, topic, "A", &["x"]).await;
    let req = receive_request(group, topic, Duration::from_secs(1), "*");
    let got = receive_until(&mut s.client, &req, 1, Duration::from_secs(10)).await;
    assert_eq!(bodies(&got), each_once(&["x"]));

    let changed = s
        .client
        .change_invisible_duration(request(v2::ChangeInvisibleDurationRequest {
            group: resource(group),
            topic: resource(topic),
            receipt_handle: handle(&got[0]),
            invisible_duration: Some(ms(Duration::from_secs(4))),
            message_id: got[0]
                .system_properties
                .as_ref()
                .unwrap()
                .message_id
                .clone(),
            lite_topic: None,
            suspend: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(changed.status.unwrap().code, Code::Ok as i32);
    assert_ne!(changed.receipt_handle, handle(&got[0]));
    assert_eq!(changed.receipt_handle.split(' ').nth(2), Some("4000"));

    let early = receive_until(&mut s.client, &req, 1, Duration::from_millis(2500)).await;
    assert!(early.is_empty(), "back too early: {:?}", bodies(&early));
    let back = receive_until(&mut s.client, &req, 1, Duration::from_secs(10)).await;
    assert_eq!(bodies(&back), each_once(&["x"]));
    assert_eq!(attempt(&back[0]), 2);
    s.stop().await;
}

/// The settings a simple consumer of `group` announces on its telemetry stream before its
/// first receive, as the Java SDK does (no retry policy: the group's applies).
fn consumer_settings(group: &str, topic: &str) -> v2::Settings {
    v2::Settings {
        client_type: Some(v2::ClientType::SimpleConsumer as i32),
        request_timeout: Some(ms(Duration::from_secs(3))),
        pub_sub: Some(PubSub::Subscription(v2::Subscription {
            group: resource(group),
            subscriptions: vec![v2::SubscriptionEntry {
                topic: resource(topic),
                expression: Some(v2::FilterExpression {
                    r#type: FilterType::Tag as i32,
                    expression: "*".into(),
                }),
            }],
            fifo: Some(false),
            long_polling_timeout: Some(ms(Duration::from_secs(1))),
            ..Default::default()
        })),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_message_past_the_max_attempts_goes_to_the_dead_letter_queue_not_to_the_client() {
    let mut s = start().await;
    let (group, topic) = ("dlq-group", "dlq-topic");
    s.servers.create_topic(topic, 1).await;
    let mut config = rmq_remoting::body::stats::SubscriptionGroupConfig::new(group);
    config.retry_max_times = 1;
    s.admin
        .create_subscription_group(&s.servers.broker, &config)
        .await
        .unwrap();
    let (answer, _telemetry, _inbound) = s.announce(consumer_settings(group, topic)).await;
    // The proxy answers the group's policy: retryMaxTimes 1 is two attempts.
    match answer.command {
        Some(Command::Settings(settings)) => {
            assert_eq!(settings.backoff_policy.unwrap().max_attempts, 2)
        }
        other => panic!("no settings answered: {other:?}"),
    }
    send(&s, topic, "A", &["doomed", "fine"]).await;
    let req = receive_request(group, topic, Duration::from_secs(1), "*");

    // Attempts 1 and 2 reach the client; "doomed" is never acked.
    let mut seen = Vec::new();
    for want in [1, 2] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = receive_until(&mut s.client, &req, 1, Duration::from_secs(2)).await;
            let fine: Vec<&v2::Message> = got.iter().filter(|m| body(m) == "fine").collect();
            ack(&mut s.client, group, topic, &fine).await;
            let doomed: Vec<_> = got.into_iter().filter(|m| body(m) == "doomed").collect();
            if let Some(m) = doomed.first() {
                assert_eq!(attempt(m), want);
                seen.push(attempt(m));
                break;
            }
            assert!(Instant::now() < deadline, "attempt {want} never came");
        }
    }
    // The third pop finds reconsume times 2 >= max attempts 2: dead-lettered, not delivered.
    let late = receive_until(&mut s.client, &req, 1, Duration::from_secs(4)).await;
    assert!(late.is_empty(), "delivered again: {:?}", bodies(&late));
    let dead = s.admin.dead_letter_messages(group, 10).await.unwrap();
    let dead_bodies: Vec<&[u8]> = dead.iter().map(|m| &m.body[..]).collect();
    assert_eq!(dead_bodies, vec![&b"doomed"[..]]);
    assert_eq!(dead[0].queue.topic, dlq_topic(group));
    assert_eq!(seen, [1, 2]);
    s.stop().await;
}

#[tokio::test]
async fn forward_to_the_dead_letter_queue_moves_a_message_on_request() {
    let mut s = start().await;
    let (group, topic) = ("forward-group", "forward-topic");
    s.servers.create_topic(topic, 1).await;
    send(&s, topic, "A", &["bad"]).await;
    let req = receive_request(group, topic, Duration::from_secs(1), "*");
    let got = receive_until(&mut s.client, &req, 1, Duration::from_secs(10)).await;
    let answer = s
        .client
        .forward_message_to_dead_letter_queue(request(v2::ForwardMessageToDeadLetterQueueRequest {
            group: resource(group),
            topic: resource(topic),
            receipt_handle: handle(&got[0]),
            message_id: got[0]
                .system_properties
                .as_ref()
                .unwrap()
                .message_id
                .clone(),
            delivery_attempt: 1,
            max_delivery_attempts: 16,
            lite_topic: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.status.unwrap().code, Code::Ok as i32);
    let late = receive_until(&mut s.client, &req, 1, Duration::from_secs(2)).await;
    assert!(late.is_empty(), "delivered again: {:?}", bodies(&late));
    let dead = s.admin.dead_letter_messages(group, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(&dead[0].body[..], b"bad");
    s.stop().await;
}

#[tokio::test]
async fn a_tag_filter_receives_only_its_tag() {
    let mut s = start().await;
    let (group, topic) = ("tag-group", "tag-topic");
    s.servers.create_topic(topic, 2).await;
    send(&s, topic, "A", &["a1", "a2"]).await;
    send(&s, topic, "B", &["b1", "b2"]).await;
    let req = receive_request(group, topic, Duration::from_secs(30), "B");
    let got = receive_until(&mut s.client, &req, 2, Duration::from_secs(10)).await;
    assert_eq!(bodies(&got), each_once(&["b1", "b2"]));
    let more = receive_until(&mut s.client, &req, 1, Duration::from_secs(1)).await;
    assert!(more.is_empty(), "{:?}", bodies(&more));
    s.stop().await;
}

#[tokio::test]
async fn query_assignment_names_each_broker_once_through_the_proxy() {
    let mut s = start().await;
    let (group, topic) = ("assign-group", "assign-topic");
    s.servers.create_topic(topic, 4).await;
    let endpoints = v2::Endpoints {
        scheme: v2::AddressScheme::IPv4 as i32,
        addresses: vec![v2::Address {
            host: "127.0.0.1".into(),
            port: 18081,
        }],
    };
    let answer = s
        .client
        .query_assignment(request(v2::QueryAssignmentRequest {
            topic: resource(topic),
            group: resource(group),
            endpoints: Some(endpoints.clone()),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.status.unwrap().code, Code::Ok as i32);
    assert_eq!(answer.assignments.len(), 1);
    let mq = answer.assignments[0].message_queue.as_ref().unwrap();
    assert_eq!(mq.id, -1);
    assert_eq!(mq.permission, v2::Permission::ReadWrite as i32);
    let broker = mq.broker.as_ref().unwrap();
    assert_eq!(broker.name, "broker-a");
    assert_eq!(broker.endpoints.as_ref(), Some(&endpoints));
    s.stop().await;
}

#[tokio::test]
async fn bad_requests_get_apaches_codes() {
    let mut s = start().await;
    let (group, topic) = ("bad-group", "bad-topic");
    s.servers.create_topic(topic, 1).await;
    // Below the proxy's minimum invisible time.
    let req = receive_request(group, topic, Duration::from_millis(10), "*");
    let (status, msgs) = receive(&mut s.client, req).await;
    assert!(msgs.is_empty());
    assert_eq!(status.code, Code::IllegalInvisibleTime as i32, "{status:?}");
    // A system topic.
    let req = receive_request(group, "TBW102", Duration::from_secs(5), "*");
    let (status, _) = receive(&mut s.client, req).await;
    assert_eq!(status.code, Code::IllegalTopic as i32, "{status:?}");
    // A deadline (grpc-timeout) shorter than the shortest long poll (300 ms here).
    let mut short = request(receive_request(group, topic, Duration::from_secs(5), "*"));
    short.set_timeout(Duration::from_millis(200));
    let mut stream = s.client.receive_message(short).await.unwrap().into_inner();
    match stream.message().await.unwrap().and_then(|r| r.content) {
        Some(Content::Status(status)) => {
            assert_eq!(status.code, Code::IllegalPollingTime as i32, "{status:?}")
        }
        other => panic!("no status first: {other:?}"),
    }
    // An expired receipt handle cannot ack.
    send(&s, topic, "A", &["late"]).await;
    let req = receive_request(group, topic, Duration::from_secs(1), "*");
    let got = receive_until(&mut s.client, &req, 1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let answer = ack(&mut s.client, group, topic, &[&got[0]]).await;
    assert_eq!(
        answer.status.unwrap().code,
        Code::InvalidReceiptHandle as i32
    );
    assert_eq!(
        answer.entries[0].status.as_ref().unwrap().message,
        "receipt handle is expired"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_fifo_group_is_received_in_send_order_per_message_group_by_two_consumers() {
    let mut s = start().await;
    let (group, topic) = ("fifo-group", "fifo-topic");
    s.typed_topic(topic, "FIFO").await;
    let mut config = rmq_remoting::body::stats::SubscriptionGroupConfig::new(group);
    config.consume_message_orderly = Some(true);
    s.admin
        .create_subscription_group(&s.servers.broker, &config)
        .await
        .unwrap();
    let (_answer, _producer, _inbound) = s.announce(common::producer_settings(&[topic])).await;
    let mut sent: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in 0..6 {
        for g in 0..3 {
            let body = format!("g{g}-{i}");
            let mut msg = common::message(topic, &body, &format!("ID-{body}"));
            let system = msg.system_properties.as_mut().unwrap();
            system.message_group = Some(format!("g{g}"));
            system.message_type = v2::MessageType::Fifo as i32;
            let answer = s.send_one(msg).await;
            assert_eq!(common::code(answer.status.as_ref()), Code::Ok, "{answer:?}");
            sent.entry(format!("g{g}")).or_default().push(body);
        }
    }
    let (answer, _consumer, _inbound) = s.announce(consumer_settings(group, topic)).await;
    match answer.command {
        Some(Command::Settings(settings)) => match settings.pub_sub {
            Some(PubSub::Subscription(sub)) => assert_eq!(sub.fifo, Some(true)),
            other => panic!("not a subscription: {other:?}"),
        },
        other => panic!("no settings answered: {other:?}"),
    }

    // Two consumers of the group: each records a message, then acks it. A message group's next
    // message is only handed out once the previous ones are acked, so the shared record keeps
    // each group's send order whichever consumer got which message.
    let seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String, i32)>>> = Default::default();
    let consume = |mut client: MessagingServiceClient<Channel>| {
        let seen = seen.clone();
        async move {
            let mut req = receive_request(group, topic, Duration::from_secs(10), "*");
            req.batch_size = 4;
            let deadline = Instant::now() + Duration::from_secs(20);
            while seen.lock().unwrap().len() < 18 && Instant::now() < deadline {
                let (_, msgs) = receive(&mut client, req.clone()).await;
                for m in &msgs {
                    let sys = m.system_properties.as_ref().unwrap();
                    let group = sys.message_group.clone().unwrap_or_default();
                    seen.lock().unwrap().push((group, body(m), attempt(m)));
                    // Slow acks give the other consumer time to take the group's next message
                    // if the proxy or the broker did not hold it back.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let answer = ack(&mut client, "fifo-group", "fifo-topic", &[m]).await;
                    assert_eq!(common::code(answer.status.as_ref()), Code::Ok);
                }
            }
        }
    };
    tokio::join!(consume(s.client.clone()), consume(s.client.clone()));
    let seen = seen.lock().unwrap().clone();
    let mut received: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (group, body, attempt) in &seen {
        assert_eq!(*attempt, 1, "{body} delivered again");
        received
            .entry(group.clone())
            .or_default()
            .push(body.clone());
    }
    assert_eq!(
        received, sent,
        "each message group in send order, each message once"
    );
    s.stop().await;
}

/// A proxy whose push-consumer receives hide messages for 1.5 s and whose renewal scan runs
/// every 200 ms; clients silent for a second (no telemetry stream) are forgotten.
async fn start_renewing() -> Proxied {
    start_renewing_with(|p| p.channel_expired_in_seconds = 1).await
}

/// Like [`start_renewing`] with clients kept as long as by default, its settings then adjusted
/// by `tweak`.
async fn start_renewing_with(tweak: impl FnOnce(&mut rmq_proxy::ProxyConfig)) -> Proxied {
    Proxied::start_with(
        |b| b.revive_interval = 100,
        |p| {
            p.min_invisible_time_mills_for_recv = 1000;
            p.grpc_client_consumer_min_long_polling_timeout_millis = 300;
            p.default_invisible_time_mills = 1500;
            p.renew_schedule_period_millis = 200;
            tweak(p);
        },
    )
    .await
}

/// A push consumer's receive: `auto_renew`, and an invisible duration the proxy replaces.
fn push_request(group: &str, topic: &str) -> v2::ReceiveMessageRequest {
    v2::ReceiveMessageRequest {
        auto_renew: true,
        ..receive_request(group, topic, Duration::from_millis(1), "*")
    }
}

/// Receives as `client_id` (1 s invisible, no renewal) until a message comes or `limit` passed.
async fn poll_as(
    proxy: &mut MessagingServiceClient<Channel>,
    client_id: &str,
    group: &str,
    topic: &str,
    limit: Duration,
) -> (Vec<v2::Message>, Duration) {
    let started = Instant::now();
    let req = receive_request(group, topic, Duration::from_secs(1), "*");
    while started.elapsed() < limit {
        let (_, msgs) = receive_as(proxy, client_id, req.clone()).await;
        if !msgs.is_empty() {
            return (msgs, started.elapsed());
        }
    }
    (Vec::new(), started.elapsed())
}

/// The ends of a push consumer's telemetry stream, kept open so the proxy knows the client.
type Telemetry = (
    mpsc::Sender<v2::TelemetryCommand>,
    tonic::Streaming<v2::TelemetryCommand>,
);

/// Creates `topic` (one queue), announces a push consumer of `group` on it, sends `body` and
/// receives it with auto-renew: the message, and the consumer's telemetry stream to keep open.
async fn push_receive_one(
    s: &mut Proxied,
    group: &str,
    topic: &str,
    body: &str,
) -> (v2::Message, Telemetry) {
    s.servers.create_topic(topic, 1).await;
    let (_answer, telemetry, inbound) = s.announce(consumer_settings(group, topic)).await;
    send(s, topic, "A", &[body]).await;
    let push = push_request(group, topic);
    let mut got = receive_until(&mut s.client, &push, 1, Duration::from_secs(10)).await;
    assert_eq!(bodies(&got), each_once(&[body]));
    (got.remove(0), (telemetry, inbound))
}

/// Polls as `client_id` for up to `limit` until `body` is back, as delivery attempt 2.
async fn comes_back(
    s: &mut Proxied,
    client_id: &str,
    (group, topic): (&str, &str),
    body: &str,
    limit: Duration,
) -> v2::Message {
    let (mut back, after) = poll_as(&mut s.client, client_id, group, topic, limit).await;
    assert_eq!(
        bodies(&back),
        each_once(&[body]),
        "not back after {after:?}"
    );
    assert_eq!(attempt(&back[0]), 2);
    back.remove(0)
}

#[tokio::test]
async fn a_push_consumers_message_is_renewed_past_its_invisible_time_and_acked_with_its_first_handle(
) {
    let mut s = start_renewing().await;
    let (group, topic) = ("renew-group", "renew-topic");
    let (held, _telemetry) = push_receive_one(&mut s, group, topic, "held").await;
    let first = handle(&held);
    assert_eq!(
        first.split(' ').nth(2),
        Some("1500"),
        "the default invisible time: {first}"
    );

    // Another consumer of the group polls for 5 s, over three invisible times: nothing.
    let (stolen, _) = poll_as(&mut s.client, "thief", group, topic, Duration::from_secs(5)).await;
    assert!(
        stolen.is_empty(),
        "redelivered while renewed: {:?}",
        bodies(&stolen)
    );
    // The handle the client holds is past its own invisible time, yet it still acks: the
    // proxy acks with the newest one.
    let pop_time: i64 = first.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(pop_time + 1500 < rmq_proxy::convert::now_ms());
    let answer = ack(&mut s.client, group, topic, &[&held]).await;
    assert_eq!(common::code(answer.status.as_ref()), Code::Ok, "{answer:?}");
    // The broker's checkpoint is done: the group's offset passed the message.
    let stats = s.admin.consume_stats(group, Some(topic)).await.unwrap();
    let progress: Vec<(i64, i64)> = stats
        .offset_table
        .values()
        .map(|o| (o.consumer_offset, o.broker_offset))
        .collect();
    assert_eq!(progress, [(1, 1)]);
    // Acked once more with the same handle: no longer renewed, and expired.
    let again = ack(&mut s.client, group, topic, &[&held]).await;
    assert_eq!(
        common::code(again.status.as_ref()),
        Code::InvalidReceiptHandle
    );
    s.stop().await;
}

#[tokio::test]
async fn a_push_consumer_gone_gets_its_renewed_messages_given_back_soon() {
    let mut s = start_renewing().await;
    let (group, topic) = ("gone-group", "gone-topic");

    // A client that says goodbye (NotifyClientTermination) while holding a renewed message.
    let (_left, _telemetry) = push_receive_one(&mut s, group, topic, "left").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let bye = s
        .client
        .notify_client_termination(request(v2::NotifyClientTerminationRequest {
            group: resource(group),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(common::code(bye.status.as_ref()), Code::Ok, "{bye:?}");
    // Renewed, it would stay hidden for a minute; given back, it is visible within a second.
    let names = (group, topic);
    let back = comes_back(&mut s, "next", names, "left", Duration::from_secs(8)).await;
    ack(&mut s.client, group, topic, &[&back]).await;

    // A client that falls silent (a heartbeat, then nothing; no telemetry stream) is forgotten
    // after channelExpiredInSeconds, and its message comes back too.
    send(&s, topic, "A", &["dropped"]).await;
    let silent = "silent-client";
    let beat = s
        .client
        .heartbeat(request_as(
            silent,
            v2::HeartbeatRequest {
                group: resource(group),
                client_type: v2::ClientType::PushConsumer as i32,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(beat.status.is_some());
    let push = push_request(group, topic);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut held = Vec::new();
    while held.is_empty() && Instant::now() < deadline {
        held = receive_as(&mut s.client, silent, push.clone()).await.1;
    }
    assert_eq!(bodies(&held), each_once(&["dropped"]));
    comes_back(&mut s, "next", names, "dropped", Duration::from_secs(15)).await;
    s.stop().await;
}

/// `data` as gzip in stored (uncompressed) deflate blocks: valid gzip that any reader inflates,
/// built here so the test needs no compression library.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let chunks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = u16::try_from(chunk.len()).unwrap();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    out
}

#[tokio::test]
async fn compressed_bodies_are_stored_compressed_and_delivered_inflated() {
    let mut s = start().await;
    let (group, topic) = ("gzip-group", "gzip-topic");
    s.servers.create_topic(topic, 4).await;
    // A 4.x producer compresses bodies of 4 KiB and more (zlib, COMPRESSED flag).
    let big = "a body a 4.x producer compresses ".repeat(400);
    send(&s, topic, "A", &[big.as_str()]).await;
    // A gRPC client's GZIP-encoded body: stored as sent, with the COMPRESSED flag.
    let plain = "a body its gRPC client sent GZIP-encoded ".repeat(50);
    let mut msg = common::message(topic, "", "ID-GZIP");
    msg.body = gzip_stored(plain.as_bytes());
    msg.system_properties.as_mut().unwrap().body_encoding = v2::Encoding::Gzip as i32;
    let answer = s.send_one(msg).await;
    assert_eq!(common::code(answer.status.as_ref()), Code::Ok, "{answer:?}");

    // A 4.x consumer (pull) reads both inflated.
    let pulled = s.stored(topic).await;
    let mut pulled: Vec<String> = pulled
        .iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect();
    pulled.sort();
    let mut sent = vec![big.clone(), plain.clone()];
    sent.sort();
    assert_eq!(pulled, sent);
    // The proxy delivers both inflated, IDENTITY, digests of the inflated bodies (Apache's
    // proxy decodes popped messages with Java's decompressing decoder).
    let req = receive_request(group, topic, Duration::from_secs(30), "*");
    let got = receive_until(&mut s.client, &req, 2, Duration::from_secs(10)).await;
    assert_eq!(bodies(&got), each_once(&[big.as_str(), plain.as_str()]));
    for m in &got {
        let sys = m.system_properties.as_ref().unwrap();
        assert_eq!(sys.body_encoding, v2::Encoding::Identity as i32);
        let digest = sys.body_digest.as_ref().unwrap();
        assert_eq!(digest.checksum, format!("{:X}", crc32fast::hash(&m.body)));
    }
    s.stop().await;
}

#[tokio::test]
async fn a_message_renewed_for_renew_max_time_goes_back_with_the_groups_retry_delay() {
    // Every pass renews (renewAheadTimeMillis 2 h) until 4 s after the receive.
    let mut s = start_renewing_with(|p| {
        p.renew_ahead_time_millis = 7_200_000;
        p.renew_max_time_millis = 4000;
    })
    .await;
    let (group, topic) = ("max-renew-group", "max-renew-topic");
    // The group's retry policy: 1 s for a first retry.
    let mut config = rmq_remoting::body::stats::SubscriptionGroupConfig::new(group);
    config.group_retry_policy = Some(serde_json::json!({
        "type": "EXPONENTIAL",
        "exponentialRetryPolicy": {"initial": 1000, "max": 60000, "multiplier": 2}
    }));
    s.admin
        .create_subscription_group(&s.servers.broker, &config)
        .await
        .unwrap();
    let (_long, _telemetry) = push_receive_one(&mut s, group, topic, "long").await;
    let received = Instant::now();
    // Held past its 1.5 s while renewed; back about 1 s after the 4 s of renewal, attempt 2.
    let names = (group, topic);
    comes_back(&mut s, "other", names, "long", Duration::from_secs(12)).await;
    let after = received.elapsed();
    assert!(
        after >= Duration::from_millis(4500),
        "back after {after:?}, before the renewal ended"
    );
    s.stop().await;
}
