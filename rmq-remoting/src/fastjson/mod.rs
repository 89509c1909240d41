//! The fastjson dialect Java RocketMQ peers speak in bodies (docs/remoting-protocol.md §3).
//!
//! Two quirks make plain JSON libraries insufficient: maps with integer keys are written with
//! the keys unquoted (`{0:"10.0.0.1:10911"}`), and maps keyed by objects (`Map<MessageQueue, …>`)
//! are written with raw JSON objects as keys. Bodies are serialized through serde into a small
//! [`Value`] tree that remembers what kind each key was, then written in the chosen
//! [`KeyStyle`]; input is read by a tolerant parser that accepts both forms.

pub mod object_keys;
mod read;
mod ser;
mod write;

pub use read::{parse, FastjsonError};
pub use write::KeyStyle;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A JSON value whose map keys keep their kind, so they can be written as fastjson would.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// Any number, kept as serde_json keeps it (integers exactly).
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, in insertion order.
    Object(Vec<(Key, Value)>),
}

/// A map key: a string, an integer (unquoted by fastjson), or an object (a raw JSON object).
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// A string key.
    String(String),
    /// An integer key, as `Map<Long, …>` has.
    Integer(i64),
    /// An object key, as `Map<MessageQueue, …>` has.
    Object(Vec<(Key, Value)>),
}

/// Serializes `value` into fastjson text in the given key style.
///
/// Struct fields that are `None` are omitted, as fastjson omits nulls.
pub fn to_vec<T: Serialize + ?Sized>(value: &T, style: KeyStyle) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write::write_value(&ser::to_value(value), style, &mut out);
    out
}

/// Reads fastjson (or standard JSON) text into `T`.
///
/// Integer keys become strings (serde reads them back into integer-keyed maps); object keys
/// become their compact JSON text.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FastjsonError> {
    let value = parse(bytes)?;
    serde_json::from_value(value.into_serde_json()).map_err(|e| FastjsonError::Shape(e.to_string()))
}

impl Value {
    /// Converts to a `serde_json::Value`, turning integer keys into their decimal text and
    /// object keys into their compact standard-JSON text.
    pub fn into_serde_json(self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Number(n) => serde_json::Value::Number(n),
            Value::String(s) => serde_json::Value::String(s),
            Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(Value::into_serde_json).collect())
            }
            Value::Object(entries) => serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key.into_text(), value.into_serde_json()))
                    .collect(),
            ),
        }
    }
}

impl Key {
    fn into_text(self) -> String {
        match self {
            Key::String(s) => s,
            Key::Integer(n) => n.to_string(),
            Key::Object(entries) => {
                let mut out = Vec::new();
                write::write_value(&Value::Object(entries), KeyStyle::Standard, &mut out);
                String::from_utf8_lossy(&out).into_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct BrokerData {
        broker_addrs: BTreeMap<i64, String>,
        broker_name: String,
        cluster: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        zone_name: Option<String>,
    }

    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct MessageQueue {
        broker_name: String,
        queue_id: i32,
        topic: String,
    }

    fn broker() -> BrokerData {
        BrokerData {
            broker_addrs: BTreeMap::from([
                (0, "192.168.1.10:10911".into()),
                (1, "192.168.1.11:10911".into()),
            ]),
            broker_name: "broker-a".into(),
            cluster: "DefaultCluster".into(),
            zone_name: None,
        }
    }

    #[test]
    fn integer_keys_unquoted_in_fastjson_style_quoted_in_standard_style() {
        assert_eq!(
            String::from_utf8(to_vec(&broker(), KeyStyle::Fastjson)).unwrap(),
            r#"{"brokerAddrs":{0:"192.168.1.10:10911",1:"192.168.1.11:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}"#
        );
        assert_eq!(
            String::from_utf8(to_vec(&broker(), KeyStyle::Standard)).unwrap(),
            r#"{"brokerAddrs":{"0":"192.168.1.10:10911","1":"192.168.1.11:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}"#
        );
    }

    #[test]
    fn both_key_styles_read_back() {
        for style in [KeyStyle::Fastjson, KeyStyle::Standard] {
            assert_eq!(
                from_slice::<BrokerData>(&to_vec(&broker(), style)).unwrap(),
                broker()
            );
        }
    }

    #[test]
    fn object_keys_are_raw_objects() {
        let table = BTreeMap::from([(
            MessageQueue {
                broker_name: "b".into(),
                queue_id: 0,
                topic: "T".into(),
            },
            BTreeMap::from([("brokerOffset", 10)]),
        )]);
        assert_eq!(
            String::from_utf8(to_vec(&table, KeyStyle::Fastjson)).unwrap(),
            r#"{{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":10}}"#
        );
        let parsed =
            parse(br#"{{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":10}}"#).unwrap();
        let json = parsed.into_serde_json();
        assert_eq!(
            json[r#"{"brokerName":"b","queueId":0,"topic":"T"}"#]["brokerOffset"],
            10
        );
    }

    #[test]
    fn tolerant_reader_accepts_fastjson_liberties() {
        let v = parse(b" {'a' : 'x', b: 1, 2: [true, null, -3.5e2], \"c\\u0001\":{}} ").unwrap();
        let json = v.into_serde_json();
        assert_eq!(json["a"], "x");
        assert_eq!(json["b"], 1);
        assert_eq!(json["2"][2], -350.0);
        assert!(json["c\u{1}"].is_object());
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            &b"{"[..],
            b"{a:}",
            b"[1,",
            b"\"abc",
            b"{{}:1",
            b"nul",
            b"1 2",
            b"",
            b"{\"a\":\"\\u12\"}",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "[".repeat(10_000);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn standard_style_escapes_non_ascii_like_browser_compatible() {
        let out = to_vec(&BTreeMap::from([("k", "é\u{1}😀")]), KeyStyle::Standard);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"k":"\u00e9\u0001\ud83d\ude00"}"#
        );
        let out = to_vec(&BTreeMap::from([("k", "é")]), KeyStyle::Fastjson);
        assert_eq!(String::from_utf8(out).unwrap(), "{\"k\":\"é\"}");
    }
}
