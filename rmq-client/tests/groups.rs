//! Consumer groups against an in-process name server and broker: two members split the queues
//! and one takes over when the other leaves, a restarted member resumes from the committed
//! offset, and broadcasting members each get everything.

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use common::{own_queues, wait_until, Cluster, Received};
use rmq_client::{ClientConfig, Message, MessageModel, Producer, PushConsumer};

async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(50), test)
        .await
        .expect("test timed out");
}

async fn member(
    cluster: &Cluster,
    client: ClientConfig,
    group: &str,
    model: MessageModel,
    received: &Received,
) -> PushConsumer {
    PushConsumer::builder()
        .client_config(client)
        .config(cluster.consumer_config(group))
        .message_model(model)
        .subscribe("Group", "*")
        .listener(received.listener())
        .start()
        .await
        .unwrap()
}

async fn send(producer: &Producer, prefix: &str, n: usize) -> HashSet<String> {
    let mut ids = HashSet::new();
    for i in 0..n {
        let r = producer
            .send(Message::new("Group", format!("{prefix}-{i}")))
            .await
            .unwrap();
        ids.insert(r.msg_id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_split_the_queues_and_one_takes_over() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("Group", 4).await;
        let (got_a, got_b) = (Received::default(), Received::default());
        let a = member(
            &cluster,
            cluster.client_config(),
            "cg-split",
            MessageModel::Clustering,
            &got_a,
        )
        .await;
        let b = member(
            &cluster,
            cluster.client_config(),
            "cg-split",
            MessageModel::Clustering,
            &got_b,
        )
        .await;
        assert_ne!(a.client_id(), b.client_id());
        wait_until("a 2/2 split", || async {
            own_queues(&a).len() == 2 && own_queues(&b).len() == 2
        })
        .await;
        let mine: HashSet<_> = own_queues(&a).into_iter().collect();
        assert!(own_queues(&b).iter().all(|q| !mine.contains(q)));

        let producer = cluster.producer("pg-split").await;
        let first = send(&producer, "first", 40).await;
        wait_until("the first 40", || async {
            first.is_subset(&got_a.ids().union(&got_b.ids()).cloned().collect())
        })
        .await;
        assert!(got_a.len() > 0 && got_b.len() > 0, "both members consume");
        assert_eq!(got_a.len() + got_b.len(), 40, "no duplicates while stable");

        b.shutdown().await;
        wait_until("a takes over all queues", || async {
            own_queues(&a).len() == 4
        })
        .await;
        let second = send(&producer, "second", 40).await;
        got_a.wait_for(&second).await;
        let all: HashSet<String> = got_a.ids().union(&got_b.ids()).cloned().collect();
        assert!(first.union(&second).all(|id| all.contains(id)), "no loss");
        // Redelivery is allowed across the hand-over (at least once), but shown and bounded:
        // only what b had in flight when it left (a pull batch, 32) may come again.
        let deliveries = got_a.len() + got_b.len();
        println!("groups: 80 sent, {deliveries} deliveries after the hand-over");
        assert!(
            (80..=80 + 32).contains(&deliveries),
            "{deliveries} deliveries of 80 messages"
        );

        a.shutdown().await;
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_member_resumes_from_the_committed_offset() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("Group", 4).await;
        let producer = cluster.producer("pg-restart").await;
        let first = send(&producer, "before", 30).await;
        let got = Received::default();
        let c1 = member(
            &cluster,
            cluster.client_config(),
            "cg-restart",
            MessageModel::Clustering,
            &got,
        )
        .await;
        got.wait_for(&first).await;
        c1.shutdown().await;
        assert_eq!(got.len(), 30);

        let second = send(&producer, "after", 30).await;
        let again = Received::default();
        let c2 = member(
            &cluster,
            cluster.client_config(),
            "cg-restart",
            MessageModel::Clustering,
            &again,
        )
        .await;
        again.wait_for(&second).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        // nothing before the committed offset is redelivered, nothing after it twice
        again.assert_each_once(&second);
        c2.shutdown().await;
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasting_members_each_get_everything() {
    bounded(async {
        let cluster = Cluster::start().await;
        cluster.create_topic("Group", 4).await;
        let (got_a, got_b) = (Received::default(), Received::default());
        let named = |name: &str| ClientConfig {
            instance_name: name.into(),
            ..cluster.client_config()
        };
        let a = member(
            &cluster,
            named("bc-a"),
            "cg-bc",
            MessageModel::Broadcasting,
            &got_a,
        )
        .await;
        let b = member(
            &cluster,
            named("bc-b"),
            "cg-bc",
            MessageModel::Broadcasting,
            &got_b,
        )
        .await;
        wait_until("both own every queue", || async {
            own_queues(&a).len() == 4 && own_queues(&b).len() == 4
        })
        .await;
        let producer = cluster.producer("pg-bc").await;
        let ids = send(&producer, "bc", 20).await;
        got_a.wait_for(&ids).await;
        got_b.wait_for(&ids).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        got_a.assert_each_once(&ids);
        got_b.assert_each_once(&ids);
        a.shutdown().await;
        b.shutdown().await;

        // Offsets live in a local file per client id and group, in Java's layout.
        let file = cluster
            .dir()
            .join("offsets/127.0.0.1@bc-a/cg-bc/offsets.json");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with(r#"{"offsetTable":{{"brokerName":"broker-a""#),
            "{text}"
        );

        // A restarted broadcasting member resumes from its file.
        let again = Received::default();
        let a2 = member(
            &cluster,
            named("bc-a"),
            "cg-bc",
            MessageModel::Broadcasting,
            &again,
        )
        .await;
        let more = send(&producer, "bc-more", 5).await;
        again.wait_for(&more).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        again.assert_each_once(&more);
        a2.shutdown().await;
        producer.shutdown().await;
        cluster.stop().await;
    })
    .await;
}
