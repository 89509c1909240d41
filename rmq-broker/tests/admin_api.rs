//! The admin, query and lock commands of a real broker over TCP, checked the way `mqadmin`, the
//! dashboard and orderly consumers read the answers (object-keyed bodies included).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use rmq_broker::{Broker, BrokerConfig};
use rmq_remoting::body::client::{
    ConsumerConnection, LockBatchRequestBody, LockBatchResponseBody, MessageModel, MessageQueue,
    ProducerConnection, UnlockBatchRequestBody,
};
use rmq_remoting::body::route::{KvTable, TopicList};
use rmq_remoting::body::stats::{
    ConsumeStats, ConsumerOffsetSerializeWrapper, QueryConsumeTimeSpanBody, ResetOffsetBody,
    SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicStatsTable,
};
use rmq_remoting::body::topic::TopicConfigSerializeWrapper;
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::broker::{
    DeleteSubscriptionGroupRequestHeader, GetConsumeStatsRequestHeader,
    GetConsumerConnectionListRequestHeader, GetProducerConnectionListRequestHeader,
    OffsetResponseHeader, QueryConsumeTimeSpanRequestHeader, QueryConsumerOffsetRequestHeader,
    QueryMessageRequestHeader, QueryMessageResponseHeader, ResetOffsetRequestHeader,
    SendMessageRequestHeaderV2, SendMessageResponseHeader, TopicRequestHeader,
    UpdateConsumerOffsetRequestHeader, ViewMessageRequestHeader,
};
use rmq_remoting::message::{decode_offset_msg_id, decode_record, encode_properties};
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_store::StoreConfig;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

mod common;
use common::{create_topic, Caller};

const T: Duration = Duration::from_secs(5);
const TOPIC: &str = "AdminTopic";
const GROUP: &str = "cg";

struct Harness {
    broker: Caller,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Harness {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.broker
    }
}

impl Harness {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let mut store = StoreConfig::with_root(dir.path());
        store.mapped_file_size_commit_log = 1024 * 1024;
        store.mapped_file_size_consume_queue = 60_000;
        let config = BrokerConfig {
            namesrv_addr: "".into(),
            broker_name: "broker-a".into(),
            ..BrokerConfig::default()
        };
        let broker = Broker::open(config, store, addr).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(broker.serve(listener, async {
            let _ = stopped.await;
        }));
        Harness {
            broker: Caller::new(addr.to_string()),
            stop: Some(stop),
            served,
            _dir: dir,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.served.await.unwrap();
    }
}

fn request<H: Serialize>(code: RequestCode, header: &H) -> RemotingCommand {
    RemotingCommand::request(code, header)
}

fn bare(code: RequestCode) -> RemotingCommand {
    RemotingCommand::request_without_header(code)
}

fn json<B: Serialize>(code: RequestCode, body: &B) -> RemotingCommand {
    bare(code).with_body(fastjson::to_vec(body, KeyStyle::Fastjson))
}

fn send(queue_id: i32, i: usize) -> RemotingCommand {
    let key = format!("order-{i}");
    let uniq = format!("C0A80105303918B4AAC20000000000{i:02}");
    let properties = encode_properties([
        ("TAGS", "TagA"),
        ("KEYS", key.as_str()),
        ("UNIQ_KEY", uniq.as_str()),
        ("WAIT", "true"),
    ]);
    let header = SendMessageRequestHeaderV2 {
        producer_group: "pg".into(),
        topic: TOPIC.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: 1,
        flag: 0,
        properties: Some(properties),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(false),
        bname: None,
    };
    request(RequestCode::SEND_MESSAGE_V2, &header).with_body(format!("body-{i}").into_bytes())
}

fn mq(queue_id: i32) -> MessageQueue {
    MessageQueue::new(TOPIC, "broker-a", queue_id)
}

fn query(key: &str, unique: bool) -> RemotingCommand {
    request(
        RequestCode::QUERY_MESSAGE,
        &QueryMessageRequestHeader {
            topic: TOPIC.into(),
            key: key.into(),
            max_num: 64,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
            unique_key_query: unique.then_some(true),
            bname: None,
        },
    )
}

fn commit(queue_id: i32, offset: i64) -> RemotingCommand {
    request(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: GROUP.into(),
            topic: TOPIC.into(),
            queue_id,
            commit_offset: offset,
            bname: None,
        },
    )
}

