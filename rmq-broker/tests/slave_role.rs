//! Roles with real `mqbroker` processes on one name server: what a SLAVE refuses (Apache 4.9's
//! codes, remarks naming the master), role/id combinations that stop the start, the metadata a
//! slave copies from its master, and the broker a pull answer suggests. None of it needs the
//! commit log replicated: the slave's store may stay empty.

use std::process::Command;
use std::time::Duration;

use rmq_remoting::body::stats::{SubscriptionGroupConfig, SubscriptionGroupWrapper};
use rmq_remoting::body::topic::TopicConfigSerializeWrapper;
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::broker::{
    ConsumerSendMsgBackRequestHeader, DeleteSubscriptionGroupRequestHeader,
    EndTransactionRequestHeader, OffsetResponseHeader, PullMessageRequestHeader,
    PullMessageResponseHeader, QueryConsumerOffsetRequestHeader, SendMessageRequestHeader,
    SendMessageRequestHeaderV2, TopicRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use rmq_remoting::message::encode_properties;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

mod common;
use common::{create_topic, eventually, name_server, BrokerProcess};

const T: Duration = Duration::from_secs(5);

fn client() -> RemotingClient {
    RemotingClient::new(TransportConfig::default(), Router::new())
}

async fn call(c: &RemotingClient, addr: &str, request: RemotingCommand) -> RemotingCommand {
    c.invoke(addr, request, T).await.unwrap()
}

/// The header of a one-message send to queue 0 of `topic` with `properties`.
fn send_header(
    topic: &str,
    properties: &[(&str, &str)],
    batch: bool,
) -> SendMessageRequestHeaderV2 {
    SendMessageRequestHeaderV2 {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 0,
        sys_flag: 0,
        born_timestamp: 1,
        flag: 0,
        properties: Some(encode_properties(properties.iter().copied())),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(batch),
        bname: None,
    }
}

fn send_v2(code: RequestCode, topic: &str) -> RemotingCommand {
    let batch = code == RequestCode::SEND_BATCH_MESSAGE;
    let header = send_header(topic, &[("WAIT", "true")], batch);
    RemotingCommand::request(code, &header).with_body(b"m".to_vec())
}

/// A SEND_MESSAGE (the V1 header) of a message with delay level 1.
fn send_v1(topic: &str) -> RemotingCommand {
    let header = SendMessageRequestHeader::from(send_header(topic, &[("DELAY", "1")], false));
    RemotingCommand::request(RequestCode::SEND_MESSAGE, &header).with_body(b"d".to_vec())
}

/// A request without header or body (the GET_ALL_* table dumps).
fn bare(code: RequestCode) -> RemotingCommand {
    RemotingCommand::request_without_header(code)
}

fn create_group(config: &SubscriptionGroupConfig) -> RemotingCommand {
    bare(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
        .with_body(fastjson::to_vec(config, KeyStyle::Fastjson))
}

fn commit_offset(group: &str, topic: &str, queue_id: i32, offset: i64) -> RemotingCommand {
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

async fn query_offset(c: &RemotingClient, addr: &str, group: &str, topic: &str) -> Option<i64> {
    let request = RemotingCommand::request(
        RequestCode::QUERY_CONSUMER_OFFSET,
        &QueryConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id: 0,
            set_zero_if_not_found: Some(false),
            bname: None,
        },
    );
    let answer = call(c, addr, request).await;
    (answer.code == 0).then(|| {
        answer
            .decode_header::<OffsetResponseHeader>()
            .unwrap()
            .offset
    })
}

/// A pull of queue 0 from `offset`; `commit` adds the commit-offset flag with `commit`.
fn pull(group: &str, topic: &str, offset: i64, max: i32, commit: Option<i64>) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id: 0,
        queue_offset: offset,
        max_msg_nums: max,
        sys_flag: 0x4 | if commit.is_some() { 0x1 } else { 0 },
        commit_offset: commit.unwrap_or(0),
        suspend_timeout_millis: 0,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        request_source: None,
        proxy_froward_client_id: None,
        bname: None,
    };
    RemotingCommand::request(RequestCode::PULL_MESSAGE, &header)
}

