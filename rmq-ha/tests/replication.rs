//! A master and a slave store replicating over real TCP on 127.0.0.1.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rmq_ha::{HaClient, HaConfig, HaMaster};
use rmq_remoting::message::{encode_properties, keys};
use rmq_store::{MessageStore, PutMessage, PutStatus, StoreConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

fn config(root: &std::path::Path) -> StoreConfig {
    StoreConfig {
        mapped_file_size_commit_log: 256 * 1024,
        mapped_file_size_consume_queue: 20 * 1000,
        max_hash_slot_num: 1001,
        max_index_num: 4000,
        sync_flush_timeout: Duration::from_millis(1500),
        ..StoreConfig::with_root(root)
    }
}

fn msg(i: usize) -> PutMessage {
    PutMessage {
        topic: format!("T{}", i % 2),
        queue_id: (i % 4) as i32,
        flag: 0,
        body: Bytes::from(vec![b'a' + (i % 26) as u8; 200 + i % 700]),
        properties: encode_properties([(keys::KEYS, format!("k{i}").as_str())]),
        sys_flag: 0,
        born_timestamp: 1,
        born_host: "127.0.0.1:5000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

fn quick() -> HaConfig {
    HaConfig {
        send_heartbeat_interval: Duration::from_millis(200),
        housekeeping_interval: Duration::from_secs(2),
        ..HaConfig::default()
    }
}

struct Pair {
    master: Arc<MessageStore>,
    ha: Arc<HaMaster>,
    ha_addr: String,
    stop: CancellationToken,
    _dirs: Vec<tempfile::TempDir>,
}

async fn master() -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MessageStore::open(config(dir.path())).unwrap());
    let ha = HaMaster::new(store.clone(), quick());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ha_addr = listener.local_addr().unwrap().to_string();
    let stop = CancellationToken::new();
    tokio::spawn(ha.clone().serve(listener, stop.clone()));
    Pair {
        master: store,
        ha,
        ha_addr,
        stop,
        _dirs: vec![dir],
    }
}

fn slave(pair: &mut Pair) -> (Arc<MessageStore>, Arc<HaClient>, CancellationToken) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MessageStore::open(config(dir.path())).unwrap());
    pair._dirs.push(dir);
    let client = HaClient::new(store.clone(), quick());
    let stop = CancellationToken::new();
    let (_tx, rx) = watch::channel(Some(pair.ha_addr.clone()));
    tokio::spawn({
        let client = client.clone();
        let stop = stop.clone();
        async move {
            let _keep = _tx;
            client.run(rx, stop).await
        }
    });
    (store, client, stop)
}

