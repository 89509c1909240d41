//! 5.x topic attributes (`updateTopic -a +message.type=FIFO`): the text `+key=value,-key` an
//! UPDATE_AND_CREATE_TOPIC carries, checked and applied as Apache 5.3's `AttributeParser` and
//! `AttributeUtil.alterCurrentAttributes` do, against the attributes Apache knows
//! (`TopicAttributes.ALL`). A refusal carries Apache's code and remark so tools react the same
//! (docs/pop.md, "Topic message types").

use std::collections::{BTreeMap, HashMap, HashSet};

use rmq_remoting::ResponseCode;

/// The attribute holding a topic's 5.x message type.
pub const MESSAGE_TYPE: &str = "message.type";

/// What an attribute accepts.
enum Values {
    /// One of these, listed in the order Java's `HashSet` prints them in its refusal.
    OneOf(&'static [&'static str]),
    /// A whole number in this range.
    Range(i64, i64),
}

/// Apache's known topic attributes: name, changeable after creation, values.
const KNOWN: &[(&str, bool, Values)] = &[
    ("queue.type", false, Values::OneOf(&["SimpleCQ", "BatchCQ"])),
    (
        "cleanup.policy",
        false,
        Values::OneOf(&["DELETE", "COMPACTION"]),
    ),
    (
        MESSAGE_TYPE,
        true,
        Values::OneOf(&[
            "UNSPECIFIED",
            "TRANSACTION",
            "FIFO",
            "MIXED",
            "DELAY",
            "NORMAL",
        ]),
    ),
    ("reserve.time", true, Values::Range(-1, i64::MAX)),
];

/// A refused attribute change: Apache's response code and remark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// SYSTEM_ERROR for what Apache throws, INVALID_PARAMETER for a MIXED message type.
    pub code: ResponseCode,
    /// Apache's exception message.
    pub remark: String,
}

fn refused(remark: impl Into<String>) -> Refusal {
    Refusal {
        code: ResponseCode::SYSTEM_ERROR,
        remark: remark.into(),
    }
}

/// Parses `+k=v,-k` into (signed key, value) pairs as Apache's `AttributeParser.parseToMap`.
fn parse(text: &str) -> Result<Vec<(String, String)>, Refusal> {
    let mut parsed: Vec<(String, String)> = Vec::new();
    if text.is_empty() {
        return Ok(parsed);
    }
    for kv in text.split(',') {
        let (key, value) = match kv.split_once('=') {
            Some((key, value)) => {
                if !key.contains('+') {
                    return Err(refused(format!(
                        "add/alter attribute format is wrong: {key}"
                    )));
                }
                // Java's split("=")[1]: the text up to a second '='.
                (key, value.split('=').next().unwrap_or(""))
            }
            None => {
                if !kv.contains('-') {
                    return Err(refused(format!("delete attribute format is wrong: {kv}")));
                }
                (kv, "")
            }
        };
        if parsed.iter().any(|(k, _)| k == key) {
            return Err(refused(format!("key duplication: {key}")));
        }
        parsed.push((key.to_owned(), value.to_owned()));
    }
    Ok(parsed)
}

fn verify(values: &Values, value: &str) -> Result<(), Refusal> {
    match values {
        Values::OneOf(set) if set.contains(&value) => Ok(()),
        Values::OneOf(set) => Err(refused(format!(
            "value is not in set: [{}]",
            set.join(", ")
        ))),
        Values::Range(min, max) => {
            let n: i64 = value
                .parse()
                .map_err(|_| refused(format!("For input string: \"{value}\"")))?;
            if n < *min || n > *max {
                return Err(refused(format!("value is not in range({min}, {max})")));
            }
            Ok(())
        }
    }
}

