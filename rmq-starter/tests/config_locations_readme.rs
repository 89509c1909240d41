//! The README's starter example runs as written: its `Cargo.toml`, `application.yml` and
//! `src/main.rs` blocks (the first of each under "## The starter") become a crate in the
//! target directory, built offline against this workspace's crates, then started from an empty
//! directory with only the name server of a local stack given; a message sent to
//! `first-topic` must come out of its listener.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rmq_client::{ClientConfig, Message, Producer, ProducerConfig};
use rmq_testkit::LocalStack;

/// The first fenced block of `lang` after `## The starter` in README.md.
fn readme_block(readme: &str, lang: &str) -> String {
    let section = readme
        .split_once("\n## The starter\n")
        .expect("README.md has a '## The starter' section")
        .1;
    let fence = format!("```{lang}\n");
    let start = section
        .find(&fence)
        .unwrap_or_else(|| panic!("no ```{lang} block under '## The starter'"))
        + fence.len();
    let len = section[start..].find("```\n").expect("a closed block");
    section[start..start + len].to_owned()
}

/// The workspace's own packages (path packages in Cargo.lock), so the snippet's build can give
/// them the workspace's debug setting and reuse their compiled artifacts.
fn workspace_packages(lock: &str) -> Vec<String> {
    lock.split("[[package]]")
        .filter(|p| !p.contains("\nsource = "))
        .filter_map(|p| {
            p.lines()
                .find_map(|l| l.strip_prefix("name = \""))
                .map(|n| n.trim_end_matches('"').to_owned())
        })
        .collect()
}

/// Writes `text` to `path` unless it holds it already (an unchanged crate is not rebuilt).
fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).unwrap();
    }
}

/// Writes the crate into `dir` and returns its manifest.
fn write_crate(dir: &Path, root: &Path) -> PathBuf {
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let toml = readme_block(&readme, "toml");
    let yml = readme_block(&readme, "yaml");
    let main = readme_block(&readme, "rust");
    let starter = root.join("rmq-starter");
    assert!(
        toml.contains("path = \"rmq/rmq-starter\""),
        "the README's Cargo.toml names rmq-starter by path:\n{toml}"
    );
    let toml = toml.replace(
        "path = \"rmq/rmq-starter\"",
        &format!("path = {:?}", starter.display().to_string()),
    );
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
    // The workspace's profile (Cargo.toml): line tables for its own crates, none for others.
    let mut profile = String::from(
        "[profile.dev]\ndebug = \"line-tables-only\"\n[profile.dev.package.\"*\"]\ndebug = false\n",
    );
    for package in workspace_packages(&lock) {
        profile.push_str(&format!(
            "[profile.dev.package.{package}]\ndebug = \"line-tables-only\"\n"
        ));
    }
    std::fs::create_dir_all(dir.join("src")).unwrap();
    write_if_changed(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"readme-starter\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n{toml}\n[workspace]\n\n{profile}"
        ),
    );
    // The workspace's lock file pins the same versions, so nothing is fetched.
    write_if_changed(&dir.join("Cargo.lock"), &lock);
    write_if_changed(&dir.join("application.yml"), &yml);
    write_if_changed(&dir.join("src/main.rs"), &main);
    dir.join("Cargo.toml")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_starter_example_builds_and_consumes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let crate_dir = tmp.join("readme-starter");
    let manifest = write_crate(&crate_dir, root);
    let target = tmp.parent().unwrap();
    let built = Instant::now();
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // The variables cargo set for this test (CARGO_MANIFEST_DIR, CARGO_PKG_*) would make build
    // scripts that watch them rerun, here and in the next workspace build.
    for (name, _) in std::env::vars() {
        if name.starts_with("CARGO_") && name != "CARGO_HOME" {
            cargo.env_remove(name);
        }
    }
    let out = cargo
        .args(["build", "--offline", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the README's example does not build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "README example built in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let exe = target.join("debug/readme-starter");

    let stack = LocalStack::start().await;
    stack.create_topic("first-topic", 4).await;
    let run_dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(&exe)
        .current_dir(run_dir.path())
        .env_clear()
        .env("ROCKETMQ_NAME_SERVER", &stack.namesrv)
        .env("RUST_LOG", "warn")
        .arg("--server.port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let boot = lines.recv_timeout(Duration::from_secs(30));
    let boot = match boot {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            panic!("the README's example printed no boot line");
        }
    };
    assert!(boot.starts_with("Started my-service in "), "{boot:?}");

    let producer = Producer::builder()
        .client_config(ClientConfig {
            namesrv_addr: stack.namesrv.clone(),
            ..ClientConfig::default()
        })
        .config(ProducerConfig {
            producer_group: "readme-test".into(),
            ..ProducerConfig::default()
        })
        .start()
        .await
        .unwrap();
    producer
        .send(Message::new("first-topic", "hello from the README test"))
        .await
        .unwrap();
    let printed = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if line == "hello from the README test" {
                return true;
            }
        }
        false
    })
    .await
    .unwrap();
    producer.shutdown().await;
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    stack.stop().await;
    assert!(printed, "the listener did not print the message");
    assert!(status.success(), "exit after SIGTERM: {status}");
}
