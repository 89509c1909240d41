//! The two demos as real processes against a local stack: `GET /product/msg` N times on the
//! producer, and the consumer prints all N messages; both then stop gracefully on SIGTERM.
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

/// A demo binary running in the workspace root (so it reads the workspace's application.yml),
/// with its stdout lines forwarded to the test.
struct Demo {
    child: Child,
    lines: mpsc::Receiver<String>,
    port: u16,
}

impl Demo {
    fn start(exe: &Path, namesrv: &str) -> Demo {
        assert!(
            exe.is_file(),
            "{} is missing: run `cargo build -p demo-producer -p demo-consumer` (cargo test --workspace does)",
            exe.display()
        );
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut child = Command::new(exe)
            .current_dir(root)
            .env("ROCKETMQ_NAME_SERVER", namesrv)
            .env("RUST_LOG", "warn")
            .arg("--server.port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let boot = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("a boot line within 30 s");
        let port = boot
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in the boot line {boot:?}"));
        Demo { child, lines, port }
    }

    /// Sends SIGTERM and expects a clean exit.
    fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit after SIGTERM: {status}");
                return;
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

#[tokio::test(flavor = "multi_thread")]
async fn every_message_the_producer_demo_sends_is_printed_by_the_consumer_demo() {
    let stack = LocalStack::start().await;
    stack.create_topic("first-topic", 4).await;
    let (consumer, producer) = tokio::task::spawn_blocking({
        let ns = stack.namesrv.clone();
        move || {
            let consumer = Demo::start(Path::new(env!("CARGO_BIN_EXE_demo-consumer")), &ns);
            let producer = Demo::start(&producer_exe(), &ns);
            (consumer, producer)
        }
    })
    .await
    .unwrap();

    let consumer = tokio::task::spawn_blocking(move || {
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
        producer.terminate();
        consumer
    })
    .await
    .unwrap();
    tokio::task::spawn_blocking(move || consumer.terminate())
        .await
        .unwrap();
    stack.stop().await;
}
