//! The POP requests beside pop, ack and change on the real `mqbroker` over TCP: BATCH_ACK_MESSAGE
//! (the bit-set body Apache's client and proxy send), PEEK_MESSAGE, NOTIFICATION (long polling,
//! FIFO blocking) and POLLING_INFO (parked requests counted). Messages are counted as multisets: a duplicate shows.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rmq_remoting::body::pop::{BatchAck, BatchAckMessageRequestBody};
use rmq_remoting::body::stats::SubscriptionGroupConfig;
use rmq_remoting::fastjson::{to_vec, KeyStyle};
use rmq_remoting::header::broker::{
    GetSubscriptionGroupConfigRequestHeader, NotificationRequestHeader, NotificationResponseHeader,
    PeekMessageRequestHeader, PollingInfoRequestHeader, PollingInfoResponseHeader,
    PopMessageResponseHeader,
};
use rmq_remoting::message::decode_record;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use crate::common::{create_topic, eventually, name_server, send_message, Caller};
use crate::support::*;

/// Java's `MQClientAPIImpl.batchAckMessageAsync`: receipts merged per (retry, queue, pop), one
/// bit per acked offset from the pop's start offset.
fn batch_ack_request(topic: &str, acked: &[&Popped]) -> RemotingCommand {
    let mut merged: BTreeMap<(String, i32, i64, i64), BatchAck> = BTreeMap::new();
    for m in acked {
        let r = &m.receipt;
        let key = (r.retry.clone(), r.queue_id, r.ck_queue_offset, r.pop_time);
        merged
            .entry(key)
            .or_insert_with(|| BatchAck {
                consumer_group: GROUP.into(),
                topic: topic.into(),
                retry: r.retry.clone(),
                start_offset: r.ck_queue_offset,
                queue_id: r.queue_id,
                revive_queue_id: r.revive_qid,
                pop_time: r.pop_time,
                invisible_time: r.invisible_time,
                bit_set: Vec::new(),
            })
            .set(m.offset);
    }
    let body = BatchAckMessageRequestBody {
        broker_name: Some(BROKER.into()),
        acks: merged.into_values().collect(),
    };
    let mut request = RemotingCommand::request_without_header(RequestCode::BATCH_ACK_MESSAGE);
    request.body = to_vec(&body, KeyStyle::Fastjson).into();
    request
}

#[tokio::test]
async fn batch_ack_acks_every_offset_of_its_bit_sets_and_nothing_else() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    let names = ["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"];
    setup(&c, "PopBatch", &names).await;

    let first = pop_until(&c, "PopBatch", 1500, 8, Duration::from_secs(5)).await;
    assert_eq!(bodies(&first), expected(&names));
    let (keep, done): (Vec<_>, Vec<_>) =
        first.iter().partition(|m| m.body == "b1" || m.body == "b6");
    c.ok(batch_ack_request("PopBatch", &done)).await;

    let again = pop_until(&c, "PopBatch", 1500, 2, Duration::from_secs(8)).await;
    let kept: Vec<Popped> = keep.into_iter().cloned().collect();
    assert_eq!(bodies(&again), bodies(&kept), "only the unacked come back");
    assert!(again
        .iter()
        .all(|m| m.reconsume_times == 1 && m.receipt.retry == "1"));
    // A stale batch (the first pop's receipts) acks nothing that came back since.
    let stale: Vec<&Popped> = first.iter().filter(|m| m.body == "b1").collect();
    c.ok(batch_ack_request("PopBatch", &stale)).await;
    let twice = pop_until(&c, "PopBatch", 60_000, 2, Duration::from_secs(8)).await;
    assert_eq!(
        bodies(&twice),
        bodies(&kept),
        "a stale batch ack changed nothing"
    );
    assert!(twice.iter().all(|m| m.reconsume_times == 2));
    // Retried messages are batch-acked with the normal topic and retry mark 1.
    let retried: Vec<&Popped> = twice.iter().collect();
    c.ok(batch_ack_request("PopBatch", &retried)).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(pop(&c, "PopBatch", 1500, 0).await.is_empty(), "all acked");

    let empty = c
        .call(RemotingCommand::request_without_header(
            RequestCode::BATCH_ACK_MESSAGE,
        ))
        .await;
    assert_eq!(
        empty.code,
        ResponseCode::NO_MESSAGE.as_i32(),
        "Apache's answer to no acks"
    );
}

fn peek_request(topic: &str, max: i32) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::PEEK_MESSAGE,
        &PeekMessageRequestHeader {
            consumer_group: GROUP.into(),
            topic: topic.into(),
            queue_id: -1,
            max_msg_nums: max,
            bname: Some(BROKER.into()),
        },
    )
}

fn peeked(response: &RemotingCommand) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    let mut rest = &response.body[..];
    while !rest.is_empty() {
        let record = decode_record(rest, true).unwrap();
        *counts
            .entry(String::from_utf8(record.body.to_vec()).unwrap())
            .or_default() += 1;
        rest = &rest[record.total_size as usize..];
    }
    counts
}

