//! A fast reader for the JSON headers peers actually send: a flat object of integers and
//! strings whose `extFields` is an object of strings. Anything else (numbers or booleans as
//! field values, nested JSON, escaped top-level keys, a field given twice, malformed text)
//! makes it give up, and [`crate::header_codec::decode_json`] reads the header with serde_json
//! instead, which also words the errors. So whenever this reader answers, its answer is the one
//! serde_json's reading would give; the tests below check that on generated headers.

use std::sync::Arc;

use crate::command::{LanguageCode, RemotingCommand};
use crate::field_map::{ExtFields, RangeOrText};
use crate::header_codec::HeaderFields;

/// Reads `source`, a whole JSON header; `None` when it is not of the plain shape this reader
/// knows.
pub(crate) fn scan_header(source: &Arc<str>) -> Option<RemotingCommand> {
    let mut s = Scanner {
        text: source.as_bytes(),
        at: 0,
    };
    let mut h = HeaderFields::default();
    s.skip_blanks();
    s.eat(b'{')?;
    s.skip_blanks();
    if !s.eat_if(b'}') {
        loop {
            let key = s.string()?;
            s.colon()?;
            s.header_field(&mut h, source, key)?;
            s.skip_blanks();
            if s.eat_if(b'}') {
                break;
            }
            s.eat(b',')?;
            s.skip_blanks();
        }
    }
    s.skip_blanks();
    if s.at != s.text.len() {
        return None;
    }
    h.into_command()
}

/// Stores the first value of a field; a second one is left to serde_json, which refuses it.
fn set_once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// A JSON string read: its bytes between the quotes when it has no escape, else its text.
enum Str {
    Range(usize, usize),
    Text(String),
}

struct Scanner<'a> {
    text: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        self.eat_if(b).then_some(())
    }

    fn eat_if(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.at += usize::from(hit);
        hit
    }

    /// JSON's four blanks; others (a form feed) are left to serde_json.
    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn colon(&mut self) -> Option<()> {
        self.skip_blanks();
        self.eat(b':')?;
        self.skip_blanks();
        Some(())
    }

    /// A `null`, as the absent value of an optional field.
    fn null<T>(&mut self) -> Option<Option<T>> {
        self.literal(b"null").map(|()| None)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.text.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// A JSON integer that fits an `i32`: `-?(0|[1-9][0-9]*)`, nothing after it that would
    /// make it a fraction or an exponent.
    fn int(&mut self) -> Option<i32> {
        let negative = self.eat_if(b'-');
        let digits = self.at;
        let mut value: i64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            value = value.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
            self.at += 1;
        }
        let len = self.at - digits;
        if len == 0 || (len > 1 && self.text[digits] == b'0') {
            return None;
        }
        // A fraction or an exponent makes it a double; serde_json reads `-0` as one too.
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) || (negative && value == 0) {
            return None;
        }
        i32::try_from(if negative { -value } else { value }).ok()
    }

    /// A JSON string; `None` for a raw control character, an unknown escape or a lone
    /// surrogate.
    fn string(&mut self) -> Option<Str> {
        self.eat(b'"')?;
        let start = self.at;
        self.skip_plain();
        if self.peek()? == b'"' {
            self.at += 1;
            return Some(Str::Range(start, self.at - 1));
        }
        // The text before the first escape is whole characters: it ends before an ASCII byte.
        let mut out = String::with_capacity(2 * (self.at - start) + 16);
        let mut run = start;
        loop {
            match self.peek()? {
                b'"' => {
                    out.push_str(std::str::from_utf8(&self.text[run..self.at]).ok()?);
                    self.at += 1;
                    return Some(Str::Text(out));
                }
                b'\\' => {
                    out.push_str(std::str::from_utf8(&self.text[run..self.at]).ok()?);
                    self.at += 1;
                    out.push(self.escape()?);
                    run = self.at;
                    self.skip_plain();
                }
                // A raw control character.
                _ => return None,
            }
        }
    }

    /// Moves past the bytes of a string that stand for themselves: up to a quote, a backslash
    /// or a raw control character (or the end).
    fn skip_plain(&mut self) {
        let rest = &self.text[self.at..];
        self.at += rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .unwrap_or(rest.len());
    }

    /// The character of the escape after a backslash.
    fn escape(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        Some(match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = self.hex4()?;
                if (0xDC00..0xE000).contains(&high) {
                    return None;
                }
                if !(0xD800..0xDC00).contains(&high) {
                    return char::from_u32(high);
                }
                self.literal(b"\\u")?;
                let low = self.hex4()?;
                if !(0xDC00..0xE000).contains(&low) {
                    return None;
                }
                char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?
            }
            _ => return None,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.at..self.at + 4)?;
        let mut v = 0;
        for &d in digits {
            v = v * 16 + char::from(d).to_digit(16)?;
        }
        self.at += 4;
        Some(v)
    }

    /// A string as an owned text (a remark, a language name).
    fn text(&mut self) -> Option<String> {
        match self.string()? {
            Str::Range(start, end) => {
                Some(std::str::from_utf8(&self.text[start..end]).ok()?.to_owned())
            }
            Str::Text(text) => Some(text),
        }
    }

    /// Reads the value of the top-level field named by the string `key` into `h`.
    fn header_field(&mut self, h: &mut HeaderFields, source: &Arc<str>, key: Str) -> Option<()> {
        let Str::Range(start, end) = key else {
            return None;
        };
        match &self.text[start..end] {
            b"code" => set_once(&mut h.code, self.int()?),
            b"version" => set_once(&mut h.version, self.int()?),
            b"opaque" => set_once(&mut h.opaque, self.int()?),
            b"flag" => set_once(&mut h.flag, self.int()?),
            b"language" => {
                let language = match self.peek()? {
                    b'"' => Some(LanguageCode::from_name(&self.text()?)),
                    b'n' => self.null()?,
                    _ => Some(LanguageCode::from_u8(u8::try_from(self.int()?).ok()?)),
                };
                set_once(&mut h.language, language)
            }
            b"remark" => {
                let remark = match self.peek()? {
                    b'n' => self.null()?,
                    _ => Some(self.text()?),
                };
                set_once(&mut h.remark, remark)
            }
            b"extFields" => {
                let fields = match self.peek()? {
                    b'n' => self.literal(b"null").map(|()| ExtFields::new())?,
                    _ => self.fields(source)?,
                };
                set_once(&mut h.ext_fields, fields)
            }
            // An unknown field (`serializeTypeCurrentRPC`): a string or an integer is skipped.
            _ => match self.peek()? {
                b'"' => self.string().map(drop),
                _ => self.int().map(drop),
            },
        }
    }

    /// The `extFields` object of strings; a null value leaves its key out, as serde_json's
    /// reading does.
    fn fields(&mut self, source: &Arc<str>) -> Option<ExtFields> {
        self.eat(b'{')?;
        let mut out = ExtFields::over(source.clone(), 16);
        self.skip_blanks();
        if self.eat_if(b'}') {
            return Some(out);
        }
        loop {
            let key = self.string()?;
            self.colon()?;
            let value = match self.peek()? {
                b'n' => self.null()?,
                _ => Some(self.string()?),
            };
            if let Some(value) = value {
                out.push_range(range_or_text(key)?, range_or_text(value)?);
            }
            self.skip_blanks();
            if self.eat_if(b'}') {
                return Some(out);
            }
            self.eat(b',')?;
            self.skip_blanks();
        }
    }
}

