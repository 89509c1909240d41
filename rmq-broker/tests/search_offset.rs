//! SEARCH_OFFSET_BY_TIMESTAMP with 5.x's `boundaryType` against a real `mqbroker`: for every
//! stored message's time, the time between two messages, and times before and after all of
//! them, LOWER is the first offset stored at or after the time and UPPER the last one stored at
//! or before it (0 when none is), as Apache's ConsumeQueue answers.

use std::time::Duration;

use rmq_remoting::header::broker::{BoundaryType, OffsetResponseHeader, SearchOffsetRequestHeader};
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