fn suggested(answer: &RemotingCommand) -> i64 {
    answer
        .decode_header::<PullMessageResponseHeader>()
        .unwrap()
        .suggest_which_broker_id
}

/// The slave's topic table once it holds `topic`: a slave copies its master's tables when it
/// learns its master and every 10 s after.
async fn slave_topics_holding(
    c: &RemotingClient,
    slave: &str,
    topic: &str,
    limit: Duration,
    what: &str,
) -> TopicConfigSerializeWrapper {
    eventually(limit, what, || async {
        let answer = call(c, slave, bare(RequestCode::GET_ALL_TOPIC_CONFIG)).await;
        let table: TopicConfigSerializeWrapper = fastjson::from_slice(&answer.body).ok()?;
        table
            .topic_config_table
            .contains_key(topic)
            .then_some(table)
    })
    .await
}

/// The remark of a send to `slave`, once it names `master` (the slave learns its master from
/// its first registration answer).
async fn slave_knows_master(c: &RemotingClient, slave: &str, master: &str) {
    eventually(
        Duration::from_secs(10),
        "the slave names its master",
        || async {
            let answer = call(c, slave, send_v2(RequestCode::SEND_MESSAGE_V2, "T")).await;
            answer
                .remark
                .filter(|r| r.contains(&format!("its master is {master}")))
        },
    )
    .await;
}

#[tokio::test]
async fn a_slave_refuses_writes_with_apaches_codes_and_names_its_master() {
    let ns = name_server().await;
    let master = BrokerProcess::start(&ns, "broker-r", &[]);
    let slave = BrokerProcess::slave(&ns, "broker-r", &[]);
    let c = client();
    slave_knows_master(&c, slave.addr(), master.addr()).await;

    for code in [
        RequestCode::SEND_MESSAGE_V2,
        RequestCode::SEND_BATCH_MESSAGE,
    ] {
        let answer = call(&c, slave.addr(), send_v2(code, "Orders")).await;
        assert_eq!(
            answer.code,
            ResponseCode::SERVICE_NOT_AVAILABLE.as_i32(),
            "{code:?}: {:?}",
            answer.remark
        );
        let remark = answer.remark.unwrap();
        assert!(
            remark.contains("is a SLAVE (brokerId=1) of group broker-r"),
            "{remark}"
        );
        assert!(remark.contains(master.addr()), "{remark}");
    }
    let delayed = call(&c, slave.addr(), send_v1("Orders")).await;
    assert_eq!(delayed.code, ResponseCode::SERVICE_NOT_AVAILABLE.as_i32());

    let back = RemotingCommand::request(
        RequestCode::CONSUMER_SEND_MSG_BACK,
        &ConsumerSendMsgBackRequestHeader {
            offset: 0,
            group: "cg".into(),
            delay_level: 0,
            origin_msg_id: None,
            origin_topic: Some("Orders".into()),
            unit_mode: false,
            max_reconsume_times: Some(16),
            bname: None,
        },
    );
    let back = call(&c, slave.addr(), back).await;
    assert_eq!(back.code, ResponseCode::SYSTEM_ERROR.as_i32());
    let remark = back.remark.unwrap();
    assert!(remark.starts_with("SERVICE_NOT_AVAILABLE"), "{remark}");
    assert!(remark.contains(master.addr()), "{remark}");

    let end = RemotingCommand::request(
        RequestCode::END_TRANSACTION,
        &EndTransactionRequestHeader {
            producer_group: "pg".into(),
            tran_state_table_offset: 0,
            commit_log_offset: 0,
            commit_or_rollback: 8,
            from_transaction_check: false,
            msg_id: "00".into(),
            transaction_id: None,
            topic: None,
            bname: None,
        },
    );
    let end = call(&c, slave.addr(), end).await;
    assert_eq!(end.code, ResponseCode::SLAVE_NOT_AVAILABLE.as_i32());
    assert!(end.remark.unwrap().contains(master.addr()));

    let admin_writes = [
        create_topic("Orders", 2),
        RemotingCommand::request(
            RequestCode::DELETE_TOPIC_IN_BROKER,
            &TopicRequestHeader {
                topic: "Orders".into(),
            },
        ),
        create_group(&SubscriptionGroupConfig::new("cg")),
        RemotingCommand::request(
            RequestCode::DELETE_SUBSCRIPTIONGROUP,
            &DeleteSubscriptionGroupRequestHeader {
                group_name: "cg".into(),
                clean_offset: None,
            },
        ),
    ];
    for request in admin_writes {
        let code = request.code;
        let answer = call(&c, slave.addr(), request).await;
        assert_eq!(
            answer.code,
            ResponseCode::SYSTEM_ERROR.as_i32(),
            "request {code}"
        );
        let remark = answer.remark.unwrap();
        assert!(
            remark.starts_with("Can't modify topic or subscription group from slave broker, please execute it from master broker."),
            "{remark}"
        );
        assert!(remark.contains(master.addr()), "{remark}");
    }
    // The master itself takes them.
    assert_eq!(
        call(&c, master.addr(), create_topic("Orders", 2))
            .await
            .code,
        0
    );

    // A slave whose group has no master registered says so.
    let orphan = BrokerProcess::slave(&ns, "broker-orphan", &[]);
    let answer = call(
        &c,
        orphan.addr(),
        send_v2(RequestCode::SEND_MESSAGE_V2, "T"),
    )
    .await;
    assert_eq!(answer.code, ResponseCode::SERVICE_NOT_AVAILABLE.as_i32());
    assert!(
        answer.remark.unwrap().contains("its master is unknown yet"),
        "an orphan slave has no master to name"
    );
}

