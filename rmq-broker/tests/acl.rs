//! ACL on a real `mqbroker` process over TCP on 127.0.0.1 (docs/acl.md): signed requests
//! allowed and refused by topic, group and admin permission, bad signatures, unknown
//! accounts, whitelists, reload on file change, a broken file keeping the last good rules, no
//! secret in any remark, and a slave that copies an ACL master's metadata once whitelisted.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{create_topic, eventually, name_server, pull_message, send_message, BrokerProcess};
use rmq_remoting::acl::Credentials;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode};

const SECRETS: [&str; 3] = ["producer-secret", "consumer-secret", "admin-secret"];

const RULES: &str = "
accounts:
  - accessKey: producer1
    secretKey: producer-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - AclTopic=PUB
  - accessKey: consumer1
    secretKey: consumer-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - AclTopic=SUB
    groupPerms:
      - deniedGroup=DENY
  - accessKey: adminacc
    secretKey: admin-secret
    admin: true
";

/// A broker with `aclEnable=true` reading `home`/conf/plain_acl.yml, logging to `home`/broker.log.
fn acl_broker(namesrv: &str, home: &Path) -> BrokerProcess {
    let dir = tempfile::tempdir().unwrap();
    let home_arg = home.to_str().unwrap().to_owned();
    let args = ["--aclEnable", "true", "--rocketmqHome", &home_arg];
    let command = common::mqbroker(namesrv, "acl-broker", dir.path(), &args);
    BrokerProcess {
        server: rmq_testkit::ServerProcess::start_logging_to(command, &home.join("broker.log")),
        dir,
    }
}

