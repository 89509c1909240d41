//! The one place where typed headers meet the string map `extFields` (docs/remoting-protocol.md §2.6).
//!
//! A header is a plain `#[derive(Serialize, Deserialize)]` struct with Java's field names
//! (`#[serde(rename_all = "camelCase")]`). Writing turns every value into its Java
//! `String.valueOf` text; reading parses the text back the way Java does (`Boolean.parseBoolean`
//! treats anything but a case-insensitive `true` as false) and names the field on failure.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::ser;
use serde::Serialize;

use crate::error::HeaderError;
use crate::field_map::ExtFields;

/// Writes a typed header as `extFields`; `None` fields are left out.
///
/// Values are written as Java's `String.valueOf` would (`true`, `42`, enum names). Headers are
/// flat structs of such values; anything else has no `extFields` form and yields no entry.
pub fn to_map<H: Serialize>(header: &H) -> ExtFields {
    let mut fields = FieldCollector(ExtFields::new());
    match header.serialize(&mut fields) {
        Ok(()) => fields.0,
        Err(_) => ExtFields::new(),
    }
}

/// Why a value has no `extFields` form (a nested list or map); never expected for headers.
#[derive(Debug)]
struct NotAHeaderValue;

impl std::fmt::Display for NotAHeaderValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a flat header value")
    }
}

impl std::error::Error for NotAHeaderValue {}

impl ser::Error for NotAHeaderValue {
    fn custom<T: std::fmt::Display>(_msg: T) -> Self {
        NotAHeaderValue
    }
}

/// Serializes a header struct straight into the field map.
struct FieldCollector(ExtFields);

impl ser::SerializeStruct for &mut FieldCollector {
    type Ok = ();
    type Error = NotAHeaderValue;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), NotAHeaderValue> {
        if let Some(text) = value.serialize(ValueText)? {
            self.0.insert_static(key, text);
        }
        Ok(())
    }

    fn end(self) -> Result<(), NotAHeaderValue> {
        Ok(())
    }
}

/// Generates the serializer methods a header value never uses.
macro_rules! unsupported {
    ($($method:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ret, NotAHeaderValue> {
            Err(NotAHeaderValue)
        })*
    };
}

impl<'a> ser::Serializer for &'a mut FieldCollector {
    type Ok = ();
    type Error = NotAHeaderValue;
    type SerializeSeq = ser::Impossible<(), NotAHeaderValue>;
    type SerializeTuple = ser::Impossible<(), NotAHeaderValue>;
    type SerializeTupleStruct = ser::Impossible<(), NotAHeaderValue>;
    type SerializeTupleVariant = ser::Impossible<(), NotAHeaderValue>;
    type SerializeMap = ser::Impossible<(), NotAHeaderValue>;
    type SerializeStruct = &'a mut FieldCollector;
    type SerializeStructVariant = ser::Impossible<(), NotAHeaderValue>;

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Self, NotAHeaderValue> {
        self.0.reserve(len);
        Ok(self)
    }

    unsupported! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_str(&str) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), NotAHeaderValue> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), NotAHeaderValue> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), NotAHeaderValue> {
        Err(NotAHeaderValue)
    }
}

/// Turns one header value into its Java text; `None` (and unit) means "leave the field out".
struct ValueText;

/// Generates serializer methods that format a scalar with `to_string`.
macro_rules! as_text {
    ($($method:ident($ty:ty);)*) => {
        $(fn $method(self, v: $ty) -> Result<Option<String>, NotAHeaderValue> {
            Ok(Some(v.to_string()))
        })*
    };
}

impl ser::Serializer for ValueText {
    type Ok = Option<String>;
    type Error = NotAHeaderValue;
    type SerializeSeq = ser::Impossible<Option<String>, NotAHeaderValue>;
    type SerializeTuple = ser::Impossible<Option<String>, NotAHeaderValue>;
    type SerializeTupleStruct = ser::Impossible<Option<String>, NotAHeaderValue>;
    type SerializeTupleVariant = ser::Impossible<Option<String>, NotAHeaderValue>;
    type SerializeMap = ser::Impossible<Option<String>, NotAHeaderValue>;
    type SerializeStruct = ser::Impossible<Option<String>, NotAHeaderValue>;
    type SerializeStructVariant = ser::Impossible<Option<String>, NotAHeaderValue>;

    as_text! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_char(char);
        serialize_str(&str);
    }

    fn serialize_f32(self, v: f32) -> Result<Option<String>, NotAHeaderValue> {
        self.serialize_f64(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<Option<String>, NotAHeaderValue> {
        // Java's Double.toString keeps a fraction: 1.0, not 1.
        Ok(Some(if v.fract() == 0.0 && v.is_finite() {
            format!("{v:.1}")
        } else {
            v.to_string()
        }))
    }

    fn serialize_none(self) -> Result<Option<String>, NotAHeaderValue> {
        Ok(None)
    }

    fn serialize_some<T: Serialize + ?Sized>(
        self,
        value: &T,
    ) -> Result<Option<String>, NotAHeaderValue> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Option<String>, NotAHeaderValue> {
        Ok(None)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Option<String>, NotAHeaderValue> {
        Ok(None)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Option<String>, NotAHeaderValue> {
        Ok(Some(variant.to_owned()))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Option<String>, NotAHeaderValue> {
        value.serialize(self)
    }

    unsupported! {
        serialize_bytes(&[u8]) -> Option<String>;
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<Option<String>, NotAHeaderValue> {
        Err(NotAHeaderValue)
    }
}

/// Reads `extFields` as a typed header. Unknown keys are ignored, as every RocketMQ server does.
pub fn from_map<H: DeserializeOwned>(fields: &ExtFields) -> Result<H, HeaderError> {
    H::deserialize(FieldsDeserializer { fields })
}

struct FieldsDeserializer<'a> {
    fields: &'a ExtFields,
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

struct FieldsAccess<'a, I> {
    iter: I,
    current: Option<(&'a str, &'a str)>,
}

impl<'de, 'a, I: Iterator<Item = (&'a str, &'a str)>> MapAccess<'de> for FieldsAccess<'a, I> {
    type Error = HeaderError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, HeaderError> {
        match self.iter.next() {
            Some((key, value)) => {
                self.current = Some((key, value));
                let key: de::value::StrDeserializer<'_, HeaderError> = key.into_deserializer();
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

    fn fields(pairs: &[(&str, &str)]) -> ExtFields {
        pairs.iter().copied().collect()
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
