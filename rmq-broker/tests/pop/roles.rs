//! Where POP state does not live: on a slave, as Apache's slave answers it (a slave cannot
//! store pop checkpoints, so its pops find nothing, POLLING_TIMEOUT after the poll time, its
//! acks change nothing and its invisible-time changes are refused; the master's messages stay
//! for the master's pops), and for a deleted topic or group (dropped from popState.json).

use std::time::{Duration, Instant};

use rmq_remoting::header::broker::{
    ChangeInvisibleTimeRequestHeader, DeleteSubscriptionGroupRequestHeader,
    DeleteTopicRequestHeader,
};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use crate::common::{eventually, name_server, BrokerProcess, Caller};
use crate::support::*;

#[tokio::test]
async fn a_slave_pops_nothing_and_leaves_the_messages_to_its_master() {
    let ns = name_server().await;
    let master = BrokerProcess::start(&ns, BROKER, &[]);
    let slave = BrokerProcess::slave(&ns, BROKER, &[]);
    let m = Caller::new(master.addr().to_owned());
    let s = Caller::new(slave.addr().to_owned());
    setup(&m, "PopSlave", &["s0", "s1"]).await;
    eventually(
        Duration::from_secs(20),
        "the slave has the topic",
        || async {
            let answer = s.call(pop_request("PopSlave", 60_000, 0)).await;
            (answer.code != ResponseCode::TOPIC_NOT_EXIST.as_i32()).then_some(())
        },
    )
    .await;
    let began = Instant::now();
    let answer = s.call(pop_request("PopSlave", 60_000, 500)).await;
    assert_eq!(
        answer.code,
        ResponseCode::POLLING_TIMEOUT.as_i32(),
        "{:?}",
        answer.remark
    );
    assert_eq!(answer.remark.as_deref(), Some("NO_MESSAGE_IN_QUEUE"));
    assert!(
        began.elapsed() >= Duration::from_millis(450),
        "held for its poll time"
    );

    let popped = pop_until(&m, "PopSlave", 60_000, 2, Duration::from_secs(5)).await;
    assert_eq!(
        bodies(&popped),
        expected(&["s0", "s1"]),
        "the master has them all"
    );
    let change = s
        .call(RemotingCommand::request(
            RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
            &ChangeInvisibleTimeRequestHeader {
                consumer_group: GROUP.into(),
                topic: "PopSlave".into(),
                queue_id: popped[0].queue_id,
                extra_info: popped[0].receipt.to_string(),
                offset: popped[0].offset,
                invisible_time: 1000,
                bname: None,
            },
        ))
        .await;
    assert_eq!(change.code, ResponseCode::SYSTEM_ERROR.as_i32());
    ack(&s, &popped[0]).await;
}

#[tokio::test]
async fn the_pop_state_of_a_deleted_topic_or_group_is_dropped() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(&namesrv, dir.path());
    let c = Caller::new(broker.addr.clone());
    setup(&c, "PopGone", &["g0", "g1"]).await;
    setup(&c, "PopStays", &["k0"]).await;
    assert_eq!(
        pop_until(&c, "PopGone", 60_000, 2, Duration::from_secs(5))
            .await
            .len(),
        2
    );
    assert_eq!(
        pop_until(&c, "PopStays", 60_000, 1, Duration::from_secs(5))
            .await
            .len(),
        1
    );
    let state = dir.path().join("config").join("popState.json");
    let holds = |topic: &'static str| {
        let state = state.clone();
        move || {
            let text = std::fs::read_to_string(&state).unwrap_or_default();
            text.contains(&format!("\"topic\":\"{topic}\""))
                || text.contains(&format!("\"topic\": \"{topic}\""))
        }
    };
    let gone = holds("PopGone");
    eventually(Duration::from_secs(5), "popState.json written", || async {
        gone().then_some(())
    })
    .await;
    c.ok(RemotingCommand::request(
        RequestCode::DELETE_TOPIC_IN_BROKER,
        &DeleteTopicRequestHeader {
            topic: "PopGone".into(),
        },
    ))
    .await;
    eventually(
        Duration::from_secs(5),
        "PopGone's state dropped",
        || async { (!gone()).then_some(()) },
    )
    .await;
    assert!(holds("PopStays")(), "another topic's state stays");
    c.ok(RemotingCommand::request(
        RequestCode::DELETE_SUBSCRIPTIONGROUP,
        &DeleteSubscriptionGroupRequestHeader {
            group_name: GROUP.into(),
            clean_offset: None,
        },
    ))
    .await;
    let stays = holds("PopStays");
    eventually(
        Duration::from_secs(5),
        "the group's state dropped",
        || async { (!stays()).then_some(()) },
    )
    .await;
}
