//! The one error type of the client: what went wrong, in terms a caller can act on.

use std::time::Duration;

use rmq_remoting::transport::TransportError;
use rmq_remoting::ResponseCode;

/// Why a client operation failed.
///
/// Broker and name-server refusals keep their RocketMQ response code, so callers can react the
/// way Java users react to `MQBrokerException.getResponseCode()`.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A setting is out of range or missing; raised by `start`/`build`, before any network call.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The message cannot be sent as it is (bad topic, empty or oversized body, bad property).
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// Neither the topic nor the auto-create template `TBW102` has a route.
    #[error("No route info of this topic: {0}")]
    NoRoute(String),
    /// A route names a broker whose master address is unknown.
    #[error("the address of broker {0} is unknown (no master in its route)")]
    BrokerNotFound(String),
    /// A broker or name server answered with a non-success code.
    #[error("{addr} refused the request: {} ({code}): {remark}", code_name(*.code))]
    Refused {
        /// The server's address.
        addr: String,
        /// The RocketMQ response code.
        code: i32,
        /// The server's explanation.
        remark: String,
    },
    /// The connection failed, closed or timed out.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A response could not be understood.
    #[error("malformed response from {addr}: {reason}")]
    Protocol {
        /// The server's address.
        addr: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The whole `sendMsgTimeout` budget was spent before another attempt could start.
    #[error("sendDefaultImpl call timeout: {elapsed:?} spent sending to topic {topic}")]
    SendTimeout {
        /// The topic.
        topic: String,
        /// Time spent on all attempts.
        elapsed: Duration,
    },
    /// Every send attempt failed; `last` is the final attempt's error.
    #[error("Send [{attempts}] times, still failed, cost [{}ms], Topic: {topic}, BrokersSent: {brokers:?}: {last}", elapsed.as_millis())]
    SendFailed {
        /// Attempts made.
        attempts: usize,
        /// The topic.
        topic: String,
        /// Time spent.
        elapsed: Duration,
        /// Brokers tried, in order.
        brokers: Vec<String>,
        /// The last attempt's error.
        last: Box<ClientError>,
    },
    /// A request went out but no reply came within its timeout (Java `RequestTimeoutException`).
    #[error("send request message to <{topic}> OK, but wait reply message timeout, {} ms.", timeout.as_millis())]
    RequestTimeout {
        /// The request's topic.
        topic: String,
        /// The request's whole timeout.
        timeout: Duration,
    },
    /// Too many asynchronous sends are outstanding (`clientAsyncSemaphoreValue`).
    #[error("too many asynchronous sends in flight (limit {0})")]
    TooManyRequests(usize),
    /// The producer or consumer is not running (not started, or shut down).
    #[error("{0}")]
    State(String),
    /// The broadcasting offset file could not be read or written.
    #[error("offset file {path}: {source}")]
    OffsetFile {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn code_name(code: i32) -> &'static str {
    ResponseCode::from_i32(code).map_or("UNKNOWN", ResponseCode::name)
}

impl ClientError {
    /// The RocketMQ response code of a server refusal, if this is one.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            ClientError::Refused { code, .. } => Some(*code),
            ClientError::SendFailed { last, .. } => last.response_code(),
            _ => None,
        }
    }
}

/// Shorthand for results of client operations.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
