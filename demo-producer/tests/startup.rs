//! The producer demo refuses to start without a name server and says where to set it.

use std::process::Command;

#[test]
fn a_missing_name_server_is_a_startup_error_that_says_where_to_set_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("application.yml"),
        "rocketmq:\n  name-sever: 127.0.0.1:9876\n  producer:\n    group: g\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_demo-producer"))
        .current_dir(dir.path())
        .env_clear()
        .arg("--server.port=0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "APPLICATION FAILED TO START",
        "rocketmq.name-server is not set",
        "ROCKETMQ_NAME_SERVER",
        "--rocketmq.name-server=",
        "rocketmq.name-sever (from application.yml); did you mean rocketmq.name-server?",
    ] {
        assert!(
            stderr.contains(needle),
            "{needle:?} missing from:\n{stderr}"
        );
    }
    assert!(out.stdout.is_empty(), "no boot line expected");
}
