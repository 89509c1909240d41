//! Request-reply with rmq-client, both sides; the Java interop suite runs it against Java's
//! `DefaultMQProducer.request` and a Java replier (interop/java `RequestReplyContract`).
//!
//! ```text
//! request_reply reply   NAMESRV TOPIC GROUP          # answer every request with "rmq-reply:<body>"
//! request_reply request NAMESRV TOPIC COUNT TIMEOUT_MS # COUNT concurrent requests, one line each
//! ```
//!
//! The replier prints `replier ready` once subscribed and serves until killed. The requester
//! prints `reply <body> -> <reply body> MSG_TYPE=<..> TOPIC=<reply topic>` per answered request,
//! `failed <body>: <error>` otherwise, then `done ok=N failed=M`; it exits 1 if any failed.

use std::time::Duration;

use rmq_client::{
    create_reply_message, ConsumeContext, ConsumeFromWhere, ConsumeStatus, ConsumerConfig, Message,
    Producer, PushConsumer, ReceivedMessage,
};

type Failure = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["reply", namesrv, topic, group] => reply(namesrv, topic, group).await,
        ["request", namesrv, topic, count, timeout_ms] => {
            let timeout = Duration::from_millis(timeout_ms.parse()?);
            request(namesrv, topic, count.parse()?, timeout).await
        }
        _ => Err("usage: request_reply reply NAMESRV TOPIC GROUP | request NAMESRV TOPIC COUNT TIMEOUT_MS".into()),
    }
}

async fn reply(namesrv: &str, topic: &str, group: &str) -> Result<(), Failure> {
    let producer = Producer::builder()
        .namesrv_addr(namesrv)
        .producer_group(format!("{group}-replies"))
        .start()
        .await?;
    let (tx, mut requests) = tokio::sync::mpsc::unbounded_channel::<ReceivedMessage>();
    let consumer = PushConsumer::builder()
        .namesrv_addr(namesrv)
        .config(ConsumerConfig {
            consumer_group: group.to_owned(),
            // A request sent before the first rebalance is answered too.
            consume_from_where: ConsumeFromWhere::FirstOffset,
            ..ConsumerConfig::default()
        })
        .subscribe(topic, "*")
        .listener(move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
            for msg in msgs {
                // The receiving task lives as long as the process.
                let _ = tx.send(msg.clone());
            }
            ConsumeStatus::ConsumeSuccess
        })
        .start()
        .await?;
    while consumer.assigned_queues().is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("replier ready");
    while let Some(request) = requests.recv().await {
        let body = format!("rmq-reply:{}", String::from_utf8_lossy(&request.body));
        match create_reply_message(&request, body) {
            Ok(reply) => {
                if let Err(e) = producer.send(reply).await {
                    eprintln!("reply to {} not sent: {e}", request.msg_id);
                }
            }
            Err(e) => eprintln!("{} is no request: {e}", request.msg_id),
        }
    }
    Ok(())
}

async fn request(
    namesrv: &str,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> Result<(), Failure> {
    let producer = Producer::builder()
        .namesrv_addr(namesrv)
        .producer_group(format!("rmq-requester-{}", std::process::id()))
        .start()
        .await?;
    let pending: Vec<_> = (0..count)
        .map(|i| {
            let body = format!("rmq-req-{i}");
            let reply = producer.request_async(Message::new(topic, body.clone()), timeout);
            (body, reply)
        })
        .collect();
    let (mut ok, mut failed) = (0, 0);
    for (body, reply) in pending {
        match reply.await {
            Ok(reply) => {
                ok += 1;
                println!(
                    "reply {body} -> {} MSG_TYPE={} TOPIC={}",
                    String::from_utf8_lossy(&reply.body),
                    reply.property("MSG_TYPE").unwrap_or("-"),
                    reply.topic
                );
            }
            Err(e) => {
                failed += 1;
                println!("failed {body}: {e}");
            }
        }
    }
    println!("done ok={ok} failed={failed}");
    producer.shutdown().await;
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
