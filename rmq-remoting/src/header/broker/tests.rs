//! Round trips of every broker header through `extFields` and JSON, with Java's key names.

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::*;
use crate::code::RequestCode;
use crate::command::RemotingCommand;
use crate::error::HeaderError;
use crate::ext_fields::{from_map, to_map};
use crate::field_map::ExtFields;
use crate::header_codec::decode_json;

fn fields(pairs: &[(&str, &str)]) -> ExtFields {
    pairs.iter().copied().collect()
}

/// Writes `header`, checks the keys are exactly `keys`, and reads it back unchanged.
fn round_trip<H>(header: H, keys: &[&str])
where
    H: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let map = to_map(&header);
    let mut got: Vec<&str> = map.keys().collect();
    got.sort_unstable();
    let mut want = keys.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "keys of {header:?}");
    assert_eq!(from_map::<H>(&map), Ok(header));
}

fn v1() -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "PG".into(),
        topic: "TopicTest".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 2,
        sys_flag: 0,
        born_timestamp: 1_718_000_000_000,
        flag: 0,
        properties: Some("TAGS\u{1}TagA\u{2}".into()),
        reconsume_times: Some(0),
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        bname: Some("broker-a".into()),
    }
}

#[test]
fn java_v2_send_header_decodes_and_converts() {
    let json = br#"{"code":310,"extFields":{"a":"PG","b":"TopicTest","c":"TBW102","d":"4","e":"2","f":"0","g":"1718000000000","h":"0","i":"TAGS\u0001TagA\u0002","j":"0","k":"false","m":"false","n":"broker-a"},"flag":0,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":479}"#;
    let cmd = decode_json(json).unwrap();
    let v2: SendMessageRequestHeaderV2 = cmd.decode_header().unwrap();
    assert_eq!(v2.unit_mode, Some(false));
    assert_eq!(v2.batch, Some(false));
    assert_eq!(SendMessageRequestHeader::from_command(&cmd), Ok(v1()));
}

#[test]
fn cpp_v2_send_header_with_json_numbers_and_zero_booleans() {
    let json = br#"{"code":310,"language":"CPP","version":333,"opaque":5,"flag":0,"extFields":{"AccessKey":"","Signature":"","OnsChannel":"","a":"PG","b":"T","c":"TBW102","d":4,"e":1,"f":0,"g":"1718000000000","h":0,"i":"","j":"0","k":"0","l":16,"m":"1"}}"#;
    let cmd = decode_json(json).unwrap();
    let h = SendMessageRequestHeader::from_command(&cmd).unwrap();
    assert_eq!(h.queue_id, 1);
    assert_eq!(h.max_reconsume_times, Some(16));
    assert_eq!(h.properties, None);
    assert!(!h.unit_mode);
    assert!(h.batch, "C++ marks batches with m=1");
}

#[test]
fn go_v1_send_header_decodes_by_code() {
    let cmd = RemotingCommand {
        code: RequestCode::SEND_MESSAGE.as_i32(),
        ext_fields: fields(&[
            ("producerGroup", "PG"),
            ("topic", "TopicTest"),
            ("defaultTopic", "TBW102"),
            ("defaultTopicQueueNums", "4"),
            ("queueId", "2"),
            ("sysFlag", "0"),
            ("bornTimestamp", "1718000000000"),
            ("flag", "0"),
            ("properties", "TAGS\u{1}TagA\u{2}"),
            ("reconsumeTimes", "0"),
            ("unitMode", "false"),
            ("batch", "false"),
            ("bname", "broker-a"),
        ]),
        ..Default::default()
    };
    assert_eq!(SendMessageRequestHeader::from_command(&cmd), Ok(v1()));
}

#[test]
fn send_headers_round_trip_and_convert_both_ways() {
    round_trip(
        v1(),
        &[
            "producerGroup",
            "topic",
            "defaultTopic",
            "defaultTopicQueueNums",
            "queueId",
            "sysFlag",
            "bornTimestamp",
            "flag",
            "properties",
            "reconsumeTimes",
            "unitMode",
            "batch",
            "bname",
        ],
    );
    let v2 = SendMessageRequestHeaderV2::from(v1());
    round_trip(
        v2.clone(),
        &[
            "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "m", "n",
        ],
    );
    assert_eq!(SendMessageRequestHeader::from(v2), v1());
}

