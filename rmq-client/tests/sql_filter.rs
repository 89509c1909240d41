//! SQL92 subscriptions end to end against an in-process name server and broker on real TCP:
//! the broker delivers exactly the matching messages, and malformed expressions or a broker
//! without `enablePropertyFilter` are refused with a message saying why.

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use common::{Cluster, Received};
use rmq_client::{ClientError, Message, MessageSelector, PushConsumer};
use rmq_remoting::header::broker::PullMessageRequestHeader;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

const TOPIC: &str = "SqlTopic";

async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(60), test)
        .await
        .expect("test timed out");
}

async fn consumer(
    cluster: &Cluster,
    group: &str,
    selector: MessageSelector,
    received: &Received,
) -> Result<PushConsumer, ClientError> {
    PushConsumer::builder()
        .client_config(cluster.client_config())
        .config(cluster.consumer_config(group))
        .subscribe_with(TOPIC, selector)
        .listener(received.listener())
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql92_selects_exactly_the_matching_messages() {
    bounded(async {
        let cluster = Cluster::start_with(|c| c.enable_property_filter = true).await;
        cluster.create_topic(TOPIC, 2).await;
        let received = Received::default();
        let c = consumer(
            &cluster,
            "SqlC1",
            MessageSelector::by_sql("a > 5 AND region IN ('eu','us')"),
            &received,
        )
        .await
        .unwrap();
        let producer = cluster.producer("SqlP1").await;
        let regions = ["eu", "us", "ap"];
        let mut expected = HashSet::new();
        for i in 0..30 {
            let region = regions[i % 3];
            let mut msg = Message::new(TOPIC, format!("m{i}")).with_property("a", i.to_string());
            if i % 7 != 0 {
                msg = msg.with_property("region", region);
            }
            let id = producer.send(msg).await.unwrap().msg_id;
            if i > 5 && i % 7 != 0 && region != "ap" {
                expected.insert(id);
            }
        }
        // Sent last: once it arrives, everything before it has been pulled.
        let last = producer
            .send(
                Message::new(TOPIC, "last")
                    .with_property("a", "100")
                    .with_property("region", "eu"),
            )
            .await
            .unwrap()
            .msg_id;
        expected.insert(last);
        received.wait_for(&expected).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(received.ids(), expected);
        assert_eq!(received.len(), expected.len());
        producer.shutdown().await;
        c.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_or_unsupported_expressions_are_refused_clearly() {
    bounded(async {
        let cluster = Cluster::start_with(|c| c.enable_property_filter = true).await;
        cluster.create_topic(TOPIC, 1).await;
        let received = Received::default();
        let err = consumer(
            &cluster,
            "SqlC2",
            MessageSelector::by_sql("a > AND b = 1"),
            &received,
        )
        .await
        .err()
        .expect("a malformed expression is refused");
        assert!(
            err.to_string()
                .contains("expected a value, found 'AND' at position 4"),
            "{err}"
        );

        // A client that does not check first gets SUBSCRIPTION_PARSE_FAILED from the pull.
        let raw = RemotingClient::new(TransportConfig::default(), Router::new());
        let header = PullMessageRequestHeader {
            consumer_group: "SqlC3".into(),
            topic: TOPIC.into(),
            queue_id: 0,
            queue_offset: 0,
            max_msg_nums: 32,
            sys_flag: 0x4,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some("region IN ('eu'".into()),
            sub_version: 1,
            expression_type: Some("SQL92".into()),
            max_msg_bytes: None,
            request_source: None,
            proxy_froward_client_id: None,
            bname: None,
        };
        let req = RemotingCommand::request(RequestCode::PULL_MESSAGE, &header);
        let resp = raw
            .invoke(&cluster.broker, req, Duration::from_secs(3))
            .await
            .unwrap();
        assert_eq!(resp.code, ResponseCode::SUBSCRIPTION_PARSE_FAILED.as_i32());
        let remark = resp.remark.unwrap_or_default();
        assert!(
            remark.contains("expected ',', but the expression ends"),
            "{remark}"
        );
        cluster.stop().await;

        let disabled = Cluster::start().await;
        disabled.create_topic(TOPIC, 1).await;
        let err = consumer(
            &disabled,
            "SqlC4",
            MessageSelector::by_sql("a > 1"),
            &received,
        )
        .await
        .err()
        .expect("a broker without enablePropertyFilter refuses SQL92");
        assert_eq!(
            err.response_code(),
            Some(ResponseCode::SYSTEM_ERROR.as_i32())
        );
        assert!(
            err.to_string()
                .contains("does not support consumer to filter message by SQL92"),
            "{err}"
        );
        disabled.stop().await;
    })
    .await;
}
