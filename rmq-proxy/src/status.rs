//! Building `apache.rocketmq.v2.Status` answers.

use crate::proto::v2::{Code, Status};

/// A status with `code` and `message`.
pub fn of(code: Code, message: impl Into<String>) -> Status {
    Status {
        code: code as i32,
        message: message.into(),
    }
}

/// The OK status, with the code's name as message (as Apache's proxy answers).
pub fn ok() -> Status {
    of(Code::Ok, "OK")
}