#[test]
fn missing_required_send_fields_are_named_as_java_names_them() {
    let mut map = to_map(&SendMessageRequestHeaderV2::from(v1()));
    map.remove("g");
    assert_eq!(
        from_map::<SendMessageRequestHeaderV2>(&map),
        Err(HeaderError::Missing("g".into()))
    );
    let mut map = to_map(&v1());
    map.remove("defaultTopicQueueNums");
    assert_eq!(
        from_map::<SendMessageRequestHeader>(&map),
        Err(HeaderError::Missing("defaultTopicQueueNums".into()))
    );
}

#[test]
fn send_response_matches_the_java_broker() {
    let json = br#"{"code":0,"extFields":{"queueId":"2","MSG_REGION":"DefaultRegion","TRACE_ON":"true","msgId":"C0A8010A00002A9F0000000000001234","queueOffset":"17","transactionId":"C0A8010530391B6D35860A1B2C3D0001"},"flag":1,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":479}"#;
    let h: SendMessageResponseHeader = decode_json(json).unwrap().decode_header().unwrap();
    let want = SendMessageResponseHeader {
        msg_id: "C0A8010A00002A9F0000000000001234".into(),
        queue_id: 2,
        queue_offset: 17,
        transaction_id: Some("C0A8010530391B6D35860A1B2C3D0001".into()),
        batch_uniq_id: None,
        recall_handle: None,
        delay_time: None,
        msg_region: "DefaultRegion".into(),
        trace_on: true,
    };
    assert_eq!(h, want);
    round_trip(
        want,
        &[
            "msgId",
            "queueId",
            "queueOffset",
            "transactionId",
            "MSG_REGION",
            "TRACE_ON",
        ],
    );
    // A 4.9-style response without the extra keys still reads, with Java's defaults.
    let h: SendMessageResponseHeader = from_map(&fields(&[
        ("msgId", "X"),
        ("queueId", "0"),
        ("queueOffset", "0"),
    ]))
    .unwrap();
    assert_eq!((h.msg_region.as_str(), h.trace_on), ("DefaultRegion", true));
}

#[test]
fn go_pull_header_decodes() {
    let json = br#"{"code":11,"language":"GO","version":317,"opaque":7,"flag":0,"remark":"","extFields":{"consumerGroup":"cg","topic":"TopicTest","queueId":"0","queueOffset":"12","maxMsgNums":"32","sysFlag":"2","commitOffset":"0","suspendTimeoutMillis":"20000","subscription":"","subVersion":"0","expressionType":"TAG","bname":"broker-a"}}"#;
    let h: PullMessageRequestHeader = decode_json(json).unwrap().decode_header().unwrap();
    assert_eq!(
        h,
        PullMessageRequestHeader {
            consumer_group: "cg".into(),
            topic: "TopicTest".into(),
            queue_id: 0,
            queue_offset: 12,
            max_msg_nums: 32,
            sys_flag: 2,
            commit_offset: 0,
            suspend_timeout_millis: 20_000,
            subscription: None,
            sub_version: 0,
            expression_type: Some("TAG".into()),
            max_msg_bytes: None,
            request_source: None,
            proxy_froward_client_id: None,
            bname: Some("broker-a".into()),
        }
    );
}

#[test]
fn java_pull_header_round_trips_and_requires_sub_version() {
    let h = PullMessageRequestHeader {
        consumer_group: "cg".into(),
        topic: "T".into(),
        queue_id: 3,
        queue_offset: 100,
        max_msg_nums: 32,
        sys_flag: 3,
        commit_offset: 98,
        suspend_timeout_millis: 15_000,
        subscription: None,
        sub_version: 1_718_000_000_000,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        request_source: None,
        proxy_froward_client_id: None,
        bname: None,
    };
    let mut map = to_map(&h);
    round_trip(
        h,
        &[
            "consumerGroup",
            "topic",
            "queueId",
            "queueOffset",
            "maxMsgNums",
            "sysFlag",
            "commitOffset",
            "suspendTimeoutMillis",
            "subVersion",
            "expressionType",
        ],
    );
    map.remove("subVersion");
    assert_eq!(
        from_map::<PullMessageRequestHeader>(&map),
        Err(HeaderError::Missing("subVersion".into()))
    );
}