#[test]
fn a_role_that_contradicts_the_broker_id_stops_the_start() {
    let cases = [
        (
            ["--brokerRole", "SLAVE", "--brokerId", "0"],
            "brokerRole=SLAVE with brokerId=0: a slave needs brokerId > 0",
        ),
        (
            ["--brokerRole", "SYNC_MASTER", "--brokerId", "1"],
            "brokerRole=SYNC_MASTER with brokerId=1: a master has brokerId=0",
        ),
        (
            ["--brokerRole", "ASYNC_MASTER", "--brokerId", "2"],
            "Set brokerId=0, or set brokerRole=SLAVE",
        ),
    ];
    for (args, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_mqbroker"))
            .args(["--listenPort", "0", "--brokerIP1", "127.0.0.1"])
            .arg("--storePathRootDir")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} started");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            !String::from_utf8_lossy(&output.stdout).contains("boot success"),
            "{args:?}"
        );
    }
}

#[tokio::test]
async fn a_slave_copies_its_masters_topics_groups_and_offsets_and_serves_pulls_as_apache() {
    let ns = name_server().await;
    let master = BrokerProcess::start(&ns, "broker-s", &[]);
    let c = client();
    // What the slave must copy: a topic, a group, a committed offset and delay progress.
    assert_eq!(
        call(&c, master.addr(), create_topic("SyncT", 2)).await.code,
        0
    );
    let mut group = SubscriptionGroupConfig::new("sync-group");
    group.retry_max_times = 3;
    assert_eq!(call(&c, master.addr(), create_group(&group)).await.code, 0);
    let committed = call(
        &c,
        master.addr(),
        commit_offset("sync-group", "SyncT", 0, 7),
    )
    .await;
    assert_eq!(committed.code, 0);
    let delayed = call(&c, master.addr(), send_v1("DelayT")).await;
    assert_eq!(delayed.code, 0, "{:?}", delayed.remark);
    // Level 1 is 1 s: once delivered, the master's delay progress reads {1:1}, in the shape
    // Apache's ScheduleMessageService writes.
    eventually(
        Duration::from_secs(10),
        "the master's delay progress",
        || async {
            let answer = call(&c, master.addr(), bare(RequestCode::GET_ALL_DELAY_OFFSET)).await;
            (answer.code == 0 && answer.body[..] == br#"{"offsetTable":{1:1}}"#[..]).then_some(())
        },
    )
    .await;
    let offsets = call(
        &c,
        master.addr(),
        bare(RequestCode::GET_ALL_CONSUMER_OFFSET),
    )
    .await;
    let offsets = String::from_utf8(offsets.body.to_vec()).unwrap();
    assert!(offsets.starts_with(r#"{"offsetTable":{"#), "{offsets}");
    assert!(offsets.contains(r#""SyncT@sync-group":{0:7}"#), "{offsets}");

    let slave = BrokerProcess::slave(&ns, "broker-s", &[]);
    let master_topics: TopicConfigSerializeWrapper = fastjson::from_slice(
        &call(&c, master.addr(), bare(RequestCode::GET_ALL_TOPIC_CONFIG))
            .await
            .body,
    )
    .unwrap();
    // The first copy comes at once when the slave learns its master, at the latest 3 s in.
    let slave_topics = slave_topics_holding(
        &c,
        slave.addr(),
        "SyncT",
        Duration::from_secs(10),
        "the slave copies the topics",
    )
    .await;
    assert_eq!(
        slave_topics, master_topics,
        "the slave's table is the master's"
    );
    let groups: SubscriptionGroupWrapper = eventually(
        Duration::from_secs(10),
        "the slave copies the groups",
        || async {
            let answer = call(
                &c,
                slave.addr(),
                bare(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
            )
            .await;
            let table: SubscriptionGroupWrapper = fastjson::from_slice(&answer.body).ok()?;
            table
                .subscription_group_table
                .contains_key("sync-group")
                .then_some(table)
        },
    )
    .await;
    assert_eq!(
        groups.subscription_group_table["sync-group"].retry_max_times,
        3
    );
    eventually(
        Duration::from_secs(10),
        "the slave copies the offsets",
        || async {
            (query_offset(&c, slave.addr(), "sync-group", "SyncT").await == Some(7)).then_some(())
        },
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "the slave copies the delay progress",
        || async {
            let answer = call(&c, slave.addr(), bare(RequestCode::GET_ALL_DELAY_OFFSET)).await;
            (answer.body[..] == br#"{"offsetTable":{1:1}}"#[..]).then_some(())
        },
    )
    .await;
    // Persisted in the slave's own files.
    let config = slave.dir.path().join("config");
    let topics = std::fs::read_to_string(config.join("topics.json")).unwrap();
    assert!(topics.contains("\"SyncT\""), "{topics}");
    let groups_file = std::fs::read_to_string(config.join("subscriptionGroup.json")).unwrap();
    assert!(groups_file.contains("\"sync-group\""), "{groups_file}");

    // Pulls on the slave (slaveReadEnable off): a commit offset is not stored, an offset the
    // slave does not have is retried where it was, and the master is suggested.
    let answer = call(
        &c,
        slave.addr(),
        pull("sync-group", "SyncT", 5, 32, Some(9)),
    )
    .await;
    assert_eq!(
        answer.code,
        ResponseCode::PULL_RETRY_IMMEDIATELY.as_i32(),
        "{:?}",
        answer.remark
    );
    let header: PullMessageResponseHeader = answer.decode_header().unwrap();
    assert_eq!(
        (header.next_begin_offset, header.suggest_which_broker_id),
        (5, 0)
    );
    assert_eq!(
        query_offset(&c, slave.addr(), "sync-group", "SyncT").await,
        Some(7),
        "a pull's commit offset is not stored on a slave"
    );
    // Consumers may commit to a slave directly (they do while the master is away).
    let direct = call(&c, slave.addr(), commit_offset("own-group", "SyncT", 0, 3)).await;
    assert_eq!(direct.code, 0);
    assert_eq!(
        query_offset(&c, slave.addr(), "own-group", "SyncT").await,
        Some(3)
    );

    // Later changes on the master follow within the 10 s period.
    assert_eq!(
        call(&c, master.addr(), create_topic("LaterT", 2))
            .await
            .code,
        0
    );
    slave_topics_holding(
        &c,
        slave.addr(),
        "LaterT",
        Duration::from_secs(15),
        "a later topic reaches the slave",
    )
    .await;
    // The slave's own commit survives the copy (Apache merges offsets by topic@group).
    assert_eq!(
        query_offset(&c, slave.addr(), "own-group", "SyncT").await,
        Some(3)
    );
}

#[tokio::test]
async fn pull_answers_suggest_the_broker_by_apaches_rules() {
    let ns = name_server().await;
    // With ratio 0 every pull that reads something lags behind the commit log's end.
    let reading = BrokerProcess::start(
        &ns,
        "broker-p",
        &[
            "--slaveReadEnable",
            "true",
            "--accessMessageInMemoryMaxRatio",
            "0",
        ],
    );
    let plain = BrokerProcess::start(&ns, "broker-q", &["--accessMessageInMemoryMaxRatio", "0"]);
    let c = client();
    let mut slow = SubscriptionGroupConfig::new("slow-to-2");
    slow.which_broker_when_consume_slowly = 2;
    let mut pinned = SubscriptionGroupConfig::new("pinned-to-1");
    pinned.broker_id = 1;
    for broker in [&reading, &plain] {
        for i in 0..3 {
            let sent = call(
                &c,
                broker.addr(),
                send_v2(RequestCode::SEND_MESSAGE_V2, "PullT"),
            )
            .await;
            assert_eq!(sent.code, 0, "message {i}: {:?}", sent.remark);
        }
        assert_eq!(call(&c, broker.addr(), create_group(&slow)).await.code, 0);
        assert_eq!(call(&c, broker.addr(), create_group(&pinned)).await.code, 0);
    }
    // slaveReadEnable: a lagging read goes to whichBrokerWhenConsumeSlowly (default 1)...
    let answer = call(
        &c,
        reading.addr(),
        pull("default-group", "PullT", 0, 1, None),
    )
    .await;
    assert_eq!((answer.code, suggested(&answer)), (0, 1));
    let answer = call(&c, reading.addr(), pull("slow-to-2", "PullT", 0, 1, None)).await;
    assert_eq!((answer.code, suggested(&answer)), (0, 2));
    // ...and one that read nothing to the group's brokerId.
    let caught_up = pull("pinned-to-1", "PullT", 3, 1, None);
    let answer = call(&c, reading.addr(), caught_up).await;
    assert_eq!(
        (answer.code, suggested(&answer)),
        (ResponseCode::PULL_NOT_FOUND.as_i32(), 1)
    );
    let answer = call(
        &c,
        reading.addr(),
        pull("default-group", "PullT", 3, 1, None),
    )
    .await;
    assert_eq!(suggested(&answer), 0);
    // Without slaveReadEnable the master is always suggested.
    for group in ["default-group", "slow-to-2", "pinned-to-1"] {
        let answer = call(&c, plain.addr(), pull(group, "PullT", 0, 1, None)).await;
        assert_eq!((answer.code, suggested(&answer)), (0, 0), "{group}");
    }
    // A master stores the commit offset a pull carries.
    let answer = call(
        &c,
        plain.addr(),
        pull("default-group", "PullT", 1, 1, Some(1)),
    )
    .await;
    assert_eq!(answer.code, 0);
    assert_eq!(
        query_offset(&c, plain.addr(), "default-group", "PullT").await,
        Some(1)
    );
}
