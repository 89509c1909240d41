//! The one place where typed headers meet the string map `extFields` (remoting-protocol.md §2.6).
//!
//! A header is a plain `#[derive(Serialize, Deserialize)]` struct with Java's field names
//! (`#[serde(rename_all = "camelCase")]`). Writing turns every value into its Java
//! `String.valueOf` text; reading parses the text back the way Java does (`Boolean.parseBoolean`
//! treats anything but a case-insensitive `true` as false) and names the field on failure.

use std::collections::HashMap;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::Serialize;

use crate::error::HeaderError;

/// Writes a typed header as `extFields`; `None` fields are left out.
pub fn to_map<H: Serialize>(header: &H) -> HashMap<String, String> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(header) else {
        return HashMap::new();
    };
    fields
        .into_iter()
        .filter_map(|(key, value)| {
            let text = match value {
                serde_json::Value::Null => return None,
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            Some((key, text))
        })
        .collect()
}

/// Reads `extFields` as a typed header. Unknown keys are ignored, as every RocketMQ server does.
pub fn from_map<H: DeserializeOwned>(fields: &HashMap<String, String>) -> Result<H, HeaderError> {
    H::deserialize(FieldsDeserializer { fields })
}

struct FieldsDeserializer<'a> {
    fields: &'a HashMap<String, String>,
}

impl<'de> de::Deserializer<'de> for FieldsDeserializer<'_> {
    type Error = HeaderError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, HeaderError> {
        visitor.visit_map(FieldsAccess {
            iter: self.fields.iter(),
            current: None,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct FieldsAccess<'a> {
    iter: std::collections::hash_map::Iter<'a, String, String>,
    current: Option<(&'a str, &'a str)>,
}

impl<'de> MapAccess<'de> for FieldsAccess<'_> {
    type Error = HeaderError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, HeaderError> {
        match self.iter.next() {
            Some((key, value)) => {
                self.current = Some((key, value));
                let key: de::value::StrDeserializer<'_, HeaderError> =
                    key.as_str().into_deserializer();
                seed.deserialize(key).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, HeaderError> {
        let (field, value) = self.current.take().unwrap_or_default();
        seed.deserialize(FieldValue { field, value })
    }
}

/// One header value, parsed on demand into the type the header struct asks for.
struct FieldValue<'a> {
    field: &'a str,
    value: &'a str,
}

impl FieldValue<'_> {
    fn invalid(&self, expected: &'static str) -> HeaderError {
        HeaderError::Invalid {
            field: self.field.to_owned(),
            value: self.value.to_owned(),
            expected,
        }
    }

    fn parse<T: std::str::FromStr>(&self, expected: &'static str) -> Result<T, HeaderError> {
        self.value
            .trim()
            .parse()
            .map_err(|_| self.invalid(expected))
    }
}

/// Generates `deserialize_<int>` methods that parse the text as that integer type.
macro_rules! parse_numbers {
    ($($method:ident => $visit:ident: $ty:ty, $expected:literal;)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, HeaderError> {
            visitor.$visit(self.parse::<$ty>($expected)?)
        })*
    };
}

impl<'de> de::Deserializer<'de> for FieldValue<'_> {
    type Error = HeaderError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, HeaderError> {
        visitor.visit_str(self.value)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, HeaderError> {
        // Java's Boolean.parseBoolean; the C++ client also sends "1"/"0".
        let v = self.value.trim();
        visitor.visit_bool(v.eq_ignore_ascii_case("true") || v == "1")
    }

    parse_numbers! {
        deserialize_i8 => visit_i8: i8, "an integer";
        deserialize_i16 => visit_i16: i16, "an integer";
        deserialize_i32 => visit_i32: i32, "an integer";
        deserialize_i64 => visit_i64: i64, "an integer";
        deserialize_u8 => visit_u8: u8, "a non-negative integer";
        deserialize_u16 => visit_u16: u16, "a non-negative integer";
        deserialize_u32 => visit_u32: u32, "a non-negative integer";
        deserialize_u64 => visit_u64: u64, "a non-negative integer";
        deserialize_f32 => visit_f32: f32, "a number";
        deserialize_f64 => visit_f64: f64, "a number";
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, HeaderError> {
        // Java reads a zero-length binary value as null.
        if self.value.is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, HeaderError> {
        let value: de::value::StrDeserializer<'_, HeaderError> =
            self.value.trim().into_deserializer();
        visitor.visit_enum(value)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, HeaderError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map
        struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        topic: String,
        queue_id: i32,
        offset: i64,
        #[serde(default)]
        unit_mode: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        accept_standard_json_only: Option<bool>,
    }

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn round_trip_with_java_spellings() {
        let s = Sample {
            topic: "T".into(),
            queue_id: 3,
            offset: -7,
            unit_mode: true,
            accept_standard_json_only: None,
        };
        let map = to_map(&s);
        assert_eq!(
            map,
            fields(&[
                ("topic", "T"),
                ("queueId", "3"),
                ("offset", "-7"),
                ("unitMode", "true")
            ])
        );
        assert_eq!(from_map::<Sample>(&map), Ok(s));
    }

    #[test]
    fn java_boolean_rules_and_unknown_keys() {
        let map = fields(&[
            ("topic", "T"),
            ("queueId", "0"),
            ("offset", "1"),
            ("unitMode", "yes"),
            ("bname", "b"),
        ]);
        let s: Sample = from_map(&map).unwrap();
        assert!(!s.unit_mode);
        let map = fields(&[
            ("topic", "T"),
            ("queueId", "0"),
            ("offset", "1"),
            ("acceptStandardJsonOnly", "TRUE"),
        ]);
        assert_eq!(
            from_map::<Sample>(&map).unwrap().accept_standard_json_only,
            Some(true)
        );
    }

    #[test]
    fn errors_name_the_field() {
        let err = from_map::<Sample>(&fields(&[("queueId", "0"), ("offset", "1")])).unwrap_err();
        assert_eq!(err, HeaderError::Missing("topic".into()));
        let err = from_map::<Sample>(&fields(&[
            ("topic", "T"),
            ("queueId", "x"),
            ("offset", "1"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("`queueId`"), "{err}");
    }
}
