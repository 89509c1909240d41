//! rmq-client with TLS (`ClientConfig::use_tls`, test mode: any server certificate trusted)
//! against a name server and broker in `tls.server.mode=enforcing`: sends and a push consumer
//! (every message once, counted as a multiset) over TLS, and a plaintext client refused. Each
//! scenario runs against rmq's servers (in process, this test binary installs enforcing TLS for
//! them) as `rmq::` and against Apache 4.9.7's as `apache::`.
//!
//! `interop/apache-tls-client.sh` starts Apache's name server and broker with
//! `-Dtls.server.mode=enforcing -Dtls.enable=true` and runs `apache::` with
//! `RMQ_APACHE_TLS_NAMESRV` / `RMQ_APACHE_TLS_BROKER` set. In a plain `cargo test` the `apache::`
//! tests are ignored; run with `--ignored` but without the servers, they fail.

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use common::{wait_until, Received};
use rmq_client::{
    Admin, ClientConfig, ConsumeFromWhere, ConsumerConfig, Message, Producer, ProducerConfig,
    PushConsumer,
};
use rmq_remoting::body::topic::TopicConfig;
use rmq_remoting::transport::tls::{ProcessTls, TlsMode, TlsOptions};
use rmq_testkit::LocalStack;

const MESSAGES: usize = 20;

struct Target {
    namesrv: String,
    broker: String,
    stack: Option<LocalStack>,
    dir: tempfile::TempDir,
}

impl Target {
    fn client(&self, tls: bool) -> ClientConfig {
        ClientConfig {
            use_tls: tls,
            connect_timeout: Duration::from_secs(2),
            mq_client_api_timeout: Duration::from_secs(2),
            ..common::fast_client_config(&self.namesrv)
        }
    }

    async fn producer(&self, tls: bool) -> Producer {
        Producer::builder()
            .client_config(self.client(tls))
            .config(ProducerConfig {
                producer_group: format!("tls-producers-{tls}"),
                retry_times_when_send_failed: 0,
                send_msg_timeout: Duration::from_secs(3),
                ..ProducerConfig::default()
            })
            .start()
            .await
            .unwrap()
    }
}

/// Scenario: TLS admin creates a topic, TLS producer sends, TLS consumer gets each message once,
/// and a plaintext producer cannot send.
async fn tls_clients_are_served_and_plaintext_refused(t: Target) {
    let topic = format!("TlsTopic{}", std::process::id());
    let admin = Admin::start(t.client(true)).await.unwrap();
    let config = TopicConfig {
        order: false,
        perm: 6,
        read_queue_nums: 2,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_name: topic.clone(),
        topic_sys_flag: 0,
        write_queue_nums: 2,
        attributes: None,
    };
    admin.create_topic(&t.broker, &config).await.unwrap();
    wait_until(&format!("a route for {topic}"), || async {
        admin.topic_route(&topic).await.is_ok()
    })
    .await;
    admin.shutdown().await;

    let producer = t.producer(true).await;
    let mut ids = HashSet::new();
    for i in 0..MESSAGES {
        let sent = producer
            .send(Message::new(&topic, format!("tls {i}")))
            .await
            .unwrap();
        ids.insert(sent.msg_id);
    }
    assert_eq!(ids.len(), MESSAGES);
    let received = Received::default();
    let consumer = PushConsumer::builder()
        .client_config(t.client(true))
        .config(ConsumerConfig {
            consumer_group: "tls-consumers".into(),
            consume_from_where: ConsumeFromWhere::FirstOffset,
            local_offset_store_dir: t.dir.path().join("offsets"),
            ..ConsumerConfig::default()
        })
        .subscribe(&topic, "*")
        .listener(received.listener())
        .start()
        .await
        .unwrap();
    received.wait_for(&ids).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    received.assert_each_once(&ids);
    consumer.shutdown().await;
    producer.shutdown().await;

    let plain = t.producer(false).await;
    let refused = plain.send(Message::new(&topic, "plaintext")).await;
    assert!(
        refused.is_err(),
        "an enforcing server took a plaintext send: {refused:?}"
    );
    plain.shutdown().await;
    if let Some(stack) = t.stack {
        stack.stop().await;
    }
}

async fn on_apache<Fut: Future<Output = ()>>(scenario: fn(Target) -> Fut) {
    let (Ok(namesrv), Ok(broker)) = (
        std::env::var("RMQ_APACHE_TLS_NAMESRV"),
        std::env::var("RMQ_APACHE_TLS_BROKER"),
    ) else {
        panic!(
            "RMQ_APACHE_TLS_NAMESRV/RMQ_APACHE_TLS_BROKER unset: run interop/apache-tls-client.sh"
        );
    };
    let target = Target {
        namesrv,
        broker,
        stack: None,
        dir: tempfile::tempdir().unwrap(),
    };
    tokio::time::timeout(Duration::from_secs(90), scenario(target))
        .await
        .expect("test timed out");
}

async fn on_rmq<Fut: Future<Output = ()>>(scenario: fn(Target) -> Fut) {
    // This binary's servers are enforcing and the broker registers over TLS, as mqbroker with
    // tls.server.mode=enforcing and tls.enable=true.
    let mut options = TlsOptions::server(TlsMode::Enforcing);
    options.enable = true;
    ProcessTls::from_options(&options).unwrap().install();
    let stack = LocalStack::start().await;
    let target = Target {
        namesrv: stack.namesrv.clone(),
        broker: stack.broker.clone(),
        stack: Some(stack),
        dir: tempfile::tempdir().unwrap(),
    };
    tokio::time::timeout(Duration::from_secs(90), scenario(target))
        .await
        .expect("test timed out");
}

mod rmq {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tls_clients_are_served_and_plaintext_refused() {
        super::on_rmq(super::tls_clients_are_served_and_plaintext_refused).await;
    }
}

mod apache {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs Apache 4.9.7 in TLS enforcing mode: interop/apache-tls-client.sh"]
    async fn tls_clients_are_served_and_plaintext_refused() {
        super::on_apache(super::tls_clients_are_served_and_plaintext_refused).await;
    }
}