/// The attributes a topic has after `text` is applied to `current`; `create` when the topic
/// does not exist yet (then only `+key=value` is accepted, even for unchangeable keys).
pub fn alter(
    create: bool,
    current: &HashMap<String, String>,
    text: &str,
) -> Result<HashMap<String, String>, Refusal> {
    let parsed = parse(text)?;
    if parsed
        .iter()
        .any(|(k, v)| k == "+message.type" && v == "MIXED")
    {
        return Err(Refusal {
            code: ResponseCode::INVALID_PARAMETER,
            remark: "MIXED message type is not supported.".to_owned(),
        });
    }
    let mut seen = HashSet::new();
    let mut set: BTreeMap<String, String> = BTreeMap::new();
    let mut removed: Vec<String> = Vec::new();
    for (key, value) in &parsed {
        let real = key.get(1..).unwrap_or("");
        if real.is_empty() || real.contains('+') || real.contains('-') {
            return Err(refused("kv string format wrong."));
        }
        if !seen.insert(real.to_owned()) {
            return Err(refused(format!("alter duplication key. key: {real}")));
        }
        match key.as_bytes().first() {
            Some(b'+') => {
                set.insert(real.to_owned(), value.clone());
            }
            Some(b'-') if create => {
                return Err(refused(format!(
                    "only add attribute is supported while creating topic. key: {real}"
                )))
            }
            Some(b'-') => {
                if !current.contains_key(real) {
                    return Err(refused(format!(
                        "attempt to delete a nonexistent key: {real}"
                    )));
                }
                removed.push(real.to_owned());
            }
            _ if create => {
                return Err(refused(format!(
                    "only add attribute is supported while creating topic. key: {real}"
                )))
            }
            _ => return Err(refused(format!("wrong format key: {real}"))),
        }
    }
    for (key, value) in set
        .iter()
        .map(|(k, v)| (k, Some(v)))
        .chain(removed.iter().map(|k| (k, None)))
    {
        let Some((_, changeable, values)) = KNOWN.iter().find(|(name, _, _)| name == key) else {
            return Err(refused(format!("unsupported key: {key}")));
        };
        if !create && !changeable {
            return Err(refused(format!(
                "attempt to update an unchangeable attribute. key: {key}"
            )));
        }
        if let Some(value) = value {
            verify(values, value)?;
        }
    }
    let mut attributes = current.clone();
    attributes.extend(set);
    for key in removed {
        attributes.remove(&key);
    }
    Ok(attributes)
}

/// A topic's 5.x message type (`NORMAL` when it has none, Apache's default).
pub fn message_type(attributes: Option<&HashMap<String, String>>) -> &str {
    attributes
        .and_then(|a| a.get(MESSAGE_TYPE))
        .map_or("NORMAL", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn changes_are_checked_and_applied_as_apache_does() {
        let none = HashMap::new();
        let fifo = alter(true, &none, "+message.type=FIFO").unwrap();
        assert_eq!(fifo, map(&[("message.type", "FIFO")]));
        assert_eq!(message_type(Some(&fifo)), "FIFO");
        assert_eq!(message_type(None), "NORMAL");
        let both = alter(true, &none, "+message.type=DELAY,+queue.type=BatchCQ").unwrap();
        assert_eq!(both.len(), 2);
        assert_eq!(alter(false, &fifo, "-message.type").unwrap(), none);
        assert_eq!(alter(false, &fifo, "").unwrap(), fifo);
        let refusal = |create, current: &HashMap<String, String>, text| {
            alter(create, current, text).unwrap_err().remark
        };
        assert_eq!(
            refusal(true, &none, "+colour=red"),
            "unsupported key: colour"
        );
        assert_eq!(
            refusal(true, &none, "+message.type=ODD"),
            "value is not in set: [UNSPECIFIED, TRANSACTION, FIFO, MIXED, DELAY, NORMAL]"
        );
        assert_eq!(
            refusal(false, &fifo, "+queue.type=BatchCQ"),
            "attempt to update an unchangeable attribute. key: queue.type"
        );
        assert_eq!(
            refusal(true, &none, "-message.type"),
            "only add attribute is supported while creating topic. key: message.type"
        );
        assert_eq!(
            refusal(false, &none, "-message.type"),
            "attempt to delete a nonexistent key: message.type"
        );
        assert_eq!(
            refusal(true, &none, "message.type=FIFO"),
            "add/alter attribute format is wrong: message.type"
        );
        assert_eq!(
            refusal(true, &none, "message.type"),
            "delete attribute format is wrong: message.type"
        );
        assert_eq!(
            refusal(true, &none, "+reserve.time=x"),
            "For input string: \"x\""
        );
        let mixed = alter(true, &none, "+message.type=MIXED").unwrap_err();
        assert_eq!(mixed.code, ResponseCode::INVALID_PARAMETER);
        assert_eq!(mixed.remark, "MIXED message type is not supported.");
    }
}
