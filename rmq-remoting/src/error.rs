//! Typed errors of the protocol layer.

use crate::code::ResponseCode;

/// Why bytes from a peer could not be turned into a [`crate::RemotingCommand`].
///
/// Any of these means the stream can no longer be trusted: the connection that produced it is
/// closed (with one log line), other connections are unaffected.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length prefix announces more than the configured maximum frame size.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes (frameMaxLength)")]
    TooLarge { len: usize, max: usize },
    /// The length prefix is too small to hold even the header-length word.
    #[error("frame length {0} is too small to hold a header length")]
    TooShort(usize),
    /// The header length does not fit in the frame.
    #[error("header length {header} exceeds the frame's {available} bytes")]
    HeaderBeyondFrame { header: usize, available: usize },
    /// The serialization type byte is neither JSON (0) nor ROCKETMQ (1).
    #[error("unknown header serialization type {0} (expected 0 = JSON or 1 = ROCKETMQ)")]
    UnknownSerializeType(u8),
    /// The JSON header could not be parsed.
    #[error("invalid JSON header: {0}")]
    InvalidJson(String),
    /// The ROCKETMQ binary header is cut short or holds invalid text.
    #[error("invalid ROCKETMQ binary header: {0}")]
    InvalidBinary(&'static str),
    /// The socket failed while reading or writing frames.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Why a command's `extFields` could not be read as (or written from) a typed header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// A required header field is absent.
    #[error("the request header has no field `{0}`, which this command requires")]
    Missing(String),
    /// A header field is present but its value cannot be parsed.
    #[error("the request header field `{field}` has the value {value:?}, which is not {expected}")]
    Invalid {
        field: String,
        value: String,
        expected: &'static str,
    },
    /// Anything else serde reports.
    #[error("the request header is invalid: {0}")]
    Other(String),
}

impl serde::de::Error for HeaderError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        HeaderError::Other(msg.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        HeaderError::Missing(field.to_owned())
    }
}

/// A failed request as the peer will see it: a response code and a remark a person can act on.
///
/// Handlers return this instead of building error responses by hand, so that every refusal
/// carries a proper RocketMQ code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {remark}")]
pub struct CommandError {
    /// The RocketMQ response code the client reacts to.
    pub code: ResponseCode,
    /// Human-readable explanation, sent as the response remark.
    pub remark: String,
}

impl CommandError {
    /// A refusal with the given code and remark.
    pub fn new(code: ResponseCode, remark: impl Into<String>) -> Self {
        CommandError {
            code,
            remark: remark.into(),
        }
    }
}

impl From<HeaderError> for CommandError {
    fn from(err: HeaderError) -> Self {
        CommandError::new(ResponseCode::SYSTEM_ERROR, err.to_string())
    }
}
