//! `RocketMQTemplate::send_and_receive` against listeners that return a value (rocketmq-spring's
//! `RocketMQReplyListener`), through a real name server and broker: typed JSON and text
//! replies, a function listener's `Result<R, E>`, a failing replier, and a unit listener that
//! keeps consuming without replying.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmq_starter::{
    rocketmq_listener, ClientError, ConsumeResult, Json, ReplyResult, RocketMQReplyListener,
    TemplateError,
};
use rmq_testkit::LocalStack;
use serde::{Deserialize, Serialize};

mod common;
use common::wait_for;

static PLAIN: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Quote {
    item: String,
    qty: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Price {
    item: String,
    cents: u64,
}

/// A reply listener type: JSON in, JSON out.
#[derive(Default)]
#[rocketmq_listener(topic = "quotes", consumer_group = "quote-group")]
struct Pricer;

impl RocketMQReplyListener<Json<Quote>, Json<Price>> for Pricer {
    async fn on_message(&self, Json(quote): Json<Quote>) -> ReplyResult<Json<Price>> {
        Ok(Json(Price {
            cents: u64::from(quote.qty) * 250,
            item: quote.item,
        }))
    }
}

/// A reply listener written as a function; "fail" is an error, so no reply is sent.
#[rocketmq_listener(topic = "echo", consumer_group = "echo-group")]
async fn echo(text: String) -> Result<String, std::io::Error> {
    if text == "fail" {
        return Err(std::io::Error::other("refusing to echo"));
    }
    Ok(text.to_uppercase())
}

/// A unit listener keeps today's behaviour: it consumes, and nobody is answered.
#[rocketmq_listener(topic = "plain", consumer_group = "plain-group")]
async fn plain(text: String) -> ConsumeResult {
    PLAIN.lock().unwrap().push(text);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn send_and_receive_gets_what_the_listener_returns() {
    let stack = LocalStack::start().await;
    for topic in ["quotes", "echo", "plain"] {
        stack.create_topic(topic, 4).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let yml = format!(
        "rocketmq:\n  name-server: {}\n  producer:\n    group: rr-producer\nlogging:\n  level:\n    root: warn\n",
        stack.namesrv
    );
    let app = common::start_app("request-reply", dir.path(), &yml).await;
    let template = &app.template;
    let timeout = Duration::from_secs(15);

    let quote = Quote {
        item: "bolt".into(),
        qty: 4,
    };
    let Json(price): Json<Price> = template
        .send_and_receive("quotes", Json(quote), timeout)
        .await
        .unwrap();
    assert_eq!(
        price,
        Price {
            item: "bolt".into(),
            cents: 1000
        }
    );

    let shout: String = template
        .send_and_receive("echo", "hello", timeout)
        .await
        .unwrap();
    assert_eq!(shout, "HELLO");

    // Many at once, each answered with its own reply; the orderly variant too.
    let pending: Vec<_> = (0..50)
        .map(|i| {
            let text = format!("m{i}");
            let reply = template.async_send_and_receive::<String>("echo", text.clone(), timeout);
            (text, reply)
        })
        .collect();
    for (text, reply) in pending {
        assert_eq!(reply.await.unwrap(), text.to_uppercase());
    }
    let ordered: String = template
        .send_and_receive_orderly("echo", "in order", "key-7", timeout)
        .await
        .unwrap();
    assert_eq!(ordered, "IN ORDER");

    // A listener error sends no reply: the requester times out.
    let short = Duration::from_millis(1500);
    let started = Instant::now();
    let failed = template
        .send_and_receive::<String>("echo", "fail", short)
        .await
        .unwrap_err();
    assert!(
        matches!(
            failed,
            TemplateError::Send(ClientError::RequestTimeout { .. })
        ),
        "{failed:?}"
    );
    assert!(started.elapsed() >= short);

    // A unit listener consumes the request and answers nothing.
    let unanswered = template
        .send_and_receive::<String>("plain", "just a message", short)
        .await
        .unwrap_err();
    assert!(
        matches!(
            unanswered,
            TemplateError::Send(ClientError::RequestTimeout { .. })
        ),
        "{unanswered:?}"
    );
    wait_for("the unit listener's message", || {
        PLAIN.lock().unwrap().contains(&"just a message".to_owned())
    })
    .await;
    assert_eq!(
        template.producer().map(|p| p.pending_requests()),
        Some(0),
        "timed-out requests leak"
    );

    app.stop().await;
    stack.stop().await;
}
