//! `apache.rocketmq.v2.Status` answers, and how rmq-client's errors become them, as Apache's
//! proxy maps remoting errors (its `ResponseBuilder`): a broker's or name server's refusal keeps
//! its remark, TOPIC_NOT_EXIST is TOPIC_NOT_FOUND, timeouts are PROXY_TIMEOUT, and codes without
//! a counterpart are INTERNAL_SERVER_ERROR. Unary RPCs answer errors inside the response body
//! with gRPC status OK, as Apache's proxy does (docs/grpc-proxy.md, "Codes").

use rmq_client::ClientError;
use rmq_remoting::transport::TransportError;
use rmq_remoting::ResponseCode;

use crate::proto::v2::{self, Code};

/// A status with `code` and `message`.
pub fn of(code: Code, message: impl Into<String>) -> v2::Status {
    v2::Status {
        code: code as i32,
        message: message.into(),
    }
}

/// The OK status, with the code's name as message (as Apache's proxy answers).
pub fn ok() -> v2::Status {
    of(Code::Ok, "OK")
}

/// The code Apache's proxy gives a remoting response code.
pub fn code_of_response(code: i32) -> Code {
    match ResponseCode::from_i32(code) {
        Some(ResponseCode::SUCCESS) => Code::Ok,
        Some(ResponseCode::SYSTEM_BUSY) => Code::TooManyRequests,
        Some(ResponseCode::REQUEST_CODE_NOT_SUPPORTED) => Code::NotImplemented,
        Some(ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST) => Code::ConsumerGroupNotFound,
        Some(ResponseCode::TOPIC_NOT_EXIST) => Code::TopicNotFound,
        _ => Code::InternalServerError,
    }
}

/// The status a failed rmq-client call answers.
pub fn from_client_error(error: &ClientError) -> v2::Status {
    match error {
        ClientError::Refused { code, remark, .. } => of(code_of_response(*code), remark.clone()),
        ClientError::NoRoute(_) => of(Code::TopicNotFound, error.to_string()),
        ClientError::SendFailed { last, .. } => from_client_error(last),
        ClientError::SendTimeout { .. } | ClientError::RequestTimeout { .. } => {
            of(Code::ProxyTimeout, error.to_string())
        }
        ClientError::Transport(
            TransportError::Timeout { .. } | TransportError::ConnectTimeout { .. },
        ) => of(Code::ProxyTimeout, error.to_string()),
        ClientError::TooManyRequests(_) => of(Code::TooManyRequests, error.to_string()),
        _ => of(Code::InternalServerError, error.to_string()),
    }
}

/// A response that can carry just a status (every unary answer of the protocol).
pub trait WithStatus: Default {
    /// The response holding `status` and nothing else.
    fn with_status(status: v2::Status) -> Self;
}

macro_rules! with_status {
    ($($ty:ty),* $(,)?) => {$(
        #[allow(clippy::needless_update)]
        impl WithStatus for $ty {
            fn with_status(status: v2::Status) -> Self {
                Self { status: Some(status), ..Default::default() }
            }
        }
    )*};
}

with_status!(
    v2::QueryRouteResponse,
    v2::HeartbeatResponse,
    v2::SendMessageResponse,
    v2::QueryAssignmentResponse,
    v2::AckMessageResponse,
    v2::ForwardMessageToDeadLetterQueueResponse,
    v2::EndTransactionResponse,
    v2::NotifyClientTerminationResponse,
    v2::ChangeInvisibleDurationResponse,
);

/// Turns a handler's outcome into the gRPC answer: an error status goes in the body.
pub fn answer<T: WithStatus>(
    outcome: Result<T, v2::Status>,
) -> Result<tonic::Response<T>, tonic::Status> {
    Ok(tonic::Response::new(outcome.unwrap_or_else(T::with_status)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remoting_refusals_map_as_apache_maps_them() {
        let refused = |code| ClientError::Refused {
            addr: "b".into(),
            code,
            remark: "why".into(),
        };
        let topic = from_client_error(&refused(17));
        assert_eq!(
            (topic.code, topic.message.as_str()),
            (Code::TopicNotFound as i32, "why")
        );
        assert_eq!(
            from_client_error(&refused(2)).code,
            Code::TooManyRequests as i32
        );
        assert_eq!(
            from_client_error(&refused(26)).code,
            Code::ConsumerGroupNotFound as i32
        );
        assert_eq!(
            from_client_error(&refused(1)).code,
            Code::InternalServerError as i32
        );
        assert_eq!(
            from_client_error(&ClientError::NoRoute("T".into())).code,
            Code::TopicNotFound as i32
        );
    }
}
