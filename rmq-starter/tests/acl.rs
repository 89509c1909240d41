//! ACL keys through the starter against rmq's broker with `aclEnable=true` (which refuses
//! anything unsigned): `rocketmq.producer.access-key`/`secret-key` sign the template's sends,
//! `rocketmq.consumer.access-key`/`secret-key` are the default of every listener's keys, and a
//! listener's own `access_key`/`secret_key` attributes (placeholders resolved) sign its
//! consumer as another account.

use std::collections::BTreeMap;
use std::sync::Mutex;

use rmq_starter::{rocketmq_listener, ConsumeResult, RocketMQListener};
use rmq_testkit::LocalStack;

mod common;
use common::wait_for;

const RULES: &str = "
accounts:
  - accessKey: starter-app
    secretKey: starter-app-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - acl-orders=PUB|SUB
    groupPerms:
      - acl-default-keys=SUB
  - accessKey: starter-other
    secretKey: starter-other-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - acl-orders=SUB
    groupPerms:
      - acl-own-keys=SUB
";

static DEFAULT_KEYS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static OWN_KEYS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Signs with `rocketmq.consumer.access-key`/`secret-key` (the attributes' defaults).
#[derive(Default)]
#[rocketmq_listener(topic = "acl-orders", consumer_group = "acl-default-keys")]
struct WithDefaultKeys;

impl RocketMQListener<String> for WithDefaultKeys {
    async fn on_message(&self, message: String) -> ConsumeResult {
        DEFAULT_KEYS.lock().unwrap().push(message);
        Ok(())
    }
}

/// Signs as another account, named through placeholders.
#[derive(Default)]
#[rocketmq_listener(
    topic = "acl-orders",
    consumer_group = "acl-own-keys",
    access_key = "${orders.other-access-key}",
    secret_key = "${orders.other-secret-key}"
)]
struct WithOwnKeys;

impl RocketMQListener<String> for WithOwnKeys {
    async fn on_message(&self, message: String) -> ConsumeResult {
        OWN_KEYS.lock().unwrap().push(message);
        Ok(())
    }
}

fn counts(seen: &Mutex<Vec<String>>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in seen.lock().unwrap().iter() {
        *counts.entry(m.clone()).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread")]
async fn the_template_and_listeners_sign_with_their_keys() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("conf")).unwrap();
    std::fs::write(home.path().join("conf").join("plain_acl.yml"), RULES).unwrap();
    let home_dir = home.path().to_string_lossy().into_owned();
    let stack = LocalStack::start_with(|c| {
        c.acl_enable = true;
        c.rocketmq_home = home_dir;
    })
    .await;
    // The template's first send creates the topic (auto-creation, signed like any send).

    let dir = tempfile::tempdir().unwrap();
    let yml = format!(
        "rocketmq:
  name-server: {}
  producer:
    group: acl-producer
    access-key: starter-app
    secret-key: ${{orders.app-secret}}
  consumer:
    access-key: starter-app
    secret-key: starter-app-secret
orders:
  app-secret: starter-app-secret
  other-access-key: starter-other
  other-secret-key: starter-other-secret
logging:
  level:
    root: warn
",
        stack.namesrv
    );
    let app = common::start_app("acl-test", dir.path(), &yml).await;
    let mut expected = BTreeMap::new();
    for i in 0..5 {
        let body = format!("order-{i}");
        app.template
            .sync_send("acl-orders", body.clone())
            .await
            .unwrap();
        expected.insert(body, 1);
    }
    wait_for("both listeners got every order", || {
        counts(&DEFAULT_KEYS).len() == 5 && counts(&OWN_KEYS).len() == 5
    })
    .await;
    // Counted as multisets: a duplicate delivery shows up here.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(counts(&DEFAULT_KEYS), expected);
    assert_eq!(counts(&OWN_KEYS), expected);
    app.stop().await;
    stack.stop().await;
}