async fn committed(h: &Harness, queue_id: i32) -> i64 {
    let response = h
        .ok(request(
            RequestCode::QUERY_CONSUMER_OFFSET,
            &QueryConsumerOffsetRequestHeader {
                consumer_group: GROUP.into(),
                topic: TOPIC.into(),
                queue_id,
                set_zero_if_not_found: None,
                bname: None,
            },
        ))
        .await;
    response
        .decode_header::<OffsetResponseHeader>()
        .unwrap()
        .offset
}

fn reset(timestamp: i64, force: bool) -> RemotingCommand {
    request(
        RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
        &ResetOffsetRequestHeader {
            topic: TOPIC.into(),
            group: GROUP.into(),
            timestamp,
            is_force: force,
            queue_id: -1,
            offset: None,
        },
    )
}

fn heartbeat() -> RemotingCommand {
    common::consumer_heartbeat("127.0.0.1@consumer-1", GROUP, TOPIC, Some("pg"))
}

fn lock_body(client: &str, queues: &[i32]) -> LockBatchRequestBody {
    LockBatchRequestBody {
        client_id: client.into(),
        consumer_group: GROUP.into(),
        mq_set: queues.iter().map(|&q| mq(q)).collect(),
        only_this_broker: false,
    }
}

fn unlock(client: &str, queues: &[i32]) -> RemotingCommand {
    json(
        RequestCode::UNLOCK_BATCH_MQ,
        &UnlockBatchRequestBody {
            client_id: client.into(),
            consumer_group: GROUP.into(),
            mq_set: queues.iter().map(|&q| mq(q)).collect(),
            only_this_broker: false,
        },
    )
}

async fn locked(h: &Harness, client: &str, queues: &[i32]) -> BTreeSet<i32> {
    let answer: LockBatchResponseBody = h
        .body(json(RequestCode::LOCK_BATCH_MQ, &lock_body(client, queues)))
        .await;
    answer.lock_ok_mq_set.iter().map(|m| m.queue_id).collect()
}

