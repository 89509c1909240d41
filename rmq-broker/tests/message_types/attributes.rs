//! 5.x topic attributes on the real `mqbroker` over TCP: `+message.type=FIFO` in
//! UPDATE_AND_CREATE_TOPIC is kept in topics.json (across a restart) and answered by
//! GET_TOPIC_CONFIG and GET_ALL_TOPIC_CONFIG; changes Apache 5.3 refuses are refused with its
//! code and remark.

use std::collections::HashMap;
use std::time::Duration;

use rmq_remoting::body::topic::{TopicConfig, TopicConfigSerializeWrapper};
use rmq_remoting::fastjson::from_slice;
use rmq_remoting::header::broker::TopicRequestHeader;
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::ServerProcess;

use crate::common::{create_topic, mqbroker, name_server, Caller};

fn with_attributes(topic: &str, attributes: &str) -> RemotingCommand {
    let mut request = create_topic(topic, 4);
    request
        .ext_fields
        .insert("attributes".into(), attributes.into());
    request
}

async fn attributes(c: &Caller, topic: &str) -> HashMap<String, String> {
    let answer = c
        .ok(RemotingCommand::request(
            RequestCode::GET_TOPIC_CONFIG,
            &TopicRequestHeader {
                topic: topic.into(),
            },
        ))
        .await;
    let config: TopicConfig = from_slice(&answer.body).unwrap();
    config.attributes.unwrap_or_default()
}

fn only(key: &str, value: &str) -> HashMap<String, String> {
    HashMap::from([(key.to_owned(), value.to_owned())])
}

#[tokio::test]
async fn a_topic_keeps_its_message_type_and_refuses_what_apache_refuses() {
    let namesrv = name_server().await;
    let dir = tempfile::tempdir().unwrap();
    let broker = ServerProcess::start(mqbroker(
        &namesrv,
        "broker-attr",
        dir.path(),
        &[] as &[&str],
    ));
    let c = Caller::new(broker.addr.clone());
    c.ok(with_attributes("Typed", "+message.type=FIFO")).await;
    assert_eq!(attributes(&c, "Typed").await, only("message.type", "FIFO"));
    c.ok(create_topic("Typed", 4)).await;
    assert_eq!(
        attributes(&c, "Typed").await,
        only("message.type", "FIFO"),
        "an update without attributes keeps them"
    );
    c.ok(with_attributes("Typed", "+message.type=DELAY")).await;
    assert_eq!(attributes(&c, "Typed").await, only("message.type", "DELAY"));

    for (topic, text, code, remark) in [
        (
            "Typed",
            "+colour=red",
            ResponseCode::SYSTEM_ERROR,
            "unsupported key: colour",
        ),
        (
            "Typed",
            "+queue.type=BatchCQ",
            ResponseCode::SYSTEM_ERROR,
            "attempt to update an unchangeable attribute. key: queue.type",
        ),
        (
            "Typed",
            "+message.type=ODD",
            ResponseCode::SYSTEM_ERROR,
            "value is not in set: [UNSPECIFIED, TRANSACTION, FIFO, MIXED, DELAY, NORMAL]",
        ),
        (
            "Fresh",
            "-message.type",
            ResponseCode::SYSTEM_ERROR,
            "only add attribute is supported while creating topic. key: message.type",
        ),
        (
            "Fresh",
            "+message.type=MIXED",
            ResponseCode::INVALID_PARAMETER,
            "MIXED message type is not supported.",
        ),
    ] {
        let answer = c.call(with_attributes(topic, text)).await;
        assert_eq!(answer.code, code.as_i32(), "{text}: {:?}", answer.remark);
        assert_eq!(answer.remark.as_deref(), Some(remark), "{text}");
    }
    assert_eq!(attributes(&c, "Typed").await, only("message.type", "DELAY"));
    let fresh = c
        .call(RemotingCommand::request(
            RequestCode::GET_TOPIC_CONFIG,
            &TopicRequestHeader {
                topic: "Fresh".into(),
            },
        ))
        .await;
    assert_eq!(
        fresh.code,
        ResponseCode::TOPIC_NOT_EXIST.as_i32(),
        "a refused create creates nothing"
    );

    broker
        .stop(Duration::from_secs(10))
        .expect("broker stopped");
    let broker = ServerProcess::start(mqbroker(
        &namesrv,
        "broker-attr",
        dir.path(),
        &[] as &[&str],
    ));
    let c = Caller::new(broker.addr.clone());
    assert_eq!(
        attributes(&c, "Typed").await,
        only("message.type", "DELAY"),
        "kept in topics.json"
    );
    let all = c
        .ok(RemotingCommand::request_without_header(
            RequestCode::GET_ALL_TOPIC_CONFIG,
        ))
        .await;
    let table: TopicConfigSerializeWrapper = from_slice(&all.body).unwrap();
    assert_eq!(
        table.topic_config_table["Typed"].attributes,
        Some(only("message.type", "DELAY"))
    );
    c.ok(with_attributes("Typed", "-message.type")).await;
    assert!(attributes(&c, "Typed").await.is_empty());
}
