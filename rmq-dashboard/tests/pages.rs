//! The console's pages against a real name server and broker: what the admin actions do
//! is checked through rmq's own admin client, not through the console.

mod common;

use std::time::Duration;

use common::{location, Browser, Console};
use reqwest::StatusCode;
use rmq_client::{Admin, ClientConfig};
use rmq_testkit::LocalStack;

async fn admin_of(stack: &LocalStack) -> Admin {
    Admin::start(ClientConfig {
        namesrv_addr: stack.namesrv.clone(),
        ..ClientConfig::default()
    })
    .await
    .unwrap()
}

async fn logged_in(stack: &LocalStack, dir: &std::path::Path) -> (Console, Browser) {
    let console = Console::start(
        &stack.namesrv,
        dir,
        &dir.join("log"),
        &[("RMQ_DASHBOARD_PASSWORD", "pages-pw")],
    );
    let mut b = Browser::new(&console.base);
    assert_eq!(b.login("admin", "pages-pw").await.0, StatusCode::SEE_OTHER);
    (console, b)
}

/// `notice` of the page a POST redirected to.
fn outcome(resp: &reqwest::Response) -> String {
    let loc = location(resp);
    form_urlencoded::parse(loc.split_once('?').map_or("", |(_, q)| q).as_bytes())
        .map(|(k, v)| format!("{k}: {v}"))
        .collect()
}

/// Asserts the notice of the page a POST redirected to starts with `prefix`.
fn assert_notice(resp: &reqwest::Response, prefix: &str) {
    assert!(outcome(resp).starts_with(prefix), "{}", outcome(resp));
}

/// PagesGroup's (committed, stored) offset of each PagesTopic queue, from the broker.
async fn offsets(admin: &Admin) -> Vec<(i64, i64)> {
    let stats = admin
        .consume_stats("PagesGroup", Some("PagesTopic"))
        .await
        .unwrap();
    stats
        .offset_table
        .values()
        .map(|o| (o.consumer_offset, o.broker_offset))
        .collect()
}

