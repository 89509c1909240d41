//! Maps keyed by objects (`Map<MessageQueue, …>`), the one shape serde cannot read back alone.
//!
//! Writing needs nothing special: the tree serializer turns a struct key into a raw object key,
//! which is what Java requires (docs/remoting-protocol.md §3.1, §3.3). Reading is the problem:
//! [`super::from_slice`] hands object keys to serde as their compact JSON text, and serde has no
//! way to turn a string back into a struct. This module parses each key text with
//! [`super::from_slice`] again.
//!
//! Use it as `#[serde(with = "crate::fastjson::object_keys")]` on a `BTreeMap`/`HashMap` field, or
//! wrap a map in [`ObjectKeyMap`] where the map is nested inside another container (for example
//! `HashMap<String, ObjectKeyMap<MessageQueue, i64>>`).
//!
//! Besides the fastjson object-key form, the reader accepts a list of `[key, value]` pairs (the
//! Gson-style form some non-Java peers produce), so a map survives either encoding.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use serde::de::{self, DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Writes the map with its keys as they serialize (structs become raw object keys).
pub fn serialize<'a, M, K, V, S>(map: &'a M, serializer: S) -> Result<S::Ok, S::Error>
where
    &'a M: IntoIterator<Item = (&'a K, &'a V)>,
    K: Serialize + 'a,
    V: Serialize + 'a,
    S: Serializer,
{
    serializer.collect_map(map)
}

/// Reads a map whose keys arrive as JSON text (what [`super::from_slice`] produces for object
/// keys), as nested objects, or as `[key, value]` pairs.
pub fn deserialize<'de, M, K, V, D>(deserializer: D) -> Result<M, D::Error>
where
    M: FromIterator<(K, V)>,
    K: DeserializeOwned,
    V: Deserialize<'de>,
    D: Deserializer<'de>,
{
    deserializer.deserialize_any(EntriesVisitor::<M, K, V>(PhantomData))
}

/// A map keyed by objects that reads and writes the fastjson object-key form on its own, for
/// places where `#[serde(with = …)]` cannot reach (maps inside maps or lists).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKeyMap<K: Ord, V>(pub BTreeMap<K, V>);

impl<K: Ord, V> Default for ObjectKeyMap<K, V> {
    fn default() -> Self {
        ObjectKeyMap(BTreeMap::new())
    }
}

impl<K: Ord, V> Deref for ObjectKeyMap<K, V> {
    type Target = BTreeMap<K, V>;

    fn deref(&self) -> &BTreeMap<K, V> {
        &self.0
    }
}

impl<K: Ord, V> DerefMut for ObjectKeyMap<K, V> {
    fn deref_mut(&mut self) -> &mut BTreeMap<K, V> {
        &mut self.0
    }
}

impl<K: Ord, V> From<BTreeMap<K, V>> for ObjectKeyMap<K, V> {
    fn from(map: BTreeMap<K, V>) -> Self {
        ObjectKeyMap(map)
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for ObjectKeyMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        ObjectKeyMap(iter.into_iter().collect())
    }
}

impl<K: Ord + Serialize, V: Serialize> Serialize for ObjectKeyMap<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize(&self.0, serializer)
    }
}

impl<'de, K: Ord + DeserializeOwned, V: Deserialize<'de>> Deserialize<'de> for ObjectKeyMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize(deserializer).map(ObjectKeyMap)
    }
}

/// Marks the types a visitor produces without owning any of them.
type Produces<T> = PhantomData<fn() -> T>;

/// Collects entries from an object (keys as text or as objects) or from a list of pairs.
struct EntriesVisitor<M, K, V>(Produces<(M, K, V)>);

impl<'de, M, K, V> Visitor<'de> for EntriesVisitor<M, K, V>
where
    M: FromIterator<(K, V)>,
    K: DeserializeOwned,
    V: Deserialize<'de>,
{
    type Value = M;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map with object keys, or a list of [key, value] pairs")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<M, A::Error> {
        let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(0));
        while let Some(ObjectKey(key)) = access.next_key::<ObjectKey<K>>()? {
            entries.push((key, access.next_value::<V>()?));
        }
        Ok(entries.into_iter().collect())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<M, A::Error> {
        let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(0));
        while let Some((ObjectKey(key), value)) = access.next_element::<(ObjectKey<K>, V)>()? {
            entries.push((key, value));
        }
        Ok(entries.into_iter().collect())
    }

    fn visit_unit<E: de::Error>(self) -> Result<M, E> {
        Ok(std::iter::empty().collect())
    }

    fn visit_none<E: de::Error>(self) -> Result<M, E> {
        self.visit_unit()
    }
}

/// One key: JSON text to parse again, or an already structured object.
struct ObjectKey<K>(K);

impl<'de, K: DeserializeOwned> Deserialize<'de> for ObjectKey<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(ObjectKeyVisitor(PhantomData))
            .map(ObjectKey)
    }
}

struct ObjectKeyVisitor<K>(PhantomData<fn() -> K>);

impl<'de, K: DeserializeOwned> Visitor<'de> for ObjectKeyVisitor<K> {
    type Value = K;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key (as an object or as its JSON text)")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<K, E> {
        super::from_slice(text.as_bytes())
            .map_err(|e| E::custom(format_args!("object key {text:?}: {e}")))
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<K, A::Error> {
        K::deserialize(de::value::MapAccessDeserializer::new(access))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use super::*;
    use crate::fastjson::{from_slice, to_vec, KeyStyle};

    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Mq {
        broker_name: String,
        queue_id: i32,
        topic: String,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Table {
        #[serde(with = "super", default)]
        offset_table: HashMap<Mq, i64>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Nested {
        inner: BTreeMap<String, ObjectKeyMap<Mq, i64>>,
    }

    fn mq(q: i32) -> Mq {
        Mq {
            broker_name: "b".into(),
            queue_id: q,
            topic: "T".into(),
        }
    }

    #[test]
    fn with_module_round_trips_the_object_key_form() {
        let table = Table {
            offset_table: HashMap::from([(mq(0), 7)]),
        };
        let text = to_vec(&table, KeyStyle::Fastjson);
        assert_eq!(
            String::from_utf8_lossy(&text),
            r#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:7}}"#
        );
        assert_eq!(from_slice::<Table>(&text).unwrap(), table);
    }

    #[test]
    fn nested_newtype_round_trips() {
        let nested = Nested {
            inner: BTreeMap::from([(
                "c1".to_owned(),
                ObjectKeyMap::from_iter([(mq(0), 1), (mq(1), 2)]),
            )]),
        };
        let text = to_vec(&nested, KeyStyle::Fastjson);
        assert_eq!(from_slice::<Nested>(&text).unwrap(), nested);
    }

    #[test]
    fn pair_list_and_null_are_accepted() {
        let t: Table =
            from_slice(br#"{"offsetTable":[[{"brokerName":"b","queueId":1,"topic":"T"},9]]}"#)
                .unwrap();
        assert_eq!(t.offset_table, HashMap::from([(mq(1), 9)]));
        let t: Table = from_slice(br#"{"offsetTable":null}"#).unwrap();
        assert!(t.offset_table.is_empty());
    }

    #[test]
    fn a_key_that_is_not_the_key_type_is_an_error() {
        assert!(from_slice::<Table>(br#"{"offsetTable":{"oops":1}}"#).is_err());
        assert!(from_slice::<Table>(br#"{"offsetTable":{{"topic":"T"}:1}}"#).is_err());
    }
}
