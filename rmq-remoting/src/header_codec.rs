//! The two serializations of a command header (docs/remoting-protocol.md §2.5 and §3.4): JSON and
//! the ROCKETMQ binary layout. Pure functions over bytes.

use std::sync::Arc;

use bytes::{Buf, BufMut, BytesMut};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::command::{LanguageCode, RemotingCommand, SerializeType};
use crate::error::FrameError;
use crate::field_map::{ExtFields, RangeOrText};

/// Appends the JSON form of `cmd`'s header to `dst`.
///
/// Keys come in fastjson's alphabetical order, nulls are omitted and every `extFields` value is
/// a JSON string, which is what the Go and C++ clients require (§2.6).
pub fn encode_json(cmd: &RemotingCommand, dst: &mut BytesMut) {
    let mut out = Vec::with_capacity(128 + cmd.ext_fields.len() * 32);
    out.extend_from_slice(b"{\"code\":");
    push_int(&mut out, cmd.code);
    if !cmd.ext_fields.is_empty() {
        out.extend_from_slice(b",\"extFields\":{");
        for (i, (key, value)) in cmd.ext_fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_string(&mut out, key);
            out.push(b':');
            write_json_string(&mut out, value);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b",\"flag\":");
    push_int(&mut out, cmd.flag);
    out.extend_from_slice(b",\"language\":\"");
    out.extend_from_slice(cmd.language.name().as_bytes());
    out.extend_from_slice(b"\",\"opaque\":");
    push_int(&mut out, cmd.opaque);
    if let Some(remark) = &cmd.remark {
        out.extend_from_slice(b",\"remark\":");
        write_json_string(&mut out, remark);
    }
    out.extend_from_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    push_int(&mut out, cmd.version);
    out.push(b'}');
    dst.extend_from_slice(&out);
}

/// Appends the decimal text of `n` without allocating.
fn push_int(out: &mut Vec<u8>, n: i32) {
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{n}");
}

/// Writes `s` as a JSON string literal, escaping as fastjson does (control characters as `\uXXXX`).
pub(crate) fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let mut start = 0;
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x00..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Parses a JSON header. Every field but `code` may be missing (the C++ client omits several);
/// unknown fields are ignored; `extFields` values may be numbers or booleans, which become
/// strings.
///
/// The header text is copied once into a shared buffer that the `extFields` entries point into
/// (see [`ExtFields`]); only escaped or non-string values get texts of their own. Headers of
/// the usual plain shape are read by a scanner of their own (`header_scan`); the others, and
/// malformed ones, by serde_json.
pub fn decode_json(header: &[u8]) -> Result<RemotingCommand, FrameError> {
    // A seed reader would also take a positional JSON array (`[105]`) if it were handed one;
    // a header is an object, and anything else is refused.
    if header.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(FrameError::InvalidJson(
            "the header is not a JSON object".to_owned(),
        ));
    }
    let text = std::str::from_utf8(header)
        .map_err(|_| FrameError::InvalidJson("the header is not UTF-8".to_owned()))?;
    let source: Arc<str> = Arc::from(text);
    match crate::header_scan::scan_header(&source) {
        Some(cmd) => Ok(cmd),
        None => read_with_serde(&source),
    }
}

/// Reads a JSON header with serde_json: any valid JSON object, and the error of any other text.
pub(crate) fn read_with_serde(source: &Arc<str>) -> Result<RemotingCommand, FrameError> {
    let invalid = |e: serde_json::Error| FrameError::InvalidJson(e.to_string());
    let mut reader = serde_json::Deserializer::from_str(source);
    let cmd = HeaderSeed { source }
        .deserialize(&mut reader)
        .map_err(invalid)?;
    reader.end().map_err(invalid)?;
    Ok(cmd)
}

/// Reads the header object into a command; `source` is the text being read.
struct HeaderSeed<'s> {
    source: &'s Arc<str>,
}

impl<'de> DeserializeSeed<'de> for HeaderSeed<'_> {
    type Value = RemotingCommand;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RemotingCommand, D::Error> {
        d.deserialize_map(self)
    }
}

