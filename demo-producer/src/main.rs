//! The Spring Boot producer demo on rmq-starter: `GET /product/msg` on port 8082 sends
//! "<task id>使用rocketmq生产了一条消息" to `first-topic` and answers `发送成功！` or `发送失败`.
//!
//! Carries its own `application.yml` (this crate's, embedded at build time like a jar's
//! classpath file), so the binary runs from any directory; `./application.yml`,
//! `./config/application.yml` and `--spring.config.location` override it (`cargo run -p
//! demo-producer` from the repository root also reads the workspace's). `--server.port=N` or
//! `SERVER_PORT` moves it.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use rmq_starter::{Application, RocketMQTemplate};

/// The topic the Spring demo sends to.
const TOPIC: &str = "first-topic";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let app = Application::new("demo-producer")
        .default_port(8082)
        .embedded_config(rmq_starter::embed_config!());
    rmq_starter::exit_code(
        app.run(|ctx| {
            Ok(Router::new()
                .route("/product/msg", get(produce))
                .with_state(ctx.template()?))
        })
        .await,
    )
}

/// Sends one message; the Java demo names its Tomcat thread, this one its tokio task.
async fn produce(State(template): State<RocketMQTemplate>) -> &'static str {
    let message = format!("task-{}使用rocketmq生产了一条消息", tokio::task::id());
    match template.sync_send(TOPIC, message.as_str()).await {
        Ok(result) => {
            tracing::info!(msg_id = %result.msg_id, "{message}");
            "发送成功！"
        }
        Err(e) => {
            tracing::error!(error = %e, "{message}: 发送失败");
            "发送失败"
        }
    }
}
