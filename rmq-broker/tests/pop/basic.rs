//! 5.x POP on the real `mqbroker` binary over TCP: pop and ack, redelivery through the pop retry
//! topic after the invisible time with the reconsume count plus one, changing the invisible
//! time, pop state across a restart, the dead-letter queue the way Apache's proxy sends a
//! message there, and long polling. Messages are counted as multisets: a duplicate shows.

use std::time::{Duration, Instant};

use rmq_remoting::header::broker::{AckMessageRequestHeader, ConsumerSendMsgBackRequestHeader};
use rmq_remoting::message::decode_record;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use crate::common::{create_topic, name_server, pull_message, send_message, Caller};
use crate::support::*;

#[tokio::test]
async fn popped_messages_stay_hidden_until_acked_or_their_invisible_time_passes() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    let names = ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"];
    setup(&c, "PopT", &names).await;

    let first = pop_until(&c, "PopT", 2000, 8, Duration::from_secs(5)).await;
    assert_eq!(bodies(&first), expected(&names));
    assert!(first.iter().all(|m| m.reconsume_times == 0));
    assert!(pop(&c, "PopT", 2000, 0).await.is_empty(), "all are hidden");
    let (keep, done): (Vec<_>, Vec<_>) = first
        .into_iter()
        .partition(|m| m.body == "m2" || m.body == "m5");
    for m in &done {
        ack(&c, m).await;
    }

    let again = pop_until(&c, "PopT", 60_000, 2, Duration::from_secs(8)).await;
    assert_eq!(bodies(&again), bodies(&keep), "only the unacked come back");
    for m in &again {
        assert_eq!(m.reconsume_times, 1, "{m:?}");
        assert_eq!(
            m.receipt.retry, "1",
            "redelivered through the pop retry topic"
        );
        ack(&c, m).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        pop(&c, "PopT", 2000, 0).await.is_empty(),
        "acked messages stay gone"
    );
}

#[tokio::test]
async fn a_changed_invisible_time_holds_the_message_back_and_stale_receipts_change_nothing() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    setup(&c, "PopChange", &["only"]).await;

    let popped = pop_until(&c, "PopChange", 1000, 1, Duration::from_secs(5)).await;
    assert_eq!(bodies(&popped), expected(&["only"]));
    let changed = change(&c, &popped[0], 4000).await;
    ack(&c, &popped[0]).await; // the old receipt: no longer the message's
    let began = Instant::now();
    let back = pop_until(&c, "PopChange", 60_000, 1, Duration::from_secs(10)).await;
    assert_eq!(bodies(&back), expected(&["only"]));
    assert!(
        began.elapsed() >= Duration::from_millis(3000),
        "came back after {:?}, before its new invisible time",
        began.elapsed()
    );
    assert_eq!(back[0].reconsume_times, 1);
    drop(changed);
}

#[tokio::test]
async fn pop_state_survives_a_restart() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    setup(&c, "PopRestart", &["a", "b", "c", "d"]).await;
    let popped = pop_until(&c, "PopRestart", 4000, 4, Duration::from_secs(5)).await;
    assert_eq!(bodies(&popped), expected(&["a", "b", "c", "d"]));
    for m in popped.iter().filter(|m| m.body != "c") {
        ack(&c, m).await;
    }
    broker
        .stop(Duration::from_secs(10))
        .expect("broker stopped");

    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    c.ok(send_message("PopRestart", 0, b"e".to_vec(), now_ms()))
        .await;
    let after = pop_until(&c, "PopRestart", 60_000, 2, Duration::from_secs(10)).await;
    assert_eq!(
        bodies(&after),
        expected(&["c", "e"]),
        "acked messages stay acked, popped ones are not popped again before their time"
    );
    let c_again = after.iter().find(|m| m.body == "c").unwrap();
    assert_eq!(c_again.reconsume_times, 1);
}