/// The header's fields as named on the wire; anything else is skipped.
enum HeaderKey {
    Code,
    Language,
    Version,
    Opaque,
    Flag,
    Remark,
    ExtFields,
    Other,
}

impl<'de> Deserialize<'de> for HeaderKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = HeaderKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a header field name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<HeaderKey, E> {
                Ok(match name {
                    "code" => HeaderKey::Code,
                    "language" => HeaderKey::Language,
                    "version" => HeaderKey::Version,
                    "opaque" => HeaderKey::Opaque,
                    "flag" => HeaderKey::Flag,
                    "remark" => HeaderKey::Remark,
                    "extFields" => HeaderKey::ExtFields,
                    _ => HeaderKey::Other,
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

/// Sets `slot` from the next value; a field given twice is refused, as a derived reader does.
fn read_once<'de, A: MapAccess<'de>, T>(
    map: &mut A,
    slot: &mut Option<T>,
    name: &'static str,
    read: impl FnOnce(&mut A) -> Result<T, A::Error>,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(read(map)?);
    Ok(())
}

impl<'de> Visitor<'de> for HeaderSeed<'_> {
    type Value = RemotingCommand;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a command header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RemotingCommand, A::Error> {
        let mut h = HeaderFields::default();
        while let Some(key) = map.next_key::<HeaderKey>()? {
            let m = &mut map;
            match key {
                HeaderKey::Code => read_once(m, &mut h.code, "code", |m| m.next_value::<i32>())?,
                HeaderKey::Language => read_once(m, &mut h.language, "language", |m| {
                    m.next_value::<Language>().map(|l| l.0)
                })?,
                HeaderKey::Version => read_once(m, &mut h.version, "version", |m| m.next_value())?,
                HeaderKey::Opaque => read_once(m, &mut h.opaque, "opaque", |m| m.next_value())?,
                HeaderKey::Flag => read_once(m, &mut h.flag, "flag", |m| m.next_value())?,
                HeaderKey::Remark => read_once(m, &mut h.remark, "remark", |m| {
                    m.next_value::<Option<String>>()
                })?,
                HeaderKey::ExtFields => read_once(m, &mut h.ext_fields, "extFields", |m| {
                    m.next_value_seed(FieldsSeed {
                        source: self.source,
                    })
                })?,
                HeaderKey::Other => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        h.into_command()
            .ok_or_else(|| de::Error::missing_field("code"))
    }
}

/// A JSON header's fields as read so far, by serde_json or by `header_scan`; each may be
/// given once (`None`: not given yet).
#[derive(Default)]
pub(crate) struct HeaderFields {
    pub(crate) code: Option<i32>,
    pub(crate) language: Option<Option<LanguageCode>>,
    pub(crate) version: Option<i32>,
    pub(crate) opaque: Option<i32>,
    pub(crate) flag: Option<i32>,
    pub(crate) remark: Option<Option<String>>,
    pub(crate) ext_fields: Option<ExtFields>,
}

impl HeaderFields {
    /// The command these fields make, the absent ones at their defaults; `None` without a
    /// `code`, the one required field.
    pub(crate) fn into_command(self) -> Option<RemotingCommand> {
        Some(RemotingCommand {
            code: self.code?,
            language: self.language.flatten().unwrap_or(LanguageCode::OTHER),
            version: self.version.unwrap_or_default(),
            opaque: self.opaque.unwrap_or_default(),
            flag: self.flag.unwrap_or_default(),
            remark: self.remark.flatten(),
            ext_fields: self.ext_fields.unwrap_or_default(),
            body: Default::default(),
            serialize_type: SerializeType::Json,
        })
    }
}

/// `language` as a name (Java, Go), an ordinal (0-255) or null. Read straight from the parser:
/// an untagged enum would buffer every header's value first.
struct Language(Option<LanguageCode>);

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LanguageVisitor;
        impl Visitor<'_> for LanguageVisitor {
            type Value = Language;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a language name or ordinal")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Language, E> {
                Ok(Language(None))
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Language, E> {
                Ok(Language(Some(LanguageCode::from_name(name))))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Language, E> {
                u8::try_from(n)
                    .map(|n| Language(Some(LanguageCode::from_u8(n))))
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(n), &self))
            }
        }
        d.deserialize_any(LanguageVisitor)
    }
}

