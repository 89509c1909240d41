//! What `mqadmin` asks a real `mqbroker` to clean, with 1 MiB commit-log files and
//! `fileReservedTime=0`: DELETE_EXPIRED_COMMITLOG removes every file but the current one at once
//! (whatever `deleteWhen` says) and the queues' minimum offsets follow; CLEAN_EXPIRED_CONSUMEQUEUE
//! then drops the queue whose every message is gone and keeps the others; CLEAN_UNUSED_TOPIC
//! drops the queues of a deleted topic only.

use std::path::Path;

use rmq_remoting::header::broker::{OffsetResponseHeader, QueueRequestHeader, TopicRequestHeader};
use rmq_remoting::{RemotingCommand, RequestCode};

mod common;
use common::{create_topic, name_server, send_message, BrokerProcess, Caller};

fn offset(code: RequestCode, topic: &str) -> RemotingCommand {
    RemotingCommand::request(
        code,
        &QueueRequestHeader {
            topic: topic.into(),
            queue_id: 0,
            bname: None,
        },
    )
}

async fn offset_of(caller: &Caller, code: RequestCode, topic: &str) -> i64 {
    let answer: OffsetResponseHeader = caller
        .ok(offset(code, topic))
        .await
        .decode_header()
        .unwrap();
    answer.offset
}

fn has_queues(store: &Path, topic: &str) -> bool {
    store.join("consumequeue").join(topic).exists()
}

fn bare(code: RequestCode) -> RemotingCommand {
    RemotingCommand::request_without_header(code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_files_expired_queues_and_unused_topics_go_at_an_admins_request() {
    let ns = name_server().await;
    // deleteWhen=99 never comes and the disk guard stays out of the way: only the requests delete.
    let broker = BrokerProcess::start(
        &ns,
        "broker-a",
        &[
            "--mappedFileSizeCommitLog",
            "1048576",
            "--fileReservedTime",
            "0",
            "--deleteWhen",
            "99",
            "--diskMaxUsedSpaceRatio",
            "95",
            "--cleanFileForciblyEnable",
            "false",
        ],
    );
    let store = broker.dir.path();
    let caller = Caller::new(broker.addr());
    for topic in ["Old", "Expiring", "Gone"] {
        caller.ok(create_topic(topic, 1)).await;
    }
    // File 1: Old's only message and Expiring 0-1; file 2: Expiring 2-3; file 3: Expiring 4-5
    // and Gone's message (400 KiB each, two per 1 MiB file).
    caller.ok(send_message("Old", 0, b"old".to_vec(), 0)).await;
    for i in 0..6u8 {
        caller
            .ok(send_message("Expiring", 0, vec![i; 400 * 1024], 0))
            .await;
    }
    caller
        .ok(send_message("Gone", 0, b"gone".to_vec(), 0))
        .await;
    assert_eq!(
        offset_of(&caller, RequestCode::GET_MIN_OFFSET, "Expiring").await,
        0
    );
    let files = || std::fs::read_dir(store.join("commitlog")).unwrap().count();
    assert_eq!(files(), 3);

    caller.ok(bare(RequestCode::DELETE_EXPIRED_COMMITLOG)).await;
    assert_eq!(files(), 1, "every file but the current one is expired");
    assert_eq!(
        offset_of(&caller, RequestCode::GET_MIN_OFFSET, "Expiring").await,
        4,
        "the queue's minimum follows the commit log"
    );

    // Old's last message was in a deleted file: its queue goes; the others stay as they were.
    assert!(has_queues(store, "Old"));
    caller
        .ok(bare(RequestCode::CLEAN_EXPIRED_CONSUMEQUEUE))
        .await;
    assert!(!has_queues(store, "Old"), "Old's queue was not dropped");
    assert_eq!(
        offset_of(&caller, RequestCode::GET_MAX_OFFSET, "Old").await,
        0
    );
    assert_eq!(
        offset_of(&caller, RequestCode::GET_MAX_OFFSET, "Expiring").await,
        6
    );
    assert!(has_queues(store, "Gone"));

    // A deleted topic's queues go with CLEAN_UNUSED_TOPIC; a topic still in the table keeps them.
    caller
        .ok(RemotingCommand::request(
            RequestCode::DELETE_TOPIC_IN_BROKER,
            &TopicRequestHeader {
                topic: "Gone".into(),
            },
        ))
        .await;
    assert!(has_queues(store, "Gone"));
    caller.ok(bare(RequestCode::CLEAN_UNUSED_TOPIC)).await;
    assert!(
        !has_queues(store, "Gone"),
        "the deleted topic's queues stayed"
    );
    assert!(has_queues(store, "Expiring"));
    assert_eq!(
        offset_of(&caller, RequestCode::GET_MAX_OFFSET, "Expiring").await,
        6
    );
}
