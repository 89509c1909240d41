//! A serde serializer into [`Value`] that keeps the kind of every map key.
//!
//! Serialization into a tree cannot fail for the body types rmq defines, so the error type is
//! uninhabited in practice; unsupported shapes (e.g. a float key) degrade to their text.

use serde::ser::{self, Serialize};

use super::{Key, Value};

/// Serializes any `Serialize` value into a [`Value`] tree.
pub(super) fn to_value<T: Serialize + ?Sized>(value: &T) -> Value {
    value.serialize(TreeSerializer).unwrap_or(Value::Null)
}

/// Never produced: every shape has a tree form. Required by serde's trait.
#[derive(Debug)]
pub(super) struct Never(String);

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Never {}

impl ser::Error for Never {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Never(msg.to_string())
    }
}

fn key_of(value: Value) -> Key {
    match value {
        Value::String(s) => Key::String(s),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Key::Integer(i),
            None => Key::String(n.to_string()),
        },
        Value::Object(fields) => Key::Object(fields),
        Value::Bool(b) => Key::String(b.to_string()),
        Value::Null => Key::String("null".to_owned()),
        Value::Array(_) => Key::String(String::new()),
    }
}

struct TreeSerializer;

/// Collects sequence items.
pub(super) struct SeqBuilder(Vec<Value>);

/// Collects map entries or struct fields; struct fields that serialize to null are dropped.
pub(super) struct MapBuilder {
    entries: Vec<(Key, Value)>,
    pending_key: Option<Key>,
}

/// Collects an enum variant's payload under the variant's name.
pub(super) struct VariantBuilder<B> {
    name: &'static str,
    inner: B,
}

fn number(n: impl Into<serde_json::Number>) -> Value {
    Value::Number(n.into())
}

impl ser::Serializer for TreeSerializer {
    type Ok = Value;
    type Error = Never;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = VariantBuilder<SeqBuilder>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = VariantBuilder<MapBuilder>;

    fn serialize_bool(self, v: bool) -> Result<Value, Never> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Never> {
        Ok(number(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Never> {
        Ok(number(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Never> {
        Ok(number(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Never> {
        Ok(number(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Never> {
        Ok(number(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Never> {
        Ok(number(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Never> {
        Ok(number(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Never> {
        Ok(number(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Never> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Never> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn serialize_char(self, v: char) -> Result<Value, Never> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Never> {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Never> {
        Ok(Value::Array(v.iter().map(|b| number(*b)).collect()))
    }
    fn serialize_none(self) -> Result<Value, Never> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, Never> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Never> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, Never> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, Never> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<Value, Never> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, Never> {
        Ok(Value::Object(vec![(
            Key::String(variant.to_owned()),
            v.serialize(self)?,
        )]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, Never> {
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, Never> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqBuilder, Never> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantBuilder<SeqBuilder>, Never> {
        Ok(VariantBuilder {
            name: variant,
            inner: SeqBuilder(Vec::with_capacity(len)),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, Never> {
        Ok(MapBuilder {
            entries: Vec::with_capacity(len.unwrap_or(0)),
            pending_key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<MapBuilder, Never> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantBuilder<MapBuilder>, Never> {
        Ok(VariantBuilder {
            name: variant,
            inner: self.serialize_map(Some(len))?,
        })
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = Never;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.0.push(v.serialize(TreeSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, Never> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = Never;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, Never> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = Never;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, Never> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for VariantBuilder<SeqBuilder> {
    type Ok = Value;
    type Error = Never;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        ser::SerializeSeq::serialize_element(&mut self.inner, v)
    }
    fn end(self) -> Result<Value, Never> {
        Ok(Value::Object(vec![(
            Key::String(self.name.to_owned()),
            Value::Array(self.inner.0),
        )]))
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = Never;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Never> {
        self.pending_key = Some(key_of(key.serialize(TreeSerializer)?));
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        let key = self
            .pending_key
            .take()
            .unwrap_or(Key::String(String::new()));
        self.entries.push((key, v.serialize(TreeSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Value, Never> {
        Ok(Value::Object(self.entries))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = Never;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        v: &T,
    ) -> Result<(), Never> {
        let value = v.serialize(TreeSerializer)?;
        if value != Value::Null {
            self.entries.push((Key::String(name.to_owned()), value));
        }
        Ok(())
    }
    fn end(self) -> Result<Value, Never> {
        Ok(Value::Object(self.entries))
    }
}

impl ser::SerializeStructVariant for VariantBuilder<MapBuilder> {
    type Ok = Value;
    type Error = Never;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        v: &T,
    ) -> Result<(), Never> {
        ser::SerializeStruct::serialize_field(&mut self.inner, name, v)
    }
    fn end(self) -> Result<Value, Never> {
        Ok(Value::Object(vec![(
            Key::String(self.name.to_owned()),
            Value::Object(self.inner.entries),
        )]))
    }
}
