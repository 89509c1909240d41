//! `mqadmin updateTopic -a` (5.x topic attributes) against a real name server and broker: the
//! attributes reach the broker, the output shows them as Apache 5's `TopicConfig` prints them,
//! and the broker's refusals reach the user.

use std::process::{Command, Output};

use rmq_testkit::LocalStack;

async fn mqadmin(stack: &LocalStack, args: &[&str]) -> Output {
    let mut all = vec!["-n".to_owned(), stack.namesrv.clone()];
    all.extend(args.iter().map(|s| s.to_string()));
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mqadmin"))
            .args(&all)
            .env_remove("NAMESRV_ADDR")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_topic_sets_and_removes_attributes_and_shows_refusals() {
    let s = LocalStack::start().await;
    let update = |attributes: &'static str| {
        let broker = s.broker.clone();
        let s = &s;
        async move {
            mqadmin(
                s,
                &["updateTopic", "-b", &broker, "-t", "Fifo", "-a", attributes],
            )
            .await
        }
    };
    let set = update("+message.type=FIFO").await;
    let out = String::from_utf8_lossy(&set.stdout);
    assert!(
        set.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert!(
        out.contains("order=false, attributes={+message.type=FIFO}]"),
        "{out}"
    );
    let unknown = update("+colour=red").await;
    assert!(!unknown.status.success());
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(err.contains("unsupported key: colour"), "{err}");
    let malformed = update("message.type=FIFO").await;
    assert!(!malformed.status.success());
    assert!(String::from_utf8_lossy(&malformed.stderr)
        .contains("add/alter attribute format is wrong: message.type"));

    // Removing succeeds only while the broker has the key: proof it was stored.
    assert!(update("-message.type").await.status.success());
    let again = update("-message.type").await;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr)
        .contains("attempt to delete a nonexistent key: message.type"));
    s.stop().await;
}