#[tokio::test]
async fn a_message_past_its_attempts_goes_to_the_dead_letter_queue_as_apaches_proxy_sends_it() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    setup(&c, "PopDlq", &["doomed"]).await;
    let first = pop_until(&c, "PopDlq", 500, 1, Duration::from_secs(5)).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].reconsume_times, 0);
    let mut m = first;
    for attempt in 1..=2 {
        m = pop_until(&c, "PopDlq", 500, 1, Duration::from_secs(8)).await;
        assert_eq!(bodies(&m), expected(&["doomed"]));
        assert_eq!(m[0].reconsume_times, attempt);
    }
    // maxAttempts 3 reached: the proxy sends the message back with delayLevel -1, then acks.
    let pull = c
        .ok(pull_message(
            GROUP,
            &m[0].ack_topic,
            m[0].queue_id,
            m[0].offset,
        ))
        .await;
    let commit_log_offset = decode_record(&pull.body, false).unwrap().physical_offset;
    c.ok(RemotingCommand::request(
        RequestCode::CONSUMER_SEND_MSG_BACK,
        &ConsumerSendMsgBackRequestHeader {
            offset: commit_log_offset,
            group: GROUP.into(),
            delay_level: -1,
            origin_msg_id: None,
            origin_topic: Some("PopDlq".into()),
            unit_mode: false,
            max_reconsume_times: Some(2),
            bname: None,
        },
    ))
    .await;
    ack(&c, &m[0]).await;
    let dlq = c
        .ok(pull_message(GROUP, &format!("%DLQ%{GROUP}"), 0, 0))
        .await;
    let dead = decode_record(&dlq.body, true).unwrap();
    assert_eq!(dead.body, b"doomed");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        pop(&c, "PopDlq", 500, 0).await.is_empty(),
        "acked after its move"
    );
}

#[tokio::test]
async fn a_pop_finding_nothing_waits_for_a_message_like_a_long_polling_pull() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    c.ok(create_topic("PopPoll", 4)).await;
    let began = Instant::now();
    assert!(pop(&c, "PopPoll", 5000, 600).await.is_empty());
    assert!(
        began.elapsed() >= Duration::from_millis(550),
        "held for its pollTime"
    );

    let sender = Caller::new(broker.addr.clone());
    let send = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        sender
            .ok(send_message("PopPoll", 2, b"late".to_vec(), now_ms()))
            .await;
    });
    let began = Instant::now();
    let got = pop(&c, "PopPoll", 5000, 4000).await;
    assert_eq!(bodies(&got), expected(&["late"]));
    assert!(
        began.elapsed() < Duration::from_millis(3000),
        "woken by the arrival after {:?}",
        began.elapsed()
    );
    send.await.unwrap();
}

#[tokio::test]
async fn malformed_pops_and_receipts_are_refused_with_apaches_codes() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    c.ok(create_topic("PopBad", 2)).await;
    let unknown = c.call(pop_request("NoSuchTopic", 1000, 0)).await;
    assert_eq!(unknown.code, ResponseCode::TOPIC_NOT_EXIST.as_i32());
    let mut too_many = pop_request("PopBad", 1000, 0);
    too_many.ext_fields.insert("maxMsgNums".into(), "33".into());
    assert_eq!(
        c.call(too_many).await.code,
        ResponseCode::INVALID_PARAMETER.as_i32()
    );
    let mut bad_queue = pop_request("PopBad", 1000, 0);
    bad_queue.ext_fields.insert("queueId".into(), "2".into());
    assert_eq!(
        c.call(bad_queue).await.code,
        ResponseCode::INVALID_PARAMETER.as_i32()
    );
    let garbage = c
        .call(RemotingCommand::request(
            RequestCode::ACK_MESSAGE,
            &AckMessageRequestHeader {
                consumer_group: GROUP.into(),
                topic: "PopBad".into(),
                queue_id: 0,
                extra_info: "not a receipt".into(),
                offset: 0,
                bname: None,
            },
        ))
        .await;
    assert_eq!(garbage.code, ResponseCode::MESSAGE_ILLEGAL.as_i32());
}
