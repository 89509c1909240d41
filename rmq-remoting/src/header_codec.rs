//! The two serializations of a command header (docs/remoting-protocol.md §2.5 and §3.4): JSON and
//! the ROCKETMQ binary layout. Pure functions over bytes.

use std::collections::HashMap;

use bytes::{Buf, BufMut, BytesMut};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::command::{LanguageCode, RemotingCommand, SerializeType};
use crate::error::FrameError;

/// Appends the JSON form of `cmd`'s header to `dst`.
///
/// Keys come in fastjson's alphabetical order, nulls are omitted and every `extFields` value is
/// a JSON string, which is what the Go and C++ clients require (§2.6).
pub fn encode_json(cmd: &RemotingCommand, dst: &mut BytesMut) {
    let mut out = Vec::with_capacity(128 + cmd.ext_fields.len() * 32);
    out.extend_from_slice(b"{\"code\":");
    out.extend_from_slice(cmd.code.to_string().as_bytes());
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
    out.extend_from_slice(cmd.flag.to_string().as_bytes());
    out.extend_from_slice(b",\"language\":\"");
    out.extend_from_slice(cmd.language.name().as_bytes());
    out.extend_from_slice(b"\",\"opaque\":");
    out.extend_from_slice(cmd.opaque.to_string().as_bytes());
    if let Some(remark) = &cmd.remark {
        out.extend_from_slice(b",\"remark\":");
        write_json_string(&mut out, remark);
    }
    out.extend_from_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    out.extend_from_slice(cmd.version.to_string().as_bytes());
    out.push(b'}');
    dst.extend_from_slice(&out);
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

/// The JSON header as peers send it. Every field but `code` may be missing (the C++ client
/// omits several); `extFields` values may be numbers or booleans, which become strings.
#[derive(Deserialize)]
struct JsonHeader {
    code: i32,
    #[serde(default, deserialize_with = "language_name_or_ordinal")]
    language: Option<LanguageCode>,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    flag: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(
        default,
        rename = "extFields",
        deserialize_with = "ext_fields_as_strings"
    )]
    ext_fields: HashMap<String, String>,
}

/// `language` as a name (Java, Go), an ordinal (0-255) or null. Read straight from the parser:
/// an untagged enum would buffer every header's value first.
fn language_name_or_ordinal<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<LanguageCode>, D::Error> {
    struct LanguageVisitor;
    impl<'de> Visitor<'de> for LanguageVisitor {
        type Value = Option<LanguageCode>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a language name or ordinal")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
            Ok(Some(LanguageCode::from_name(name)))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            u8::try_from(n)
                .map(|n| Some(LanguageCode::from_u8(n)))
                .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(n), &self))
        }
    }
    d.deserialize_any(LanguageVisitor)
}

/// One `extFields` value as the text Java would hold: strings as they are, numbers and booleans
/// written out, nested JSON written back compactly, null as absent.
struct FieldText(Option<String>);

impl<'de> Deserialize<'de> for FieldText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = FieldText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a header field value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<FieldText, E> {
                Ok(FieldText(None))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<FieldText, E> {
                Ok(FieldText(Some(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<FieldText, E> {
                Ok(FieldText(Some(s)))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<FieldText, E> {
                Ok(FieldText(Some(b.to_string())))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<FieldText, E> {
                Ok(FieldText(Some(n.to_string())))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<FieldText, E> {
                Ok(FieldText(Some(n.to_string())))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<FieldText, E> {
                Ok(FieldText(
                    serde_json::Number::from_f64(n).map(|n| n.to_string()),
                ))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FieldText, A::Error> {
                let nested =
                    serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(FieldText(Some(nested.to_string())))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<FieldText, A::Error> {
                let nested =
                    serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(FieldText(Some(nested.to_string())))
            }
        }
        d.deserialize_any(TextVisitor)
    }
}

fn ext_fields_as_strings<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<HashMap<String, String>, D::Error> {
    struct FieldsVisitor;
    impl<'de> Visitor<'de> for FieldsVisitor {
        type Value = HashMap<String, String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of header fields")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(HashMap::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = HashMap::with_capacity(map.size_hint().unwrap_or(16));
            while let Some((key, FieldText(text))) = map.next_entry::<String, FieldText>()? {
                if let Some(text) = text {
                    out.insert(key, text);
                }
            }
            Ok(out)
        }
    }
    d.deserialize_any(FieldsVisitor)
}

/// Parses a JSON header.
pub fn decode_json(header: &[u8]) -> Result<RemotingCommand, FrameError> {
    // serde's derived struct reader would also take a positional JSON array (`[105]`); a
    // header is an object, and anything else is refused.
    if header.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(FrameError::InvalidJson(
            "the header is not a JSON object".to_owned(),
        ));
    }
    let h: JsonHeader =
        serde_json::from_slice(header).map_err(|e| FrameError::InvalidJson(e.to_string()))?;
    let language = h.language.unwrap_or(LanguageCode::OTHER);
    Ok(RemotingCommand {
        code: h.code,
        language,
        version: h.version,
        opaque: h.opaque,
        flag: h.flag,
        remark: h.remark,
        ext_fields: h.ext_fields,
        body: Default::default(),
        serialize_type: SerializeType::Json,
    })
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
    for (key, value) in &cmd.ext_fields {
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
    let mut ext_fields = HashMap::with_capacity(16);
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
        let field = |k: &str| cmd.ext_fields.get(k).map(String::as_str);
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