/// Waits until the slave has published (made readable) everything the master wrote: the
/// written end moves just after the bytes land, so `max_phy_offset` alone can be ahead of what
/// `read_commit_log` serves for a moment.
async fn caught_up(master: &MessageStore, slave: &MessageStore) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let published = slave.subscribe_written();
    while slave.max_phy_offset() != master.max_phy_offset()
        || *published.borrow() != master.max_phy_offset()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "slave at {} never reached {}",
            slave.max_phy_offset(),
            master.max_phy_offset()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assert_same_log(master: &MessageStore, slave: &MessageStore) {
    let mut at = slave.min_phy_offset();
    while at < master.max_phy_offset() {
        let a = master.read_commit_log(at, 1 << 20).unwrap();
        let b = slave.read_commit_log(at, a.len()).unwrap();
        assert_eq!(a.as_slice(), b.as_slice(), "bytes differ at {at}");
        at += a.len() as i64;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_slave_catches_up_from_the_newest_file_and_follows() {
    let mut pair = master().await;
    for i in 0..2000 {
        pair.master.put_message(msg(i)).await.unwrap();
    }
    let file = 256 * 1024;
    let before = pair.master.max_phy_offset();
    let (slave_store, client, _stop) = slave(&mut pair);
    caught_up(&pair.master, &slave_store).await;
    assert_eq!(slave_store.min_phy_offset(), before - before % file);
    for i in 2000..2500 {
        pair.master.put_message(msg(i)).await.unwrap();
    }
    caught_up(&pair.master, &slave_store).await;
    assert_same_log(&pair.master, &slave_store);
    let total: i64 = (0..4)
        .map(|q| {
            slave_store.max_offset_in_queue("T1", q) - slave_store.min_offset_in_queue("T1", q)
        })
        .sum();
    assert!(total > 0);
    assert_eq!(
        slave_store
            .query_message("T1", "k2499", 4, 0, i64::MAX)
            .len(),
        1
    );
    // The slave's report of its new end reaches the master a moment after the bytes landed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let slaves = loop {
        let slaves = pair.ha.slaves();
        if slaves.iter().all(|s| s.behind_bytes == 0) || tokio::time::Instant::now() > deadline {
            break slaves;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(slaves.len(), 1);
    assert_eq!(slaves[0].behind_bytes, 0);
    assert!(client.status().connected);
    pair.stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_master_sends_wait_for_the_slave() {
    let mut pair = master().await;
    pair.master.set_replica_waiter(Some(pair.ha.tracker()));
    // No slave yet: SLAVE_NOT_AVAILABLE, the message stored all the same.
    let r = pair.master.put_message(msg(0)).await.unwrap();
    assert_eq!(r.status, PutStatus::SlaveNotAvailable);
    let (slave_store, _client, _stop) = slave(&mut pair);
    caught_up(&pair.master, &slave_store).await;
    let sends = (1..200).map(|i| {
        let master = pair.master.clone();
        tokio::spawn(async move { master.put_message(msg(i)).await.unwrap() })
    });
    for r in futures_join(sends).await {
        assert_eq!(r.status, PutStatus::PutOk);
        // Acknowledged means the slave has it.
        assert!(slave_store.max_phy_offset() >= r.end_offset);
    }
    pair.stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_whose_connection_drops_resumes_where_it_stopped() {
    let mut pair = master().await;
    for i in 0..300 {
        pair.master.put_message(msg(i)).await.unwrap();
    }
    let (slave_store, _client, stop) = slave(&mut pair);
    caught_up(&pair.master, &slave_store).await;
    stop.cancel();
    for i in 300..900 {
        pair.master.put_message(msg(i)).await.unwrap();
    }
    // A new client on the same store reports its end and gets only what it lacks.
    let client = HaClient::new(slave_store.clone(), quick());
    let (_tx, rx) = watch::channel(Some(pair.ha_addr.clone()));
    let stop2 = CancellationToken::new();
    tokio::spawn(client.clone().run(rx, stop2.clone()));
    caught_up(&pair.master, &slave_store).await;
    assert_same_log(&pair.master, &slave_store);
    let status = pair.ha.slaves();
    assert_eq!(status.len(), 1, "the old connection is gone: {status:?}");
    assert!(status[0].transfer_from > 0);
    stop2.cancel();
    pair.stop.cancel();
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// Controller mode: a slave opens with a hello naming its id and the epoch it follows; sends
/// wait for every member of the in-sync set; a master of another epoch refuses the slave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_sync_set_members_must_all_acknowledge_and_epochs_fence_slaves() {
    let mut pair = master().await;
    let tracker = pair.ha.tracker();
    pair.master.set_replica_waiter(Some(tracker.clone()));
    pair.ha.set_master_epoch(Some(4));
    // The master alone in the set: sends are acknowledged at once.
    tracker.set_sync_set(Some(Default::default()));
    let r = pair.master.put_message(msg(0)).await.unwrap();
    assert_eq!(r.status, PutStatus::PutOk);

    let dir = tempfile::tempdir().unwrap();
    let slave_store = Arc::new(MessageStore::open(config(dir.path())).unwrap());
    pair._dirs.push(dir);
    let client = HaClient::new(slave_store.clone(), quick());
    let wrong = rmq_ha::Hello {
        broker_id: 2,
        master_epoch: 3,
    };
    let ended = client.follow(&pair.ha_addr, wrong).await;
    assert!(
        matches!(&ended, Ok(why) if why.contains("closed")),
        "a slave of epoch 3 is refused: {ended:?}"
    );

    // Broker 2 in the set: sends wait until it has them.
    tracker.set_sync_set(Some([2].into()));
    let hello = rmq_ha::Hello {
        broker_id: 2,
        master_epoch: 4,
    };
    let follower = tokio::spawn({
        let client = client.clone();
        let addr = pair.ha_addr.clone();
        async move { client.follow(&addr, hello).await }
    });
    for i in 1..50 {
        let r = pair.master.put_message(msg(i)).await.unwrap();
        assert_eq!(r.status, PutStatus::PutOk);
        assert!(slave_store.max_phy_offset() >= r.end_offset);
    }
    assert_eq!(pair.ha.slaves()[0].broker_id, Some(2));
    // Broker 3 joins the set but never connects: sends time out.
    tracker.set_sync_set(Some([2, 3].into()));
    let r = pair.master.put_message(msg(50)).await.unwrap();
    assert_eq!(r.status, PutStatus::FlushSlaveTimeout);
    // A new epoch disconnects the slave, which must check its history again.
    pair.ha.set_master_epoch(Some(5));
    let ended = tokio::time::timeout(Duration::from_secs(5), follower)
        .await
        .expect("the slave is disconnected")
        .unwrap();
    assert!(ended.is_ok(), "{ended:?}");
    pair.stop.cancel();
}
