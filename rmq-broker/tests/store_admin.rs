//! DELETE_EXPIRED_COMMITLOG (`mqadmin deleteExpiredCommitLog`) against a real `mqbroker` with
//! 1 MiB commit-log files and `fileReservedTime=0`: the files before the current one go at once,
//! whatever `deleteWhen` says, and the queue's minimum offset follows.

use rmq_remoting::header::broker::{OffsetResponseHeader, QueueRequestHeader};
use rmq_remoting::{RemotingCommand, RequestCode};

mod common;
use common::{create_topic, name_server, send_message, BrokerProcess, Caller};

const TOPIC: &str = "Expiring";

fn min_offset() -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::GET_MIN_OFFSET,
        &QueueRequestHeader {
            topic: TOPIC.into(),
            queue_id: 0,
            bname: None,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_commit_log_files_go_at_an_admins_request() {
    let ns = name_server().await;
    // deleteWhen=99 never comes and the disk guard stays out of the way: only the request deletes.
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
    let caller = Caller::new(broker.addr());
    caller.ok(create_topic(TOPIC, 1)).await;
    // 400 KiB each: two per 1 MiB file, so six messages fill three files.
    for i in 0..6u8 {
        caller
            .ok(send_message(TOPIC, 0, vec![i; 400 * 1024], 0))
            .await;
    }
    let before: OffsetResponseHeader = caller.ok(min_offset()).await.decode_header().unwrap();
    assert_eq!(before.offset, 0);
    let files = || {
        std::fs::read_dir(broker.dir.path().join("commitlog"))
            .unwrap()
            .count()
    };
    assert_eq!(files(), 3);

    caller
        .ok(RemotingCommand::request_without_header(
            RequestCode::DELETE_EXPIRED_COMMITLOG,
        ))
        .await;
    assert_eq!(files(), 1, "every file but the current one is expired");
    let after: OffsetResponseHeader = caller.ok(min_offset()).await.decode_header().unwrap();
    assert_eq!(
        after.offset, 4,
        "the queue's minimum follows the commit log"
    );
}