#[tokio::test]
async fn peek_shows_what_a_pop_would_take_without_taking_it() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    setup(&c, "PopPeek", &["p0", "p1", "p2"]).await;

    let first = c.ok(peek_request("PopPeek", 32)).await;
    assert_eq!(first.remark.as_deref(), Some("FOUND"));
    assert_eq!(peeked(&first), expected(&["p0", "p1", "p2"]));
    let h: PopMessageResponseHeader = first.decode_header().unwrap();
    assert_eq!(h.rest_num, 3);
    assert_eq!(peeked(&c.ok(peek_request("PopPeek", 2)).await).len(), 2);
    assert_eq!(
        peeked(&c.ok(peek_request("PopPeek", 32)).await),
        expected(&["p0", "p1", "p2"]),
        "a peek hides nothing"
    );
    let popped = pop_until(&c, "PopPeek", 60_000, 3, Duration::from_secs(5)).await;
    assert_eq!(bodies(&popped), expected(&["p0", "p1", "p2"]));
    let after = c.call(peek_request("PopPeek", 32)).await;
    assert_eq!(after.code, ResponseCode::PULL_NOT_FOUND.as_i32());
    assert_eq!(after.remark.as_deref(), Some("NO_MESSAGE_IN_QUEUE"));
    let unknown = c.call(peek_request("NoSuchTopic", 32)).await;
    assert_eq!(unknown.code, ResponseCode::TOPIC_NOT_EXIST.as_i32());
}

fn notification_request(topic: &str, queue_id: i32, poll_ms: i64, order: bool) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::NOTIFICATION,
        &NotificationRequestHeader {
            consumer_group: GROUP.into(),
            topic: topic.into(),
            queue_id,
            poll_time: poll_ms,
            born_time: now_ms(),
            order: Some(order),
            attempt_id: None,
            bname: Some(BROKER.into()),
        },
    )
}

async fn has_msg(c: &Caller, request: RemotingCommand) -> bool {
    let h: NotificationResponseHeader = c.ok(request).await.decode_header().unwrap();
    assert!(!h.polling_full);
    h.has_msg
}

async fn polling_num(c: &Caller, topic: &str, queue_id: i32) -> i32 {
    let response = c
        .ok(RemotingCommand::request(
            RequestCode::POLLING_INFO,
            &PollingInfoRequestHeader {
                consumer_group: GROUP.into(),
                topic: topic.into(),
                queue_id,
                bname: None,
            },
        ))
        .await;
    let h: PollingInfoResponseHeader = response.decode_header().unwrap();
    h.polling_num
}

#[tokio::test]
async fn notification_waits_for_a_message_and_polling_info_counts_the_waiters() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    c.ok(create_topic("PopNotify", 2)).await;
    assert!(!has_msg(&c, notification_request("PopNotify", -1, 0, false)).await);
    assert_eq!(polling_num(&c, "PopNotify", -1).await, 0);

    let waiter = Caller::new(broker.addr.clone());
    let began = Instant::now();
    let parked = tokio::spawn(async move {
        has_msg(&waiter, notification_request("PopNotify", -1, 5000, false)).await
    });
    eventually(
        Duration::from_secs(3),
        "the notification parked",
        || async { (polling_num(&c, "PopNotify", -1).await == 1).then_some(()) },
    )
    .await;
    c.ok(send_message("PopNotify", 1, b"n".to_vec(), now_ms()))
        .await;
    assert!(parked.await.unwrap(), "woken with hasMsg");
    assert!(
        began.elapsed() < Duration::from_millis(4000),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(
        polling_num(&c, "PopNotify", -1).await,
        0,
        "no longer parked"
    );

    // A parked pop is counted too, under its queue id.
    let popper = Caller::new(broker.addr.clone());
    let pop_parked = tokio::spawn(async move {
        let mut request = pop_request("PopNotify", 60_000, 1500);
        request.ext_fields.insert("queueId".into(), "0".into());
        pop_with(&popper, "PopNotify", request).await
    });
    eventually(Duration::from_secs(3), "the pop parked", || async {
        (polling_num(&c, "PopNotify", 0).await == 1).then_some(())
    })
    .await;
    assert!(pop_parked.await.unwrap().is_empty(), "queue 0 has nothing");

    // FIFO: a queue blocked by the group's orderly pop has nothing to notify.
    let mut fifo = pop_request("PopNotify", 60_000, 0);
    fifo.ext_fields.insert("order".into(), "true".into());
    fifo.ext_fields.insert("queueId".into(), "1".into());
    assert_eq!(
        bodies(&pop_with(&c, "PopNotify", fifo).await),
        expected(&["n"])
    );
    c.ok(send_message("PopNotify", 1, b"n2".to_vec(), now_ms()))
        .await;
    assert!(!has_msg(&c, notification_request("PopNotify", 1, 0, true)).await);
    assert!(has_msg(&c, notification_request("PopNotify", 1, 0, false)).await);
}

#[tokio::test]
async fn a_groups_settings_are_answered_as_apaches_proxy_reads_them_before_popping() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    let get = |group: &str| {
        RemotingCommand::request(
            RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG,
            &GetSubscriptionGroupConfigRequestHeader {
                group: group.into(),
            },
        )
    };
    let created: SubscriptionGroupConfig =
        rmq_remoting::fastjson::from_slice(&c.ok(get("fresh-group")).await.body).unwrap();
    assert_eq!(created.group_name, "fresh-group", "created on first ask");
    assert_ne!(created.consume_message_orderly, Some(true));
    let orderly = SubscriptionGroupConfig {
        group_name: "orderly-group".into(),
        consume_message_orderly: Some(true),
        retry_max_times: 2,
        ..created
    };
    let mut update =
        RemotingCommand::request_without_header(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP);
    update.body = to_vec(&orderly, KeyStyle::Fastjson).into();
    c.ok(update).await;
    let read: SubscriptionGroupConfig =
        rmq_remoting::fastjson::from_slice(&c.ok(get("orderly-group")).await.body).unwrap();
    assert_eq!(read.consume_message_orderly, Some(true));
    assert_eq!(read.retry_max_times, 2);
}
