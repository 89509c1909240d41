//! Message trace (Java's `enableMsgTrace`): producers and consumers record each message's send,
//! delivery and listener outcome, and a background task batches the records into messages on
//! the trace topic, in the Java client's format, so consoles and tools find a message's path
//! by its id.

mod dispatcher;
mod hooks;
mod record;

pub(crate) use dispatcher::{HostKind, TraceDispatcher};
pub(crate) use hooks::{
    end_transaction, pub_record, sub_after, sub_before, ConsumeReturn, EndedTransaction,
    SentMessage,
};

pub use record::{decode, encode, TraceMessageType, TraceRecord, TraceType};

/// The trace topic unless one is configured (Java `TopicValidator.RMQ_SYS_TRACE_TOPIC`).
pub const RMQ_SYS_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
