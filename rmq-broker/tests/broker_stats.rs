//! The real `mqbroker` after known traffic (6 messages sent to 2 queues, all 6 pulled by one
//! group, one empty pull, 3 of them committed): GET_BROKER_RUNTIME_INFO counts exactly that,
//! VIEW_BROKER_STATS_DATA (315) reports it under Apache's stats names once the 10 s sampler has
//! run, and GET_CONSUME_STATS / GET_BROKER_CONSUME_STATS (317) show the rate, the pull offsets
//! and the backlog. Takes about 11 s: the first minute-window sample comes 10 s after start.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rmq_remoting::body::route::KvTable;
use rmq_remoting::body::stats::{BrokerStatsData, ConsumeStats, ConsumeStatsList};
use rmq_remoting::fastjson;
use rmq_remoting::header::broker::{
    GetConsumeStatsInBrokerHeader, GetConsumeStatsRequestHeader, UpdateConsumerOffsetRequestHeader,
    ViewBrokerStatsDataRequestHeader,
};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

mod common;
use common::{
    create_topic, eventually, name_server, pull_message, send_message, BrokerProcess, Caller,
};

const TOPIC: &str = "StatsTopic";
const GROUP: &str = "stats_group";
const SENT: i64 = 6;

/// The broker under test, asked through [`Caller`] and the stats requests below.
struct Broker(Caller);

impl std::ops::Deref for Broker {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

impl Broker {
    async fn runtime(&self) -> BTreeMap<String, String> {
        let info: KvTable = self
            .body(RemotingCommand::request_without_header(
                RequestCode::GET_BROKER_RUNTIME_INFO,
            ))
            .await;
        info.table
    }

    async fn stats(&self, name: &str, key: &str) -> RemotingCommand {
        self.call(RemotingCommand::request(
            RequestCode::VIEW_BROKER_STATS_DATA,
            &ViewBrokerStatsDataRequestHeader {
                stats_name: name.into(),
                stats_key: key.into(),
            },
        ))
        .await
    }

    /// 315's figures once the minute window holds `sum`.
    async fn minute_sum(&self, name: &str, key: &str, sum: i64) -> BrokerStatsData {
        eventually(
            Duration::from_secs(25),
            &format!("{name} {key} minute sum {sum}"),
            || async {
                let response = self.stats(name, key).await;
                assert_eq!(response.code, 0, "{name} {key}: {:?}", response.remark);
                let data: BrokerStatsData = fastjson::from_slice(&response.body).unwrap();
                (data.stats_minute.sum == sum).then_some(data)
            },
        )
        .await
    }

