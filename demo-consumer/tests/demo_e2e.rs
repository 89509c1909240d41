//! The two demos as real processes against a local stack: `GET /product/msg` N times on the
//! producer, and the consumer prints all N messages; both then stop gracefully on SIGTERM.
//! They run in empty temporary directories, on the `application.yml` compiled into them, with
//! only the name server given; then again with `./config/application.yml` (consumer) and
//! `--spring.config.location` (producer) replacing parts of it.
//!
//! The producer binary is found next to the consumer's (`cargo test --workspace` builds both;
//! with `-p demo-consumer` alone, run `cargo build -p demo-producer` first).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rmq_testkit::LocalStack;

const N: usize = 20;

/// A demo binary running in a directory of its own, with its stdout lines forwarded to the
/// test and its INFO log lines kept.
struct Demo {
    child: Child,
    lines: mpsc::Receiver<String>,
    logs: mpsc::Receiver<String>,
    port: u16,
    /// The `configuration read` log line.
    config_line: String,
}

impl Demo {
    /// Starts `exe` in `dir` with `env` and `args` (plus `--server.port=0`), waits for its
    /// boot line.
    fn start(exe: &Path, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Demo {
        assert!(
            exe.is_file(),
            "{} is missing: run `cargo build -p demo-producer -p demo-consumer` (cargo test --workspace does)",
            exe.display()
        );
        let mut child = Command::new(exe)
            .current_dir(dir)
            .env_clear()
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .arg("--server.port=0")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        forward(child.stdout.take().unwrap(), tx, false);
        let (log_tx, logs) = mpsc::channel();
        forward(child.stderr.take().unwrap(), log_tx, true);
        let boot = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("a boot line within 30 s");
        let port = boot
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in the boot line {boot:?}"));
        // Logged before the boot line, but on another pipe: wait for it.
        let config_line = std::iter::from_fn(|| logs.recv_timeout(Duration::from_secs(10)).ok())
            .find(|l| l.contains("configuration read"))
            .unwrap_or_else(|| panic!("no 'configuration read' line before {boot:?}"));
        Demo {
            child,
            lines,
            logs,
            port,
            config_line,
        }
    }

    /// Sends SIGTERM, expects a clean exit and returns the log lines after the
    /// `configuration read` one.
    fn terminate(mut self) -> Vec<String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit after SIGTERM: {status}");
                // The pipe is closed now; the forwarding thread ends after the last line.
                return std::iter::from_fn(|| self.logs.recv_timeout(Duration::from_secs(10)).ok())
                    .collect();
            }
            assert!(Instant::now() < deadline, "no exit 30 s after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends each line of `from` to `to`; with `echo`, also to the test's stderr.
fn forward(from: impl Read + Send + 'static, to: mpsc::Sender<String>, echo: bool) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            if echo {
                eprintln!("{line}");
            }
            if to.send(line).is_err() {
                break;
            }
        }
    });
}

/// One HTTP/1.1 GET; returns the status line and the body.
fn http_get(port: u16, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, body.to_owned())
}

fn producer_exe() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_demo-consumer")).with_file_name("demo-producer")
}

/// `GET /product/msg` N times on `producer`; `consumer` prints every message; both stop, and
/// their INFO logs read as one short line per event.
fn produce_and_consume(producer: Demo, consumer: Demo) {
    let (status, body) = http_get(producer.port, "/actuator/health");
    assert!(
        status.contains("200") && body.contains("UP"),
        "{status} {body}"
    );
    for _ in 0..N {
        let (status, body) = http_get(producer.port, "/product/msg");
        assert!(status.contains("200"), "{status}");
        assert_eq!(body, "发送成功！");
    }
    let mut printed = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while printed < N {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = consumer
            .lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("the consumer printed {printed} of {N} messages"));
        if line.starts_with("接收到消息：task-") && line.ends_with("使用rocketmq生产了一条消息")
        {
            printed += 1;
        }
    }
    let producer_logs = producer.terminate();
    let consumer_logs = consumer.terminate();
    for line in producer_logs.iter().chain(&consumer_logs) {
        assert!(
            ![
                "TopicRouteData {",
                "BrokerData {",
                "QueueData {",
                "MessageQueue {"
            ]
            .iter()
            .any(|s| line.contains(s)),
            "a whole Debug structure at INFO: {line}"
        );
    }
    let has =
        |logs: &[String], parts: &[&str]| logs.iter().any(|l| parts.iter().all(|p| l.contains(p)));
    assert!(
        has(
            &producer_logs,
            &[
                "topic route changed",
                "topic=\"first-topic\"",
                "write_queues=4"
            ]
        ),
        "{producer_logs:#?}"
    );
    assert!(
        has(
            &consumer_logs,
            &["rebalanced", "topic=\"first-topic\"", "held=4"]
        ),
        "{consumer_logs:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_message_the_producer_demo_sends_is_printed_by_the_consumer_demo() {
    let stack = LocalStack::start().await;
    stack.create_topic("first-topic", 4).await;
    let ns = stack.namesrv.clone();
    tokio::task::spawn_blocking(move || {
        // Empty directories: everything but the name server comes from the embedded files.
        let (cdir, pdir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let env = [("ROCKETMQ_NAME_SERVER", ns.as_str())];
        let consumer = Demo::start(
            Path::new(env!("CARGO_BIN_EXE_demo-consumer")),
            cdir.path(),
            &env,
            &[],
        );
        let producer = Demo::start(&producer_exe(), pdir.path(), &env, &[]);
        for demo in [&consumer, &producer] {
            assert!(
                demo.config_line
                    .ends_with("files=classpath:application.yml"),
                "{}",
                demo.config_line
            );
        }
        produce_and_consume(producer, consumer);

        // The name server from ./config/application.yml (the consumer) and from a file named
        // by --spring.config.location, which replaces the embedded one (the producer: its
        // group must then come from that file too).
        std::fs::create_dir(cdir.path().join("config")).unwrap();
        std::fs::write(
            cdir.path().join("config/application.yml"),
            format!("rocketmq:\n  name-server: {ns}\n"),
        )
        .unwrap();
        let custom = pdir.path().join("custom.yml");
        std::fs::write(
            &custom,
            format!(
                "rocketmq:\n  name-server: {ns}\n  producer:\n    group: custom-producer-group\n"
            ),
        )
        .unwrap();
        let location = format!("--spring.config.location={}", custom.display());
        let consumer = Demo::start(
            Path::new(env!("CARGO_BIN_EXE_demo-consumer")),
            cdir.path(),
            &[],
            &[],
        );
        let producer = Demo::start(&producer_exe(), pdir.path(), &[], &[&location]);
        assert!(
            consumer
                .config_line
                .ends_with("files=classpath:application.yml, config/application.yml"),
            "{}",
            consumer.config_line
        );
        assert!(
            producer
                .config_line
                .ends_with(&format!("files={}", custom.display())),
            "{}",
            producer.config_line
        );
        produce_and_consume(producer, consumer);
    })
    .await
    .unwrap();
    stack.stop().await;
}