#[test]
fn pull_response_round_trips() {
    round_trip(
        PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: 12,
            min_offset: 0,
            max_offset: 12,
            offset_delta: None,
            topic_sys_flag: None,
            group_sys_flag: None,
            forbidden_type: None,
        },
        &[
            "suggestWhichBrokerId",
            "nextBeginOffset",
            "minOffset",
            "maxOffset",
        ],
    );
}

#[test]
fn offset_headers_round_trip() {
    round_trip(
        QueryConsumerOffsetRequestHeader {
            consumer_group: "cg".into(),
            topic: "T".into(),
            queue_id: 1,
            set_zero_if_not_found: Some(false),
            bname: None,
        },
        &["consumerGroup", "topic", "queueId", "setZeroIfNotFound"],
    );
    round_trip(OffsetResponseHeader { offset: 118 }, &["offset"]);
    round_trip(
        UpdateConsumerOffsetRequestHeader {
            consumer_group: "cg".into(),
            topic: "T".into(),
            queue_id: 1,
            commit_offset: 118,
            bname: Some("broker-a".into()),
        },
        &["consumerGroup", "topic", "queueId", "commitOffset", "bname"],
    );
    round_trip(UpdateConsumerOffsetResponseHeader {}, &[]);
    round_trip(
        GetMaxOffsetRequestHeader {
            topic: "T".into(),
            queue_id: 0,
            committed: None,
            bname: None,
        },
        &["topic", "queueId"],
    );
    round_trip(
        QueueRequestHeader {
            topic: "T".into(),
            queue_id: 0,
            bname: None,
        },
        &["topic", "queueId"],
    );
    round_trip(
        GetEarliestMsgStoretimeResponseHeader {
            timestamp: 1_718_000_000_000,
        },
        &["timestamp"],
    );
    round_trip(
        SearchOffsetRequestHeader {
            topic: "T".into(),
            queue_id: 0,
            timestamp: 1_718_000_000_000,
            boundary_type: Some(BoundaryType::Upper),
            bname: None,
        },
        &["topic", "queueId", "timestamp", "boundaryType"],
    );
}

#[test]
fn offset_requests_as_clients_send_them() {
    // Java 4.9 QUERY_CONSUMER_OFFSET: no setZeroIfNotFound.
    let q: QueryConsumerOffsetRequestHeader = from_map(&fields(&[
        ("consumerGroup", "cg"),
        ("topic", "T"),
        ("queueId", "3"),
    ]))
    .unwrap();
    assert_eq!(q.set_zero_if_not_found, None);
    // 5.x boundaryType is case-insensitive.
    let s: SearchOffsetRequestHeader = from_map(&fields(&[
        ("topic", "T"),
        ("queueId", "0"),
        ("timestamp", "5"),
        ("boundaryType", "lower"),
    ]))
    .unwrap();
    assert_eq!(s.boundary_type, Some(BoundaryType::Lower));
    assert!(from_map::<SearchOffsetRequestHeader>(&fields(&[
        ("topic", "T"),
        ("queueId", "0"),
        ("timestamp", "5"),
        ("boundaryType", "MIDDLE"),
    ]))
    .is_err());
    assert_eq!(
        from_map::<UpdateConsumerOffsetRequestHeader>(&fields(&[
            ("consumerGroup", "cg"),
            ("topic", "T"),
            ("queueId", "3"),
        ])),
        Err(HeaderError::Missing("commitOffset".into()))
    );
}

