//! rmq-client with ACL keys against a broker with `aclEnable=true` and the accounts of
//! `fixtures/plain_acl.yml`: allowed sends and consumption (counted as a multiset), a denied
//! send, an admin call from a non-admin account, unsigned and wrongly signed clients, and the
//! trace producer signing with the host's keys. Every scenario runs twice, with the same
//! expectations: `rmq::` against rmq's broker (in process, started here), `apache::` against
//! Apache 4.9.7's, so one file proves both.
//!
//! `interop/run.sh apache-client` starts Apache's name server and broker with that file and
//! runs `apache::` with `RMQ_APACHE_ACL_NAMESRV` / `RMQ_APACHE_ACL_BROKER` set and
//! `--include-ignored`. A plain `cargo test` has no JVM: there the `apache::` tests show as
//! ignored, and a run with `--ignored` but without the servers fails instead of passing.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{poll_n, wait_until, Received};
use rmq_client::{
    Admin, ClientConfig, ClientError, ConsumeFromWhere, ConsumerConfig, Credentials,
    LitePullConsumer, Message, Producer, ProducerConfig, PushConsumer, RMQ_SYS_TRACE_TOPIC,
};
use rmq_remoting::body::topic::TopicConfig;
use rmq_testkit::LocalStack;

/// Accounts and resources of `fixtures/plain_acl.yml`.
const ADMIN: (&str, &str) = ("rmq-acl-admin", "admin-secret-123");
const USER: (&str, &str) = ("rmq-acl-user", "user-secret-123");
/// The user may send to and consume from it.
const OPEN_TOPIC: &str = "AclOpen";
/// Denied to the user.
const CLOSED_TOPIC: &str = "AclClosed";
/// The user's consumer group (SUB).
const USER_GROUP: &str = "acl-user-consumers";
/// The user's lite pull consumer group (SUB).
const USER_PULL_GROUP: &str = "acl-user-pullers";
/// SYSTEM_ERROR: the code Apache's broker answers an ACL refusal with.
const SYSTEM_ERROR: i32 = 1;

fn keys((access, secret): (&str, &str)) -> Credentials {
    Credentials::new(access, secret)
}

/// A name server and a broker with ACL on, loaded with `fixtures/plain_acl.yml`.
struct Target {
    namesrv: String,
    broker: String,
    /// rmq's servers, when the target is rmq.
    stack: Option<LocalStack>,
    dir: tempfile::TempDir,
}

impl Target {
    fn apache() -> Option<Target> {
        let namesrv = std::env::var("RMQ_APACHE_ACL_NAMESRV").ok()?;
        let broker = std::env::var("RMQ_APACHE_ACL_BROKER").ok()?;
        Some(Target {
            namesrv,
            broker,
            stack: None,
            dir: tempfile::tempdir().unwrap(),
        })
    }

    /// rmq's name server and broker in process, the broker reading the fixture from its
    /// `rocketmqHome`.
    async fn rmq() -> Target {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("home").join("conf");
        std::fs::create_dir_all(&conf).unwrap();
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plain_acl.yml");
        std::fs::copy(fixture, conf.join("plain_acl.yml")).unwrap();
        let home = dir.path().join("home").to_string_lossy().into_owned();
        let stack = LocalStack::start_with(|c| {
            c.acl_enable = true;
            c.rocketmq_home = home;
            c.trace_topic_enable = true;
        })
        .await;
        Target {
            namesrv: stack.namesrv.clone(),
            broker: stack.broker.clone(),
            stack: Some(stack),
            dir,
        }
    }

    /// Stops rmq's servers (Apache's belong to the script).
    async fn finish(self) {
        if let Some(stack) = self.stack {
            stack.stop().await;
        }
    }

    fn client(&self, credentials: Option<Credentials>) -> ClientConfig {
        ClientConfig {
            credentials,
            ..common::fast_client_config(&self.namesrv)
        }
    }

    async fn admin(&self, account: (&str, &str)) -> Admin {
        Admin::start(self.client(Some(keys(account))))
            .await
            .unwrap()
    }

    /// Creates `topic` with the admin account (a no-op when it exists) and waits for its route.
    async fn create_topic(&self, topic: &str) {
        let admin = self.admin(ADMIN).await;
        let config = TopicConfig {
            order: false,
            perm: 6,
            read_queue_nums: 2,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_name: topic.into(),
            topic_sys_flag: 0,
            write_queue_nums: 2,
            attributes: None,
        };
        admin.create_topic(&self.broker, &config).await.unwrap();
        wait_until(&format!("a route for {topic}"), || async {
            admin.topic_route(topic).await.is_ok()
        })
        .await;
        admin.shutdown().await;
    }

    /// A producer that tries once per send, so a refusal is the send's error.
    async fn producer(&self, group: &str, credentials: Option<Credentials>) -> Producer {
        self.producer_with(group, credentials, false).await
    }

