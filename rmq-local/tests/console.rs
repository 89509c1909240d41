//! `rmq-local` serves the web console beside the stack: the boot line names it, the first
//! start logs a generated password that logs in, and the console sees the local broker.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Local(Child);

impl Drop for Local {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts single-broker rmq-local on free ports; the process and its boot line.
fn start(data: &std::path::Path, log: &std::path::Path) -> (Local, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rmq-local"))
        .args([
            "--namesrvPort",
            "0",
            "--listenPort",
            "0",
            "--consolePort",
            "0",
        ])
        .args(["--mappedFileSizeCommitLog", "4194304"])
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("spawn rmq-local");
    let stdout = child.stdout.take().expect("stdout is piped");
    let local = Local(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the boot line");
    (local, line)
}

/// One HTTP/1.1 exchange on a fresh connection: status code, headers and body.
fn http(addr: &str, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the console");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let code = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, answer)
}

fn login(addr: &str, password: &str) -> Option<String> {
    let body = format!("user=admin&password={password}");
    let (code, answer) = http(
        addr,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    if code != 303 {
        return None;
    }
    let cookie = answer
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))?
        .split(';')
        .next()?
        .to_owned();
    Some(cookie)
}

#[test]
fn the_local_stack_serves_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (local, line) = start(&data, &dir.path().join("log1"));
    let addr = line
        .split("console on http://")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no console in the boot line: {line}"))
        .to_owned();
    let log = std::fs::read_to_string(dir.path().join("log1")).unwrap();
    let password = log
        .split("with password ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no generated password in the log:\n{log}"))
        .to_owned();
    assert_eq!(
        http(
            &addr,
            &format!("GET /api/cluster HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
        )
        .0,
        401
    );
    assert!(login(&addr, "not-the-password").is_none());
    let cookie = login(&addr, &password).expect("the generated password logs in");
    // The console's sampler finds the local broker once it has registered.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, answer) = http(
            &addr,
            &format!("GET /api/cluster HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(code, 200, "{answer}");
        if answer.contains("\"broker_name\":\"broker-a\"") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the console never saw broker-a: {answer}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    drop(local);

    // The second start keeps the users file and prints no password.
    let (_local, line) = start(&data, &dir.path().join("log2"));
    assert!(line.contains("console on http://"), "{line}");
    let log2 = std::fs::read_to_string(dir.path().join("log2")).unwrap();
    assert!(
        !log2.contains(&password) && !log2.contains("with password"),
        "{log2}"
    );
}
