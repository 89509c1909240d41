//! Message property names of RocketMQ 5 that the proxy reads or sets, beyond those rmq-remoting
//! already names, and the set of names reserved for the system (a gRPC client may not use them
//! as user properties; a received message's user properties are the others).

use rmq_remoting::message::keys;

/// The FIFO message group (Java `PROPERTY_SHARDING_KEY`).
pub const SHARDING_KEY: &str = "__SHARDINGKEY";
/// Where the producer runs, `host:port` (Java `PROPERTY_BORN_HOST`).
pub const BORN_HOST: &str = "__BORNHOST";
/// When the producer built the message, ms (Java `PROPERTY_BORN_TIMESTAMP`).
pub const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
/// The producer's trace context (Java `PROPERTY_TRACE_CONTEXT`).
pub const TRACE_CONTEXT: &str = "TRACE_CONTEXT";
/// Seconds before the broker first checks a half message back (orphaned transaction recovery).
pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
/// Set by brokers forwarding between themselves; such messages skip the message-type check.
pub const TRANSFER_FLAG: &str = "TRANSFER_FLAG";
/// The receipt handle of a message popped from a retry topic.
pub const POP_CK: &str = "POP_CK";
/// The topic of a message before it went to the dead-letter queue.
pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
/// The id of a message before it went to the dead-letter queue.
pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";

/// Names a gRPC client may not set as user properties (Java `MessageConst.STRING_HASH_SET`).
pub const SYSTEM: &[&str] = &[
    "TRACE_ON",
    "MSG_REGION",
    keys::KEYS,
    keys::TAGS,
    keys::WAIT,
    keys::DELAY,
    keys::RETRY_TOPIC,
    keys::REAL_TOPIC,
    keys::REAL_QID,
    keys::TRAN_MSG,
    keys::PGROUP,
    keys::MIN_OFFSET,
    keys::MAX_OFFSET,
    "BUYER_ID",
    keys::ORIGIN_MESSAGE_ID,
    TRANSFER_FLAG,
    "CORRECTION_FLAG",
    "MQ2_FLAG",
    keys::RECONSUME_TIME,
    keys::UNIQ_KEY,
    keys::MAX_RECONSUME_TIMES,
    "CONSUME_START_TIME",
    POP_CK,
    "POP_CK_OFFSET",
    "1ST_POP_TIME",
    "TRAN_PREPARED_QUEUE_OFFSET",
    "DUP_INFO",
    "EXTEND_UNIQ_INFO",
    "INSTANCE_ID",
    keys::CORRELATION_ID,
    keys::REPLY_TO_CLIENT,
    keys::TTL,
    keys::ARRIVE_TIME,
    keys::PUSH_REPLY_TIME,
    keys::CLUSTER,
    keys::MSG_TYPE,
    "INNER_MULTI_QUEUE_OFFSET",
    keys::TIMER_DELAY_MS,
    keys::TIMER_DELAY_SEC,
    keys::TIMER_DELIVER_MS,
    "TIMER_ENQUEUE_MS",
    "TIMER_DEQUEUE_MS",
    "TIMER_ROLL_TIMES",
    keys::TIMER_OUT_MS,
    "TIMER_DEL_UNIQKEY",
    "TIMER_DELAY_LEVEL",
    BORN_HOST,
    BORN_TIMESTAMP,
    DLQ_ORIGIN_TOPIC,
    DLQ_ORIGIN_MESSAGE_ID,
    "__CRC32#",
];

/// Whether `name` is reserved for the system.
pub fn is_system(name: &str) -> bool {
    SYSTEM.contains(&name)
}