#[tokio::test]
async fn topic_create_send_reset_and_delete() {
    let stack = LocalStack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (_console, b) = logged_in(&stack, dir.path()).await;
    let admin = admin_of(&stack).await;

    let resp = b
        .post_csrf(
            "/topics",
            &[
                ("topic", "PagesTopic"),
                ("cluster", "DefaultCluster"),
                ("write_queues", "1"),
                ("read_queues", "1"),
                ("perm", "6"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{}", outcome(&resp));
    assert_notice(&resp, "ok: created PagesTopic");
    stack.wait_for_route("PagesTopic").await;
    let route = admin.topic_route("PagesTopic").await.unwrap();
    assert_eq!(route.queue_datas.len(), 1);
    assert_eq!(route.queue_datas[0].write_queue_nums, 1);
    let list = b
        .get("/api/topics?filter=PagesTopic")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("\"topics\":[\"PagesTopic\"]"), "{list}");

    // Three test messages, each found again by its key with its body.
    for i in 0..3 {
        let key = format!("k{i}");
        let body = format!("hello {i}");
        let resp = b
            .post_csrf(
                "/topics/PagesTopic/send",
                &[("tag", "T"), ("key", &key), ("body", &body)],
            )
            .await;
        assert_notice(&resp, "ok: sent: msgId");
        let found = admin
            .query_messages_by_key("PagesTopic", &key, 32, 0, i64::MAX)
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{key}");
        assert_eq!(&found[0].body[..], body.as_bytes());
    }
    let page = b.get("/topics/PagesTopic").await.text().await.unwrap();
    assert!(
        page.contains("<td class=\"num\">3</td>"),
        "three messages in the queue: {page}"
    );

    // Resetting moves a group's committed offset, seen in the broker's consume stats.
    let reset = |to: &'static str| {
        [
            ("topic", "PagesTopic"),
            ("group", "PagesGroup"),
            ("to", to),
            ("force", "on"),
            ("back", "/topics/PagesTopic"),
        ]
    };
    let resp = b.post_csrf("/reset-offset", &reset("latest")).await;
    assert!(
        outcome(&resp).contains("reset 1 queue(s)"),
        "{}",
        outcome(&resp)
    );
    assert_eq!(offsets(&admin).await, [(3, 3)]);
    let resp = b.post_csrf("/reset-offset", &reset("earliest")).await;
    assert!(outcome(&resp).contains("→0"), "{}", outcome(&resp));
    assert_eq!(offsets(&admin).await, [(0, 3)]);
    let group_page = b.get("/groups/PagesGroup").await.text().await.unwrap();
    assert!(
        group_page.contains("Lag <strong>3</strong>"),
        "{group_page}"
    );
    let topic_page = b.get("/topics/PagesTopic").await.text().await.unwrap();
    assert!(
        topic_page.contains("/groups/PagesGroup"),
        "the topic lists its group"
    );

    // Update: more queues on the broker.
    let resp = b
        .post_csrf(
            "/topics/PagesTopic/update",
            &[("write_queues", "4"), ("read_queues", "4"), ("perm", "6")],
        )
        .await;
    assert_notice(&resp, "ok: updated");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let route = admin.topic_route("PagesTopic").await.unwrap();
        if route.queue_datas[0].write_queue_nums == 4 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "update never reached the route"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Delete needs the name typed again.
    let resp = b
        .post_csrf("/topics/PagesTopic/delete", &[("confirm", "Pages")])
        .await;
    assert_notice(&resp, "err:");
    assert!(admin.topic_route("PagesTopic").await.is_ok());
    let resp = b
        .post_csrf("/topics/PagesTopic/delete", &[("confirm", "PagesTopic")])
        .await;
    assert_notice(&resp, "ok: deleted");
    assert!(admin.topic_route("PagesTopic").await.is_err());
    admin.shutdown().await;
    stack.stop().await;
}

#[tokio::test]
async fn groups_cluster_overview_and_producers() {
    let stack = LocalStack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (_console, b) = logged_in(&stack, dir.path()).await;
    let admin = admin_of(&stack).await;

    let resp = b
        .post_csrf(
            "/groups",
            &[
                ("group", "CreatedGroup"),
                ("cluster", "DefaultCluster"),
                ("retry_max_times", "3"),
            ],
        )
        .await;
    assert_notice(&resp, "ok: created CreatedGroup");
    let on_broker = admin.subscription_groups(&stack.broker).await.unwrap();
    let cfg = &on_broker.subscription_group_table["CreatedGroup"];
    assert_eq!(cfg.retry_max_times, 3);
    let groups = b
        .get("/api/groups?filter=CreatedGroup")
        .await
        .text()
        .await
        .unwrap();
    assert!(groups.contains("\"group\":\"CreatedGroup\""), "{groups}");
    let page = b.get("/groups/CreatedGroup").await.text().await.unwrap();
    assert!(page.contains("broker-a"), "{page}");
    let resp = b
        .post_csrf(
            "/groups/CreatedGroup/delete",
            &[("confirm", "CreatedGroup")],
        )
        .await;
    assert_notice(&resp, "ok: deleted");
    let on_broker = admin.subscription_groups(&stack.broker).await.unwrap();
    assert!(!on_broker
        .subscription_group_table
        .contains_key("CreatedGroup"));

    // The cluster page shows the broker with the runtime figures it reported.
    let cluster = b.get("/api/cluster").await.text().await.unwrap();
    assert!(
        cluster.contains(&format!("\"addr\":\"{}\"", stack.broker)),
        "{cluster}"
    );
    let page = b.get("/cluster").await.text().await.unwrap();
    assert!(
        page.contains("broker-a") && page.contains("master"),
        "{page}"
    );
    let runtime = b
        .get(&format!("/cluster/{}", stack.broker))
        .await
        .text()
        .await
        .unwrap();
    assert!(runtime.contains("commitLogMaxOffset"), "{runtime}");

    // The overview's TPS history grows with the sampler (every second here).
    let first = b.get("/api/overview").await.text().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later: serde_json::Value =
        serde_json::from_str(&b.get("/api/overview").await.text().await.unwrap()).unwrap();
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert!(later["tps"].as_array().unwrap().len() > first["tps"].as_array().unwrap().len());
    assert_eq!(later["brokers"], 1);
    let overview = b.get("/").await.text().await.unwrap();
    assert!(
        overview.contains("<svg") && overview.contains("polyline"),
        "{overview}"
    );

    // Producers: the console's own test-message producer is a connected producer.
    stack.create_topic("ProducedTopic", 1).await;
    let resp = b
        .post_csrf("/topics/ProducedTopic/send", &[("body", "x")])
        .await;
    assert_notice(&resp, "ok:");
    let page = b
        .get("/producers?group=rmq-dashboard-producer&topic=ProducedTopic")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("RUST") || page.contains("JAVA"),
        "a connection row: {page}"
    );
    admin.shutdown().await;
    stack.stop().await;
}

#[tokio::test]
async fn an_online_member_and_its_running_info() {
    let stack = LocalStack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (_console, b) = logged_in(&stack, dir.path()).await;
    stack.create_topic("MemberTopic", 2).await;
    let consumer = rmq_client::PushConsumer::builder()
        .client_config(ClientConfig {
            namesrv_addr: stack.namesrv.clone(),
            ..ClientConfig::default()
        })
        .config(rmq_client::ConsumerConfig {
            consumer_group: "MemberGroup".into(),
            ..rmq_client::ConsumerConfig::default()
        })
        .subscribe("MemberTopic", "*")
        .listener(
            |_: &[rmq_client::ReceivedMessage], _: &rmq_client::ConsumeContext| {
                rmq_client::ConsumeStatus::ConsumeSuccess
            },
        )
        .start()
        .await
        .unwrap();
    let client_id = consumer.client_id().to_owned();
    // The member shows on the group's page once its heartbeat reached the broker, and its
    // queues once it has rebalanced.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let link = format!(
        "/groups/MemberGroup/clients/{}",
        rmq_dashboard::layout::seg(&client_id)
    );
    loop {
        let page = b.get("/groups/MemberGroup").await.text().await.unwrap();
        let info = b.get(&link).await;
        let ok = info.status() == StatusCode::OK;
        let text = info.text().await.unwrap();
        if page.contains(&client_id) && ok && text.matches("<td>MemberTopic</td>").count() >= 4 {
            assert!(text.contains("Pull TPS"), "{text}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "member never showed: {page}\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    consumer.shutdown().await;
    stack.stop().await;
}
