//! The properties string (§7.1): `name 0x01 value 0x02` pairs, every pair terminated by 0x02.

use std::collections::HashMap;

use super::MessageError;

/// Separates a property name from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Terminates every name/value pair, including the last.
pub const PROPERTY_SEPARATOR: char = '\u{2}';
/// Largest encoded properties string a stored record can carry (signed 16-bit length).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Reserved property keys (§7.2) that the store and broker read, so nobody misspells them.
pub mod keys {
    /// Space-separated business keys, indexed for QUERY_MESSAGE.
    pub const KEYS: &str = "KEYS";
    /// The single tag; its Java hash is the consume-queue tag code.
    pub const TAGS: &str = "TAGS";
    /// Whether the producer waits for flush/replication.
    pub const WAIT: &str = "WAIT";
    /// Delay level.
    pub const DELAY: &str = "DELAY";
    /// Client-generated unique id, indexed for lookups by id.
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    /// Original topic of a message parked in a system topic.
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    /// Original queue of a message parked in a system topic.
    pub const REAL_QID: &str = "REAL_QID";
    /// Marks a transactional half message.
    pub const TRAN_MSG: &str = "TRAN_MSG";
    /// Producer group of a transactional message.
    pub const PGROUP: &str = "PGROUP";
    /// Broker cluster name added on store.
    pub const CLUSTER: &str = "CLUSTER";
    /// Original topic of a retry message.
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    /// Id of the first delivery of a retried message.
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    /// Minimum offset added by the consumer; never stored.
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    /// Maximum offset added by the consumer; never stored.
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    /// RocketMQ 5: absolute delivery time in epoch milliseconds.
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    /// RocketMQ 5: delivery after this many seconds from the send.
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    /// RocketMQ 5: delivery after this many milliseconds from the send.
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    /// Aliyun/ONS spelling of an absolute delivery time in epoch milliseconds.
    pub const START_DELIVER_TIME: &str = "__STARTDELIVERTIME";
    /// Reconsume count of a failed message a consumer publishes to its retry topic itself.
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    /// The consumer's retry limit, carried the same way.
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    /// Delivery time the broker computed for a timer message (epoch ms), kept on delivery.
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    /// Request-reply: the id pairing a reply with its request.
    pub const CORRELATION_ID: &str = "CORRELATION_ID";
    /// Request-reply: the client id of the requester, where the broker pushes the reply.
    pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    /// Request-reply: how long the requester waits, ms.
    pub const TTL: &str = "TTL";
    /// Request-reply: `reply` on a reply message (the producer then sends SEND_REPLY_MESSAGE_V2).
    pub const MSG_TYPE: &str = "MSG_TYPE";
    /// Request-reply: when the broker pushed the reply (epoch ms).
    pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
    /// Request-reply: when the requester received the reply (epoch ms).
    pub const ARRIVE_TIME: &str = "ARRIVE_TIME";
}

/// The `MSG_TYPE` value marking a reply message (Java `MixAll.REPLY_MESSAGE_FLAG`).
pub const REPLY_MESSAGE_FLAG: &str = "reply";

/// The topic replies of a cluster go to (Java `MixAll.getReplyTopic`): `<cluster>_REPLY_TOPIC`.
pub fn reply_topic(cluster: &str) -> String {
    format!("{cluster}_REPLY_TOPIC")
}

/// Encodes name/value pairs as RocketMQ's properties string.
///
/// Exists so every writer produces the exact Java byte form (each pair terminated by 0x02). Pairs
/// with an empty value are kept here; Java drops them on decode, as [`decode_properties`] does.
pub fn encode_properties<'a, I>(pairs: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut out = String::new();
    for (name, value) in pairs {
        out.push_str(name);
        out.push(NAME_VALUE_SEPARATOR);
        out.push_str(value);
        out.push(PROPERTY_SEPARATOR);
    }
    out
}

/// Decodes a properties string the way Java's `string2messageProperties` does.
///
/// Splits on 0x02, then at the first 0x01; segments with an empty name or value are dropped and a
/// later duplicate wins, so behaviour matches what official clients see.
pub fn decode_properties(text: &str) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for (name, value) in iter_pairs(text) {
        map.insert(name.to_owned(), value.to_owned());
    }
    map
}

/// Returns the value of one property without allocating (the last occurrence wins, as in Java).
///
/// Exists for the broker and the client, which read single properties of a message (UNIQ_KEY,
/// DELAY, TRAN_MSG) without decoding them all.
pub fn property_value<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let [value] = property_values(text, [name]);
    value
}

