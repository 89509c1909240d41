//! A push consumer for the console's browser test: it drains a group's backlog (`ok`) or fails
//! every message with no retry budget (`fail`, maxReconsumeTimes 0) so each one becomes a dead
//! letter at once. It prints `consumed <key>` (or `failed <key>`) per delivery and runs until
//! killed.
//!
//!     cargo run -p rmq-client --example console_consumer -- NAMESRV GROUP TOPIC ok|fail

use std::time::Duration;

use rmq_client::{
    ConsumeContext, ConsumeFromWhere, ConsumeStatus, ConsumerConfig, PushConsumer, ReceivedMessage,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [namesrv, group, topic, mode] = args.as_slice() else {
        return Err("usage: console_consumer NAMESRV GROUP TOPIC ok|fail".into());
    };
    let fail = match mode.as_str() {
        "ok" => false,
        "fail" => true,
        other => return Err(format!("mode {other}: ok or fail").into()),
    };
    let listener = move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
        for m in msgs {
            let what = if fail { "failed" } else { "consumed" };
            println!("{what} {}", m.keys().join(" "));
        }
        if fail {
            ConsumeStatus::ReconsumeLater
        } else {
            ConsumeStatus::ConsumeSuccess
        }
    };
    let consumer = PushConsumer::builder()
        .namesrv_addr(namesrv)
        .consumer_group(group)
        .config(ConsumerConfig {
            consume_from_where: ConsumeFromWhere::FirstOffset,
            max_reconsume_times: if fail { 0 } else { -1 },
            ..ConsumerConfig::default()
        })
        .subscribe(topic, "*")
        .listener(listener)
        .start()
        .await?;
    println!("started {}", consumer.client_id());
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}
