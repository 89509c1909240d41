//! The real `mqadmin` and `mqbench` binaries against rmq's broker with `aclEnable=true`: keys
//! from flags, from RMQ_ACCESS_KEY/RMQ_SECRET_KEY and from `$ROCKETMQ_HOME/conf/tools.yml`
//! sign; a non-admin account is refused an admin command; no output shows a secret.

use std::path::Path;
use std::process::{Command, Output};

use rmq_testkit::LocalStack;

const RULES: &str = "
accounts:
  - accessKey: tools-admin
    secretKey: tools-admin-secret
    admin: true
  - accessKey: tools-user
    secretKey: tools-user-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - ToolsOpen=PUB|SUB
";

/// rmq's servers with ACL on; `home` holds conf/plain_acl.yml (the broker's) and later
/// conf/tools.yml (mqadmin's, as in an Apache installation).
async fn acl_stack(home: &Path) -> LocalStack {
    std::fs::create_dir_all(home.join("conf")).unwrap();
    std::fs::write(home.join("conf").join("plain_acl.yml"), RULES).unwrap();
    let home = home.to_string_lossy().into_owned();
    LocalStack::start_with(|c| {
        c.acl_enable = true;
        c.rocketmq_home = home;
    })
    .await
}

/// Runs `bin` off the async threads with `env` set and the ACL variables cleared otherwise.
async fn run(bin: &'static str, args: Vec<String>, env: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args(&args)
            .env_remove("NAMESRV_ADDR")
            .env_remove("RMQ_ACCESS_KEY")
            .env_remove("RMQ_SECRET_KEY")
            .env_remove("ROCKETMQ_HOME")
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqadmin_signs_with_flags_environment_or_tools_yml() {
    let home = tempfile::tempdir().unwrap();
    let stack = acl_stack(home.path()).await;
    let mqadmin = env!("CARGO_BIN_EXE_mqadmin");
    let update = |topic: &str| {
        args(&[
            "-n",
            &stack.namesrv,
            "updateTopic",
            "-b",
            &stack.broker,
            "-t",
            topic,
        ])
    };

    // Unsigned: refused.
    let out = run(mqadmin, update("ToolsOpen"), vec![]).await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("No accessKey is configured"),
        "{}",
        text(&out)
    );

    // A non-admin account by flags: refused, naming the account, never the secret.
    let mut user = update("ToolsOpen");
    user.extend(args(&[
        "--accessKey",
        "tools-user",
        "--secretKey",
        "tools-user-secret",
    ]));
    let out = run(mqadmin, user, vec![]).await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out)
            .contains("Need admin permission for request code=17, but accessKey=tools-user is not"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("tools-user-secret"), "{}", text(&out));

    // The admin account from the environment.
    let env = vec![
        ("RMQ_ACCESS_KEY", "tools-admin".to_owned()),
        ("RMQ_SECRET_KEY", "tools-admin-secret".to_owned()),
    ];
    let out = run(mqadmin, update("ToolsOpen"), env).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("create topic to"), "{}", text(&out));

    // The admin account from $ROCKETMQ_HOME/conf/tools.yml, as Apache's mqadmin reads it.
    std::fs::write(
        home.path().join("conf").join("tools.yml"),
        "accessKey: tools-admin\nsecretKey: tools-admin-secret\n",
    )
    .unwrap();
    let env = vec![("ROCKETMQ_HOME", home.path().to_string_lossy().into_owned())];
    let out = run(mqadmin, update("ToolsSecond"), env).await;
    assert!(out.status.success(), "{}", text(&out));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqbench_produces_only_when_signed() {
    let home = tempfile::tempdir().unwrap();
    let stack = acl_stack(home.path()).await;
    let admin_env = vec![
        ("RMQ_ACCESS_KEY", "tools-admin".to_owned()),
        ("RMQ_SECRET_KEY", "tools-admin-secret".to_owned()),
    ];
    let create = args(&[
        "-n",
        &stack.namesrv,
        "updateTopic",
        "-b",
        &stack.broker,
        "-t",
        "ToolsOpen",
    ]);
    let out = run(env!("CARGO_BIN_EXE_mqadmin"), create, admin_env).await;
    assert!(out.status.success(), "{}", text(&out));
    let mqbench = env!("CARGO_BIN_EXE_mqbench");
    let produce = |extra: &[&str]| {
        let mut all = args(&[
            "--json",
            "produce",
            "-n",
            &stack.namesrv,
            "-t",
            "ToolsOpen",
            "-s",
            "64",
            "-c",
            "2",
            "-d",
            "1",
        ]);
        all.extend(args(extra));
        all
    };

    let out = run(mqbench, produce(&[]), vec![]).await;
    assert!(!out.status.success(), "unsigned: {}", text(&out));
    assert!(
        text(&out).contains("No accessKey is configured"),
        "{}",
        text(&out)
    );

    // Apache's benchmark flags: -a true -ak AK -sk SK.
    let out = run(
        mqbench,
        produce(&[
            "-a",
            "true",
            "-ak",
            "tools-user",
            "-sk",
            "tools-user-secret",
        ]),
        vec![],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("a JSON report on stdout");
    assert!(report["ok"].as_u64().unwrap_or(0) > 0, "{report}");
    assert_eq!(report["failed"].as_u64(), Some(0), "{report}");
    stack.stop().await;
}