    async fn producer_with(
        &self,
        group: &str,
        credentials: Option<Credentials>,
        trace: bool,
    ) -> Producer {
        Producer::builder()
            .client_config(self.client(credentials))
            .config(ProducerConfig {
                producer_group: group.into(),
                retry_times_when_send_failed: 0,
                enable_msg_trace: trace,
                ..ProducerConfig::default()
            })
            .start()
            .await
            .unwrap()
    }
}

fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// Runs `scenario` against Apache's ACL broker, which the suite provides.
async fn on_apache<Fut: Future<Output = ()>>(scenario: fn(Target) -> Fut) {
    init_logs();
    let Some(target) = Target::apache() else {
        panic!(
            "RMQ_APACHE_ACL_NAMESRV/RMQ_APACHE_ACL_BROKER unset: run interop/run.sh apache-client"
        );
    };
    tokio::time::timeout(Duration::from_secs(60), scenario(target))
        .await
        .expect("test timed out");
}

/// Runs `scenario` against rmq's broker with ACL on.
async fn on_rmq<Fut: Future<Output = ()>>(scenario: fn(Target) -> Fut) {
    init_logs();
    let target = Target::rmq().await;
    tokio::time::timeout(Duration::from_secs(60), scenario(target))
        .await
        .expect("test timed out");
}

/// One test per scenario and target: `rmq::<scenario>` and `apache::<scenario>`.
macro_rules! on_both {
    ($($scenario:ident),* $(,)?) => {
        mod rmq {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::on_rmq(super::$scenario).await;
                }
            )*
        }
        mod apache {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs Apache 4.9.7's broker with ACL on: interop/run.sh apache-client"]
                async fn $scenario() {
                    super::on_apache(super::$scenario).await;
                }
            )*
        }
    };
}

on_both!(
    allowed_sends_are_consumed_once_each_and_queries_are_signed,
    a_denied_send_names_the_topic,
    only_admin_accounts_create_topics,
    unsigned_and_wrongly_signed_clients_are_refused,
    trace_messages_are_signed_with_the_hosts_keys,
    a_lite_pull_consumer_signs_its_pulls,
);

fn run_id() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// The code and remark of the broker's refusal inside `e`.
fn refusal(e: &ClientError) -> (i32, String) {
    match e {
        ClientError::Refused { code, remark, .. } => (*code, remark.clone()),
        ClientError::SendFailed { last, .. } => refusal(last),
        other => panic!("expected a refusal, got {other}"),
    }
}

async fn allowed_sends_are_consumed_once_each_and_queries_are_signed(t: Target) {
    t.create_topic(OPEN_TOPIC).await;
    let run = run_id();
    let producer = t.producer("acl-user-producers", Some(keys(USER))).await;
    let mut ids = HashSet::new();
    let mut bodies = Vec::new();
    for i in 0..20 {
        let body = format!("open-{run}-{i}");
        let sent = producer
            .send(Message::new(OPEN_TOPIC, body.clone()))
            .await
            .unwrap();
        ids.insert(sent.msg_id);
        bodies.push(body);
    }
    let received = Received::default();
    let consumer = PushConsumer::builder()
        .client_config(t.client(Some(keys(USER))))
        .config(ConsumerConfig {
            consumer_group: USER_GROUP.into(),
            consume_from_where: ConsumeFromWhere::FirstOffset,
            local_offset_store_dir: t.dir.path().join("offsets"),
            ..ConsumerConfig::default()
        })
        .subscribe(OPEN_TOPIC, "*")
        .listener(received.listener())
        .start()
        .await
        .unwrap();
    received.wait_for(&ids).await;
    // Counted as a multiset: a duplicate delivery shows up here.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for m in received.all() {
        let body = String::from_utf8_lossy(&m.body).into_owned();
        if body.starts_with(&format!("open-{run}-")) {
            *counts.entry(body).or_default() += 1;
        }
    }
    let once: BTreeMap<String, usize> = bodies.iter().map(|b| (b.clone(), 1)).collect();
    assert_eq!(counts, once);

    // A query by unique key carries a flag Apache leaves out of the signed content.
    let admin = t.admin(USER).await;
    let id = ids.iter().next().unwrap().clone();
    let found = admin
        .query_messages_by_unique_key(OPEN_TOPIC, &id)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "one stored copy of {id}");
    admin.shutdown().await;
    consumer.shutdown().await;
    producer.shutdown().await;
    t.finish().await;
}

async fn a_denied_send_names_the_topic(t: Target) {
    t.create_topic(CLOSED_TOPIC).await;
    let producer = t.producer("acl-user-denied", Some(keys(USER))).await;
    let err = producer
        .send(Message::new(CLOSED_TOPIC, "never stored"))
        .await
        .unwrap_err();
    let (code, remark) = refusal(&err);
    assert_eq!(code, SYSTEM_ERROR, "{remark}");
    assert!(
        remark.contains(&format!("No default permission for topic:{CLOSED_TOPIC}")),
        "{remark}"
    );
    assert!(!remark.contains(USER.1), "the secret never shows: {remark}");
    producer.shutdown().await;
    t.finish().await;
}

