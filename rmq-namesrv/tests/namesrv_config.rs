//! The real `mqnamesrv` with the namesrv.properties Apache 4.9.7 and 5.3.3 write (every key of
//! NamesrvConfig, NettyServerConfig and NettyClientConfig), GET_NAMESRV_CONFIG and
//! UPDATE_NAMESRV_CONFIG from a hostile admin, the unit-topic lists, 5.x's
//! REGISTER_TOPIC_IN_NAMESRV, and the audit log (docs/admin-safety.md).

use std::path::Path;
use std::process::Command;

use rmq_remoting::body::route::{QueueData, RegisterBrokerBody, TopicList, TopicRouteData};
use rmq_remoting::body::topic::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::namesrv::{GetRouteInfoRequestHeader, RegisterBrokerRequestHeader};
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::ServerProcess;

const T: std::time::Duration = std::time::Duration::from_secs(5);

fn fixture(version: &str) -> String {
    format!(
        "{}/tests/fixtures/namesrv-{version}.properties",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// `mqnamesrv -c <Apache's file>` on an ephemeral loopback port, its KV file in `dir`, its log
/// in `dir/namesrv.log`.
fn start(config_file: &str, dir: &Path) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mqnamesrv"));
    command
        .args(["-c", config_file])
        .args(["--listenPort", "0", "--bindAddress", "127.0.0.1"])
        .arg("--kvConfigPath")
        .arg(dir.join("kvConfig.json"));
    ServerProcess::start_logging_to(command, &dir.join("namesrv.log"))
}

async fn call(client: &RemotingClient, addr: &str, request: RemotingCommand) -> RemotingCommand {
    client.invoke(addr, request, T).await.unwrap()
}

fn update(text: &str) -> RemotingCommand {
    RemotingCommand::request_without_header(RequestCode::UPDATE_NAMESRV_CONFIG)
        .with_body(text.as_bytes().to_vec())
}

fn get_config() -> RemotingCommand {
    RemotingCommand::request_without_header(RequestCode::GET_NAMESRV_CONFIG)
}

fn all_topics() -> RemotingCommand {
    RemotingCommand::request_without_header(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER)
}

/// A registration of broker-a with `topics`, each `(name, topicSysFlag)`.
fn register(addr: &str, topics: &[(&str, i32)]) -> RemotingCommand {
    let mut wrapper = TopicConfigSerializeWrapper {
        data_version: DataVersion {
            timestamp: 1,
            counter: 1,
            state_version: None,
        },
        ..TopicConfigSerializeWrapper::default()
    };
    for (name, flag) in topics {
        wrapper.topic_config_table.insert(
            (*name).to_owned(),
            TopicConfig {
                topic_name: (*name).to_owned(),
                read_queue_nums: 1,
                write_queue_nums: 1,
                perm: 6,
                topic_filter_type: "SINGLE_TAG".into(),
                topic_sys_flag: *flag,
                order: false,
                attributes: None,
            },
        );
    }
    let body = fastjson::to_vec(
        &RegisterBrokerBody {
            filter_server_list: vec![],
            topic_config_serialize_wrapper: wrapper,
        },
        KeyStyle::Fastjson,
    );
    let header = RegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: addr.into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: String::new(),
        broker_id: 0,
        heartbeat_timeout_millis: None,
        enable_acting_master: None,
        compressed: false,
        body_crc32: 0,
    };
    RemotingCommand::request(RequestCode::REGISTER_BROKER, &header).with_body(body)
}

#[tokio::test]
async fn apache_files_start_and_hostile_config_updates_change_nothing() {
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    for version in ["4.9.7", "5.3.3"] {
        let dir = tempfile::tempdir().unwrap();
        let server = start(&fixture(version), dir.path());
        let addr = server.addr.clone();
        let before = call(&client, &addr, get_config()).await;
        assert_eq!(before.code, 0, "{version}: {:?}", before.remark);
        let text = String::from_utf8(before.body.to_vec()).unwrap();
        let kv = format!(
            "kvConfigPath={}",
            dir.path().join("kvConfig.json").display()
        );
        assert!(text.contains(&kv), "{version}: {text}");
        assert!(
            text.contains("\nenableAllTopicList=true\n"),
            "{version}: {text}"
        );

        // CVE-2023-37582's door and its neighbours, mixed with an allowed key.
        let evil = dir.path().join("evil");
        let hostile = format!(
            "enableAllTopicList=false\nconfigStorePath={0}/namesrv.properties\nkvConfigPath={0}/kv.json\nrocketmqHome={0}\nlistenPort=1\n",
            evil.display()
        );
        let refused = call(&client, &addr, update(&hostile)).await;
        assert_eq!(refused.code, ResponseCode::NO_PERMISSION.as_i32());
        let remark = refused.remark.unwrap_or_default();
        for key in [
            "configStorePath (",
            "kvConfigPath (",
            "rocketmqHome (",
            "listenPort (",
        ] {
            assert!(remark.contains(key), "{version}: {key} not named: {remark}");
        }
        assert_eq!(call(&client, &addr, all_topics()).await.code, 0);
        let after = call(&client, &addr, get_config()).await;
        assert_eq!(after.body, before.body, "{version}");
        assert!(!evil.exists(), "{version}: a refused path was created");

        // An allowed key takes effect at once.
        assert_eq!(
            call(&client, &addr, update("enableAllTopicList=false"))
                .await
                .code,
            0
        );
        let off = call(&client, &addr, all_topics()).await;
        assert_eq!(off.code, ResponseCode::SYSTEM_ERROR.as_i32(), "{version}");
        let text =
            String::from_utf8(call(&client, &addr, get_config()).await.body.to_vec()).unwrap();
        assert!(
            text.contains("\nenableAllTopicList=false\n"),
            "{version}: {text}"
        );

        drop(server);
        let log = std::fs::read_to_string(dir.path().join("namesrv.log")).unwrap();
        let audited = log
            .lines()
            .filter(|l| l.contains("rmq::audit") && l.contains("UPDATE_NAMESRV_CONFIG"))
            .count();
        assert_eq!(audited, 2, "{version}: {log}");
        assert!(!log.contains("unknown key"), "{version}: {log}");
    }
}

