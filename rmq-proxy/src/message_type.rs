//! RocketMQ 5's message types: what a topic accepts (its `message.type` attribute) against what
//! a send is (read from its properties), and the refusal Apache's proxy gives when they differ
//! (its `TopicMessageTypeValidator`).

use std::collections::HashMap;
use std::fmt;

use rmq_remoting::message::keys;

use crate::props;
use crate::proto::v2::{self, Code, MessageType};
use crate::status;

/// The topic attribute holding the type (`updateTopic -a +message.type=FIFO`).
pub const ATTRIBUTE: &str = "message.type";

/// A topic's or a message's type (Java `TopicMessageType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicMessageType {
    /// Unknown: the topic's configuration could not be read.
    Unspecified,
    /// Plain messages.
    Normal,
    /// Ordered by message group.
    Fifo,
    /// Delivered at a timestamp.
    Delay,
    /// Half messages committed or rolled back.
    Transaction,
    /// Any type (Apache's `MIXED`).
    Mixed,
}

impl TopicMessageType {
    /// The type a topic's attributes give it: NORMAL without the attribute, UNSPECIFIED for a
    /// value rmq does not know.
    pub fn of_attributes(attributes: Option<&HashMap<String, String>>) -> TopicMessageType {
        match attributes
            .and_then(|a| a.get(ATTRIBUTE))
            .map(String::as_str)
        {
            None | Some("NORMAL") => TopicMessageType::Normal,
            Some("FIFO") => TopicMessageType::Fifo,
            Some("DELAY") => TopicMessageType::Delay,
            Some("TRANSACTION") => TopicMessageType::Transaction,
            Some("MIXED") => TopicMessageType::Mixed,
            Some(_) => TopicMessageType::Unspecified,
        }
    }

    /// The type of a message about to be sent, from its properties (Java
    /// `TopicMessageType.parseFromMessageProperty`).
    pub fn of_message(property: impl Fn(&str) -> bool) -> TopicMessageType {
        if property(keys::TRAN_MSG) {
            TopicMessageType::Transaction
        } else if property(keys::DELAY)
            || property(keys::TIMER_DELIVER_MS)
            || property(keys::TIMER_DELAY_SEC)
            || property(keys::TIMER_DELAY_MS)
        {
            TopicMessageType::Delay
        } else if property(props::SHARDING_KEY) {
            TopicMessageType::Fifo
        } else {
            TopicMessageType::Normal
        }
    }

    /// The message types a route says the topic's queues accept.
    pub fn accepted(self) -> Vec<i32> {
        let types: &[MessageType] = match self {
            TopicMessageType::Normal => &[MessageType::Normal],
            TopicMessageType::Fifo => &[MessageType::Fifo],
            TopicMessageType::Delay => &[MessageType::Delay],
            TopicMessageType::Transaction => &[MessageType::Transaction],
            TopicMessageType::Mixed => &[
                MessageType::Normal,
                MessageType::Fifo,
                MessageType::Delay,
                MessageType::Transaction,
            ],
            TopicMessageType::Unspecified => &[MessageType::Unspecified],
        };
        types.iter().map(|t| *t as i32).collect()
    }

    /// Refuses a message of type `message` on a topic of type `self`, with Apache's code and
    /// text (MESSAGE_PROPERTY_CONFLICT_WITH_TYPE).
    pub fn check(self, message: TopicMessageType) -> Result<(), v2::Status> {
        if message == TopicMessageType::Unspecified
            || (message != self && self != TopicMessageType::Mixed)
        {
            return Err(status::of(
                Code::MessagePropertyConflictWithType,
                format!(
                    "TopicMessageType validate failed, the expected type is {self}, but actual type is {message}"
                ),
            ));
        }
        Ok(())
    }
}

impl fmt::Display for TopicMessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TopicMessageType::Unspecified => "UNSPECIFIED",
            TopicMessageType::Normal => "NORMAL",
            TopicMessageType::Fifo => "FIFO",
            TopicMessageType::Delay => "DELAY",
            TopicMessageType::Transaction => "TRANSACTION",
            TopicMessageType::Mixed => "MIXED",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_and_properties_decide_the_types() {
        let mut attrs = HashMap::new();
        assert_eq!(
            TopicMessageType::of_attributes(None),
            TopicMessageType::Normal
        );
        attrs.insert(ATTRIBUTE.to_owned(), "FIFO".to_owned());
        assert_eq!(
            TopicMessageType::of_attributes(Some(&attrs)),
            TopicMessageType::Fifo
        );
        let fifo = TopicMessageType::of_message(|k| k == props::SHARDING_KEY);
        assert_eq!(fifo, TopicMessageType::Fifo);
        let delayed_fifo = TopicMessageType::of_message(|k| {
            k == props::SHARDING_KEY || k == keys::TIMER_DELIVER_MS
        });
        assert_eq!(delayed_fifo, TopicMessageType::Delay);
    }

    #[test]
    fn a_mismatch_is_refused_with_apaches_text() {
        let err = TopicMessageType::Fifo
            .check(TopicMessageType::Normal)
            .unwrap_err();
        assert_eq!(err.code, Code::MessagePropertyConflictWithType as i32);
        assert_eq!(
            err.message,
            "TopicMessageType validate failed, the expected type is FIFO, but actual type is NORMAL"
        );
        assert!(TopicMessageType::Mixed
            .check(TopicMessageType::Delay)
            .is_ok());
        assert!(TopicMessageType::Unspecified
            .check(TopicMessageType::Normal)
            .is_err());
    }
}