#[test]
fn client_and_group_headers_round_trip() {
    round_trip(
        UnregisterClientRequestHeader {
            client_id: "192.168.0.5@12345#8123456789".into(),
            producer_group: Some("PG".into()),
            consumer_group: None,
        },
        &["clientID", "producerGroup"],
    );
    round_trip(
        GetConsumerListByGroupRequestHeader {
            consumer_group: "cg".into(),
        },
        &["consumerGroup"],
    );
    round_trip(
        NotifyConsumerIdsChangedRequestHeader {
            consumer_group: "cg".into(),
        },
        &["consumerGroup"],
    );
    let back = ConsumerSendMsgBackRequestHeader {
        offset: 4096,
        group: "cg".into(),
        delay_level: 0,
        origin_msg_id: Some("C0A8".into()),
        origin_topic: Some("T".into()),
        unit_mode: false,
        max_reconsume_times: Some(16),
        bname: None,
    };
    round_trip(
        back.clone(),
        &[
            "offset",
            "group",
            "delayLevel",
            "originMsgId",
            "originTopic",
            "unitMode",
            "maxReconsumeTimes",
        ],
    );
    let minimal: ConsumerSendMsgBackRequestHeader = from_map(&fields(&[
        ("offset", "4096"),
        ("group", "cg"),
        ("delayLevel", "0"),
    ]))
    .unwrap();
    assert!(!minimal.unit_mode && minimal.max_reconsume_times.is_none());
    assert_eq!(
        from_map::<UnregisterClientRequestHeader>(&fields(&[("clientId", "x")])),
        Err(HeaderError::Missing("clientID".into()))
    );
}

#[test]
fn transaction_headers_round_trip() {
    let end = EndTransactionRequestHeader {
        producer_group: "PG".into(),
        tran_state_table_offset: 7,
        commit_log_offset: 4096,
        commit_or_rollback: EndTransactionRequestHeader::COMMIT_TYPE,
        from_transaction_check: true,
        msg_id: "C0A8010530391B6D35860A1B2C3D0001".into(),
        transaction_id: None,
        topic: None,
        bname: None,
    };
    round_trip(
        end,
        &[
            "producerGroup",
            "tranStateTableOffset",
            "commitLogOffset",
            "commitOrRollback",
            "fromTransactionCheck",
            "msgId",
        ],
    );
    // Java 4.9 first-phase END_TRANSACTION: fromTransactionCheck=false, no 5.x keys.
    let e: EndTransactionRequestHeader = from_map(&fields(&[
        ("producerGroup", "PG"),
        ("tranStateTableOffset", "7"),
        ("commitLogOffset", "4096"),
        ("commitOrRollback", "12"),
        ("fromTransactionCheck", "false"),
        ("msgId", "U"),
    ]))
    .unwrap();
    assert_eq!(
        e.commit_or_rollback,
        EndTransactionRequestHeader::ROLLBACK_TYPE
    );
    round_trip(
        CheckTransactionStateRequestHeader {
            tran_state_table_offset: 7,
            commit_log_offset: 4096,
            msg_id: Some("U".into()),
            transaction_id: Some("U".into()),
            offset_msg_id: Some("O".into()),
            topic: Some("T".into()),
            bname: Some("broker-a".into()),
        },
        &[
            "tranStateTableOffset",
            "commitLogOffset",
            "msgId",
            "transactionId",
            "offsetMsgId",
            "topic",
            "bname",
        ],
    );
}

#[test]
fn query_headers_round_trip() {
    round_trip(
        QueryMessageRequestHeader {
            topic: "T".into(),
            key: "k1".into(),
            max_num: 32,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
            unique_key_query: Some(true),
            bname: None,
        },
        &[
            "topic",
            "key",
            "maxNum",
            "beginTimestamp",
            "endTimestamp",
            "_UNIQUE_KEY_QUERY",
        ],
    );
    round_trip(
        QueryMessageResponseHeader {
            index_last_update_timestamp: 1,
            index_last_update_phyoffset: 2,
        },
        &["indexLastUpdateTimestamp", "indexLastUpdatePhyoffset"],
    );
    round_trip(
        ViewMessageRequestHeader {
            offset: 4096,
            topic: None,
        },
        &["offset"],
    );
}