fn write_rules(home: &Path, text: &str) {
    std::fs::create_dir_all(home.join("conf")).unwrap();
    // Write then rename, so the watcher never reads half a file.
    let tmp = home.join("conf").join("plain_acl.yml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(tmp, home.join("conf").join("plain_acl.yml")).unwrap();
}

/// A client signing every request as `access_key` with `secret_key` (none: unsigned).
struct Signed {
    addr: String,
    client: RemotingClient,
}

impl Signed {
    fn new(addr: &str, keys: Option<(&str, &str)>) -> Signed {
        let mut client = RemotingClient::new(TransportConfig::default(), Router::new());
        if let Some((ak, sk)) = keys {
            let credentials = Credentials::new(ak, sk);
            client = client.with_request_hook(Arc::new(move |request: &mut RemotingCommand| {
                credentials.sign(request)
            }));
        }
        Signed {
            addr: addr.to_owned(),
            client,
        }
    }

    async fn call(&self, request: RemotingCommand) -> RemotingCommand {
        let response = self
            .client
            .invoke(&self.addr, request, Duration::from_secs(5))
            .await
            .unwrap();
        let remark = response.remark.clone().unwrap_or_default();
        for secret in SECRETS {
            assert!(
                !remark.contains(secret),
                "a remark shows a secret: {remark}"
            );
        }
        response
    }

    /// Expects Apache's refusal: SYSTEM_ERROR with the AclException's message.
    async fn refused(&self, request: RemotingCommand, wanted: &str) {
        let response = self.call(request).await;
        let remark = response.remark.unwrap_or_default();
        assert_eq!(response.code, 1, "{remark}");
        assert!(
            remark.starts_with("org.apache.rocketmq.acl.common.AclException: ")
                && remark.contains(wanted),
            "{remark:?} should name {wanted:?}"
        );
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn permissions_signatures_and_admin_codes() {
    let home = tempfile::tempdir().unwrap();
    write_rules(home.path(), RULES);
    let namesrv = name_server().await;
    let broker = acl_broker(&namesrv, home.path());
    let addr = broker.addr();
    let admin = Signed::new(addr, Some(("adminacc", "admin-secret")));
    let producer = Signed::new(addr, Some(("producer1", "producer-secret")));
    let consumer = Signed::new(addr, Some(("consumer1", "consumer-secret")));
    let unsigned = Signed::new(addr, None);

    // Admin-only codes.
    producer
        .refused(
            create_topic("AclTopic", 1),
            "Need admin permission for request code=17, but accessKey=producer1 is not",
        )
        .await;
    let update_config = RemotingCommand::request_without_header(RequestCode::UPDATE_BROKER_CONFIG)
        .with_body(&b"flushConsumerOffsetInterval=6000\n"[..]);
    consumer
        .refused(update_config, "request code=25, but accessKey=consumer1")
        .await;
    assert_eq!(admin.call(create_topic("AclTopic", 1)).await.code, 0);

    // Sends by topic permission.
    let sent = producer
        .call(send_message("AclTopic", 0, b"m1".to_vec(), now_ms()))
        .await;
    assert_eq!(sent.code, 0, "{:?}", sent.remark);
    consumer
        .refused(
            send_message("AclTopic", 0, b"x".to_vec(), now_ms()),
            "No default permission for topic:AclTopic: accessKey=consumer1 needs PUB, has SUB",
        )
        .await;
    producer
        .refused(
            send_message("OtherTopic", 0, b"x".to_vec(), now_ms()),
            "topic:OtherTopic: accessKey=producer1 needs PUB, has DENY",
        )
        .await;
    unsigned
        .refused(
            send_message("AclTopic", 0, b"x".to_vec(), now_ms()),
            "No accessKey is configured",
        )
        .await;
    Signed::new(addr, Some(("producer1", "wrong-secret")))
        .refused(
            send_message("AclTopic", 0, b"x".to_vec(), now_ms()),
            "Check signature failed for accessKey=producer1",
        )
        .await;
    Signed::new(addr, Some(("stranger1", "producer-secret")))
        .refused(
            send_message("AclTopic", 0, b"x".to_vec(), now_ms()),
            "No acl config for stranger1",
        )
        .await;

    // Pulls need SUB on the topic and the group.
    let pulled = consumer
        .call(pull_message("okGroup", "AclTopic", 0, 0))
        .await;
    assert_eq!(pulled.code, 0, "{:?}", pulled.remark);
    let record = rmq_remoting::message::decode_record(&pulled.body, true).unwrap();
    assert_eq!(record.body, b"m1");
    assert_eq!(
        record.total_size as usize,
        pulled.body.len(),
        "exactly the one allowed send arrived"
    );
    consumer
        .refused(
            pull_message("deniedGroup", "AclTopic", 0, 0),
            "group:deniedGroup: accessKey=consumer1 needs SUB, has DENY",
        )
        .await;
    producer
        .refused(
            pull_message("okGroup", "AclTopic", 0, 0),
            "topic:AclTopic: accessKey=producer1 needs SUB, has PUB",
        )
        .await;
}

#[tokio::test]
async fn rules_reload_on_change_and_a_broken_file_keeps_the_last_good_ones() {
    let home = tempfile::tempdir().unwrap();
    write_rules(home.path(), RULES);
    let namesrv = name_server().await;
    let broker = acl_broker(&namesrv, home.path());
    let addr = broker.addr();
    let admin = Signed::new(addr, Some(("adminacc", "admin-secret")));
    let consumer = Signed::new(addr, Some(("consumer1", "consumer-secret")));
    let unsigned = Signed::new(addr, None);
    assert_eq!(admin.call(create_topic("AclTopic", 1)).await.code, 0);
    let send = || send_message("AclTopic", 0, b"m".to_vec(), now_ms());
    assert_eq!(consumer.call(send()).await.code, 1);

    // consumer1 gains PUB: the broker notices within a few polls.
    write_rules(
        home.path(),
        &RULES.replace("AclTopic=SUB", "AclTopic=PUB|SUB"),
    );
    eventually(Duration::from_secs(10), "the new rules apply", || async {
        (consumer.call(send()).await.code == 0).then_some(())
    })
    .await;

    // A broken file: logged with file and line, the last good rules stay.
    write_rules(
        home.path(),
        "accounts:\n  - accessKey: consumer1\n    secretKey: [unclosed\n",
    );
    let log = home.path().join("broker.log");
    eventually(
        Duration::from_secs(10),
        "the broken file is reported",
        || {
            let log = log.clone();
            async move {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                text.lines()
                    .find(|l| l.contains("ACL file not reloaded") && l.contains("plain_acl.yml:"))
                    .map(|l| assert!(l.contains("ERROR"), "{l}"))
            }
        },
    )
    .await;
    assert_eq!(
        consumer.call(send()).await.code,
        0,
        "the last good rules stay"
    );

    // A global whitelist lets unsigned requests through, admin codes included.
    assert_eq!(unsigned.call(send()).await.code, 1);
    write_rules(
        home.path(),
        &format!("globalWhiteRemoteAddresses:\n  - 127.0.0.*\n{RULES}"),
    );
    eventually(Duration::from_secs(10), "the whitelist applies", || async {
        (unsigned.call(send()).await.code == 0).then_some(())
    })
    .await;
    assert_eq!(unsigned.call(create_topic("Whitelisted", 1)).await.code, 0);
}

/// A slave's metadata copies are unsigned, as Apache 4.9.7's: an ACL master refuses them until
/// the slave's address is in `globalWhiteRemoteAddresses` (docs/acl.md, "Broker-to-broker").
#[tokio::test]
async fn a_slave_copies_an_acl_master_once_whitelisted() {
    use rmq_remoting::body::topic::TopicConfigSerializeWrapper;
    let home = tempfile::tempdir().unwrap();
    write_rules(home.path(), RULES);
    let namesrv = name_server().await;
    let master = acl_broker(&namesrv, home.path());
    let admin = Signed::new(master.addr(), Some(("adminacc", "admin-secret")));
    assert_eq!(admin.call(create_topic("Replicated", 1)).await.code, 0);
    let slave = BrokerProcess::slave(&namesrv, "acl-broker", &[]);
    let on_slave = Signed::new(slave.addr(), None);
    let slave_has_topic = || async {
        let answer = on_slave
            .call(RemotingCommand::request_without_header(
                RequestCode::GET_ALL_TOPIC_CONFIG,
            ))
            .await;
        let table: TopicConfigSerializeWrapper =
            rmq_remoting::fastjson::from_slice(&answer.body).ok()?;
        table
            .topic_config_table
            .contains_key("Replicated")
            .then_some(())
    };
    // The slave's first copy comes 3 s after it learns its master: refused.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        slave_has_topic().await.is_none(),
        "an unsigned copy went through"
    );
    write_rules(
        home.path(),
        &format!("globalWhiteRemoteAddresses:\n  - 127.0.0.1\n{RULES}"),
    );
    eventually(
        Duration::from_secs(20),
        "the whitelisted slave copies the topic",
        slave_has_topic,
    )
    .await;
}

#[test]
fn a_broken_file_or_no_home_stops_the_start() {
    let home = tempfile::tempdir().unwrap();
    write_rules(
        home.path(),
        "accounts:\n  - accessKey: short\n    secretKey: 12345678\n",
    );
    let store = tempfile::tempdir().unwrap();
    let home_arg = home.path().to_str().unwrap();
    let started = |args: &[&str]| {
        common::mqbroker("127.0.0.1:1", "acl-broker", store.path(), args)
            .env_remove("ROCKETMQ_HOME")
            .output()
            .unwrap()
    };
    let broken = started(&["--aclEnable", "true", "--rocketmqHome", home_arg]);
    assert!(!broken.status.success());
    let said = String::from_utf8_lossy(&broken.stderr);
    assert!(said.contains("plain_acl.yml:2"), "{said}");
    let homeless = started(&["--aclEnable", "true"]);
    assert!(!homeless.status.success());
    assert!(String::from_utf8_lossy(&homeless.stderr).contains("rocketmqHome"));
}
