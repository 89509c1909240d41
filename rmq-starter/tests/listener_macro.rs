//! What `#[rocketmq_listener]` registers for every attribute, and how the starter treats the
//! registrations at startup (switched-off listeners, unresolvable placeholders).

use rmq_starter::{
    rocketmq_listener, Application, ConsumeMode, ConsumeResult, ListenerAttributes,
    ListenerMessageModel, ListenerRegistration, PropertySources, RocketMQListener, SelectorType,
};

#[derive(Default)]
#[rocketmq_listener(
    topic = "${all.topic:all-topic}",
    consumer_group = "all-group",
    selector_type = "SQL92",
    selector_expression = "a > 1",
    consume_mode = "orderly",
    message_model = "clustering",
    consume_thread_max = 8,
    max_reconsume_times = 3,
    consume_timeout = 5,
    delay_level_when_next_consume = -1,
    suspend_current_queue_time_millis = 250,
    name_server = "${rocketmq.name-server}",
    access_key = "ak",
    secret_key = "sk",
    namespace = "ns",
    enable_msg_trace = true,
    customized_trace_topic = "${trace.topic:MyTrace}",
)]
struct EveryAttribute;

impl RocketMQListener<Vec<u8>> for EveryAttribute {
    async fn on_message(&self, _message: Vec<u8>) -> ConsumeResult {
        Ok(())
    }
}

#[derive(Default)]
#[rocketmq_listener(
    topic = "plain-topic",
    consumer_group = "plain-group",
    message_model = "BROADCASTING"
)]
struct Defaults;

impl RocketMQListener<String> for Defaults {
    async fn on_message(&self, _message: String) -> ConsumeResult {
        Ok(())
    }
}

/// A function listener; its error type only needs to convert into the listener error.
#[rocketmq_listener(
    topic = "fn-topic",
    consumer_group = "fn-group",
    consume_thread_max = 2
)]
async fn bytes_seen(_message: Vec<u8>) -> Result<(), std::io::Error> {
    Ok(())
}

fn registered(name: &str) -> ListenerAttributes {
    inventory::iter::<ListenerRegistration>
        .into_iter()
        .find(|r| r.type_name == name)
        .map(|r| r.attributes)
        .unwrap_or_else(|| panic!("{name} is not registered"))
}

#[test]
fn every_attribute_is_recorded() {
    assert_eq!(
        registered("EveryAttribute"),
        ListenerAttributes {
            consumer_group: "all-group",
            topic: "${all.topic:all-topic}",
            selector_type: SelectorType::Sql92,
            selector_expression: "a > 1",
            consume_mode: ConsumeMode::Orderly,
            message_model: ListenerMessageModel::Clustering,
            consume_thread_max: 8,
            max_reconsume_times: 3,
            consume_timeout: 5,
            delay_level_when_next_consume: -1,
            suspend_current_queue_time_millis: 250,
            name_server: "${rocketmq.name-server}",
            access_key: "ak",
            secret_key: "sk",
            namespace: "ns",
            enable_msg_trace: "true",
            customized_trace_topic: "${trace.topic:MyTrace}",
        }
    );
}

#[test]
fn defaults_are_rocketmq_springs() {
    assert_eq!(
        registered("Defaults"),
        ListenerAttributes {
            consumer_group: "plain-group",
            topic: "plain-topic",
            selector_type: SelectorType::Tag,
            selector_expression: "*",
            consume_mode: ConsumeMode::Concurrently,
            message_model: ListenerMessageModel::Broadcasting,
            consume_thread_max: 64,
            max_reconsume_times: -1,
            consume_timeout: 15,
            delay_level_when_next_consume: 0,
            suspend_current_queue_time_millis: 1000,
            name_server: "${rocketmq.name-server:}",
            access_key: "${rocketmq.consumer.access-key:}",
            secret_key: "${rocketmq.consumer.secret-key:}",
            namespace: "",
            enable_msg_trace: "${rocketmq.consumer.enable-msg-trace:false}",
            customized_trace_topic: "${rocketmq.consumer.customized-trace-topic:}",
        }
    );
}

#[tokio::test]
async fn functions_register_under_their_name() {
    let attrs = registered("bytes_seen");
    assert_eq!(
        (attrs.topic, attrs.consumer_group),
        ("fn-topic", "fn-group")
    );
    assert_eq!(attrs.consume_thread_max, 2);
    // The function stays callable.
    bytes_seen(Vec::new()).await.unwrap();
}

async fn run(yaml: &str) -> Result<(), rmq_starter::StarterError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("application.yml"), yaml).unwrap();
    let sources = PropertySources {
        dir: dir.path().to_path_buf(),
        env: vec![],
        args: vec![
            "--server.port=0".into(),
            "--logging.level.root=error".into(),
        ],
    };
    Application::new("macro-test")
        .sources(sources)
        .run_until(|_| Ok(axum::Router::new()), async {})
        .await
}

#[tokio::test]
async fn switched_off_listeners_are_not_started() {
    let yaml = "rocketmq:\n  name-server: 127.0.0.1:1\n  consumer:\n    listeners:\n      all-group:\n        all-topic: false\n      plain-group:\n        plain-topic: false\n      fn-group:\n        fn-topic: false\n";
    run(yaml).await.unwrap();
}

#[tokio::test]
async fn an_unresolvable_placeholder_is_a_startup_error_naming_listener_and_attribute() {
    // Every other listener is switched off, so the outcome does not depend on their order.
    let yaml = "rocketmq:\n  consumer:\n    listeners:\n      plain-group:\n        plain-topic: false\n      fn-group:\n        fn-topic: false\n";
    let err = run(yaml).await.unwrap_err().to_string();
    assert!(
        err.contains("${rocketmq.name-server}")
            && err.contains("name_server of listener EveryAttribute"),
        "{err}"
    );
}

#[tokio::test]
async fn a_listener_without_a_name_server_says_where_to_set_it() {
    let yaml =
        "rocketmq:\n  consumer:\n    listeners:\n      all-group:\n        all-topic: false\n";
    let err = run(yaml).await.unwrap_err().to_string();
    assert!(
        err.contains("rocketmq.name-server is not set") && err.contains("listener"),
        "{err}"
    );
}
