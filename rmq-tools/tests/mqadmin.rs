//! The real `mqadmin` binary against a name server and broker over TCP on ephemeral ports:
//! every command's output layout, and the errors a user must be able to act on.

use std::ops::Deref;
use std::process::{Command, Output};

use rmq_testkit::LocalStack;

/// The in-process name server and broker (`broker-a` in `DefaultCluster`), with mqadmin
/// pointed at them.
struct Stack(LocalStack);

impl Deref for Stack {
    type Target = LocalStack;
    fn deref(&self) -> &LocalStack {
        &self.0
    }
}

impl Stack {
    async fn start() -> Stack {
        Stack(LocalStack::start().await)
    }

    /// Stops the servers before their temporary store is removed.
    async fn stop(self) {
        self.0.stop().await;
    }

    /// Runs mqadmin with `-n` set to this stack's name server.
    async fn mqadmin(&self, args: &[&str]) -> Output {
        let mut all = vec!["-n".to_owned(), self.namesrv.clone()];
        all.extend(args.iter().map(|s| s.to_string()));
        run(all, &[]).await
    }

    /// Runs mqadmin, asserts success and returns stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.mqadmin(args).await;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "mqadmin {args:?} failed: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

/// Runs the mqadmin binary off the async threads, with `env` set and NAMESRV_ADDR cleared.
async fn run(args: Vec<String>, env: &[(&str, &str)]) -> Output {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mqadmin"))
            .args(&args)
            .env_remove("NAMESRV_ADDR")
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// The last column of the first data row under a header.
fn first_row_last_column(text: &str) -> String {
    text.lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_message_and_group_commands_print_what_rocketmq_prints() {
    let s = Stack::start().await;
    let out = s
        .ok(&[
            "updateTopic",
            "-c",
            "DefaultCluster",
            "-t",
            "AdminCli",
            "-r",
            "4",
            "-w",
            "4",
        ])
        .await;
    assert!(
        out.contains(&format!("create topic to {} success.", s.broker)),
        "{out}"
    );
    assert!(
        out.contains("TopicConfig [topicName=AdminCli, readQueueNums=4, writeQueueNums=4, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false]"),
        "{out}"
    );
    assert!(s.ok(&["topicList"]).await.lines().any(|l| l == "AdminCli"));
    let route = s.ok(&["topicRoute", "-t", "AdminCli"]).await;
    let route: serde_json::Value = serde_json::from_str(&route).unwrap();
    assert_eq!(route["queueDatas"][0]["writeQueueNums"], 4);

    let sent = s
        .ok(&[
            "sendMessage",
            "-t",
            "AdminCli",
            "-p",
            "hello",
            "-k",
            "order-7",
            "-c",
            "TagA",
        ])
        .await;
    assert!(sent.starts_with("#Broker Name"), "{sent}");
    assert!(sent.contains("SEND_OK"), "{sent}");
    let msg_id = first_row_last_column(&sent);
    let first_qid: i32 = sent
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let other_qid = ((first_qid + 1) % 4).to_string();
    let to_queue = s
        .ok(&[
            "sendMessage",
            "-t",
            "AdminCli",
            "-p",
            "second",
            "-b",
            "broker-a",
            "-i",
            &other_qid,
        ])
        .await;
    let row: Vec<&str> = to_queue
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        row[..3],
        ["broker-a", other_qid.as_str(), "SEND_OK"],
        "{to_queue}"
    );

    let status = s.ok(&["topicStatus", "-t", "AdminCli"]).await;
    assert!(status.starts_with("#Broker Name"), "{status}");
    assert_eq!(status.lines().count(), 5, "{status}");
    let max_total: i64 = status
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(3).unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(max_total, 2);

    let by_key = s
        .ok(&["queryMsgByKey", "-t", "AdminCli", "-k", "order-7"])
        .await;
    assert!(by_key.starts_with("#Message ID"), "{by_key}");
    assert!(
        by_key.lines().nth(1).unwrap().starts_with(&msg_id),
        "{by_key}"
    );

    let by_id = s
        .ok(&["queryMsgById", "-t", "AdminCli", "-i", &msg_id])
        .await;
    assert!(by_id.contains("Topic:               AdminCli"), "{by_id}");
    assert!(by_id.contains("Tags:                [TagA]"), "{by_id}");
    assert!(by_id.contains("Keys:                [order-7]"), "{by_id}");
    assert!(by_id.contains("Message Body:        hello"), "{by_id}");
    let offset_id = by_id
        .lines()
        .find_map(|l| l.strip_prefix("OffsetID:"))
        .unwrap()
        .trim()
        .to_owned();
    let by_offset_id = s.ok(&["queryMsgById", "-i", &offset_id]).await;
    assert!(
        by_offset_id.contains("Message Body:        hello"),
        "{by_offset_id}"
    );

    let consumed = s.ok(&["consumeMessage", "-t", "AdminCli"]).await;
    assert_eq!(consumed.matches("Consume ok").count(), 2, "{consumed}");
    assert!(consumed.contains("BODY: hello"), "{consumed}");
    let one_queue = s
        .ok(&[
            "consumeMessage",
            "-t",
            "AdminCli",
            "-b",
            "broker-a",
            "-i",
            &other_qid,
        ])
        .await;
    assert!(
        one_queue.contains("BODY: second") && !one_queue.contains("BODY: hello"),
        "{one_queue}"
    );

    let group = s
        .ok(&[
            "updateSubGroup",
            "-c",
            "DefaultCluster",
            "-g",
            "cg-cli",
            "-r",
            "5",
        ])
        .await;
    assert!(
        group.contains(&format!(
            "create subscription group to {} success.",
            s.broker
        )),
        "{group}"
    );
    assert!(
        group.contains("groupName=cg-cli") && group.contains("retryMaxTimes=5"),
        "{group}"
    );

    let reset = s
        .ok(&[
            "resetOffsetByTime",
            "-g",
            "cg-cli",
            "-t",
            "AdminCli",
            "-s",
            "now",
        ])
        .await;
    assert!(
        reset.starts_with(
            "rollback consumer offset by specified group[cg-cli], topic[AdminCli], force[true]"
        ),
        "{reset}"
    );
    assert_eq!(
        reset.lines().filter(|l| l.starts_with("broker-a")).count(),
        4,
        "{reset}"
    );

    let progress = s
        .ok(&["consumerProgress", "-g", "cg-cli", "-t", "AdminCli"])
        .await;
    assert!(progress.starts_with("#Topic"), "{progress}");
    assert!(progress.contains("Diff Total: 0"), "{progress}");
    let rewind = s
        .ok(&[
            "resetOffsetByTime",
            "-g",
            "cg-cli",
            "-t",
            "AdminCli",
            "-s",
            "0",
        ])
        .await;
    assert!(rewind.contains("timestamp(long)[0]"), "{rewind}");
    let progress = s.ok(&["consumerProgress", "-g", "cg-cli"]).await;
    assert!(progress.contains("Diff Total: 2"), "{progress}");

    let deleted = s
        .ok(&["deleteTopic", "-t", "AdminCli", "-c", "DefaultCluster"])
        .await;
    assert!(
        deleted.contains("delete topic [AdminCli] from NameServer success."),
        "{deleted}"
    );
    assert!(!s.ok(&["topicList"]).await.lines().any(|l| l == "AdminCli"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_commands_list_the_broker_and_its_figures() {
    let s = Stack::start().await;
    let list = s.ok(&["clusterList"]).await;
    assert!(list.starts_with("#Cluster Name"), "{list}");
    let row: Vec<&str> = list.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        row[..4],
        ["DefaultCluster", "broker-a", "0", s.broker.as_str()],
        "{list}"
    );
    let status = s.ok(&["brokerStatus", "-b", &s.broker]).await;
    assert!(
        status.lines().any(|l| l.starts_with("brokerVersionDesc")),
        "{status}"
    );
    let by_cluster = s.ok(&["brokerStatus", "-c", "DefaultCluster"]).await;
    assert!(
        by_cluster.lines().all(|l| l.starts_with(&s.broker)),
        "{by_cluster}"
    );
    s.stop().await;
}

/// The value `key` has in getBrokerConfig / getNamesrvConfig output (`key   =  value`).
fn setting(out: &str, key: &str) -> Option<String> {
    out.lines().find_map(|l| {
        let (k, v) = l.split_once("=  ")?;
        (k.trim() == key).then(|| v.to_owned())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_commands_read_and_change_only_what_may_change() {
    let s = Stack::start().await;
    let before = s.ok(&["getBrokerConfig", "-b", &s.broker]).await;
    assert!(
        before.starts_with(&format!("============{}============", s.broker)),
        "{before}"
    );
    assert_eq!(
        setting(&before, "brokerPermission").as_deref(),
        Some("6"),
        "{before}"
    );

    let changed = s
        .ok(&[
            "updateBrokerConfig",
            "-c",
            "DefaultCluster",
            "-k",
            "brokerPermission",
            "-v",
            "4",
        ])
        .await;
    assert_eq!(
        changed.trim(),
        format!("update broker config success, {}", s.broker)
    );
    let after = s.ok(&["getBrokerConfig", "-c", "DefaultCluster"]).await;
    assert!(
        after.starts_with(&format!("============Master: {}============", s.broker)),
        "{after}"
    );
    assert_eq!(
        setting(&after, "brokerPermission").as_deref(),
        Some("4"),
        "{after}"
    );
    // A read-only broker refuses sends: the change took effect, not only the reported value.
    let send = s
        .mqadmin(&["sendMessage", "-t", "ReadOnlyNow", "-p", "x"])
        .await;
    assert!(
        !send.status.success(),
        "{}",
        String::from_utf8_lossy(&send.stdout)
    );

    let path = s
        .mqadmin(&[
            "updateBrokerConfig",
            "-b",
            &s.broker,
            "-k",
            "storePathRootDir",
            "-v",
            "/tmp/x",
        ])
        .await;
    let stderr = String::from_utf8_lossy(&path.stderr);
    assert!(
        !path.status.success() && stderr.contains("storePathRootDir"),
        "{stderr}"
    );

    let ns = s.ok(&["getNamesrvConfig"]).await;
    assert_eq!(
        setting(&ns, "orderMessageEnable").as_deref(),
        Some("false"),
        "{ns}"
    );
    let updated = s
        .ok(&[
            "updateNamesrvConfig",
            "-k",
            "orderMessageEnable",
            "-v",
            "true",
        ])
        .await;
    assert!(
        updated.starts_with("update name server config success!"),
        "{updated}"
    );
    let ns = s.ok(&["getNamesrvConfig"]).await;
    assert_eq!(
        setting(&ns, "orderMessageEnable").as_deref(),
        Some("true"),
        "{ns}"
    );
    let refused = s
        .mqadmin(&[
            "updateNamesrvConfig",
            "-k",
            "kvConfigPath",
            "-v",
            "/tmp/kv.json",
        ])
        .await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("kvConfigPath"),
        "{stderr}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_are_explained() {
    let no_ns = run(vec!["topicList".into()], &[]).await;
    assert_eq!(no_ns.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_ns.stderr).contains("NAMESRV_ADDR"));

    let typo = run(vec!["updateTopc".into()], &[]).await;
    assert_eq!(typo.status.code(), Some(2));
    let err = String::from_utf8_lossy(&typo.stderr);
    assert!(
        err.contains("'updateTopic'") && err.contains("The mqadmin commands are:"),
        "{err}"
    );
    assert!(err.contains("   consumerProgress"), "{err}");

    let s = Stack::start().await;
    // NAMESRV_ADDR stands in for -n.
    let from_env = run(vec!["clusterList".into()], &[("NAMESRV_ADDR", &s.namesrv)]).await;
    assert!(String::from_utf8_lossy(&from_env.stdout).contains("broker-a"));

    let missing = s.mqadmin(&["updateTopic", "-t", "X"]).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--brokerAddr"));

    let no_cluster = s.mqadmin(&["updateTopic", "-t", "X", "-c", "Nope"]).await;
    let err = String::from_utf8_lossy(&no_cluster.stderr);
    assert!(
        err.contains("cluster [Nope] is not registered") && err.contains("DefaultCluster"),
        "{err}"
    );

    let bad_time = s
        .mqadmin(&["resetOffsetByTime", "-g", "g", "-t", "T", "-s", "yesterday"])
        .await;
    let err = String::from_utf8_lossy(&bad_time.stderr);
    assert!(err.contains("yyyy-MM-dd#HH:mm:ss:SSS"), "{err}");

    let no_route = s.mqadmin(&["topicStatus", "-t", "NoSuchTopic"]).await;
    let err = String::from_utf8_lossy(&no_route.stderr);
    assert!(
        err.contains("No route info of this topic: NoSuchTopic"),
        "{err}"
    );

    let unreachable = run(
        vec!["-n".into(), "127.0.0.1:1".into(), "topicList".into()],
        &[],
    )
    .await;
    let err = String::from_utf8_lossy(&unreachable.stderr);
    assert!(
        err.contains("check that the name server (127.0.0.1:1)"),
        "{err}"
    );

    for cmd in [
        "updateTopic",
        "deleteTopic",
        "topicList",
        "topicRoute",
        "topicStatus",
        "updateSubGroup",
        "consumerProgress",
        "queryMsgById",
        "queryMsgByKey",
        "queryMsgTraceById",
        "resetOffsetByTime",
        "clusterList",
        "brokerStatus",
        "sendMessage",
        "consumeMessage",
    ] {
        let help = run(vec![cmd.into(), "--help".into()], &[]).await;
        assert!(help.status.success(), "{cmd} --help");
        assert!(
            String::from_utf8_lossy(&help.stdout).contains("Usage: mqadmin"),
            "{cmd}"
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_msg_trace_by_id_prints_the_send_and_each_group() {
    use rmq_client::{
        ClientConfig, ConsumeStatus, ConsumerConfig, Message, Producer, PushConsumer,
    };

    let s = Stack::start().await;
    s.create_topic("Traced", 1).await;
    let client = ClientConfig {
        namesrv_addr: s.namesrv.clone(),
        client_ip: "127.0.0.1".into(),
        ..ClientConfig::default()
    };
    let producer = Producer::builder()
        .client_config(client.clone())
        .producer_group("cli-trace-pg")
        .enable_msg_trace(true, "")
        .start()
        .await
        .unwrap();
    let consumer = PushConsumer::builder()
        .client_config(client)
        .config(ConsumerConfig {
            consumer_group: "cli-trace-cg".into(),
            enable_msg_trace: true,
            consume_from_where: rmq_client::ConsumeFromWhere::FirstOffset,
            ..ConsumerConfig::default()
        })
        .subscribe("Traced", "*")
        .listener(
            |_: &[rmq_client::ReceivedMessage], _: &rmq_client::ConsumeContext| {
                ConsumeStatus::ConsumeSuccess
            },
        )
        .start()
        .await
        .unwrap();
    let sent = producer
        .send(Message::new("Traced", "hello"))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let out = loop {
        // Fails with "No route info" until the first trace message creates the topic.
        let run = s.mqadmin(&["queryMsgTraceById", "-i", &sent.msg_id]).await;
        let out = String::from_utf8_lossy(&run.stdout).into_owned();
        if run.status.success() && out.contains("\nSub ") {
            break out;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no full trace: {out}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let pub_row = lines.iter().find(|l| l.first() == Some(&"Pub")).unwrap();
    assert_eq!(pub_row[1..3], ["cli-trace-pg", "127.0.0.1"], "{out}");
    assert_eq!(pub_row.last(), Some(&"success"), "{out}");
    let sub_rows: Vec<_> = lines.iter().filter(|l| l.first() == Some(&"Sub")).collect();
    assert_eq!(sub_rows.len(), 1, "{out}");
    assert_eq!(sub_rows[0][1], "cli-trace-cg", "{out}");
    assert!(
        out.contains("#ProducerGroup") && out.contains("#ConsumerGroup"),
        "{out}"
    );
    consumer.shutdown().await;
    producer.shutdown().await;
    s.stop().await;
}
