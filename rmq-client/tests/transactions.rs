//! Transactional messages end to end against an in-process name server and broker on real TCP:
//! commit, rollback, unknown then checked (commit and rollback), a producer that goes away
//! before the outcome (another member of the group answers the check), and a broker restart
//! while the half message waits.

mod common;

use std::any::Any;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{wait_until, Cluster, Received};
use rmq_client::{
    LocalTransactionState, Message, Producer, PushConsumer, ReceivedMessage, TransactionListener,
    TransactionProducer,
};

use LocalTransactionState::{CommitMessage, RollbackMessage, Unknown};

const TOPIC: &str = "TxTopic";

async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(60), test)
        .await
        .expect("test timed out");
}

/// Answers the first phase with `first` and every check with whatever `on_check` holds.
struct Scripted {
    first: LocalTransactionState,
    on_check: Mutex<LocalTransactionState>,
    checks: AtomicUsize,
}

impl Scripted {
    fn new(first: LocalTransactionState, on_check: LocalTransactionState) -> Arc<Self> {
        Arc::new(Scripted {
            first,
            on_check: Mutex::new(on_check),
            checks: AtomicUsize::new(0),
        })
    }

    fn checks(&self) -> usize {
        self.checks.load(Ordering::SeqCst)
    }

    fn answer_checks_with(&self, state: LocalTransactionState) {
        *self.on_check.lock().unwrap() = state;
    }
}

impl TransactionListener for Scripted {
    fn execute_local_transaction(
        &self,
        _msg: &Message,
        _transaction_id: &str,
        _arg: &(dyn Any + Send + Sync),
    ) -> LocalTransactionState {
        self.first
    }

    fn check_local_transaction(&self, _msg: &ReceivedMessage) -> LocalTransactionState {
        self.checks.fetch_add(1, Ordering::SeqCst);
        *self.on_check.lock().unwrap()
    }
}

/// A cluster whose broker checks every 500 ms, half messages older than 300 ms.
async fn cluster() -> Cluster {
    let cluster = Cluster::start_with(|c| {
        c.transaction_check_interval = 500;
        c.transaction_time_out = 300;
    })
    .await;
    cluster.create_topic(TOPIC, 2).await;
    cluster
}

async fn tx_producer(
    cluster: &Cluster,
    group: &str,
    listener: Arc<Scripted>,
) -> TransactionProducer {
    Producer::builder()
        .client_config(cluster.client_config())
        .producer_group(group)
        .start_transactional(listener)
        .await
        .unwrap()
}

async fn consumer(cluster: &Cluster, group: &str, received: &Received) -> PushConsumer {
    PushConsumer::builder()
        .client_config(cluster.client_config())
        .config(cluster.consumer_config(group))
        .subscribe(TOPIC, "*")
        .listener(received.listener())
        .start()
        .await
        .unwrap()
}

async fn send(producer: &TransactionProducer, body: &str) -> String {
    let result = producer
        .send_message_in_transaction(Message::new(TOPIC, body.to_owned()), &())
        .await
        .unwrap();
    result.transaction_id
}

/// Sends a plain message and waits until it is consumed: everything committed before it that
/// was going to be visible at once is visible by then.
async fn barrier(cluster: &Cluster, received: &Received) {
    let plain = cluster.producer("TxBarrier").await;
    let id = plain
        .send(Message::new(TOPIC, "barrier"))
        .await
        .unwrap()
        .msg_id;
    received.wait_for(&[id].into()).await;
    plain.shutdown().await;
}

