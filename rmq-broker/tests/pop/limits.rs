//! POP's limits on the real `mqbroker` over TCP: Apache's in-flight limit per queue and group
//! (`enablePopMessageThreshold`, `popInflightMessageThreshold`) and POLLING_FULL when no more
//! requests may be parked (`maxPopPollingSize`).

use std::time::Duration;

use rmq_remoting::header::broker::{
    NotificationRequestHeader, NotificationResponseHeader, PopMessageResponseHeader,
};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use crate::common::{create_topic, name_server, send_message, Caller};
use crate::support::*;

fn one_at_a_time(topic: &str) -> RemotingCommand {
    let mut request = pop_request(topic, 60_000, 0);
    request.ext_fields.insert("maxMsgNums".into(), "1".into());
    request
}

#[tokio::test]
async fn a_queue_with_too_many_messages_in_flight_is_not_popped_until_some_are_acked() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start_with(
        &namesrv,
        dir.path(),
        &[
            "--enablePopMessageThreshold",
            "true",
            "--popInflightMessageThreshold",
            "2",
        ],
    );
    let c = Caller::new(broker.addr.clone());
    c.ok(create_topic("PopInflight", 1)).await;
    for body in ["i0", "i1", "i2", "i3", "i4"] {
        c.ok(send_message(
            "PopInflight",
            0,
            body.as_bytes().to_vec(),
            now_ms(),
        ))
        .await;
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        got.extend(pop_with(&c, "PopInflight", one_at_a_time("PopInflight")).await);
    }
    assert_eq!(bodies(&got), expected(&["i0", "i1", "i2"]));
    let (none, h) = pop_answer(&c, "PopInflight", one_at_a_time("PopInflight")).await;
    assert!(none.is_empty(), "3 in flight > threshold 2: {none:?}");
    assert_eq!(h.rest_num, 2, "the skipped queue's backlog is counted");
    ack(&c, &got[0]).await;
    let next = pop_with(&c, "PopInflight", one_at_a_time("PopInflight")).await;
    assert_eq!(
        bodies(&next),
        expected(&["i3"]),
        "popped again after an ack"
    );
}

#[tokio::test]
async fn requests_are_answered_polling_full_when_none_may_be_parked() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start_with(&namesrv, dir.path(), &["--maxPopPollingSize", "0"]);
    let c = Caller::new(broker.addr.clone());
    c.ok(create_topic("PopFull", 2)).await;
    let began = std::time::Instant::now();
    let full = c.call(pop_request("PopFull", 60_000, 5000)).await;
    assert_eq!(
        full.code,
        ResponseCode::POLLING_FULL.as_i32(),
        "{:?}",
        full.remark
    );
    let h: PopMessageResponseHeader = full.decode_header().unwrap();
    assert_eq!(h.rest_num, 0);
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "answered, not parked"
    );
    let notification = c
        .ok(RemotingCommand::request(
            RequestCode::NOTIFICATION,
            &NotificationRequestHeader {
                consumer_group: GROUP.into(),
                topic: "PopFull".into(),
                queue_id: -1,
                poll_time: 5000,
                born_time: now_ms(),
                order: None,
                attempt_id: None,
                bname: None,
            },
        ))
        .await;
    let h: NotificationResponseHeader = notification.decode_header().unwrap();
    assert!(h.polling_full && !h.has_msg);
    // A message already there is popped whatever the parking limit.
    c.ok(send_message("PopFull", 1, b"f".to_vec(), now_ms()))
        .await;
    assert_eq!(
        bodies(&pop(&c, "PopFull", 60_000, 5000).await),
        expected(&["f"])
    );
}