#[test]
fn admin_headers_round_trip() {
    round_trip(
        CreateTopicRequestHeader {
            topic: "T".into(),
            default_topic: "TBW102".into(),
            read_queue_nums: 8,
            write_queue_nums: 8,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: 0,
            order: false,
            attributes: None,
            force: None,
        },
        &[
            "topic",
            "defaultTopic",
            "readQueueNums",
            "writeQueueNums",
            "perm",
            "topicFilterType",
            "topicSysFlag",
            "order",
        ],
    );
    round_trip(TopicRequestHeader { topic: "T".into() }, &["topic"]);
    round_trip(
        ViewBrokerStatsDataRequestHeader {
            stats_name: "GROUP_GET_NUMS".into(),
            stats_key: "T@G".into(),
        },
        &["statsName", "statsKey"],
    );
    round_trip(
        GetConsumeStatsInBrokerHeader {
            is_order: Some(false),
        },
        &["isOrder"],
    );
    round_trip(
        DeleteSubscriptionGroupRequestHeader {
            group_name: "cg".into(),
            clean_offset: Some(true),
        },
        &["groupName", "cleanOffset"],
    );
    round_trip(
        GetConsumeStatsRequestHeader {
            consumer_group: "cg".into(),
            topic: Some("T".into()),
            topic_list: None,
        },
        &["consumerGroup", "topic"],
    );
    round_trip(
        GetConsumerConnectionListRequestHeader {
            consumer_group: "cg".into(),
        },
        &["consumerGroup"],
    );
    round_trip(
        GetProducerConnectionListRequestHeader {
            producer_group: "PG".into(),
        },
        &["producerGroup"],
    );
    round_trip(
        QueryConsumeTimeSpanRequestHeader {
            topic: "T".into(),
            group: "cg".into(),
        },
        &["topic", "group"],
    );
}

#[test]
fn reset_offset_uses_the_is_force_key() {
    let h = ResetOffsetRequestHeader {
        topic: "T".into(),
        group: "cg".into(),
        timestamp: 1_718_000_000_000,
        is_force: true,
        queue_id: -1,
        offset: None,
    };
    round_trip(h, &["topic", "group", "timestamp", "isForce", "queueId"]);
    // A 4.9 admin sends no queueId: all queues.
    let h: ResetOffsetRequestHeader = from_map(&fields(&[
        ("topic", "T"),
        ("group", "cg"),
        ("timestamp", "1"),
        ("isForce", "false"),
    ]))
    .unwrap();
    assert_eq!((h.queue_id, h.is_force), (-1, false));
    assert_eq!(
        from_map::<ResetOffsetRequestHeader>(&fields(&[
            ("topic", "T"),
            ("group", "cg"),
            ("timestamp", "1"),
            ("force", "true"),
        ])),
        Err(HeaderError::Missing("isForce".into()))
    );
}

#[test]
fn broker_to_client_headers_round_trip() {
    round_trip(
        GetConsumerStatusRequestHeader {
            topic: "T".into(),
            group: "cg".into(),
            client_addr: None,
        },
        &["topic", "group"],
    );
    round_trip(
        GetConsumerRunningInfoRequestHeader {
            consumer_group: "cg".into(),
            client_id: "c1".into(),
            jstack_enable: false,
        },
        &["consumerGroup", "clientId", "jstackEnable"],
    );
    round_trip(
        ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: "cg".into(),
            client_id: Some("c1".into()),
            msg_id: Some("M".into()),
            broker_name: Some("broker-a".into()),
            topic: None,
            topic_sys_flag: None,
            group_sys_flag: None,
        },
        &["consumerGroup", "clientId", "msgId", "brokerName"],
    );
    round_trip(
        ReplyMessageRequestHeader {
            producer_group: "PG".into(),
            topic: "DefaultCluster_REPLY_TOPIC".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 0,
            sys_flag: 0,
            born_timestamp: 1,
            flag: 0,
            properties: Some("MSG_TYPE\u{1}reply\u{2}".into()),
            reconsume_times: None,
            unit_mode: false,
            born_host: "10.0.0.1:5555".into(),
            store_host: "10.0.0.2:10911".into(),
            store_timestamp: 2,
        },
        &[
            "producerGroup",
            "topic",
            "defaultTopic",
            "defaultTopicQueueNums",
            "queueId",
            "sysFlag",
            "bornTimestamp",
            "flag",
            "properties",
            "unitMode",
            "bornHost",
            "storeHost",
            "storeTimestamp",
        ],
    );
}