    async fn consume_stats(&self) -> ConsumeStats {
        self.body(RemotingCommand::request(
            RequestCode::GET_CONSUME_STATS,
            &GetConsumeStatsRequestHeader {
                consumer_group: GROUP.into(),
                topic: Some(TOPIC.into()),
                topic_list: None,
            },
        ))
        .await
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Rates over 10, 60 and 600 s: blank until sampled, numbers after.
fn spans(table: &BTreeMap<String, String>, key: &str) -> Vec<Option<f64>> {
    let spans: Vec<Option<f64>> = table[key]
        .split(' ')
        .map(|s| {
            (!s.is_empty()).then(|| {
                s.parse()
                    .unwrap_or_else(|e| panic!("{key} {:?}: {e}", table[key]))
            })
        })
        .collect();
    assert_eq!(spans.len(), 3, "{key}: {:?}", table[key]);
    spans
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_count_the_traffic_as_apache_does() {
    let namesrv = name_server().await;
    let process = BrokerProcess::start(&namesrv, "broker-stats", &[]);
    let b = Broker(Caller::new(process.addr()));
    b.ok(create_topic(TOPIC, 2)).await;
    for i in 0..SENT {
        let queue = (i % 2) as i32;
        b.ok(send_message(
            TOPIC,
            queue,
            format!("m{i}").into_bytes(),
            now_ms(),
        ))
        .await;
    }
    let mut pulled = 0;
    for queue in 0..2 {
        let found = b.call(pull_message(GROUP, TOPIC, queue, 0)).await;
        assert_eq!(
            found.code,
            ResponseCode::SUCCESS.as_i32(),
            "{:?}",
            found.remark
        );
        pulled += found.body.len();
    }
    let missed = b.call(pull_message(GROUP, TOPIC, 0, SENT / 2)).await;
    assert_eq!(missed.code, ResponseCode::PULL_NOT_FOUND.as_i32());
    b.ok(RemotingCommand::request(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: GROUP.into(),
            topic: TOPIC.into(),
            queue_id: 0,
            commit_offset: SENT / 2,
            bname: None,
        },
    ))
    .await;

    // Counted at once: the store's totals and the messages transferred.
    let t = b.runtime().await;
    assert_eq!(t["msgPutTotalTodayNow"], SENT.to_string());
    assert_eq!(t["putMessageTimesTotal"], SENT.to_string());
    assert_eq!(t["msgGetTotalTodayNow"], SENT.to_string());
    assert_eq!(t["putMessageFailedTimes"], "0");
    let size_total: i64 = t["putMessageSizeTotal"].parse().unwrap();
    assert_eq!(
        t["putMessageAverageSize"].parse::<f64>().unwrap(),
        size_total as f64 / SENT as f64
    );
    // Before midnight nothing is snapshotted; before a minute has passed no put-time
    // distribution exists (Apache writes "null").
    assert_eq!(t["msgGetTotalTodayMorning"], "0");
    assert_eq!(t["putMessageDistributeTime"], "null");
    assert_eq!(t["putLatency99"], "0.00");
    for key in [
        "sendThreadPoolQueueSize",
        "pullThreadPoolQueueSize",
        "queryThreadPoolQueueHeadWaitTimeMills",
        "EndTransactionQueueSize",
        "pageCacheLockTimeMills",
        "putMessageEntireTimeMax",
        "getMessageEntireTimeMax",
    ] {
        t[key]
            .parse::<u64>()
            .unwrap_or_else(|e| panic!("{key} {:?}: {e}", t[key]));
    }
    assert!(
        t["commitLogDirCapacity"].starts_with("Total : "),
        "{}",
        t["commitLogDirCapacity"]
    );

    // 315 after the sampler's first 10 s: the put and get counts under Apache's names and keys.
    let put = b.minute_sum("TOPIC_PUT_NUMS", TOPIC, SENT).await;
    assert!(put.stats_minute.tps > 0.0, "{put:?}");
    assert_eq!(put.stats_minute.avgpt, 1.0, "one send request per message");
    let put_size = b.minute_sum("TOPIC_PUT_SIZE", TOPIC, size_total).await;
    assert_eq!(put_size.stats_minute.avgpt, size_total as f64 / SENT as f64);
    let key = format!("{TOPIC}@{GROUP}");
    let get = b.minute_sum("GROUP_GET_NUMS", &key, SENT).await;
    assert_eq!(
        get.stats_minute.avgpt,
        SENT as f64 / 2.0,
        "two pulls found messages"
    );
    let get_size = b.minute_sum("GROUP_GET_SIZE", &key, size_total).await;
    assert_eq!(
        get_size.stats_minute.sum, pulled as i64,
        "bytes transferred"
    );
    let broker_put = b
        .minute_sum("BROKER_PUT_NUMS", "DefaultCluster", SENT)
        .await;
    assert_eq!(
        broker_put.stats_minute.avgpt, 0.0,
        "Apache counts no calls here"
    );
    b.minute_sum("BROKER_GET_NUMS", "DefaultCluster", SENT)
        .await;
    // GROUP_GET_LATENCY: one item per queue a pull found messages in, keyed queue@topic@group.
    for queue in 0..2 {
        let latency = b
            .stats("GROUP_GET_LATENCY", &format!("{queue}@{key}"))
            .await;
        assert_eq!(latency.code, 0, "queue {queue}: {:?}", latency.remark);
        let data: BrokerStatsData = fastjson::from_slice(&latency.body).unwrap();
        assert_eq!(
            data.stats_minute.avgpt, data.stats_minute.sum as f64,
            "one found pull"
        );
    }
    let never_found = b.stats("GROUP_GET_LATENCY", &format!("2@{key}")).await;
    assert_eq!(never_found.code, ResponseCode::SYSTEM_ERROR.as_i32());
    let unknown = b.stats("TOPIC_PUT_NUMS", "NoSuchTopic").await;
    assert_eq!(unknown.code, ResponseCode::SYSTEM_ERROR.as_i32());
    assert_eq!(
        unknown.remark.as_deref(),
        Some("The stats <TOPIC_PUT_NUMS> <NoSuchTopic> not exist")
    );

    // The group's rate and progress: 3 committed on queue 0 of 3, nothing on queue 1, both
    // queues pulled to their end.
    let progress = b.consume_stats().await;
    assert!(progress.consume_tps > 0.0, "{progress:?}");
    let queues: Vec<(i64, i64, i64)> = progress
        .offset_table
        .values()
        .map(|o| (o.broker_offset, o.consumer_offset, o.pull_offset))
        .collect();
    assert_eq!(queues, vec![(3, 3, 3), (3, 0, 3)]);

    let list: ConsumeStatsList = b
        .body(RemotingCommand::request(
            RequestCode::GET_BROKER_CONSUME_STATS,
            &GetConsumeStatsInBrokerHeader {
                is_order: Some(false),
            },
        ))
        .await;
    assert_eq!(list.broker_addr, b.addr);
    assert_eq!(list.total_diff, SENT / 2);
    let ours: Vec<&Vec<ConsumeStats>> = list
        .consume_stats_list
        .iter()
        .filter_map(|entry| entry.get(GROUP))
        .collect();
    assert_eq!(ours.len(), 1, "{list:?}");
    assert_eq!(ours[0].len(), 1);
    assert_eq!(ours[0][0].offset_table.len(), 2);
    assert!(ours[0][0].consume_tps > 0.0);
    let ordered: ConsumeStatsList = b
        .body(RemotingCommand::request(
            RequestCode::GET_BROKER_CONSUME_STATS,
            &GetConsumeStatsInBrokerHeader {
                is_order: Some(true),
            },
        ))
        .await;
    assert_eq!(ordered.total_diff, 0, "the topic is not ordered");

    // More than 10 s of per-second samples: the 10 s rates are numbers, the 600 s ones blank.
    let t = b.runtime().await;
    for key in ["putTps", "getFoundTps", "getMissTps", "getTransferedTps"] {
        let spans = spans(&t, key);
        assert!(spans[0].is_some(), "{key}: {:?}", t[key]);
        assert!(spans[2].is_none(), "{key}: {:?}", t[key]);
    }
    assert!(spans(&t, "getTotalTps").iter().all(Option::is_some));
}
