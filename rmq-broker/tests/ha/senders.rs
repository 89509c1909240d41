//! Continuous synchronous senders for the crash tests, and what they saw: every message carries
//! an id of its own (`SS-NNNNNNNNN|padding`), so the stores can be checked for each
//! acknowledged one afterwards.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rmq_client::{ClientConfig, Message, Producer, ProducerConfig, SendStatus};
use tokio::task::JoinHandle;

/// What the senders saw, shared with the test.
#[derive(Default)]
pub struct Outcomes {
    /// Ids answered SEND_OK.
    pub acked: Mutex<HashSet<String>>,
    /// Sends answered with another status (stored, not acknowledged).
    pub not_ok: AtomicU64,
    /// Sends that failed.
    pub errors: AtomicU64,
    /// Milliseconds since the test's start of the latest SEND_OK.
    pub last_ok_ms: AtomicU64,
}

/// A producer and `count` senders sharing it, running until [`Senders::stop`].
pub struct Senders {
    /// What they saw.
    pub out: Arc<Outcomes>,
    producer: Producer,
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Senders {
    /// Starts `count` senders to `topic` through a producer of `group` that refreshes routes
    /// every `poll` (`pollNameServerInterval`) and gives up a send after 3 s.
    pub async fn start(
        namesrv: &str,
        group: &str,
        topic: &'static str,
        count: usize,
        poll: Duration,
        t0: Instant,
    ) -> Self {
        let producer = Producer::builder()
            .client_config(ClientConfig {
                poll_name_server_interval: poll,
                ..ClientConfig::default()
            })
            .namesrv_addr(namesrv)
            .producer_group(group)
            .config(ProducerConfig {
                producer_group: group.into(),
                send_msg_timeout: Duration::from_secs(3),
                ..ProducerConfig::default()
            })
            .start()
            .await
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let out = Arc::new(Outcomes::default());
        let tasks = (0..count)
            .map(|n| {
                tokio::spawn(sender(
                    producer.clone(),
                    topic,
                    n,
                    stop.clone(),
                    out.clone(),
                    t0,
                ))
            })
            .collect();
        Senders {
            out,
            producer,
            stop,
            tasks,
        }
    }

    /// Stops the senders after their current send and shuts the producer down.
    pub async fn stop(self) -> Arc<Outcomes> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
        self.producer.shutdown().await;
        self.out
    }
}

/// One sender: sends to `topic` until told to stop, each message with an id of its own and a
/// body of random length (so records straddle file ends at varying places).
async fn sender(
    producer: Producer,
    topic: &'static str,
    n: usize,
    stop: Arc<AtomicBool>,
    out: Arc<Outcomes>,
    t0: Instant,
) {
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let id = format!("{n:02}-{seq:09}");
        let pad = "x".repeat(fastrand::usize(0..2000));
        let msg = Message::new(topic, Bytes::from(format!("{id}|{pad}"))).with_keys([id.clone()]);
        match producer.send(msg).await {
            Ok(r) if r.status == SendStatus::SendOk => {
                out.acked.lock().unwrap().insert(id);
                out.last_ok_ms
                    .store(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
            }
            Ok(_) => {
                // Stored without a slave's acknowledgement (none in sync yet): slow down so the
                // loop does not fill the disk with messages nobody waits for.
                out.not_ok.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(_) => {
                out.errors.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Waits for a SEND_OK later than `since` (test time); returns how long after `since` it came,
/// or panics after `limit` with `logs()`.
pub async fn first_ok_after(
    out: &Outcomes,
    t0: Instant,
    since: Duration,
    limit: Duration,
    logs: &dyn Fn() -> String,
) -> Duration {
    loop {
        let last = Duration::from_millis(out.last_ok_ms.load(Ordering::Relaxed));
        if last > since {
            return last - since;
        }
        assert!(
            t0.elapsed() - since < limit,
            "no send was acknowledged within {limit:?}\n{}",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
