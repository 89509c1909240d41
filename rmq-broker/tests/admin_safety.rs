//! A hostile admin against a real `mqbroker`: UPDATE_BROKER_CONFIG with path, address and
//! filter-server keys is refused as a whole and changes nothing in memory or on disk, while an
//! allowlisted key changes what the broker does at once, reaches the name server's routes, and
//! survives a restart (docs/admin-safety.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rmq_remoting::body::route::TopicRouteData;
use rmq_remoting::fastjson;
use rmq_remoting::header::namesrv::GetRouteInfoRequestHeader;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::ServerProcess;

mod common;
use common::{create_topic, eventually, mqbroker, name_server, send_message, Caller};

const TOPIC: &str = "SafetyTopic";

fn update(text: &str) -> RemotingCommand {
    RemotingCommand::request_without_header(RequestCode::UPDATE_BROKER_CONFIG)
        .with_body(text.as_bytes().to_vec())
}

fn get_config() -> RemotingCommand {
    RemotingCommand::request_without_header(RequestCode::GET_BROKER_CONFIG)
}

/// Every file under `root` with its bytes, except the store's data files, whose flush
/// checkpoints move on their own; `config/` (topics, groups, offsets, runtime settings) is
/// compared byte for byte, everything else by presence.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path.clone());
                out.insert(path, None);
            } else {
                let bytes = path
                    .starts_with(root.join("config"))
                    .then(|| std::fs::read(&path).unwrap());
                out.insert(path, bytes);
            }
        }
    }
    out
}

async fn send(broker: &Caller) -> RemotingCommand {
    broker
        .call(send_message(TOPIC, 0, b"payload".to_vec(), 0))
        .await
}