fn bodies(received: &Received) -> Vec<String> {
    received
        .all()
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .filter(|b| b != "barrier")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_is_delivered_and_rollback_is_not() {
    bounded(async {
        let cluster = cluster().await;
        let received = Received::default();
        let c = consumer(&cluster, "TxC1", &received).await;
        let commit = tx_producer(&cluster, "TxP1", Scripted::new(CommitMessage, Unknown)).await;
        let rollback = tx_producer(&cluster, "TxP2", Scripted::new(RollbackMessage, Unknown)).await;
        let committed = send(&commit, "committed").await;
        send(&rollback, "rolled-back").await;
        received.wait_for(&[committed.clone()].into()).await;
        barrier(&cluster, &received).await;
        assert_eq!(bodies(&received), vec!["committed"]);
        let msg = received
            .all()
            .into_iter()
            .find(|m| m.msg_id == committed)
            .unwrap();
        assert_eq!(msg.topic, TOPIC);
        // as Apache 4.9.7 stores it: the half message's properties kept on the committed copy
        assert_eq!(msg.property("TRAN_MSG"), Some("true"));
        assert_eq!(msg.property("REAL_TOPIC"), Some(TOPIC));
        assert_eq!(msg.property("PGROUP"), Some("TxP1"));
        commit.shutdown().await;
        rollback.shutdown().await;
        c.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_outcomes_are_checked_back() {
    bounded(async {
        let cluster = cluster().await;
        let received = Received::default();
        let c = consumer(&cluster, "TxC2", &received).await;
        let to_commit = Scripted::new(Unknown, CommitMessage);
        let to_rollback = Scripted::new(Unknown, RollbackMessage);
        let p1 = tx_producer(&cluster, "TxP3", to_commit.clone()).await;
        let p2 = tx_producer(&cluster, "TxP4", to_rollback.clone()).await;
        let committed = send(&p1, "checked-commit").await;
        send(&p2, "checked-rollback").await;
        received.wait_for(&[committed].into()).await;
        wait_until("the rollback check", || async { to_rollback.checks() > 0 }).await;
        // A check's answer travels one-way, so a round that began before the broker recorded it
        // may ask once more (Java's broker too). Settled = no check for longer than one round.
        let counts = || (to_commit.checks(), to_rollback.checks());
        let mut settled = counts();
        loop {
            tokio::time::sleep(Duration::from_millis(800)).await;
            if counts() == settled {
                break;
            }
            settled = counts();
        }
        assert!(settled.0 <= 2 && settled.1 <= 2, "checks {settled:?}");
        // Several more check rounds pass: settled transactions are not asked about again.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(counts(), settled);
        barrier(&cluster, &received).await;
        assert_eq!(bodies(&received), vec!["checked-commit"]);
        p1.shutdown().await;
        p2.shutdown().await;
        c.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_producer_of_the_group_answers_when_the_sender_is_gone() {
    bounded(async {
        let cluster = cluster().await;
        let received = Received::default();
        let c = consumer(&cluster, "TxC3", &received).await;
        let gone = Scripted::new(Unknown, Unknown);
        let sender = tx_producer(&cluster, "TxP5", gone.clone()).await;
        let id = send(&sender, "survives-its-sender").await;
        sender.shutdown().await;
        let other = Scripted::new(CommitMessage, CommitMessage);
        let answering = tx_producer(&cluster, "TxP5", other.clone()).await;
        received.wait_for(&[id].into()).await;
        assert_eq!(gone.checks(), 0);
        assert!(other.checks() >= 1);
        answering.shutdown().await;
        c.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_message_survives_a_broker_restart() {
    bounded(async {
        let mut cluster = cluster().await;
        let received = Received::default();
        let c = consumer(&cluster, "TxC4", &received).await;
        let undecided = Scripted::new(Unknown, Unknown);
        let p = tx_producer(&cluster, "TxP6", undecided.clone()).await;
        let id = send(&p, "across-a-restart").await;
        wait_until("a first check", || async { undecided.checks() > 0 }).await;
        cluster.restart_broker().await;
        let before = undecided.checks();
        undecided.answer_checks_with(CommitMessage);
        received.wait_for(&[id].into()).await;
        assert!(
            undecided.checks() > before,
            "checked again after the restart"
        );
        p.shutdown().await;
        c.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_rejecting_transactions_says_so() {
    bounded(async {
        let cluster = Cluster::start_with(|c| c.reject_transaction_message = true).await;
        cluster.create_topic(TOPIC, 1).await;
        let p = tx_producer(&cluster, "TxP7", Scripted::new(CommitMessage, Unknown)).await;
        let err = p
            .send_message_in_transaction(Message::new(TOPIC, "refused"), &())
            .await
            .unwrap_err();
        assert_eq!(err.response_code(), Some(16), "{err}");
        assert!(
            err.to_string().contains("rejectTransactionMessage"),
            "{err}"
        );
        p.shutdown().await;
        cluster.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_stop_after_transaction_check_max() {
    bounded(async {
        let cluster = Cluster::start_with(|c| {
            c.transaction_check_interval = 200;
            c.transaction_time_out = 100;
            c.transaction_check_max = 2;
        })
        .await;
        cluster.create_topic(TOPIC, 1).await;
        let undecided = Scripted::new(Unknown, Unknown);
        let p = tx_producer(&cluster, "TxP8", undecided.clone()).await;
        send(&p, "never-decided").await;
        wait_until("two checks", || async { undecided.checks() == 2 }).await;
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert_eq!(undecided.checks(), 2, "no check after transactionCheckMax");
        p.shutdown().await;
        cluster.stop().await;
    })
    .await;
}
