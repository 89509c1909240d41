//! The real `mqnamesrv` binary over real TCP: registration, routes, cluster info, KV, liveness
//! and bad input.

use std::process::Command;
use std::time::Duration;

use rmq_remoting::body::route::{
    ClusterInfo, KvTable, RegisterBrokerBody, TopicList, TopicRouteData,
};
use rmq_remoting::body::topic::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::namesrv::*;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::ServerProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct NamesrvProcess {
    server: ServerProcess,
    _dir: tempfile::TempDir,
}

impl NamesrvProcess {
    fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_mqnamesrv"));
        command
            .args([
                "--listenPort",
                "0",
                "--bindAddress",
                "127.0.0.1",
                "--kvConfigPath",
            ])
            .arg(dir.path().join("kvConfig.json"))
            .args(extra);
        NamesrvProcess {
            server: ServerProcess::start(command),
            _dir: dir,
        }
    }
}

fn client() -> RemotingClient {
    RemotingClient::new(TransportConfig::default(), Router::new())
}

fn register_request(
    name: &str,
    addr: &str,
    id: i64,
    topics: &[&str],
    counter: i64,
) -> RemotingCommand {
    let header = RegisterBrokerRequestHeader {
        broker_name: name.into(),
        broker_addr: addr.into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: format!("{addr}1"),
        broker_id: id,
        heartbeat_timeout_millis: None,
        enable_acting_master: None,
        compressed: false,
        body_crc32: 0,
    };
    let body = RegisterBrokerBody {
        filter_server_list: vec![],
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            data_version: DataVersion {
                timestamp: 1,
                counter,
                state_version: None,
            },
            topic_config_table: topics
                .iter()
                .map(|t| {
                    let config = TopicConfig {
                        order: false,
                        perm: 6,
                        read_queue_nums: 4,
                        topic_filter_type: "SINGLE_TAG".into(),
                        topic_name: (*t).into(),
                        topic_sys_flag: 0,
                        write_queue_nums: 4,
                        attributes: None,
                    };
                    ((*t).to_owned(), config)
                })
                .collect(),
        },
    };
    RemotingCommand::request(RequestCode::REGISTER_BROKER, &header)
        .with_body(fastjson::to_vec(&body, KeyStyle::Fastjson))
}

const T: Duration = Duration::from_secs(5);

fn route_request(topic: &str, version: i32) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: topic.into(),
            accept_standard_json_only: None,
        },
    );
    cmd.version = version;
    cmd
}

#[tokio::test]
async fn brokers_register_and_clients_get_routes() {
    let ns = NamesrvProcess::start(&[]);
    let broker = client();
    let master = broker
        .invoke(
            &ns.server.addr,
            register_request(
                "broker-a",
                "127.0.0.1:10911",
                0,
                &["TopicTest", "TBW102"],
                1,
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(master.code, 0);
    let slave = broker
        .invoke(
            &ns.server.addr,
            register_request("broker-a", "127.0.0.1:10921", 1, &["TopicTest"], 1),
            T,
        )
        .await
        .unwrap();
    let slave_header: RegisterBrokerResponseHeader = slave.decode_header().unwrap();
    assert_eq!(slave_header.master_addr.as_deref(), Some("127.0.0.1:10911"));

    let user = client();
    // A Go client (version 317) gets fastjson's unquoted ids; a 4.9.8 client (409) standard JSON.
    let old = user
        .invoke(&ns.server.addr, route_request("TopicTest", 317), T)
        .await
        .unwrap();
    assert!(
        String::from_utf8_lossy(&old.body).contains(r#"{0:"127.0.0.1:10911",1:"127.0.0.1:10921"}"#)
    );
    let new = user
        .invoke(&ns.server.addr, route_request("TopicTest", 409), T)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&new.body)
        .contains(r#"{"0":"127.0.0.1:10911","1":"127.0.0.1:10921"}"#));
    let route: TopicRouteData = fastjson::from_slice(&old.body).unwrap();
    assert_eq!(route.queue_datas[0].write_queue_nums, 4);

    let missing = user
        .invoke(&ns.server.addr, route_request("NoSuchTopic", 409), T)
        .await
        .unwrap();
    assert_eq!(missing.code, ResponseCode::TOPIC_NOT_EXIST.as_i32());
    let remark = missing.remark.unwrap();
    assert!(
        remark.contains("broker-a [0=127.0.0.1:10911, 1=127.0.0.1:10921]"),
        "{remark}"
    );
    assert!(
        remark.contains("Auto-creation is possible on broker-a"),
        "{remark}"
    );

    let info = user
        .invoke(
            &ns.server.addr,
            RemotingCommand::request_without_header(RequestCode::GET_BROKER_CLUSTER_INFO),
            T,
        )
        .await
        .unwrap();
    let info: ClusterInfo = fastjson::from_slice(&info.body).unwrap();
    assert_eq!(info.cluster_addr_table["DefaultCluster"].len(), 1);

    let all = user
        .invoke(
            &ns.server.addr,
            RemotingCommand::request_without_header(
                RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
            ),
            T,
        )
        .await
        .unwrap();
    let all: TopicList = fastjson::from_slice(&all.body).unwrap();
    assert_eq!(all.topic_list.len(), 2);

    // The master's connection closes: its address leaves the route; the slave keeps the group.
    broker.close_all().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = user
        .invoke(&ns.server.addr, route_request("TopicTest", 409), T)
        .await
        .unwrap();
    assert_eq!(
        after.code,
        ResponseCode::TOPIC_NOT_EXIST.as_i32(),
        "both registrations shared the closed connection"
    );
}

#[tokio::test]
async fn kv_config_round_trip_and_order_topic_conf() {
    let ns = NamesrvProcess::start(&["--orderMessageEnable", "true"]);
    let c = client();
    let put = PutKvConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "Ordered".into(),
        value: "broker-a:4".into(),
    };
    assert_eq!(
        c.invoke(
            &ns.server.addr,
            RemotingCommand::request(RequestCode::PUT_KV_CONFIG, &put),
            T
        )
        .await
        .unwrap()
        .code,
        0
    );
    let key = KvConfigKeyHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "Ordered".into(),
    };
    let got = c
        .invoke(
            &ns.server.addr,
            RemotingCommand::request(RequestCode::GET_KV_CONFIG, &key),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        got.decode_header::<GetKvConfigResponseHeader>()
            .unwrap()
            .value,
        "broker-a:4"
    );
    let list = GetKvListByNamespaceRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
    };
    let listed = c
        .invoke(
            &ns.server.addr,
            RemotingCommand::request(RequestCode::GET_KVLIST_BY_NAMESPACE, &list),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        fastjson::from_slice::<KvTable>(&listed.body).unwrap().table["Ordered"],
        "broker-a:4"
    );

    let registered = c
        .invoke(
            &ns.server.addr,
            register_request("broker-a", "127.0.0.1:10911", 0, &["Ordered"], 1),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        fastjson::from_slice::<KvTable>(&registered.body)
            .unwrap()
            .table["Ordered"],
        "broker-a:4"
    );
    let route = c
        .invoke(&ns.server.addr, route_request("Ordered", 409), T)
        .await
        .unwrap();
    let route: TopicRouteData = fastjson::from_slice(&route.body).unwrap();
    assert_eq!(route.order_topic_conf.as_deref(), Some("broker-a:4"));

    assert_eq!(
        c.invoke(
            &ns.server.addr,
            RemotingCommand::request(RequestCode::DELETE_KV_CONFIG, &key),
            T
        )
        .await
        .unwrap()
        .code,
        0
    );
    let gone = c
        .invoke(
            &ns.server.addr,
            RemotingCommand::request(RequestCode::GET_KV_CONFIG, &key),
            T,
        )
        .await
        .unwrap();
    assert_eq!(gone.code, ResponseCode::QUERY_NOT_FOUND.as_i32());
}

