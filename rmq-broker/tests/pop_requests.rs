//! The POP requests beside pop, ack and change on the real `mqbroker` over TCP: BATCH_ACK_MESSAGE
//! (the bit-set body Apache's client and proxy send), PEEK_MESSAGE, NOTIFICATION and
//! POLLING_INFO. Messages are counted as multisets: a duplicate shows.

use std::collections::BTreeMap;
use std::time::Duration;

use rmq_remoting::body::pop::{BatchAck, BatchAckMessageRequestBody};
use rmq_remoting::fastjson::{to_vec, KeyStyle};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

mod common;
mod pop_support;
use common::{name_server, Caller};
use pop_support::*;

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
