//! Transactional messages, RocketMQ's two-phase send.
//!
//! A send marked `TRAN_MSG=true` is parked as a *half message* in [`HALF_TOPIC`] (its real
//! topic and queue kept in `REAL_TOPIC` / `REAL_QID`), where no consumer sees it. The producer's
//! END_TRANSACTION then commits it (re-stored to the real topic, visible, its properties kept as
//! Apache 4.9.7 keeps them) or rolls it back; both
//! append an *op message* to [`OP_TOPIC`] whose body is the settled half message's queue offset.
//! Half messages without an op are asked about by the [`check`] service. Everything lives in
//! ordinary topics and in the consumer offsets of [`CHECK_GROUP`], so progress survives a
//! restart exactly as in RocketMQ.

pub(crate) mod check;
pub(crate) mod end;

use bytes::Bytes;
use rmq_remoting::message::{self, edit_properties, keys, sys_flag, RecordView};
use rmq_store::{PutMessage, PutResult, StoreError};

use crate::state::BrokerContext;

/// Where half messages wait for their verdict.
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Where op messages record which half messages are settled.
pub const OP_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Where half messages go after `transactionCheckMax` checks without a verdict.
pub const DISCARD_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// The system group whose offsets in [`HALF_TOPIC`] and [`OP_TOPIC`] are the check progress.
pub const CHECK_GROUP: &str = "CID_RMQ_SYS_TRANS";
/// Tag of op messages ("delete" in RocketMQ).
const OP_TAG: &str = "d";
/// Property counting the check-backs a half message had.
const CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
/// Producer-set property: seconds before the first check-back (overrides `transactionTimeOut`).
const CHECK_IMMUNITY_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
/// Half messages all go to one queue, as in RocketMQ.
const HALF_QUEUE: i32 = 0;

/// Turns a prepared send into the half message to store: the real topic and queue move into
/// properties and the transaction bits are cleared so the half topic's queue indexes it.
pub(crate) fn to_half(msg: PutMessage) -> PutMessage {
    let queue = msg.queue_id.to_string();
    let properties = edit_properties(
        &msg.properties,
        &[(keys::REAL_TOPIC, &msg.topic), (keys::REAL_QID, &queue)],
        &[],
    );
    PutMessage {
        topic: HALF_TOPIC.to_owned(),
        queue_id: HALF_QUEUE,
        sys_flag: without_transaction_bits(msg.sys_flag),
        properties,
        ..msg
    }
}

fn without_transaction_bits(flag: i32) -> i32 {
    flag & !sys_flag::TRANSACTION_MASK
}

/// The real topic and queue of a half message, if its properties hold them.
fn real_destination(half: &RecordView<'_>) -> Option<(String, i32)> {
    let topic = message::property_value(half.properties, keys::REAL_TOPIC)?;
    let queue = message::property_value(half.properties, keys::REAL_QID)?
        .parse()
        .ok()?;
    Some((topic.to_owned(), queue))
}

/// Stores the committed copy of `half` in its real topic, visible to consumers.
async fn store_committed(
    ctx: &BrokerContext,
    half: &RecordView<'_>,
) -> Result<PutResult, StoreError> {
    let Some((topic, queue_id)) = real_destination(half) else {
        return Err(StoreError::MessageIllegal(
            "the half message has no REAL_TOPIC/REAL_QID".to_owned(),
        ));
    };
    // The half message's properties stay as they are (TRAN_MSG, REAL_TOPIC and REAL_QID
    // included): Apache 4.9.7's consumers see them on the committed message.
    let committed = PutMessage {
        topic,
        queue_id,
        sys_flag: without_transaction_bits(half.sys_flag) | sys_flag::TRANSACTION_COMMIT,
        prepared_transaction_offset: half.physical_offset,
        ..PutMessage::from_record(half, ctx.store_host)
    };
    // A committed message keeps the delay it was sent with, as RocketMQ does.
    let mut committed = committed;
    crate::schedule::divert(
        &mut committed,
        &ctx.store.config().message_delay_level,
        std::time::Duration::from_secs(ctx.config.timer_max_delay_sec),
        crate::schedule::now_ms(),
    )
    .map_err(StoreError::MessageIllegal)?;
    ctx.store.put_message(committed).await
}

/// Records that the half message at `half_queue_offset` is settled (committed, rolled back).
async fn write_op(ctx: &BrokerContext, half_queue_offset: i64) -> Result<(), StoreError> {
    let op = PutMessage {
        topic: OP_TOPIC.to_owned(),
        queue_id: HALF_QUEUE,
        flag: 0,
        body: Bytes::from(half_queue_offset.to_string()),
        properties: message::encode_properties([(keys::TAGS, OP_TAG), (keys::WAIT, "false")]),
        sys_flag: 0,
        born_timestamp: now_ms(),
        born_host: ctx.store_host,
        store_host: ctx.store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    ctx.store.put_message(op).await.map(|_| ())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