/// The values of several properties in one pass over `text`, in the order of `names` (the last
/// occurrence wins, as in [`property_value`]).
///
/// Exists for the store, which reads the tags, keys and unique key of every appended message.
pub fn property_values<'a, const N: usize>(
    text: &'a str,
    names: [&str; N],
) -> [Option<&'a str>; N] {
    let mut found = [None; N];
    for (n, v) in iter_pairs(text) {
        if let Some(i) = names.iter().position(|name| *name == n) {
            found[i] = Some(v);
        }
    }
    found
}

/// Rewrites a properties string: drops every pair named in `remove` or `set`, then appends the
/// `set` pairs, keeping the other pairs in their order.
///
/// Exists for the broker, which re-stores messages (delays, retries, dead letters) with a few
/// properties changed and the rest byte-for-byte as the producer sent them.
pub fn edit_properties(text: &str, set: &[(&str, &str)], remove: &[&str]) -> String {
    let kept = iter_pairs(text)
        .filter(|(name, _)| !remove.contains(name) && !set.iter().any(|(n, _)| n == name));
    encode_properties(kept.chain(set.iter().copied()))
}

/// Checks that a property name or value can be encoded (no 0x01/0x02 inside).
///
/// Exists because a separator inside a value silently corrupts every later property.
pub fn validate_property_text(text: &str) -> Result<(), MessageError> {
    if text.contains([NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR]) {
        return Err(MessageError::SeparatorInProperty(text.to_owned()));
    }
    Ok(())
}

/// The name/value pairs of a properties string, as [`decode_properties`] reads them (empty
/// names or values skipped, duplicates all yielded): for callers that build their own map,
/// e.g. one sized for the properties they add.
pub fn iter_pairs(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split(PROPERTY_SEPARATOR).filter_map(|segment| {
        let (name, value) = segment.split_once(NAME_VALUE_SEPARATOR)?;
        if name.is_empty() || value.is_empty() {
            None
        } else {
            Some((name, value))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn property_values_agree_with_property_value() {
        let text = "TAGS\u{1}a\u{2}KEYS\u{1}k1 k2\u{2}TAGS\u{1}b\u{2}EMPTY\u{1}\u{2}UNIQ_KEY\u{1}U";
        let names = ["TAGS", "KEYS", "UNIQ_KEY", "EMPTY", "MISSING"];
        let all = property_values(text, names);
        for (name, value) in names.iter().zip(all) {
            assert_eq!(value, property_value(text, name), "{name}");
        }
        assert_eq!(all[0], Some("b"));
    }

    #[test]
    fn encodes_like_java() {
        let s = encode_properties([("TAGS", "TagA"), ("KEYS", "k1 k2")]);
        assert_eq!(s, "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}");
        assert_eq!(property_value(&s, "KEYS"), Some("k1 k2"));
        assert_eq!(property_value(&s, "WAIT"), None);
    }

    #[test]
    fn edit_replaces_removes_and_keeps_order() {
        let s = encode_properties([("A", "1"), ("DELAY", "3"), ("B", "2")]);
        let edited = edit_properties(&s, &[("A", "9"), ("C", "3")], &["DELAY"]);
        assert_eq!(edited, "B\u{1}2\u{2}A\u{1}9\u{2}C\u{1}3\u{2}");
        assert_eq!(edit_properties("", &[], &["X"]), "");
    }

    #[test]
    fn decode_drops_empty_and_keeps_last_duplicate() {
        let m = decode_properties("A\u{1}\u{2}B\u{1}1\u{2}B\u{1}2\u{2}\u{1}x\u{2}junk");
        assert_eq!(m.len(), 1);
        assert_eq!(m["B"], "2");
        assert_eq!(property_value("B\u{1}1\u{2}B\u{1}2", "B"), Some("2"));
    }

    #[test]
    fn separators_rejected() {
        assert!(validate_property_text("a\u{2}b").is_err());
        assert!(validate_property_text("ok").is_ok());
    }

    proptest! {
        #[test]
        fn round_trip(map in proptest::collection::hash_map("[a-zA-Z_]{1,12}", "[^\u{1}\u{2}]{1,20}", 0..8)) {
            let text = encode_properties(map.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            prop_assert_eq!(decode_properties(&text), map);
        }
    }
}
