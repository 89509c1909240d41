//! The one error type of the message encodings.

use thiserror::Error;

/// Why bytes could not be decoded as (or values encoded into) a RocketMQ message structure.
///
/// Exists so callers (the store's recovery scan, the broker's send handler, the client's pull
/// decoder) can tell a torn or corrupt record from an illegal message without parsing strings.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MessageError {
    /// Fewer bytes are available than the structure needs.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        /// Which structure or field was cut short.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The magic code is none of the known record magics.
    #[error("bad magic code {0:#010x}")]
    BadMagic(u32),
    /// TOTALSIZE does not agree with the fields that follow it.
    #[error("record size mismatch: TOTALSIZE says {declared}, fields need {actual}")]
    SizeMismatch {
        /// The TOTALSIZE field.
        declared: i64,
        /// The size computed from the length fields.
        actual: i64,
    },
    /// A length field is negative or otherwise impossible.
    #[error("invalid length {value} for {what}")]
    InvalidLength {
        /// Which length field.
        what: &'static str,
        /// The value read.
        value: i64,
    },
    /// The body CRC stored in the record does not match the body.
    #[error("body CRC mismatch: stored {stored}, computed {computed}")]
    BodyCrcMismatch {
        /// BODYCRC field.
        stored: i32,
        /// CRC of the body bytes.
        computed: i32,
    },
    /// A text field is not valid UTF-8.
    #[error("{0} is not valid UTF-8")]
    InvalidUtf8(&'static str),
    /// The encoded properties do not fit in the record's signed 16-bit length.
    #[error("properties are {0} bytes, more than the 32767 a record can hold")]
    PropertiesTooLong(usize),
    /// The topic is longer than a v2 record's 16-bit topic length allows.
    #[error("topic is {0} bytes, too long")]
    TopicTooLong(usize),
    /// A property name or value contains a separator byte (0x01 or 0x02).
    #[error("property text contains a separator byte (0x01/0x02): {0:?}")]
    SeparatorInProperty(String),
    /// A message id string is not valid hex of a known length.
    #[error("invalid message id {0:?}")]
    InvalidMessageId(String),
    /// A buffer for writing a record has the wrong size.
    #[error("output buffer is {have} bytes, record needs {need}")]
    BufferSize {
        /// Needed bytes.
        need: usize,
        /// Provided bytes.
        have: usize,
    },
}