/// Reads `extFields` (an object, or null for none) into an [`ExtFields`] over `source`.
struct FieldsSeed<'s> {
    source: &'s Arc<str>,
}

impl<'de> DeserializeSeed<'de> for FieldsSeed<'_> {
    type Value = ExtFields;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ExtFields, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed<'_> {
    type Value = ExtFields;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of header fields")
    }

    fn visit_unit<E: de::Error>(self) -> Result<ExtFields, E> {
        Ok(ExtFields::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExtFields, A::Error> {
        let mut out = ExtFields::over(self.source.clone(), map.size_hint().unwrap_or(16));
        let text = FieldText {
            source: self.source,
        };
        while let Some(key) = map.next_key_seed(text.clone())? {
            // A null value leaves the field out, as Java's map would hold no text for it.
            if let (Some(key), Some(value)) = (key, map.next_value_seed(text.clone())?) {
                out.push_range(key, value);
            }
        }
        Ok(out)
    }
}

/// One `extFields` key or value as the text Java would hold: strings as they are (a range of
/// the source when the parser lends them unescaped), numbers and booleans written out, nested
/// JSON written back compactly, null as absent.
#[derive(Clone)]
struct FieldText<'s> {
    source: &'s Arc<str>,
}

impl FieldText<'_> {
    /// The range `s` takes in the source text, if it is a slice of it.
    fn range_of(&self, s: &str) -> Option<RangeOrText> {
        let base = self.source.as_ptr() as usize;
        let start = (s.as_ptr() as usize).checked_sub(base)?;
        let end = start.checked_add(s.len())?;
        if end > self.source.len() {
            return None;
        }
        Some(RangeOrText::Range(
            u32::try_from(start).ok()?,
            u32::try_from(end).ok()?,
        ))
    }
}

impl<'de> DeserializeSeed<'de> for FieldText<'_> {
    type Value = Option<RangeOrText>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldText<'_> {
    type Value = Option<RangeOrText>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a header field value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Some(
            self.range_of(s)
                .unwrap_or_else(|| RangeOrText::Text(s.to_owned())),
        ))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Some(RangeOrText::Text(s.to_owned())))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(Some(RangeOrText::Text(s)))
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Some(RangeOrText::Text(b.to_string())))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Some(RangeOrText::Text(n.to_string())))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Some(RangeOrText::Text(n.to_string())))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(n).map(|n| RangeOrText::Text(n.to_string())))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let nested = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Some(RangeOrText::Text(nested.to_string())))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let nested = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Some(RangeOrText::Text(nested.to_string())))
    }
}

/// Appends the ROCKETMQ binary form of `cmd`'s header to `dst` (§2.5).
///
/// Codes beyond 16 bits cannot be carried; they are truncated exactly as Java does, which is why
/// such commands are only ever sent as JSON.
pub fn encode_binary(cmd: &RemotingCommand, dst: &mut BytesMut) {
    dst.put_i16(cmd.code as i16);
    dst.put_u8(cmd.language.as_u8());
    dst.put_i16(cmd.version as i16);
    dst.put_i32(cmd.opaque);
    dst.put_i32(cmd.flag);
    match &cmd.remark {
        Some(remark) if !remark.is_empty() => {
            dst.put_i32(remark.len() as i32);
            dst.put_slice(remark.as_bytes());
        }
        _ => dst.put_i32(0),
    }
    let ext_len: usize = cmd
        .ext_fields
        .iter()
        .map(|(k, v)| 2 + k.len() + 4 + v.len())
        .sum();
    dst.put_i32(ext_len as i32);
    for (key, value) in cmd.ext_fields.iter() {
        dst.put_i16(key.len() as i16);
        dst.put_slice(key.as_bytes());
        dst.put_i32(value.len() as i32);
        dst.put_slice(value.as_bytes());
    }
}

