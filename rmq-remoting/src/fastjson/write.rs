//! Writes a [`Value`] as compact fastjson text.

use super::{Key, Value};

/// How integer map keys and non-ASCII text are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStyle {
    /// fastjson's defaults: integer keys unquoted (`{0:"a"}`), UTF-8 text as is. What Java
    /// servers send to old clients and in most bodies.
    Fastjson,
    /// fastjson's `BrowserCompatible`: integer keys quoted, non-ASCII escaped as `\uXXXX`. What
    /// the Java name server sends to clients of version 4.9.4 and later.
    Standard,
}

pub(super) fn write_value(value: &Value, style: KeyStyle, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(s, style, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, style, out);
            }
            out.push(b']');
        }
        Value::Object(entries) => write_object(entries, style, out),
    }
}

fn write_object(entries: &[(Key, Value)], style: KeyStyle, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match (key, style) {
            (Key::String(s), _) => write_string(s, style, out),
            (Key::Integer(n), KeyStyle::Fastjson) => {
                out.extend_from_slice(n.to_string().as_bytes())
            }
            (Key::Integer(n), KeyStyle::Standard) => write_string(&n.to_string(), style, out),
            (Key::Object(fields), _) => write_object(fields, style, out),
        }
        out.push(b':');
        write_value(value, style, out);
    }
    out.push(b'}');
}

fn write_string(s: &str, style: KeyStyle, out: &mut Vec<u8>) {
    if style == KeyStyle::Fastjson || s.is_ascii() {
        crate::header_codec::write_json_string(out, s);
        return;
    }
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c as u8),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.extend_from_slice(format!("\\u{unit:04x}").as_bytes());
                }
            }
        }
    }
    out.push(b'"');
}