fn range_or_text(s: Str) -> Option<RangeOrText> {
    Some(match s {
        Str::Range(start, end) => {
            RangeOrText::Range(u32::try_from(start).ok()?, u32::try_from(end).ok()?)
        }
        Str::Text(text) => RangeOrText::Text(text),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::header_codec::read_with_serde;

    /// Both readers on `text`: the scanner's answer, if any, must be serde_json's.
    fn agree(text: &str) -> bool {
        let source: Arc<str> = Arc::from(text);
        let fast = scan_header(&source);
        if let Some(cmd) = &fast {
            assert_eq!(Some(cmd), read_with_serde(&source).ok().as_ref(), "{text}");
        }
        fast.is_some()
    }

    #[test]
    fn reads_what_clients_send() {
        let java = r#"{"code":310,"extFields":{"a":"PG","b":"TopicTest","i":"KEYS\u0001k1\u0002TAGS\u0001TagA\u0002","bname":"broker-a"},"flag":0,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":479}"#;
        assert!(agree(java));
        assert!(agree(
            r#" { "code" : -1 , "remark" : null , "language" : 9 , "extFields" : null } "#
        ));
        assert!(agree(
            r#"{"code":0,"remark":"caf\u00e9 \ud83d\ude00 \"q\" \/","extFields":{}}"#
        ));
        assert!(agree(
            r#"{"code":1,"extFields":{"k":"1","k":"2","n":null}}"#
        ));
    }

    #[test]
    fn leaves_other_shapes_to_serde_json() {
        for text in [
            r#"{"code":1,"extFields":{"i":7}}"#,
            r#"{"code":1,"extFields":{"b":true}}"#,
            r#"{"code":1.0}"#,
            r#"{"code":-0}"#,
            r#"{"code":01}"#,
            r#"{"code":2147483648}"#,
            r#"{"code":1,"code":2}"#,
            r#"{"c\u006fde":1}"#,
            r#"{"code":1,"language":256}"#,
            r#"{"code":1,"remark":"\ud800"}"#,
            r#"{"code":1,"x":[1]}"#,
            r#"{"code":1}x"#,
            "{\"code\":1,\"remark\":\"a\tb\"}",
            "{}",
        ] {
            assert!(!agree(text), "{text}");
        }
    }

    /// Pieces headers are made of, well-formed and not.
    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "{",
            "}",
            ",",
            ":",
            " ",
            "\"code\"",
            "\"language\"",
            "\"remark\"",
            "\"extFields\"",
            "\"opaque\"",
            "\"flag\"",
            "\"version\"",
            "\"x\"",
            "\"a\"",
            "\"JAVA\"",
            "0",
            "-7",
            "42",
            "2147483647",
            "-2147483648",
            "99999999999",
            "-0",
            "1.5",
            "1e3",
            "null",
            "true",
            "\"v\\u0001w\"",
            "\"\\ud83d\\ude00\"",
            "\"\\udc00\"",
            "\"\\n\\\"\"",
            "\"é\"",
            "[]",
            "\"\\x\"",
        ])
    }

    proptest! {
        #[test]
        fn agrees_with_serde_json(pieces in prop::collection::vec(piece(), 0..40)) {
            agree(&pieces.concat());
        }

        #[test]
        fn agrees_on_plausible_headers(
            fields in prop::collection::vec((piece(), piece()), 0..8),
            ext in prop::collection::vec((piece(), piece()), 0..8),
        ) {
            let mut text = String::from("{\"code\":1");
            for (k, v) in &fields {
                text.push_str(&format!(",{k}:{v}"));
            }
            text.push_str(",\"extFields\":{");
            for (i, (k, v)) in ext.iter().enumerate() {
                text.push_str(&format!("{}{k}:{v}", if i > 0 { "," } else { "" }));
            }
            text.push_str("}}");
            agree(&text);
        }
    }
}