#[tokio::test]
async fn topics_groups_and_broker_reports() {
    let h = Harness::start().await;

    // Topics: create, list, refuse system names.
    h.ok(create_topic(TOPIC, 4)).await;
    let all: TopicConfigSerializeWrapper = h.body(bare(RequestCode::GET_ALL_TOPIC_CONFIG)).await;
    let created = &all.topic_config_table[TOPIC];
    assert_eq!(
        (
            created.read_queue_nums,
            created.write_queue_nums,
            created.perm
        ),
        (4, 4, 6)
    );
    for reserved in ["TBW102", "DefaultCluster", "rmq_sys_x"] {
        let refused = h.call(create_topic(reserved, 4)).await;
        assert_eq!(
            refused.code,
            ResponseCode::SYSTEM_ERROR.as_i32(),
            "{reserved}"
        );
        assert!(refused.remark.unwrap_or_default().contains(reserved));
    }
    let system: TopicList = h
        .body(bare(RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_BROKER))
        .await;
    for expected in [
        "TBW102",
        "broker-a",
        "DefaultCluster",
        "SCHEDULE_TOPIC_XXXX",
    ] {
        assert!(system.topic_list.contains(expected), "{expected}");
    }
    assert!(!system.topic_list.contains(TOPIC));

    // Subscription groups: create with settings, list, delete.
    let mut sg = SubscriptionGroupConfig::new("sg1");
    sg.retry_max_times = 3;
    sg.consume_broadcast_enable = false;
    h.ok(json(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, &sg))
        .await;
    let groups: SubscriptionGroupWrapper = h
        .body(bare(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG))
        .await;
    assert_eq!(groups.subscription_group_table["sg1"], sg);
    let bad = h
        .call(bare(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).with_body(&b"{oops"[..]))
        .await;
    assert_eq!(bad.code, ResponseCode::SYSTEM_ERROR.as_i32());
    h.ok(request(
        RequestCode::DELETE_SUBSCRIPTIONGROUP,
        &DeleteSubscriptionGroupRequestHeader {
            group_name: "sg1".into(),
            clean_offset: None,
        },
    ))
    .await;
    let groups: SubscriptionGroupWrapper = h
        .body(bare(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG))
        .await;
    assert!(!groups.subscription_group_table.contains_key("sg1"));

    // Runtime info, after a few sends.
    for i in 0..3 {
        h.ok(send(0, i)).await;
    }
    let info: KvTable = h.body(bare(RequestCode::GET_BROKER_RUNTIME_INFO)).await;
    let t = &info.table;
    assert_eq!(t["brokerVersionDesc"], "V4_9_8");
    assert_eq!(t["brokerVersion"], "409");
    assert_eq!(t["msgPutTotalTodayNow"], "3");
    // Rates over 10, 60 and 600 s, each blank until its span is sampled (as in Apache);
    // tests/broker_stats.rs checks the figures themselves.
    for tps in ["putTps", "getTransferedTps"] {
        let spans: Vec<&str> = t[tps].split(' ').collect();
        assert_eq!(spans.len(), 3, "{tps}: {:?}", t[tps]);
        for span in spans {
            assert!(
                span.is_empty() || span.parse::<f64>().is_ok(),
                "{tps}: {:?}",
                t[tps]
            );
        }
    }
    t["commitLogDiskRatio"].parse::<f64>().unwrap();
    assert!(t["bootTimestamp"].parse::<i64>().unwrap() > 0);
    assert_eq!(t["commitLogMinOffset"], "0");
    assert!(t["commitLogMaxOffset"].parse::<i64>().unwrap() > 0);
    assert!(t["earliestMessageTimeStamp"].parse::<i64>().unwrap() > 0);

    // Broker configuration as properties text.
    let config = h.ok(bare(RequestCode::GET_BROKER_CONFIG)).await;
    let text = String::from_utf8(config.body.to_vec()).unwrap();
    assert!(text.lines().any(|l| l == "brokerName=broker-a"), "{text}");
    assert!(
        text.lines().any(|l| l == "mappedFileSizeCommitLog=1048576"),
        "{text}"
    );
    assert!(config.ext_fields["version"].contains("\"counter\""));

    // Deleting a topic drops it and its offsets; system topics stay.
    h.ok(commit(0, 1)).await;
    h.ok(request(
        RequestCode::DELETE_TOPIC_IN_BROKER,
        &TopicRequestHeader {
            topic: TOPIC.into(),
        },
    ))
    .await;
    let all: TopicConfigSerializeWrapper = h.body(bare(RequestCode::GET_ALL_TOPIC_CONFIG)).await;
    assert!(!all.topic_config_table.contains_key(TOPIC));
    let offsets: ConsumerOffsetSerializeWrapper =
        h.body(bare(RequestCode::GET_ALL_CONSUMER_OFFSET)).await;
    assert!(!offsets
        .offset_table
        .contains_key(&format!("{TOPIC}@{GROUP}")));
    let refused = h
        .call(request(
            RequestCode::DELETE_TOPIC_IN_BROKER,
            &TopicRequestHeader {
                topic: "TBW102".into(),
            },
        ))
        .await;
    assert_eq!(refused.code, ResponseCode::SYSTEM_ERROR.as_i32());

    h.stop().await;
}

