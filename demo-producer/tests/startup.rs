//! The producer demo refuses to start without a name server and says where to set it, and
//! refuses a mandatory configuration location that does not exist, naming it.

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
        // Replaces the default locations, so the embedded application.yml is not read.
        .args([
            "--server.port=0",
            "--spring.config.location=application.yml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "APPLICATION FAILED TO START",
        "Set it in application.yml:\n\n    rocketmq:\n      name-server: 127.0.0.1:9876\n",
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

#[test]
fn a_missing_mandatory_config_location_stops_the_start_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere").join("application.yml");
    let out = Command::new(env!("CARGO_BIN_EXE_demo-producer"))
        .current_dir(dir.path())
        .env_clear()
        .arg("--server.port=0")
        .arg(format!(
            "--spring.config.additional-location={}",
            missing.display()
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let named = format!(
        "config data location '{}' does not exist",
        missing.display()
    );
    assert!(stderr.contains(&named), "{named:?} missing from:\n{stderr}");
    assert!(out.stdout.is_empty(), "no boot line expected");

    // With optional: the same location is skipped and the embedded configuration starts it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_demo-producer"))
        .current_dir(dir.path())
        .env_clear()
        .env("RUST_LOG", "info")
        .args(["--server.port=0", "--rocketmq.name-server=127.0.0.1:1"])
        .arg(format!(
            "--spring.config.additional-location=optional:{}",
            missing.display()
        ))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut boot = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut boot,
    )
    .unwrap();
    assert!(boot.starts_with("Started demo-producer in "), "{boot:?}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("configuration read files=classpath:application.yml")
            && stderr.contains("RocketMQTemplate ready group=\"my-producer-group\""),
        "{stderr}"
    );
}

#[test]
fn the_boot_line_uses_spring_application_name_and_sigterm_stops_cleanly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_demo-producer"))
        .current_dir(dir.path())
        .env_clear()
        .env("ROCKETMQ_NAME_SERVER", "127.0.0.1:1")
        .env("ROCKETMQ_PRODUCER_GROUP", "startup-test")
        .args(["--server.port=0", "--spring.application.name=renamed"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("Started renamed in "), "{line:?}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
}