/// The permission the name server's route gives this broker's queues of [`TOPIC`].
async fn route_perm(ns: &Caller) -> Option<i32> {
    let request = RemotingCommand::request(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: TOPIC.into(),
            accept_standard_json_only: None,
        },
    );
    let answer = ns.call(request).await;
    (answer.code == 0).then(|| {
        let route: TopicRouteData = fastjson::from_slice(&answer.body).unwrap();
        route.queue_datas[0].perm
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_keys_change_nothing_and_allowed_keys_take_effect_and_persist() {
    let ns_addr = name_server().await;
    let ns = Caller::new(ns_addr.clone());
    let store = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let evil = elsewhere.path().join("evil");
    let no_args: &[&str] = &[];
    let log = elsewhere.path().join("broker.log");
    let server = ServerProcess::start_logging_to(
        mqbroker(&ns_addr, "broker-a", store.path(), no_args),
        &log,
    );
    let broker = Caller::new(server.addr.clone());
    broker.ok(create_topic(TOPIC, 1)).await;
    assert_eq!(send(&broker).await.code, 0);
    eventually(Duration::from_secs(10), "the topic's route", || async {
        route_perm(&ns).await.filter(|p| *p == 6)
    })
    .await;

    let files_before = snapshot(store.path());
    let config_before = broker.ok(get_config()).await;
    let hostile = [
        format!("storePathRootDir={}", evil.display()),
        format!("rocketmqHome={}", evil.display()),
        "filterServerNums=1".to_owned(),
        "namesrvAddr=192.0.2.1:9876".to_owned(),
        format!("brokerConfigPath={}/broker.conf", evil.display()),
    ];
    // Mixed with an allowed key, and each alone: refused as a whole, naming every key.
    let mixed = format!(
        "brokerPermission=4\n{}\nlongPollingEnable=false\n",
        hostile.join("\n")
    );
    let answer = broker.call(update(&mixed)).await;
    assert_eq!(
        answer.code,
        ResponseCode::NO_PERMISSION.as_i32(),
        "{:?}",
        answer.remark
    );
    let remark = answer.remark.unwrap_or_default();
    assert!(
        remark.starts_with("Can not update config in black list"),
        "{remark}"
    );
    for key in [
        "storePathRootDir (",
        "rocketmqHome (",
        "filterServerNums (",
        "namesrvAddr (",
        "brokerConfigPath (",
    ] {
        assert!(remark.contains(key), "{key} not named: {remark}");
    }
    assert!(!remark.contains("brokerPermission ("), "{remark}");
    for line in &hostile {
        let answer = broker.call(update(line)).await;
        assert_eq!(
            answer.code,
            ResponseCode::NO_PERMISSION.as_i32(),
            "{line}: {:?}",
            answer.remark
        );
    }
    // A bad value of an allowed key is refused too.
    let answer = broker.call(update("brokerPermission=9\n")).await;
    assert_eq!(
        answer.code,
        ResponseCode::INVALID_PARAMETER.as_i32(),
        "{:?}",
        answer.remark
    );

    // Nothing changed: behaviour, reported settings and version, files.
    assert_eq!(
        send(&broker).await.code,
        0,
        "the refused brokerPermission=4 was applied"
    );
    let config_after = broker.ok(get_config()).await;
    assert_eq!(config_after.body, config_before.body);
    assert_eq!(config_after.ext_fields, config_before.ext_fields);
    assert_eq!(snapshot(store.path()), files_before);
    assert!(!evil.exists(), "a refused path was created");
    let beside: Vec<_> = std::fs::read_dir(elsewhere.path()).unwrap().collect();
    assert_eq!(
        beside.len(),
        1,
        "only the log is beside the store: {beside:?}"
    );
    // Every attempt is in the audit log with its peer and keys.
    let said = std::fs::read_to_string(&log).unwrap();
    let audited: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("rmq::audit") && l.contains("UPDATE_BROKER_CONFIG"))
        .collect();
    assert_eq!(audited.len(), 2 + hostile.len(), "{said}");
    assert!(
        audited[0].contains("peer=127.0.0.1:") && audited[0].contains("account=-"),
        "{}",
        audited[0]
    );
    assert!(
        audited[0].contains("keys=brokerPermission,storePathRootDir"),
        "{}",
        audited[0]
    );
    assert!(
        said.lines().any(|l| l.contains("rmq::audit")
            && l.contains("UPDATE_AND_CREATE_TOPIC")
            && l.contains("topic=SafetyTopic")),
        "{said}"
    );

    // An allowed key takes effect at once: sends are refused, the route says read-only.
    broker.ok(update("brokerPermission=4\n")).await;
    let refused = send(&broker).await;
    assert_eq!(
        refused.code,
        ResponseCode::NO_PERMISSION.as_i32(),
        "{:?}",
        refused.remark
    );
    eventually(Duration::from_secs(10), "the read-only route", || async {
        route_perm(&ns).await.filter(|p| *p == 4)
    })
    .await;
    let config_now = broker.ok(get_config()).await;
    let text = String::from_utf8(config_now.body.to_vec()).unwrap();
    assert!(text.contains("\nbrokerPermission=4\n"), "{text}");
    assert_ne!(
        config_now.ext_fields, config_before.ext_fields,
        "the version did not move"
    );
    let runtime =
        std::fs::read_to_string(store.path().join("config/runtimeConfig.properties")).unwrap();
    assert!(runtime.contains("\nbrokerPermission=4\n"), "{runtime}");

    // It survives a restart, and changes back.
    assert!(
        server.stop(Duration::from_secs(10)).is_some(),
        "the broker did not stop on SIGTERM"
    );
    let server = ServerProcess::start(mqbroker(&ns_addr, "broker-a", store.path(), no_args));
    let broker = Caller::new(server.addr.clone());
    assert_eq!(
        send(&broker).await.code,
        ResponseCode::NO_PERMISSION.as_i32(),
        "the change was lost on restart"
    );
    broker.ok(update("brokerPermission=6")).await;
    assert_eq!(send(&broker).await.code, 0);
}
