//! Request checks Apache's proxy makes before touching a broker (its `GrpcValidator`, with the
//! client `Validators` rules it calls), with the same codes and texts.

use crate::proto::v2::{self, Code};
use crate::status;

/// Longest topic name.
const TOPIC_MAX_LENGTH: usize = 127;
/// Longest group name (retry and DLQ topics are built from it).
const GROUP_MAX_LENGTH: usize = 120;
/// Topics only brokers use.
const SYSTEM_TOPICS: &[&str] = &[
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "BenchmarkTest",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
    "CHECKPOINT_TOPIC",
];

fn legal_name(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

/// Checks a topic a client names: ILLEGAL_TOPIC when blank, too long, with characters outside
/// `^[%|a-zA-Z0-9_-]+$`, or a system topic.
pub fn topic(resource: Option<&v2::Resource>) -> Result<&str, v2::Status> {
    let name = resource.map_or("", |r| r.name.as_str());
    let illegal = |message: String| Err(status::of(Code::IllegalTopic, message));
    if name.trim().is_empty() {
        return illegal("The specified topic is blank".to_owned());
    }
    if name.len() > TOPIC_MAX_LENGTH {
        return illegal(format!(
            "The specified topic is longer than topic max length {TOPIC_MAX_LENGTH}."
        ));
    }
    if !legal_name(name) {
        return illegal(format!(
            "The specified topic[{name}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    if SYSTEM_TOPICS.contains(&name) || name.starts_with("rmq_sys_") {
        return illegal("cannot access system topic".to_owned());
    }
    Ok(name)
}

/// Checks a consumer group a client names: ILLEGAL_CONSUMER_GROUP when blank, too long, with
/// illegal characters, or a system group.
pub fn consumer_group(resource: Option<&v2::Resource>) -> Result<&str, v2::Status> {
    let name = resource.map_or("", |r| r.name.as_str());
    let illegal = |message: String| Err(status::of(Code::IllegalConsumerGroup, message));
    if name.trim().is_empty() {
        return illegal("the specified group is blank".to_owned());
    }
    if name.len() > GROUP_MAX_LENGTH {
        return illegal(format!(
            "the specified group[{name}] is longer than group max length: {GROUP_MAX_LENGTH}."
        ));
    }
    if !legal_name(name) {
        return illegal(format!(
            "the specified group[{name}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    if name.starts_with("CID_RMQ_SYS_") {
        return illegal("cannot use system consumer group".to_owned());
    }
    Ok(name)
}

/// Whether `text` holds an ISO control character (Java's `CharMatcher.javaIsoControl`).
pub fn has_control_character(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Checks a message tag: ILLEGAL_MESSAGE_TAG when blank but not empty, with `|`, or with a
/// control character.
pub fn tag(tag: &str) -> Result<(), v2::Status> {
    let illegal = |message: &str| Err(status::of(Code::IllegalMessageTag, message));
    if tag.is_empty() {
        return Ok(());
    }
    if tag.trim().is_empty() {
        return illegal("tag cannot be the char sequence of whitespace");
    }
    if tag.contains('|') {
        return illegal("tag cannot contain '|'");
    }
    if has_control_character(tag) {
        return illegal("tag cannot contain control character");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(name: &str) -> v2::Resource {
        v2::Resource {
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn topics_and_groups_follow_apaches_rules() {
        assert_eq!(topic(Some(&res("T_1-a"))).unwrap(), "T_1-a");
        for bad in ["", " ", "a b", "TBW102", "rmq_sys_x"] {
            assert_eq!(
                topic(Some(&res(bad))).unwrap_err().code,
                Code::IllegalTopic as i32,
                "{bad:?}"
            );
        }
        assert!(topic(None).is_err());
        assert!(consumer_group(Some(&res("g"))).is_ok());
        assert_eq!(
            consumer_group(Some(&res("CID_RMQ_SYS_x")))
                .unwrap_err()
                .code,
            Code::IllegalConsumerGroup as i32
        );
        assert!(tag("a").is_ok() && tag("").is_ok());
        assert!(tag("a|b").is_err() && tag(" ").is_err() && tag("a\u{1}").is_err());
    }
}
