//! The Spring Boot consumer demo on rmq-starter: a listener for `first-topic` in group
//! `my-consumer-group` that prints every message, and a web server on port 8083.
//!
//! Carries its own `application.yml` (this crate's, embedded at build time like a jar's
//! classpath file), so the binary runs from any directory; `./application.yml`,
//! `./config/application.yml` and `--spring.config.location` override it (`cargo run -p
//! demo-consumer` from the repository root also reads the workspace's). `--server.port=N` or
//! `SERVER_PORT` moves it.

use rmq_starter::{rocketmq_listener, Application, ConsumeResult, RocketMQListener};

/// Prints each message of `first-topic`, as the Java demo's `@RocketMQMessageListener` does.
#[derive(Default)]
#[rocketmq_listener(
    topic = "${rocketmq.consumer.topic:first-topic}",
    consumer_group = "${rocketmq.consumer.group:my-consumer-group}"
)]
struct FirstTopicListener;

impl RocketMQListener<String> for FirstTopicListener {
    async fn on_message(&self, message: String) -> ConsumeResult {
        println!("接收到消息：{message}");
        Ok(())
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let app = Application::new("demo-consumer")
        .default_port(8083)
        .embedded_config(rmq_starter::embed_config!());
    rmq_starter::exit_code(app.run(|_ctx| Ok(axum::Router::new())).await)
}
