//! An in-process name server and broker on 127.0.0.1:0 with temp dirs, and helpers to wait for
//! what the tests expect.

#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

use std::collections::HashSet;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmq_broker::BrokerConfig;
use rmq_client::{
    ClientConfig, ConsumeContext, ConsumeStatus, ConsumerConfig, Producer, ReceivedMessage,
};
use rmq_testkit::LocalStack;

/// rmq-testkit's in-process name server and broker (`broker-a`), with client settings tuned
/// for fast tests.
pub struct Cluster(LocalStack);

impl Deref for Cluster {
    type Target = LocalStack;
    fn deref(&self) -> &LocalStack {
        &self.0
    }
}

impl DerefMut for Cluster {
    fn deref_mut(&mut self) -> &mut LocalStack {
        &mut self.0
    }
}

impl Cluster {
    pub async fn start() -> Cluster {
        Cluster::start_with(|_| {}).await
    }

    /// Starts a cluster whose broker settings `tweak` adjusts.
    pub async fn start_with(tweak: impl FnOnce(&mut BrokerConfig)) -> Cluster {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        Cluster(LocalStack::start_with(tweak).await)
    }

    /// Client settings with short periods so tests run fast.
    pub fn client_config(&self) -> ClientConfig {
        fast_client_config(&self.namesrv)
    }

    /// Consumer settings for `group` with a short local retry delay.
    pub fn consumer_config(&self, group: &str) -> ConsumerConfig {
        ConsumerConfig {
            consumer_group: group.into(),
            local_retry_delay: Duration::from_millis(300),
            local_offset_store_dir: self.dir().join("offsets"),
            ..ConsumerConfig::default()
        }
    }

    pub async fn producer(&self, group: &str) -> Producer {
        Producer::builder()
            .client_config(self.client_config())
            .producer_group(group)
            .start()
            .await
            .unwrap()
    }

    pub async fn stop(self) {
        self.0.stop().await;
    }
}

/// Polls `cond` every 50 ms for up to 20 s; panics naming `what` if it never holds.
pub async fn wait_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a listener saw, shared with the test.
#[derive(Clone, Default)]
pub struct Received(pub Arc<Mutex<Vec<ReceivedMessage>>>);

impl Received {
    /// A listener that records every message and succeeds.
    pub fn listener(
        &self,
    ) -> impl Fn(&[ReceivedMessage], &ConsumeContext) -> ConsumeStatus + Send + Sync + 'static {
        let seen = self.0.clone();
        move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
            seen.lock().unwrap().extend_from_slice(msgs);
            ConsumeStatus::ConsumeSuccess
        }
    }

    pub fn all(&self) -> Vec<ReceivedMessage> {
        self.0.lock().unwrap().clone()
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn ids(&self) -> HashSet<String> {
        self.all().into_iter().map(|m| m.msg_id).collect()
    }

    /// Asserts that exactly `ids` were received, each once (a multiset: a duplicate fails).
    pub fn assert_each_once(&self, ids: &HashSet<String>) {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for m in self.all() {
            *counts.entry(m.msg_id).or_default() += 1;
        }
        let once: std::collections::BTreeMap<String, usize> =
            ids.iter().map(|id| (id.clone(), 1)).collect();
        assert_eq!(counts, once, "deliveries per message id");
    }

    /// Waits until every id in `ids` has been received.
    pub async fn wait_for(&self, ids: &HashSet<String>) {
        wait_until(&format!("{} messages", ids.len()), || async {
            ids.is_subset(&self.ids())
        })
        .await;
    }
}

/// The queues assigned to `consumer`, its retry topic's queues left out.
pub fn own_queues(consumer: &rmq_client::PushConsumer) -> Vec<rmq_client::MessageQueue> {
    consumer
        .assigned_queues()
        .into_iter()
        .filter(|q| !q.topic.starts_with("%RETRY%"))
        .collect()
}

/// Polls `consumer` until `n` messages arrived (panics after 20 s); may return a few more.
pub async fn poll_n(consumer: &rmq_client::LitePullConsumer, n: usize) -> Vec<ReceivedMessage> {
    let mut all = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while all.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} polled",
            all.len()
        );
        all.extend(consumer.poll(Duration::from_millis(300)).await.unwrap());
    }
    all
}

/// Client settings for the name server at `namesrv` with short periods (route polling,
/// heartbeats, offset persistence, rebalancing), so tests against any broker run fast.
pub fn fast_client_config(namesrv: &str) -> ClientConfig {
    ClientConfig {
        namesrv_addr: namesrv.to_owned(),
        client_ip: "127.0.0.1".into(),
        poll_name_server_interval: Duration::from_millis(500),
        heartbeat_broker_interval: Duration::from_secs(2),
        persist_consumer_offset_interval: Duration::from_millis(500),
        rebalance_interval: Duration::from_secs(1),
        ..ClientConfig::default()
    }
}