/// Parses a ROCKETMQ binary header. Zero-length remarks, keys and values are read as absent,
/// as Java does.
pub fn decode_binary(mut header: &[u8]) -> Result<RemotingCommand, FrameError> {
    const SHORT: FrameError = FrameError::InvalidBinary("header is shorter than its fields");
    if header.len() < 21 {
        return Err(SHORT);
    }
    let code = i32::from(header.get_i16());
    let language = LanguageCode::from_u8(header.get_u8());
    let version = i32::from(header.get_i16());
    let opaque = header.get_i32();
    let flag = header.get_i32();
    let remark_len = read_len(&mut header)?;
    let remark = take_str(&mut header, remark_len)?;
    let ext_len = read_len(&mut header)?;
    if ext_len > header.len() {
        return Err(SHORT);
    }
    let mut entries = &header[..ext_len];
    let mut ext_fields = ExtFields::with_capacity(16);
    while !entries.is_empty() {
        if entries.len() < 2 {
            return Err(SHORT);
        }
        let key_len = entries.get_i16();
        let key_len = usize::try_from(key_len)
            .map_err(|_| FrameError::InvalidBinary("negative key length"))?;
        let key = take_str(&mut entries, key_len)?;
        let value_len = read_len(&mut entries)?;
        let value = take_str(&mut entries, value_len)?;
        if let (Some(key), Some(value)) = (key, value) {
            ext_fields.insert(key, value);
        }
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        body: Default::default(),
        serialize_type: SerializeType::RocketMq,
    })
}

fn read_len(buf: &mut &[u8]) -> Result<usize, FrameError> {
    if buf.len() < 4 {
        return Err(FrameError::InvalidBinary(
            "header is shorter than its fields",
        ));
    }
    usize::try_from(buf.get_i32()).map_err(|_| FrameError::InvalidBinary("negative length"))
}

fn take_str(buf: &mut &[u8], len: usize) -> Result<Option<String>, FrameError> {
    if len > buf.len() {
        return Err(FrameError::InvalidBinary(
            "a length runs past the end of the header",
        ));
    }
    let (text, rest) = buf.split_at(len);
    *buf = rest;
    if len == 0 {
        return Ok(None);
    }
    std::str::from_utf8(text)
        .map(|s| Some(s.to_owned()))
        .map_err(|_| FrameError::InvalidBinary("text is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_language_may_be_a_name_an_ordinal_null_or_missing() {
        let lang = |json: &str| decode_json(json.as_bytes()).map(|c| c.language);
        assert_eq!(
            lang(r#"{"code":1,"language":"GO"}"#).ok(),
            Some(LanguageCode::GO)
        );
        assert_eq!(
            lang(r#"{"code":1,"language":9}"#).ok(),
            Some(LanguageCode::GO)
        );
        assert_eq!(
            lang(r#"{"code":1,"language":null}"#).ok(),
            Some(LanguageCode::OTHER)
        );
        assert_eq!(lang(r#"{"code":1}"#).ok(), Some(LanguageCode::OTHER));
        assert!(lang(r#"{"code":1,"language":300}"#).is_err());
        assert!(lang(r#"{"code":1,"language":[1]}"#).is_err());
    }

    #[test]
    fn json_ext_field_values_become_the_text_java_would_hold() {
        let header = br#"{"code":1,"extFields":{"s":"x\"y","i":-7,"u":18446744073709551615,
            "f":1.5,"b":true,"n":null,"o":{"k":[1,"v"]},"a":[]}}"#;
        let cmd = decode_json(header).expect("valid header");
        let field = |k: &str| cmd.ext_fields.get(k);
        assert_eq!(field("s"), Some("x\"y"));
        assert_eq!(field("i"), Some("-7"));
        assert_eq!(field("u"), Some("18446744073709551615"));
        assert_eq!(field("f"), Some("1.5"));
        assert_eq!(field("b"), Some("true"));
        assert_eq!(field("n"), None);
        assert_eq!(field("o"), Some(r#"{"k":[1,"v"]}"#));
        assert_eq!(field("a"), Some("[]"));
        assert_eq!(cmd.ext_fields.len(), 7);
    }
}