async fn only_admin_accounts_create_topics(t: Target) {
    let user = t.admin(USER).await;
    let config = TopicConfig {
        order: false,
        perm: 6,
        read_queue_nums: 1,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_name: format!("AclByUser{}", run_id()),
        topic_sys_flag: 0,
        write_queue_nums: 1,
        attributes: None,
    };
    let err = user.create_topic(&t.broker, &config).await.unwrap_err();
    let (code, remark) = refusal(&err);
    assert_eq!(code, SYSTEM_ERROR, "{remark}");
    assert!(
        remark.contains(&format!(
            "Need admin permission for request code=17, but accessKey={} is not",
            USER.0
        )),
        "{remark}"
    );
    user.shutdown().await;
    // The admin account may.
    let admin = t.admin(ADMIN).await;
    admin.create_topic(&t.broker, &config).await.unwrap();
    admin.shutdown().await;
    t.finish().await;
}

async fn unsigned_and_wrongly_signed_clients_are_refused(t: Target) {
    t.create_topic(OPEN_TOPIC).await;
    let wrong = t
        .producer("acl-wrong-secret", Some(keys((USER.0, "not-the-secret"))))
        .await;
    let err = wrong
        .send(Message::new(OPEN_TOPIC, "wrong secret"))
        .await
        .unwrap_err();
    let (code, remark) = refusal(&err);
    assert_eq!(code, SYSTEM_ERROR, "{remark}");
    assert!(
        remark.contains(&format!("Check signature failed for accessKey={}", USER.0)),
        "{remark}"
    );
    wrong.shutdown().await;

    // Same process, same instance name, no keys: its own connections, unsigned, refused;
    // the keyed producer next to it still gets through.
    let shared = |group: &str, credentials| {
        Producer::builder()
            .client_config(ClientConfig {
                instance_name: "acl-shared-name".into(),
                ..t.client(credentials)
            })
            .config(ProducerConfig {
                producer_group: group.into(),
                retry_times_when_send_failed: 0,
                ..ProducerConfig::default()
            })
            .start()
    };
    let unsigned = shared("acl-unsigned", None).await.unwrap();
    let signed = shared("acl-signed", Some(keys(USER))).await.unwrap();
    assert_eq!(unsigned.client_id(), signed.client_id());
    let err = unsigned
        .send(Message::new(OPEN_TOPIC, "unsigned"))
        .await
        .unwrap_err();
    let (code, remark) = refusal(&err);
    assert_eq!(code, SYSTEM_ERROR, "{remark}");
    assert!(remark.contains("No accessKey is configured"), "{remark}");
    signed
        .send(Message::new(OPEN_TOPIC, "signed"))
        .await
        .unwrap();
    unsigned.shutdown().await;
    signed.shutdown().await;
    t.finish().await;
}

async fn trace_messages_are_signed_with_the_hosts_keys(t: Target) {
    t.create_topic(OPEN_TOPIC).await;
    let producer = t.producer_with("acl-traced", Some(keys(USER)), true).await;
    let sent = producer
        .send(Message::new(OPEN_TOPIC, "traced"))
        .await
        .unwrap();
    let admin = t.admin(ADMIN).await;
    wait_until("the Pub record of the traced send", || async {
        admin
            .query_trace(RMQ_SYS_TRACE_TOPIC, &sent.msg_id)
            .await
            .is_ok_and(|views| !views.is_empty())
    })
    .await;
    admin.shutdown().await;
    producer.shutdown().await;
    t.finish().await;
}

async fn a_lite_pull_consumer_signs_its_pulls(t: Target) {
    t.create_topic(OPEN_TOPIC).await;
    let run = run_id();
    let producer = t.producer("acl-user-pull-producer", Some(keys(USER))).await;
    let mut once = BTreeMap::new();
    for i in 0..8 {
        let body = format!("pull-{run}-{i}");
        producer
            .send(Message::new(OPEN_TOPIC, body.clone()))
            .await
            .unwrap();
        once.insert(body, 1);
    }
    let consumer = LitePullConsumer::builder()
        .client_config(t.client(None))
        .credentials(keys(USER))
        .config(ConsumerConfig {
            consumer_group: USER_PULL_GROUP.into(),
            consume_from_where: ConsumeFromWhere::FirstOffset,
            local_offset_store_dir: t.dir.path().join("pull-offsets"),
            ..ConsumerConfig::default()
        })
        .subscribe(OPEN_TOPIC, "*")
        .start()
        .await
        .unwrap();
    // Other scenarios send to the topic too: poll until every one of ours is in.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while counts.len() < once.len() {
        assert!(tokio::time::Instant::now() < deadline, "only {counts:?}");
        for m in poll_n(&consumer, 1).await {
            let body = String::from_utf8_lossy(&m.body).into_owned();
            if body.starts_with(&format!("pull-{run}-")) {
                *counts.entry(body).or_default() += 1;
            }
        }
    }
    assert_eq!(counts, once, "each message once");
    consumer.shutdown().await;
    producer.shutdown().await;
    t.finish().await;
}
