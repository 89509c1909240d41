//! The producing side of the proxy over real gRPC and real remoting (tests/common): routes,
//! settings over telemetry, heartbeats, sends of every 5.x message type as stored on the broker,
//! transactions (ended by the client, and checked back over telemetry), and the refusals with
//! Apache's codes. Stored messages are counted as multisets of bodies.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{code, message, producer_settings, request, resource, Proxied};
use rmq_proxy::proto::v2::{
    self, settings::PubSub, telemetry_command::Command, Code, MessageType, Permission,
    TransactionResolution, TransactionSource,
};
use rmq_remoting::message::keys;

fn bodies(msgs: &[rmq_client::ReceivedMessage]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in msgs {
        *counts
            .entry(String::from_utf8_lossy(&m.body).into_owned())
            .or_insert(0) += 1;
    }
    counts
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// QueryRoute for `topic` from a client that named `endpoints`.
async fn route(
    stack: &mut Proxied,
    topic: &str,
    endpoints: &v2::Endpoints,
) -> v2::QueryRouteResponse {
    stack
        .client
        .query_route(request(v2::QueryRouteRequest {
            topic: Some(resource(topic)),
            endpoints: Some(endpoints.clone()),
        }))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn a_route_names_the_proxy_the_queues_and_the_topic_type() {
    let mut stack = Proxied::start(|_| {}).await;
    stack.typed_topic("RouteFifo", "FIFO").await;
    let endpoints = v2::Endpoints {
        scheme: v2::AddressScheme::IPv4 as i32,
        addresses: vec![v2::Address {
            host: "127.0.0.1".into(),
            port: 1,
        }],
    };
    let answer = route(&mut stack, "RouteFifo", &endpoints).await;
    assert_eq!(code(answer.status.as_ref()), Code::Ok);
    let ids: Vec<i32> = answer.message_queues.iter().map(|q| q.id).collect();
    assert_eq!(ids, vec![0, 1, 2, 3]);
    for queue in &answer.message_queues {
        assert_eq!(queue.permission, Permission::ReadWrite as i32);
        assert_eq!(queue.accept_message_types, vec![MessageType::Fifo as i32]);
        let broker = queue.broker.as_ref().unwrap();
        assert_eq!((broker.name.as_str(), broker.id), ("broker-a", 0));
        // Through the proxy: the host the client named, the proxy's own port.
        let address = &broker.endpoints.as_ref().unwrap().addresses[0];
        assert_eq!(
            (address.host.as_str(), address.port),
            ("127.0.0.1", i32::from(stack.addr.port()))
        );
    }

    let unknown = route(&mut stack, "NoSuchTopic", &endpoints).await;
    assert_eq!(code(unknown.status.as_ref()), Code::TopicNotFound);
    let system = route(&mut stack, "TBW102", &endpoints).await;
    assert_eq!(code(system.status.as_ref()), Code::IllegalTopic);
    // No client id: refused in the body, as Apache's proxy does.
    let anonymous = stack
        .client
        .query_route(tonic::Request::new(v2::QueryRouteRequest {
            topic: Some(resource("RouteFifo")),
            endpoints: Some(endpoints),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(anonymous.status.as_ref()), Code::ClientIdRequired);
    assert!(anonymous.message_queues.is_empty());
    stack.stop().await;
}

#[tokio::test]
async fn settings_heartbeats_and_sends_of_every_type_are_served_as_apache_serves_them() {
    let mut stack = Proxied::start(|_| {}).await;
    for (topic, kind) in [
        ("SendNormal", "NORMAL"),
        ("SendFifo", "FIFO"),
        ("SendDelay", "DELAY"),
    ] {
        stack.typed_topic(topic, kind).await;
    }
    // Before its settings, a client is unknown to heartbeats.
    let early = stack
        .client
        .heartbeat(request(v2::HeartbeatRequest {
            group: None,
            client_type: v2::ClientType::Producer as i32,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(early.status.as_ref()), Code::UnrecognizedClientType);

    let (answer, _tx, _inbound) = stack
        .announce(producer_settings(&["SendNormal", "SendFifo", "SendDelay"]))
        .await;
    assert_eq!(code(answer.status.as_ref()), Code::Ok);
    let Some(Command::Settings(settings)) = answer.command else {
        panic!("settings expected, got {answer:?}")
    };
    let Some(PubSub::Publishing(publishing)) = settings.pub_sub else {
        panic!("publishing settings expected")
    };
    assert_eq!(publishing.max_body_size, 4 * 1024 * 1024);
    assert!(publishing.validate_message_type);
    assert_eq!(settings.backoff_policy.unwrap().max_attempts, 3);
    let beat = stack
        .client
        .heartbeat(request(v2::HeartbeatRequest {
            group: None,
            client_type: v2::ClientType::Producer as i32,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(beat.status.as_ref()), Code::Ok);

    // Normal: tag, keys, user property, the client's id as UNIQ_KEY, the topic as PGROUP.
    let mut normal = message("SendNormal", "n0", "ID-N0");
    let system = normal.system_properties.as_mut().unwrap();
    system.tag = Some("t".into());
    system.keys = vec!["k1".into(), "k2".into()];
    normal.user_properties.insert("p".into(), "v".into());
    let sent = stack.send_one(normal).await;
    assert_eq!(code(sent.status.as_ref()), Code::Ok);
    assert_eq!(sent.entries[0].message_id, "ID-N0");
    let stored = stack.stored("SendNormal").await;
    assert_eq!(bodies(&stored), BTreeMap::from([("n0".to_owned(), 1)]));
    let m = &stored[0];
    assert_eq!(m.property(keys::UNIQ_KEY), Some("ID-N0"));
    assert_eq!(m.property(keys::TAGS), Some("t"));
    assert_eq!(m.keys(), vec!["k1", "k2"]);
    assert_eq!(m.property("p"), Some("v"));
    assert_eq!(m.property(keys::PGROUP), Some("SendNormal"));

    // FIFO: each group on one queue, in send order.
    for i in 0..5 {
        for g in 0..3 {
            let mut msg = message("SendFifo", &format!("g{g}-{i}"), &format!("ID-F{g}{i}"));
            msg.system_properties.as_mut().unwrap().message_group = Some(format!("g{g}"));
            msg.system_properties.as_mut().unwrap().message_type = MessageType::Fifo as i32;
            let sent = stack.send_one(msg).await;
            assert_eq!(code(sent.status.as_ref()), Code::Ok, "{sent:?}");
        }
    }
    let stored = stack.stored("SendFifo").await;
    assert_eq!(stored.len(), 15, "{:?}", bodies(&stored));
    for g in 0..3 {
        let group = format!("g{g}");
        let of_group: Vec<_> = stored
            .iter()
            .filter(|m| m.property("__SHARDINGKEY") == Some(group.as_str()))
            .collect();
        let queues: std::collections::BTreeSet<i32> =
            of_group.iter().map(|m| m.queue.queue_id).collect();
        assert_eq!(queues.len(), 1, "group {group} spread over {queues:?}");
        let order: Vec<String> = of_group
            .iter()
            .map(|m| String::from_utf8_lossy(&m.body).into_owned())
            .collect();
        let expected: Vec<String> = (0..5).map(|i| format!("{group}-{i}")).collect();
        assert_eq!(order, expected);
    }

    // A plain message on the FIFO topic: Apache's code and text.
    let wrong = stack.send_one(message("SendFifo", "plain", "ID-W")).await;
    assert_eq!(
        code(wrong.status.as_ref()),
        Code::MessagePropertyConflictWithType
    );
    assert_eq!(
        wrong.status.unwrap().message,
        "TopicMessageType validate failed, the expected type is FIFO, but actual type is NORMAL"
    );

    // Delay: not in the topic before its time, there after it.
    let due = now_ms() + 1500;
    let mut delayed = message("SendDelay", "d0", "ID-D0");
    let system = delayed.system_properties.as_mut().unwrap();
    system.delivery_timestamp = Some(prost_types::Timestamp {
        seconds: due / 1000,
        nanos: ((due % 1000) * 1_000_000) as i32,
    });
    system.message_type = MessageType::Delay as i32;
    let sent = stack.send_one(delayed).await;
    assert_eq!(code(sent.status.as_ref()), Code::Ok);
    let deadline = Instant::now() + Duration::from_secs(15);
    let arrived = loop {
        let stored = stack.stored("SendDelay").await;
        if !stored.is_empty() {
            break now_ms();
        }
        assert!(Instant::now() < deadline, "the delayed message never came");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(arrived >= due, "visible {} ms early", due - arrived);
    assert_eq!(
        bodies(&stack.stored("SendDelay").await),
        BTreeMap::from([("d0".to_owned(), 1)])
    );
    stack.stop().await;
}

#[tokio::test]
async fn transactions_end_by_the_client_or_by_a_check_back_over_telemetry() {
    let mut stack = Proxied::start(|b| {
        b.transaction_time_out = 1000;
        b.transaction_check_interval = 500;
    })
    .await;
    stack.typed_topic("SendTx", "TRANSACTION").await;
    let (_answer, _tx, mut inbound) = stack.announce(producer_settings(&["SendTx"])).await;
    let half = |body: &str, id: &str| {
        let mut msg = message("SendTx", body, id);
        msg.system_properties.as_mut().unwrap().message_type = MessageType::Transaction as i32;
        msg
    };
    let mut ids = BTreeMap::new();
    for body in ["commit", "rollback", "open"] {
        let sent = stack.send_one(half(body, &format!("ID-{body}"))).await;
        assert_eq!(code(sent.status.as_ref()), Code::Ok, "{sent:?}");
        ids.insert(body, sent.entries[0].transaction_id.clone());
    }
    assert!(
        stack.stored("SendTx").await.is_empty(),
        "half messages are invisible"
    );
    for (body, resolution) in [
        ("commit", TransactionResolution::Commit),
        ("rollback", TransactionResolution::Rollback),
    ] {
        let ended = stack
            .client
            .end_transaction(request(v2::EndTransactionRequest {
                topic: Some(resource("SendTx")),
                message_id: format!("ID-{body}"),
                transaction_id: ids[body].clone(),
                resolution: resolution as i32,
                source: TransactionSource::SourceClient as i32,
                trace_context: String::new(),
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(ended.status.as_ref()), Code::Ok);
    }
    // The open one comes back as a command on the telemetry stream; commit it from there.
    let deadline = Instant::now() + Duration::from_secs(20);
    let checked = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let command = tokio::time::timeout(left, inbound.message())
            .await
            .expect("a check-back within 20 s")
            .unwrap()
            .expect("the stream stays open");
        if let Some(Command::RecoverOrphanedTransactionCommand(c)) = command.command {
            let body = String::from_utf8_lossy(&c.message.as_ref().unwrap().body).into_owned();
            if body == "open" {
                break c;
            }
        }
    };
    assert_eq!(checked.transaction_id, ids["open"]);
    let ended = stack
        .client
        .end_transaction(request(v2::EndTransactionRequest {
            topic: Some(resource("SendTx")),
            message_id: "ID-open".into(),
            transaction_id: checked.transaction_id.clone(),
            resolution: TransactionResolution::Commit as i32,
            source: TransactionSource::SourceServerCheck as i32,
            trace_context: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(ended.status.as_ref()), Code::Ok);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stored = bodies(&stack.stored("SendTx").await);
        if stored.len() == 2 {
            assert_eq!(
                stored,
                BTreeMap::from([("commit".to_owned(), 1), ("open".to_owned(), 1)])
            );
            break;
        }
        assert!(Instant::now() < deadline, "stored: {stored:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // An unknown transaction: Apache's proxy has no data for it either.
    let unknown = stack
        .client
        .end_transaction(request(v2::EndTransactionRequest {
            topic: Some(resource("SendTx")),
            message_id: "nope".into(),
            transaction_id: "nope".into(),
            resolution: TransactionResolution::Commit as i32,
            source: TransactionSource::SourceClient as i32,
            trace_context: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(unknown.status.as_ref()), Code::InternalServerError);
    stack.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_with_apaches_codes() {
    let mut stack = Proxied::start(|_| {}).await;
    stack.typed_topic("BadInput", "NORMAL").await;
    let refused = |msg: v2::Message| v2::SendMessageRequest {
        messages: vec![msg],
    };
    let cases: Vec<(v2::SendMessageRequest, Code)> = vec![
        (
            v2::SendMessageRequest { messages: vec![] },
            Code::MessageCorrupted,
        ),
        (
            refused(message("BadInput", "", "ID-1")),
            Code::MessageBodyEmpty,
        ),
        (
            refused(message("BadInput", "b", "")),
            Code::IllegalMessageId,
        ),
        (
            refused({
                let mut m = message("BadInput", "b", "ID-2");
                m.user_properties.insert("UNIQ_KEY".into(), "x".into());
                m
            }),
            Code::IllegalMessagePropertyKey,
        ),
        (
            refused({
                let mut m = message("BadInput", "b", "ID-3");
                m.system_properties.as_mut().unwrap().tag = Some("a|b".into());
                m
            }),
            Code::IllegalMessageTag,
        ),
        (
            refused(message("bad topic", "b", "ID-4")),
            Code::IllegalTopic,
        ),
    ];
    for (req, expected) in cases {
        let answer = stack
            .client
            .send_message(request(req.clone()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(answer.status.as_ref()), expected, "{req:?}");
    }
    assert!(stack.stored("BadInput").await.is_empty());
    // Telemetry needs a client id too: the stream is refused.
    let (tx, rx) = tokio::sync::mpsc::channel::<v2::TelemetryCommand>(1);
    drop(tx);
    let anonymous = stack
        .client
        .telemetry(tonic::Request::new(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::InvalidArgument);
    stack.stop().await;
}

#[tokio::test]
async fn a_request_of_several_messages_is_sent_as_one_batch_as_apache_sends_it() {
    let mut stack = Proxied::start(|_| {}).await;
    stack.typed_topic("BatchNormal", "NORMAL").await;
    stack.typed_topic("BatchDelay", "DELAY").await;
    let (_answer, _tx, _inbound) = stack
        .announce(producer_settings(&["BatchNormal", "BatchDelay"]))
        .await;
    let messages: Vec<v2::Message> = (0..3)
        .map(|i| message("BatchNormal", &format!("b{i}"), &format!("ID-B{i}")))
        .collect();
    let answer = stack
        .client
        .send_message(request(v2::SendMessageRequest { messages }))
        .await
        .unwrap()
        .into_inner();
    // One SEND_BATCH_MESSAGE: one entry, the ids comma-joined, the first message's offset.
    assert_eq!(code(answer.status.as_ref()), Code::Ok, "{answer:?}");
    assert_eq!(answer.entries.len(), 1, "{answer:?}");
    assert_eq!(answer.entries[0].message_id, "ID-B0,ID-B1,ID-B2");
    let stored = stack.stored("BatchNormal").await;
    let placed: Vec<(i32, i64, Option<&str>, &[u8])> = stored
        .iter()
        .map(|m| {
            let id = m.property(keys::UNIQ_KEY);
            (m.queue.queue_id, m.queue_offset, id, &m.body[..])
        })
        .collect();
    let queue = placed[0].0;
    let first = answer.entries[0].offset;
    assert_eq!(
        placed,
        [
            (queue, first, Some("ID-B0"), &b"b0"[..]),
            (queue, first + 1, Some("ID-B1"), &b"b1"[..]),
            (queue, first + 2, Some("ID-B2"), &b"b2"[..]),
        ],
        "one queue, consecutive offsets, each message with its own id"
    );

    // Messages with a delivery time go one by one (a broker does not delay a batched message).
    let at = now_ms() + 60_000;
    let delayed: Vec<v2::Message> = (0..2)
        .map(|i| {
            let mut m = message("BatchDelay", &format!("d{i}"), &format!("ID-D{i}"));
            let system = m.system_properties.as_mut().unwrap();
            system.message_type = MessageType::Delay as i32;
            system.delivery_timestamp = Some(rmq_proxy::convert::timestamp(at));
            m
        })
        .collect();
    let answer = stack
        .client
        .send_message(request(v2::SendMessageRequest { messages: delayed }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(answer.status.as_ref()), Code::Ok, "{answer:?}");
    let ids: Vec<&str> = answer
        .entries
        .iter()
        .map(|e| e.message_id.as_str())
        .collect();
    assert_eq!(ids, ["ID-D0", "ID-D1"]);
    stack.stop().await;
}
