//! The message and dead-letter pages against a real name server and broker: a topic's
//! messages paged newest first, a binary body shown in hex, dead letters exported with their
//! exact bodies and several resent at once to their group (and only the selected ones).

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use common::{location, Browser, Console};
use reqwest::StatusCode;
use rmq_client::{
    Admin, ClientConfig, ConsumeContext, ConsumeFromWhere, ConsumeStatus, ConsumerConfig, Message,
    Producer, PushConsumer, ReceivedMessage,
};
use rmq_testkit::LocalStack;

async fn logged_in(stack: &LocalStack, dir: &std::path::Path) -> (Console, Browser) {
    let console = Console::start(
        &stack.namesrv,
        dir,
        &dir.join("log"),
        &[("RMQ_DASHBOARD_PASSWORD", "messages-pw")],
    );
    let mut b = Browser::new(&console.base);
    assert_eq!(
        b.login("admin", "messages-pw").await.0,
        StatusCode::SEE_OTHER
    );
    (console, b)
}

async fn producer(stack: &LocalStack, group: &str) -> Producer {
    Producer::builder()
        .namesrv_addr(&stack.namesrv)
        .producer_group(group)
        .start()
        .await
        .unwrap()
}

/// The keys in the rows of a message table, top to bottom.
fn row_keys(html: &str) -> Vec<String> {
    html.split("<tr><td><a href=\"/messages/view?id=")
        .skip(1)
        .map(|row| {
            let cells: Vec<&str> = row.split("<td>").collect();
            cells[2].split('<').next().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_paged_newest_first_and_a_binary_body_is_shown_in_hex() {
    let stack = LocalStack::start().await;
    stack.create_topic("MsgPages", 2).await;
    stack.wait_for_route("MsgPages").await;
    let p = producer(&stack, "pg-msg-pages").await;
    for i in 0..25 {
        p.send(Message::new("MsgPages", format!("text {i}")).with_keys([format!("k{i}")]))
            .await
            .unwrap();
    }
    let bin = p
        .send(Message::new("MsgPages", vec![0u8, 0x9f, 0xff, 1]).with_keys(["bin"]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_console, b) = logged_in(&stack, dir.path()).await;

    let first = b
        .get("/messages?topic=MsgPages")
        .await
        .text()
        .await
        .unwrap();
    let mut want: Vec<String> = vec!["bin".into()];
    want.extend((6..25).rev().map(|i| format!("k{i}")));
    assert_eq!(row_keys(&first), want, "page 1: the newest 20");
    let at = first.find("older »").expect("a link to older messages");
    let href_at = first[..at].rfind("href=\"").unwrap() + 6;
    let older = first[href_at..at]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let second = b.get(&older).await.text().await.unwrap();
    let want: Vec<String> = (0..6).rev().map(|i| format!("k{i}")).collect();
    assert_eq!(row_keys(&second), want, "page 2: the 6 oldest");
    assert!(!second.contains("older »"));

    let view = b
        .get(&format!(
            "/messages/view?id={}&topic=MsgPages",
            bin.offset_msg_id
        ))
        .await;
    assert_eq!(view.status(), StatusCode::OK);
    let view = view.text().await.unwrap();
    assert!(view.contains("binary, 4 bytes, in hex"), "{view}");
    assert!(view.contains("00 9f ff 01"), "{view}");
    assert!(view.contains("No group consumes MsgPages"), "{view}");

    let by_key = b
        .get("/messages?topic=MsgPages&key=k7")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(row_keys(&by_key), ["k7"]);
    p.shutdown().await;
}

/// Every message a listener saw, keyed by its first key, counted.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<BTreeMap<String, usize>>>);

impl Seen {
    fn listener(
        &self,
        status: ConsumeStatus,
    ) -> impl Fn(&[ReceivedMessage], &ConsumeContext) -> ConsumeStatus + Send + Sync + 'static {
        let seen = self.0.clone();
        move |msgs: &[ReceivedMessage], _: &ConsumeContext| {
            let mut seen = seen.lock().unwrap();
            for m in msgs {
                *seen.entry(m.keys().join(" ")).or_default() += 1;
            }
            status
        }
    }

    fn counts(&self) -> BTreeMap<String, usize> {
        self.0.lock().unwrap().clone()
    }
}

async fn consumer(
    stack: &LocalStack,
    group: &str,
    topic: &str,
    listener: impl rmq_client::MessageListener,
    fail: bool,
) -> PushConsumer {
    PushConsumer::builder()
        .namesrv_addr(&stack.namesrv)
        .consumer_group(group)
        .config(ConsumerConfig {
            consume_from_where: ConsumeFromWhere::FirstOffset,
            max_reconsume_times: if fail { 0 } else { -1 },
            local_offset_store_dir: stack.dir().join("offsets"),
            ..ConsumerConfig::default()
        })
        .subscribe(topic, "*")
        .listener(listener)
        .start()
        .await
        .unwrap()
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..600 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_exported_exactly_and_the_selected_ones_resent() {
    let stack = LocalStack::start().await;
    stack.create_topic("DlqPages", 1).await;
    stack.wait_for_route("DlqPages").await;
    let group = "cg-dlq-pages";
    let failed = Seen::default();
    let failing = consumer(
        &stack,
        group,
        "DlqPages",
        failed.listener(ConsumeStatus::ReconsumeLater),
        true,
    )
    .await;
    let p = producer(&stack, "pg-dlq-pages").await;
    let bodies: BTreeMap<&str, Vec<u8>> = [
        ("d1", vec![0u8, 1, 2, 0xfe]),
        ("d2", b"second dead letter".to_vec()),
        ("d3", "drei \u{1F480}".as_bytes().to_vec()),
    ]
    .into();
    for (key, body) in &bodies {
        p.send(Message::new("DlqPages", body.clone()).with_keys([*key]))
            .await
            .unwrap();
    }
    let admin = Admin::start(ClientConfig {
        namesrv_addr: stack.namesrv.clone(),
        ..ClientConfig::default()
    })
    .await
    .unwrap();
    let mut parked = Vec::new();
    for _ in 0..600 {
        parked = admin
            .query_messages_by_time(&format!("%DLQ%{group}"), 0, i64::MAX, 10)
            .await
            .unwrap_or_default();
        if parked.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(parked.len(), 3, "three dead letters");
    failing.shutdown().await;
    assert_eq!(
        failed.counts().values().sum::<usize>(),
        3,
        "each failed once"
    );

    let dir = tempfile::tempdir().unwrap();
    let (_console, b) = logged_in(&stack, dir.path()).await;
    let range = "begin=2000-01-01T00:00&end=2100-01-01T00:00";
    let export = b
        .get(&format!("/dead-letters/export?group={group}&{range}"))
        .await;
    assert_eq!(export.status(), StatusCode::OK);
    assert_eq!(
        export.headers()["content-type"].to_str().unwrap(),
        "application/x-ndjson"
    );
    assert!(export.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let text = export.text().await.unwrap();
    let mut exported: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["originalTopic"], "DlqPages");
        let key = v["keys"][0].as_str().unwrap().to_owned();
        let body = base64::engine::general_purpose::STANDARD
            .decode(v["bodyBase64"].as_str().unwrap())
            .unwrap();
        assert!(
            exported.insert(key, body).is_none(),
            "a message exported twice"
        );
    }
    let want: BTreeMap<String, Vec<u8>> = bodies
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    assert_eq!(exported, want);

    let id_of = |key: &str| {
        parked
            .iter()
            .find(|m| m.keys() == [key])
            .map(|m| m.msg_id.clone())
            .unwrap()
    };
    let healed = Seen::default();
    let ok = consumer(
        &stack,
        group,
        "DlqPages",
        healed.listener(ConsumeStatus::ConsumeSuccess),
        false,
    )
    .await;
    let resp = b
        .post_csrf(
            "/dead-letters/resend",
            &[("group", group), ("id", &id_of("d1")), ("id", &id_of("d3"))],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&resp).contains("ok=2+message%28s%29+resent"),
        "{}",
        location(&resp)
    );
    wait_until("d1 and d3 consumed again", || healed.counts().len() == 2).await;
    // a little longer: nothing else (d2) and no duplicate arrives
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        healed.counts(),
        [("d1".to_owned(), 1), ("d3".to_owned(), 1)].into()
    );
    ok.shutdown().await;
    p.shutdown().await;
    admin.shutdown().await;
}
