//! Payload conversion both ways, as rocketmq-spring's message converter does it: text as UTF-8,
//! bytes as they are, anything else as JSON. Rust has no runtime type switch for "anything else",
//! so typed JSON goes through the [`Json`] wrapper (as in axum).

use bytes::Bytes;
use rmq_client::ReceivedMessage;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A payload sent or received as JSON: `template.sync_send("orders", Json(order))`, or
/// `impl RocketMQListener<Json<Order>> for OrderListener`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

/// Why a payload could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// Serialising to or parsing from JSON failed.
    #[error("cannot convert message to {target}: {source}")]
    Json {
        /// The Rust type.
        target: &'static str,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// The body is not UTF-8 text.
    #[error("cannot convert message to String: the body is not UTF-8")]
    NotUtf8,
}

/// A value that can be a message body.
pub trait IntoPayload {
    /// The body bytes.
    fn into_payload(self) -> Result<Bytes, ConvertError>;
}

impl IntoPayload for String {
    fn into_payload(self) -> Result<Bytes, ConvertError> {
        Ok(Bytes::from(self))
    }
}

impl IntoPayload for &str {
    fn into_payload(self) -> Result<Bytes, ConvertError> {
        Ok(Bytes::copy_from_slice(self.as_bytes()))
    }
}

impl IntoPayload for Vec<u8> {
    fn into_payload(self) -> Result<Bytes, ConvertError> {
        Ok(Bytes::from(self))
    }
}

impl IntoPayload for &[u8] {
    fn into_payload(self) -> Result<Bytes, ConvertError> {
        Ok(Bytes::copy_from_slice(self))
    }
}

impl IntoPayload for Bytes {
    fn into_payload(self) -> Result<Bytes, ConvertError> {
        Ok(self)
    }
}

impl<T: Serialize> IntoPayload for Json<T> {
    fn into_payload(self) -> Result<Bytes, ConvertError> {
        serde_json::to_vec(&self.0)
            .map(Bytes::from)
            .map_err(|source| ConvertError::Json {
                target: std::any::type_name::<T>(),
                source,
            })
    }
}

/// A listener's payload type, made from a consumed message.
pub trait FromMessage: Sized + Send + 'static {
    /// Converts the message; an error counts as a failed consumption (reconsume later).
    fn from_message(message: &ReceivedMessage) -> Result<Self, ConvertError>;
}

impl FromMessage for String {
    fn from_message(message: &ReceivedMessage) -> Result<Self, ConvertError> {
        String::from_utf8(message.body.to_vec()).map_err(|_| ConvertError::NotUtf8)
    }
}

impl FromMessage for Vec<u8> {
    fn from_message(message: &ReceivedMessage) -> Result<Self, ConvertError> {
        Ok(message.body.to_vec())
    }
}

impl FromMessage for Bytes {
    fn from_message(message: &ReceivedMessage) -> Result<Self, ConvertError> {
        Ok(message.body.clone())
    }
}

/// The whole message: body, properties, ids, queue and offsets (Spring's `MessageExt`).
impl FromMessage for ReceivedMessage {
    fn from_message(message: &ReceivedMessage) -> Result<Self, ConvertError> {
        Ok(message.clone())
    }
}

impl<T: DeserializeOwned + Send + 'static> FromMessage for Json<T> {
    fn from_message(message: &ReceivedMessage) -> Result<Self, ConvertError> {
        serde_json::from_slice(&message.body)
            .map(Json)
            .map_err(|source| ConvertError::Json {
                target: std::any::type_name::<T>(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Order {
        id: u32,
    }

    #[test]
    fn json_round_trips_and_text_stays_text() {
        let body = Json(Order { id: 7 }).into_payload().unwrap();
        assert_eq!(&body[..], br#"{"id":7}"#);
        assert_eq!(&"héllo".into_payload().unwrap()[..], "héllo".as_bytes());
    }
}