#[tokio::test]
async fn silent_brokers_expire() {
    let ns = NamesrvProcess::start(&[
        "--scanNotActiveBrokerInterval",
        "100",
        "--brokerChannelExpiredTime",
        "300",
    ]);
    let c = client();
    c.invoke(
        &ns.server.addr,
        register_request("broker-a", "127.0.0.1:10911", 0, &["T"], 1),
        T,
    )
    .await
    .unwrap();
    assert_eq!(
        c.invoke(&ns.server.addr, route_request("T", 409), T)
            .await
            .unwrap()
            .code,
        0
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        c.invoke(&ns.server.addr, route_request("T", 409), T)
            .await
            .unwrap()
            .code,
        ResponseCode::TOPIC_NOT_EXIST.as_i32()
    );
}

#[tokio::test]
async fn bad_input_closes_one_connection_and_names_missing_fields() {
    let ns = NamesrvProcess::start(&[]);
    let c = client();
    for garbage in [
        &[0xff, 0xff, 0xff, 0xff, 0, 0][..],
        &[0, 0, 0, 9, 0, 0, 0, 5, b'{', b'!', 1, 2, 3][..],
    ] {
        let mut raw = tokio::net::TcpStream::connect(&ns.server.addr)
            .await
            .unwrap();
        raw.write_all(garbage).await.unwrap();
        let mut buf = [0u8; 8];
        let n = tokio::time::timeout(T, raw.read(&mut buf)).await.unwrap();
        assert!(matches!(n, Ok(0) | Err(_)));
    }
    let missing = c
        .invoke(
            &ns.server.addr,
            RemotingCommand::request_without_header(RequestCode::GET_ROUTEINFO_BY_TOPIC),
            T,
        )
        .await
        .unwrap();
    assert_eq!(missing.code, ResponseCode::SYSTEM_ERROR.as_i32());
    assert!(missing.remark.unwrap().contains("`topic`"));
    let mut bad_body = register_request("b", "127.0.0.1:1", 0, &[], 1);
    bad_body.body = b"{oops".to_vec().into();
    let refused = c.invoke(&ns.server.addr, bad_body, T).await.unwrap();
    assert_eq!(refused.code, ResponseCode::SYSTEM_ERROR.as_i32());
    let unknown = c
        .invoke(
            &ns.server.addr,
            RemotingCommand::request_without_header(RequestCode::PULL_MESSAGE),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        unknown.code,
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED.as_i32()
    );
    // Still serving.
    assert_eq!(
        c.invoke(&ns.server.addr, route_request("T", 409), T)
            .await
            .unwrap()
            .code,
        ResponseCode::TOPIC_NOT_EXIST.as_i32()
    );
}

#[test]
fn config_errors_name_key_file_and_accepted_values() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("namesrv.conf");
    std::fs::write(&conf, "listenPort=9876\nscanNotActiveBrokerInterval=ten\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mqnamesrv"))
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("namesrv.conf:2: `scanNotActiveBrokerInterval` has the value \"ten\""),
        "{stderr}"
    );
    assert!(stderr.contains("expected an integer"), "{stderr}");
}

#[test]
fn sigterm_stops_cleanly_even_when_nobody_reads_the_output() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mqnamesrv"))
        .args([
            "--listenPort",
            "0",
            "--bindAddress",
            "127.0.0.1",
            "--kvConfigPath",
        ])
        .arg(dir.path().join("kv.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    drop(child.stderr.take());
    // The signal comes right after the boot line, and both pipes are closed: the handler must
    // already be installed, and logging to a closed stderr must not panic.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
