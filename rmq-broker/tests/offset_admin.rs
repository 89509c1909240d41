//! Offset requests of `mqadmin` against a real `mqbroker`.
//!
//! SEARCH_OFFSET_BY_TIMESTAMP with 5.x's `boundaryType`: for every stored message's time, the
//! time between two messages, and times before and after all of them, LOWER is the first offset
//! stored at or after the time and UPPER the last one stored at or before it (0 when none is),
//! as Apache's ConsumeQueue answers.
//!
//! CLONE_GROUP_OFFSET (`cloneGroupOffset`): a group starts where another one is, for one topic
//! or for every topic the source has offsets in.

use std::time::Duration;

use rmq_remoting::header::broker::{
    BoundaryType, OffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use rmq_remoting::message::decode_record;
use rmq_remoting::{RemotingCommand, RequestCode};

mod common;
use common::{create_topic, name_server, pull_message, send_message, BrokerProcess, Caller};

const TOPIC: &str = "ByTime";

fn search(timestamp: i64, boundary: Option<BoundaryType>) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::SEARCH_OFFSET_BY_TIMESTAMP,
        &SearchOffsetRequestHeader {
            topic: TOPIC.into(),
            queue_id: 0,
            timestamp,
            boundary_type: boundary,
            bname: None,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lower_and_upper_boundaries_bracket_every_time() {
    let ns = name_server().await;
    let broker = BrokerProcess::start(&ns, "broker-a", &[]);
    let caller = Caller::new(broker.addr());
    caller.ok(create_topic(TOPIC, 1)).await;
    // Pairs sent back to back (often the same millisecond), pairs apart.
    for pair in 0..3 {
        for i in 0..2 {
            caller
                .ok(send_message(
                    TOPIC,
                    0,
                    format!("{pair}-{i}").into_bytes(),
                    0,
                ))
                .await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pulled = caller.ok(pull_message("g", TOPIC, 0, 0)).await;
    let mut times = Vec::new();
    let mut rest = &pulled.body[..];
    while !rest.is_empty() {
        let record = decode_record(rest, true).unwrap();
        times.push(record.store_timestamp);
        rest = &rest[record.total_size as usize..];
    }
    assert_eq!(times.len(), 6);

    let lower_model = |t: i64| times.iter().position(|s| *s >= t).unwrap_or(times.len()) as i64;
    let upper_model = |t: i64| times.iter().rposition(|s| *s <= t).map_or(0, |i| i as i64);
    let mut probes: Vec<i64> = times.clone();
    probes.extend(times.iter().map(|t| t + 1));
    probes.extend([0, times[0] - 1, times[5] + 86_400_000]);
    for t in probes {
        let at = |boundary| {
            let request = search(t, boundary);
            async {
                let answer: OffsetResponseHeader =
                    caller.ok(request).await.decode_header().unwrap();
                answer.offset
            }
        };
        assert_eq!(
            at(None).await,
            lower_model(t),
            "default at {t}, times {times:?}"
        );
        assert_eq!(
            at(Some(BoundaryType::Lower)).await,
            lower_model(t),
            "LOWER at {t}, times {times:?}"
        );
        assert_eq!(
            at(Some(BoundaryType::Upper)).await,
            upper_model(t),
            "UPPER at {t}, times {times:?}"
        );
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct CloneGroupOffsetHeader {
    src_group: String,
    dest_group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic: Option<String>,
    offline: bool,
}

fn clone_offsets(src: &str, dest: &str, topic: Option<&str>) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::CLONE_GROUP_OFFSET,
        &CloneGroupOffsetHeader {
            src_group: src.into(),
            dest_group: dest.into(),
            topic: topic.map(str::to_owned),
            offline: true,
        },
    )
}

fn commit(group: &str, topic: &str, queue_id: i32, offset: i64) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id,
            commit_offset: offset,
            bname: None,
        },
    )
}

/// What QUERY_CONSUMER_OFFSET answers for the group (None for QUERY_NOT_FOUND; a queue whose
/// messages are all still in memory answers 0 for a group without an offset, as Apache does).
async fn committed(caller: &Caller, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
    let answer = caller
        .call(RemotingCommand::request(
            RequestCode::QUERY_CONSUMER_OFFSET,
            &QueryConsumerOffsetRequestHeader {
                consumer_group: group.into(),
                topic: topic.into(),
                queue_id,
                set_zero_if_not_found: Some(false),
                bname: None,
            },
        ))
        .await;
    (answer.code == 0).then(|| {
        answer
            .decode_header::<OffsetResponseHeader>()
            .unwrap()
            .offset
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_starts_where_another_is() {
    let ns = name_server().await;
    let broker = BrokerProcess::start(&ns, "broker-a", &[]);
    let caller = Caller::new(broker.addr());
    for (topic, queues) in [("Orders", 2), ("Audit", 1)] {
        caller.ok(create_topic(topic, queues)).await;
        for queue in 0..queues {
            for i in 0..4 {
                caller
                    .ok(send_message(topic, queue, format!("{i}").into_bytes(), 0))
                    .await;
            }
        }
    }
    for (topic, queue, offset) in [("Orders", 0, 3), ("Orders", 1, 1), ("Audit", 0, 2)] {
        caller.ok(commit("src", topic, queue, offset)).await;
    }
    // One topic.
    caller.ok(clone_offsets("src", "one", Some("Orders"))).await;
    assert_eq!(committed(&caller, "one", "Orders", 0).await, Some(3));
    assert_eq!(committed(&caller, "one", "Orders", 1).await, Some(1));
    assert_ne!(
        committed(&caller, "one", "Audit", 0).await,
        Some(2),
        "Audit was not asked for"
    );

    // Every topic of the source that the broker has.
    caller.ok(clone_offsets("src", "all", None)).await;
    assert_eq!(committed(&caller, "all", "Orders", 0).await, Some(3));
    assert_eq!(committed(&caller, "all", "Orders", 1).await, Some(1));
    assert_eq!(committed(&caller, "all", "Audit", 0).await, Some(2));
    // The source is untouched.
    assert_eq!(committed(&caller, "src", "Orders", 0).await, Some(3));
}
