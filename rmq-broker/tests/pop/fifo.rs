//! FIFO (orderly) POP on the real `mqbroker` over TCP: a queue with messages in flight for the
//! group is not popped again until they are acked or visible again; an unacked message comes
//! back from the same queue (not the retry topic) with its count in `orderCountInfo` plus one;
//! an orderly CHANGE_MESSAGE_INVISIBLETIME holds the queue longer; the state survives a restart.

use std::time::{Duration, Instant};

use rmq_remoting::header::broker::{
    ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader, PopMessageResponseHeader,
};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use crate::common::{create_topic, name_server, send_message, Caller};
use crate::support::*;

const TOPIC: &str = "PopFifo";

/// An orderly pop of `queue_id` (-1: every queue), as Apache's client sends it.
async fn pop_fifo(
    c: &Caller,
    queue_id: i32,
    max: i32,
    invisible_ms: i64,
) -> (Vec<Popped>, PopMessageResponseHeader) {
    let mut request = pop_request(TOPIC, invisible_ms, 0);
    request.ext_fields.insert("order".into(), "true".into());
    request
        .ext_fields
        .insert("queueId".into(), queue_id.to_string());
    request
        .ext_fields
        .insert("maxMsgNums".into(), max.to_string());
    pop_answer(c, TOPIC, request).await
}

fn names(messages: &[Popped]) -> Vec<String> {
    messages.iter().map(|m| m.body.clone()).collect()
}

/// The delivery count `orderCountInfo` gives a message (Java's client reads `qo{queue}%{offset}`
/// first, then the queue's entry).
fn count(h: &PopMessageResponseHeader, m: &Popped) -> i32 {
    let info = h.order_count_info.clone().unwrap_or_default();
    let by_offset = format!("0 qo{}%{} ", m.queue_id, m.offset);
    let by_queue = format!("0 {} ", m.queue_id);
    let find = |prefix: &str| {
        info.split(';')
            .find_map(|one| one.strip_prefix(prefix).map(|n| n.parse::<i32>().unwrap()))
    };
    find(&by_offset).or_else(|| find(&by_queue)).unwrap()
}

async fn change_fifo(
    c: &Caller,
    m: &Popped,
    invisible_ms: i64,
) -> ChangeInvisibleTimeResponseHeader {
    let response = c
        .ok(RemotingCommand::request(
            RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
            &ChangeInvisibleTimeRequestHeader {
                consumer_group: GROUP.into(),
                topic: m.ack_topic.clone(),
                queue_id: m.queue_id,
                extra_info: m.receipt.to_string(),
                offset: m.offset,
                invisible_time: invisible_ms,
                bname: Some(BROKER.into()),
            },
        ))
        .await;
    response.decode_header().unwrap()
}

#[tokio::test]
async fn a_fifo_queue_is_consumed_in_order_one_pop_at_a_time() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    c.ok(create_topic(TOPIC, 2)).await;
    for body in ["a0", "a1", "a2", "a3", "a4"] {
        c.ok(send_message(TOPIC, 0, body.as_bytes().to_vec(), now_ms()))
            .await;
    }
    c.ok(send_message(TOPIC, 1, b"b0".to_vec(), now_ms())).await;

    let (first, h) = pop_fifo(&c, 0, 2, 1500).await;
    assert_eq!(names(&first), ["a0", "a1"]);
    assert_eq!(h.revive_qid, 999, "Apache's orderly revive queue");
    assert!(first.iter().all(|m| count(&h, m) == 0));
    assert!(pop_fifo(&c, 0, 2, 1500).await.0.is_empty(), "blocked");
    let (other, _) = pop_fifo(&c, -1, 32, 1500).await;
    assert_eq!(names(&other), ["b0"], "the other queue is not blocked");
    ack(&c, &first[1]).await;
    assert!(
        pop_fifo(&c, 0, 2, 1500).await.0.is_empty(),
        "a0 still in flight"
    );
    ack(&c, &first[0]).await;

    let (second, _) = pop_fifo(&c, 0, 2, 1500).await;
    assert_eq!(names(&second), ["a2", "a3"], "in order, after the acks");
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let (again, h) = pop_fifo(&c, 0, 2, 1500).await;
    assert_eq!(names(&again), ["a2", "a3"], "the same messages, same queue");
    for m in &again {
        assert_eq!(m.receipt.retry, "0", "not through the retry topic");
        assert_eq!(count(&h, m), 1, "delivered once before: {h:?}");
    }

    let changed = change_fifo(&c, &again[0], 3000).await;
    assert_eq!(
        changed.pop_time, again[0].receipt.pop_time,
        "orderly receipts keep their pop time"
    );
    assert!(changed.invisible_time >= 3000);
    ack(&c, &again[1]).await;
    let began = Instant::now();
    assert!(
        pop_fifo(&c, 0, 2, 1500).await.0.is_empty(),
        "a2 held by its change"
    );
    // A stale receipt (a2's first delivery) acks nothing.
    ack(&c, &second[0]).await;
    assert!(pop_fifo(&c, 0, 2, 1500).await.0.is_empty());
    let back = pop_until_fifo(&c, Duration::from_secs(6)).await;
    assert!(
        began.elapsed() >= Duration::from_millis(2500),
        "{:?}",
        began.elapsed()
    );
    // The queue is read again from the group's offset, a2: a3 (acked) comes with it, as
    // Apache's broker redelivers it (docs/pop.md).
    assert_eq!(names(&back.0), ["a2", "a3"]);
    assert!(
        back.0.iter().all(|m| count(&back.1, m) == 2),
        "{:?}",
        back.1
    );
    for m in &back.0 {
        ack(&c, m).await;
    }

    let (last, _) = pop_fifo(&c, 0, 2, 60_000).await;
    assert_eq!(names(&last), ["a4"]);
    let mut unknown = last[0].clone();
    unknown.offset = 99;
    let bad = c
        .call(RemotingCommand::request(
            RequestCode::ACK_MESSAGE,
            &rmq_remoting::header::broker::AckMessageRequestHeader {
                consumer_group: GROUP.into(),
                topic: TOPIC.into(),
                queue_id: 0,
                extra_info: unknown.receipt.to_string(),
                offset: 99,
                bname: None,
            },
        ))
        .await;
    assert_eq!(
        bad.code,
        ResponseCode::MESSAGE_ILLEGAL.as_i32(),
        "{:?}",
        bad.remark
    );

    // The orderly state survives a restart: a4 stays in flight, then its receipt acks it.
    broker
        .stop(Duration::from_secs(10))
        .expect("broker stopped");
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    assert!(
        pop_fifo(&c, 0, 2, 1500).await.0.is_empty(),
        "still blocked after a restart"
    );
    ack(&c, &last[0]).await;
    c.ok(send_message(TOPIC, 0, b"a5".to_vec(), now_ms())).await;
    let (after, _) = pop_fifo(&c, 0, 32, 1500).await;
    assert_eq!(names(&after), ["a5"], "nothing acked comes back");
}

async fn pop_until_fifo(c: &Caller, limit: Duration) -> (Vec<Popped>, PopMessageResponseHeader) {
    let deadline = Instant::now() + limit;
    loop {
        let got = pop_fifo(c, 0, 2, 60_000).await;
        if !got.0.is_empty() || Instant::now() >= deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
