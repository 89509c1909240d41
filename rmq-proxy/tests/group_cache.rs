//! The proxy's cache of subscription groups, where a consumer's FIFO flag and retries come
//! from: a group created after the proxy looked up another one is found on its first lookup,
//! as Apache's per-group cache finds it. Cached whole, the table read for the first group hid
//! the new one for topicConfigCacheRefreshSeconds, and a FIFO group was served unordered
//! (interop/grpc's receive scenarios, run side by side, showed it).

use rmq_proxy::cluster::Cluster;
use rmq_proxy::ProxyConfig;
use rmq_remoting::body::stats::SubscriptionGroupConfig;
use rmq_testkit::LocalStack;

mod common;

#[tokio::test]
async fn a_group_created_after_another_lookup_is_found_at_once_then_cached() {
    let servers = LocalStack::start().await;
    let cluster = Cluster::start(&ProxyConfig {
        namesrv_addr: servers.namesrv.clone(),
        topic_config_cache_refresh_seconds: 600,
        ..ProxyConfig::default()
    })
    .await
    .unwrap();
    let admin = common::admin(&servers.namesrv, None).await;
    let create = |group: SubscriptionGroupConfig| {
        let (admin, broker) = (&admin, &servers.broker);
        async move {
            admin
                .create_subscription_group(broker, &group)
                .await
                .unwrap()
        }
    };
    let retries = |name: &'static str| {
        let cluster = &cluster;
        async move { cluster.group_config(name).await.map(|g| g.retry_max_times) }
    };
    let mut early = SubscriptionGroupConfig::new("looked-up-first");
    early.retry_max_times = 3;
    create(early.clone()).await;
    assert_eq!(retries("looked-up-first").await, Some(3));
    // Unknown, then created: found on the next lookup, not a cache time later.
    assert!(cluster.group_config("created-later").await.is_none());
    let mut late = SubscriptionGroupConfig::new("created-later");
    late.consume_message_orderly = Some(true);
    create(late).await;
    let found = cluster.group_config("created-later").await;
    assert_eq!(found.and_then(|g| g.consume_message_orderly), Some(true));
    // A group found is cached for the cache time: a change shows only after it.
    early.retry_max_times = 5;
    create(early).await;
    assert_eq!(retries("looked-up-first").await, Some(3));
    servers.stop().await;
}
