//! The client the console's browser test runs (interop/console.sh), with message trace on so
//! the console's trace page has a real path to show:
//!
//! - `ok`: a push consumer of GROUP that drains TOPIC, printing `consumed <keys>` per delivery;
//! - `fail`: one that fails every message with no retry budget (maxReconsumeTimes 0), so each
//!   becomes a dead letter at once, printing `failed <keys>`;
//! - `send KEY BODY`: a producer of GROUP that sends one message and prints `sent <msgId>`.
//!
//! Consumers run until SIGTERM or Ctrl-C, then shut down as an application would (offsets
//! persisted, unregistered).
//!
//!     cargo run -p rmq-client --example console_client -- NAMESRV GROUP TOPIC ok|fail|send [KEY BODY]

use rmq_client::{
    ConsumeContext, ConsumeFromWhere, ConsumeStatus, ConsumerConfig, Message, Producer,
    PushConsumer, ReceivedMessage,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: console_client NAMESRV GROUP TOPIC ok|fail|send [KEY BODY]";
    let (namesrv, group, topic, mode) = match args.as_slice() {
        [n, g, t, m, ..] => (n, g, t, m.as_str()),
        _ => return Err(usage.into()),
    };
    let fail = match (mode, &args[4..]) {
        ("ok", []) => false,
        ("fail", []) => true,
        ("send", [key, body]) => return send(namesrv, group, topic, key, body).await,
        _ => return Err(usage.into()),
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
            enable_msg_trace: true,
            ..ConsumerConfig::default()
        })
        .subscribe(topic, "*")
        .listener(listener)
        .start()
        .await?;
    println!("started {}", consumer.client_id());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    consumer.shutdown().await;
    println!("stopped");
    Ok(())
}

/// Sends one traced message; the producer's shutdown writes its trace record out.
async fn send(
    namesrv: &str,
    group: &str,
    topic: &str,
    key: &str,
    body: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let producer = Producer::builder()
        .namesrv_addr(namesrv)
        .producer_group(group)
        .enable_msg_trace(true, "")
        .start()
        .await?;
    let sent = producer
        .send(Message::new(topic, body.to_owned()).with_keys([key]))
        .await?;
    producer.shutdown().await;
    println!("sent {}", sent.msg_id);
    Ok(())
}