#[tokio::test]
async fn unit_topic_lists_follow_the_topic_sys_flags() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&fixture("5.3.3"), dir.path());
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let topics = [("Plain", 0), ("Unit", 1), ("UnitSub", 2), ("Both", 3)];
    let registered = call(&client, &server.addr, register("127.0.0.1:10911", &topics)).await;
    assert_eq!(registered.code, 0, "{:?}", registered.remark);
    for (code, expected) in [
        (RequestCode::GET_UNIT_TOPIC_LIST, vec!["Both", "Unit"]),
        (
            RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST,
            vec!["Both", "UnitSub"],
        ),
        (
            RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
            vec!["UnitSub"],
        ),
    ] {
        let answer = call(
            &client,
            &server.addr,
            RemotingCommand::request_without_header(code),
        )
        .await;
        assert_eq!(answer.code, 0, "{code}: {:?}", answer.remark);
        let list: TopicList = fastjson::from_slice(&answer.body).unwrap();
        let got: Vec<&str> = list.topic_list.iter().map(String::as_str).collect();
        assert_eq!(got, expected, "{code}");
    }
}

/// REGISTER_TOPIC_IN_NAMESRV's header (5.x `RegisterTopicRequestHeader`).
#[derive(serde::Serialize)]
struct RegisterTopicHeader {
    topic: String,
}

fn register_topic(topic: &str, broker_name: &str) -> RemotingCommand {
    let route = TopicRouteData {
        queue_datas: vec![QueueData {
            broker_name: broker_name.into(),
            perm: 6,
            read_queue_nums: 4,
            topic_sys_flag: 0,
            write_queue_nums: 4,
        }],
        ..TopicRouteData::default()
    };
    RemotingCommand::request(
        RequestCode::REGISTER_TOPIC_IN_NAMESRV,
        &RegisterTopicHeader {
            topic: topic.into(),
        },
    )
    .with_body(fastjson::to_vec(&route, KeyStyle::Fastjson))
}

fn route_of(topic: &str) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: topic.into(),
            accept_standard_json_only: None,
        },
    )
}

#[tokio::test]
async fn a_5x_topic_registration_adds_queues_of_registered_brokers_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&fixture("5.3.3"), dir.path());
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let addr = server.addr.clone();
    let registered = call(&client, &addr, register("127.0.0.1:10911", &[("Plain", 0)])).await;
    assert_eq!(registered.code, 0, "{:?}", registered.remark);

    assert_eq!(
        call(&client, &addr, register_topic("Static", "broker-a"))
            .await
            .code,
        0
    );
    let route = call(&client, &addr, route_of("Static")).await;
    assert_eq!(route.code, 0, "{:?}", route.remark);
    let route: TopicRouteData = fastjson::from_slice(&route.body).unwrap();
    assert_eq!(route.queue_datas.len(), 1);
    assert_eq!(
        (
            route.queue_datas[0].broker_name.as_str(),
            route.queue_datas[0].write_queue_nums
        ),
        ("broker-a", 4)
    );
    assert_eq!(route.broker_datas[0].broker_addrs[&0], "127.0.0.1:10911");

    // A broker group nobody registered: answered, as Apache 5.x does, and nothing changes.
    assert_eq!(
        call(&client, &addr, register_topic("Ghost", "broker-nobody"))
            .await
            .code,
        0
    );
    assert_eq!(
        call(&client, &addr, route_of("Ghost")).await.code,
        ResponseCode::TOPIC_NOT_EXIST.as_i32()
    );
}