#[tokio::test]
async fn queries_stats_connections_reset_and_locks() {
    let h = Harness::start().await;
    h.ok(create_topic(TOPIC, 4)).await;
    // Queue 0 gets messages 0, 2, 4; queue 1 gets 1, 3, 5.
    let mut ids = Vec::new();
    for i in 0..6 {
        let sent = h.ok(send((i % 2) as i32, i)).await;
        ids.push(
            sent.decode_header::<SendMessageResponseHeader>()
                .unwrap()
                .msg_id,
        );
    }

    // QUERY_MESSAGE by key and by unique key.
    let found = h.ok(query("order-3", false)).await;
    let index: QueryMessageResponseHeader = found.decode_header().unwrap();
    assert!(index.index_last_update_phyoffset > 0);
    assert!(index.index_last_update_timestamp > 0);
    let record = decode_record(&found.body, true).unwrap();
    assert_eq!(record.body, b"body-3");
    assert_eq!(record.total_size as usize, found.body.len(), "one record");
    let by_uniq = h.ok(query("C0A80105303918B4AAC2000000000005", true)).await;
    assert_eq!(decode_record(&by_uniq.body, true).unwrap().body, b"body-5");
    let missing = h.call(query("no-such-key", false)).await;
    assert_eq!(missing.code, ResponseCode::QUERY_NOT_FOUND.as_i32());
    assert!(missing.remark.unwrap_or_default().contains("no-such-key"));

    // VIEW_MESSAGE_BY_ID with the offset from a message id.
    let (host, offset) = decode_offset_msg_id(&ids[4]).unwrap();
    assert_eq!(host.to_string(), h.addr);
    let viewed = h
        .ok(request(
            RequestCode::VIEW_MESSAGE_BY_ID,
            &ViewMessageRequestHeader {
                offset,
                topic: None,
            },
        ))
        .await;
    let record = decode_record(&viewed.body, true).unwrap();
    assert_eq!((record.body, record.queue_offset), (&b"body-4"[..], 2));
    let nowhere = h
        .call(request(
            RequestCode::VIEW_MESSAGE_BY_ID,
            &ViewMessageRequestHeader {
                offset: 1 << 40,
                topic: None,
            },
        ))
        .await;
    assert_eq!(nowhere.code, ResponseCode::SYSTEM_ERROR.as_i32());
    assert!(nowhere
        .remark
        .unwrap_or_default()
        .contains("can not find message by the offset"));

    // Topic statistics, with raw object keys as Java needs.
    let stats = h
        .ok(request(
            RequestCode::GET_TOPIC_STATS_INFO,
            &TopicRequestHeader {
                topic: TOPIC.into(),
            },
        ))
        .await;
    assert!(stats
        .body
        .starts_with(br#"{"offsetTable":{{"brokerName":"broker-a""#));
    let stats: TopicStatsTable = fastjson::from_slice(&stats.body).unwrap();
    assert_eq!(stats.offset_table.len(), 4);
    assert_eq!(stats.offset_table[&mq(0)].max_offset, 3);
    assert!(stats.offset_table[&mq(0)].last_update_timestamp > 0);
    assert_eq!(stats.offset_table[&mq(3)].max_offset, 0);
    let unknown = h
        .call(request(
            RequestCode::GET_TOPIC_STATS_INFO,
            &TopicRequestHeader {
                topic: "Nope".into(),
            },
        ))
        .await;
    assert_eq!(unknown.code, ResponseCode::TOPIC_NOT_EXIST.as_i32());

    // Consumption progress.
    h.ok(commit(0, 2)).await;
    let consume_stats = request(
        RequestCode::GET_CONSUME_STATS,
        &GetConsumeStatsRequestHeader {
            consumer_group: GROUP.into(),
            topic: None,
            topic_list: None,
        },
    );
    let raw = h.ok(consume_stats.clone()).await;
    assert!(raw.body.windows(2).any(|w| w == b"{{"), "object keys");
    let progress: ConsumeStats = fastjson::from_slice(&raw.body).unwrap();
    let q0 = progress.offset_table[&mq(0)];
    assert_eq!((q0.broker_offset, q0.consumer_offset), (3, 2));
    assert!(
        q0.last_timestamp > 0,
        "store time of the message at offset 1"
    );
    assert_eq!(progress.offset_table[&mq(1)].consumer_offset, 0);
    let offsets = h.ok(bare(RequestCode::GET_ALL_CONSUMER_OFFSET)).await;
    let text = String::from_utf8_lossy(&offsets.body);
    assert!(text.contains(r#""AdminTopic@cg":{0:2}"#), "{text}");
    let offsets: ConsumerOffsetSerializeWrapper = fastjson::from_slice(&offsets.body).unwrap();
    assert_eq!(offsets.offset_table["AdminTopic@cg"][&0], 2);
    let by_who: serde_json::Value = h
        .body(request(
            RequestCode::QUERY_TOPIC_CONSUME_BY_WHO,
            &TopicRequestHeader {
                topic: TOPIC.into(),
            },
        ))
        .await;
    assert_eq!(by_who["groupList"], serde_json::json!([GROUP]));
    let span: QueryConsumeTimeSpanBody = h
        .body(request(
            RequestCode::QUERY_CONSUME_TIME_SPAN,
            &QueryConsumeTimeSpanRequestHeader {
                topic: TOPIC.into(),
                group: GROUP.into(),
            },
        ))
        .await;
    assert_eq!(span.consume_time_span_set.len(), 4);
    let s0 = span
        .consume_time_span_set
        .iter()
        .find(|s| s.message_queue == mq(0))
        .unwrap();
    assert!(s0.min_time_stamp > 0 && s0.max_time_stamp >= s0.consume_time_stamp);

    // Connections: nobody yet, then a consumer (also a producer) that will receive resets.
    let who = request(
        RequestCode::GET_CONSUMER_CONNECTION_LIST,
        &GetConsumerConnectionListRequestHeader {
            consumer_group: GROUP.into(),
        },
    );
    assert_eq!(
        h.call(who.clone()).await.code,
        ResponseCode::CONSUMER_NOT_ONLINE.as_i32()
    );
    let (pushed_tx, mut pushed) = mpsc::unbounded_channel();
    let consumer = RemotingClient::new(
        TransportConfig::default(),
        Router::new().route(RequestCode::RESET_CONSUMER_CLIENT_OFFSET, move |_, req| {
            let pushed_tx = pushed_tx.clone();
            async move {
                let _ = pushed_tx.send(req);
                Ok(RemotingCommand::success())
            }
        }),
    );
    let beat = consumer.invoke(&h.addr, heartbeat(), T).await.unwrap();
    assert_eq!(beat.code, 0, "{:?}", beat.remark);
    let connections: ConsumerConnection = h.body(who).await;
    assert_eq!(connections.connection_set.len(), 1);
    assert_eq!(
        connections.connection_set[0].client_id,
        "127.0.0.1@consumer-1"
    );
    assert_eq!(connections.message_model, Some(MessageModel::Clustering));
    assert!(connections.subscription_table.contains_key(TOPIC));
    let producers: ProducerConnection = h
        .body(request(
            RequestCode::GET_PRODUCER_CONNECTION_LIST,
            &GetProducerConnectionListRequestHeader {
                producer_group: "pg".into(),
            },
        ))
        .await;
    assert_eq!(producers.connection_set.len(), 1);
    let no_producers = h
        .call(request(
            RequestCode::GET_PRODUCER_CONNECTION_LIST,
            &GetProducerConnectionListRequestHeader {
                producer_group: "nobody".into(),
            },
        ))
        .await;
    assert_eq!(no_producers.code, ResponseCode::SYSTEM_ERROR.as_i32());

    // Reset to the beginning: queue 0 moves back from 2 to 0; the consumer is told.
    let raw = h.ok(reset(0, false)).await;
    assert!(raw.body.starts_with(br#"{"offsetTable":{{"#), "object keys");
    let body: ResetOffsetBody = fastjson::from_slice(&raw.body).unwrap();
    assert_eq!(body.offset_table.len(), 4);
    assert_eq!(body.offset_table[&mq(0)], 0);
    assert_eq!(committed(&h, 0).await, 0);
    let push = tokio::time::timeout(T, pushed.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        push.code,
        RequestCode::RESET_CONSUMER_CLIENT_OFFSET.as_i32()
    );
    assert!(push.is_oneway());
    let header: ResetOffsetRequestHeader = push.decode_header().unwrap();
    assert_eq!(
        (header.group.as_str(), header.topic.as_str()),
        (GROUP, TOPIC)
    );
    let pushed_body: ResetOffsetBody = fastjson::from_slice(&push.body).unwrap();
    assert_eq!(pushed_body, body);
    // Unforced, a time in the future does not skip messages; forced, it does.
    let far = i64::MAX / 2;
    let body: ResetOffsetBody = h.body(reset(far, false)).await;
    assert_eq!(body.offset_table[&mq(0)], 0);
    assert_eq!(committed(&h, 0).await, 0);
    let body: ResetOffsetBody = h.body(reset(far, true)).await;
    assert_eq!(body.offset_table[&mq(0)], 3);
    assert_eq!(body.offset_table[&mq(1)], 3);
    assert_eq!(committed(&h, 1).await, 3);
    for _ in 0..2 {
        tokio::time::timeout(T, pushed.recv())
            .await
            .unwrap()
            .unwrap();
    }
    let unknown = h
        .call(request(
            RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
            &ResetOffsetRequestHeader {
                topic: "Nope".into(),
                group: GROUP.into(),
                timestamp: 0,
                is_force: true,
                queue_id: -1,
                offset: None,
            },
        ))
        .await;
    assert_eq!(unknown.code, ResponseCode::TOPIC_NOT_EXIST.as_i32());

    // Orderly-consumption locks.
    assert_eq!(locked(&h, "c1", &[0, 1]).await, BTreeSet::from([0, 1]));
    assert_eq!(locked(&h, "c2", &[0, 1, 2]).await, BTreeSet::from([2]));
    h.ok(unlock("c2", &[0])).await;
    assert_eq!(locked(&h, "c1", &[0, 1]).await, BTreeSet::from([0, 1]));
    h.ok(unlock("c1", &[0])).await;
    assert_eq!(locked(&h, "c2", &[0, 1]).await, BTreeSet::from([0]));
    let bad = h
        .call(bare(RequestCode::LOCK_BATCH_MQ).with_body(&b"not json"[..]))
        .await;
    assert_eq!(bad.code, ResponseCode::SYSTEM_ERROR.as_i32());

    consumer.close_all().await;
    h.stop().await;
}
