//! A tolerant reader for fastjson text: unquoted identifier and number keys, raw object keys,
//! single-quoted strings, plus everything standard JSON allows. Recursion is bounded so hostile
//! input cannot overflow the stack.

use super::{Key, Value};

/// Nesting deeper than this is refused; real RocketMQ bodies nest fewer than ten levels.
const MAX_DEPTH: usize = 128;

/// Why fastjson text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FastjsonError {
    /// The text is not well formed, at the given byte offset.
    #[error("malformed JSON at byte {offset}: {what}")]
    Syntax { offset: usize, what: &'static str },
    /// The text is well formed but does not have the expected shape.
    #[error("unexpected JSON shape: {0}")]
    Shape(String),
}

/// Parses one fastjson value that spans the whole input (surrounding whitespace allowed).
pub fn parse(input: &[u8]) -> Result<Value, FastjsonError> {
    let mut parser = Parser { input, pos: 0 };
    let value = parser.value(0)?;
    parser.skip_ws();
    if parser.pos != input.len() {
        return Err(parser.error("trailing characters"));
    }
    Ok(value)
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, what: &'static str) -> FastjsonError {
        FastjsonError::Syntax {
            offset: self.pos,
            what,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), FastjsonError> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, FastjsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        self.skip_ws();
        match self.peek() {
            Some(b'{') => Ok(Value::Object(self.object(depth)?)),
            Some(b'[') => self.array(depth),
            Some(q @ (b'"' | b'\'')) => Ok(Value::String(self.string(q)?)),
            Some(b'-' | b'0'..=b'9') => Ok(Value::Number(self.number()?)),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, FastjsonError> {
        if self.input[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("expected true, false or null"))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Vec<(Key, Value)>, FastjsonError> {
        self.expect(b'{', "expected '{'")?;
        let mut entries = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(entries);
        }
        loop {
            let key = self.key(depth)?;
            self.expect(b':', "expected ':' after a key")?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(entries);
                }
                _ => return Err(self.error("expected ',' or '}' in an object")),
            }
        }
    }

    fn key(&mut self, depth: usize) -> Result<Key, FastjsonError> {
        self.skip_ws();
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => Ok(Key::String(self.string(q)?)),
            Some(b'{') => {
                if depth + 1 > MAX_DEPTH {
                    return Err(self.error("nesting too deep"));
                }
                Ok(Key::Object(self.object(depth + 1)?))
            }
            Some(b'-' | b'0'..=b'9') => {
                let n = self.number()?;
                Ok(n.as_i64()
                    .map_or_else(|| Key::String(n.to_string()), Key::Integer))
            }
            Some(c) if c == b'_' || c == b'$' || c.is_ascii_alphabetic() => {
                let start = self.pos;
                while matches!(self.peek(), Some(c) if c == b'_' || c == b'$' || c.is_ascii_alphanumeric())
                {
                    self.pos += 1;
                }
                Ok(Key::String(
                    String::from_utf8_lossy(&self.input[start..self.pos]).into_owned(),
                ))
            }
            _ => Err(self.error("expected a key")),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, FastjsonError> {
        self.expect(b'[', "expected '['")?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']' in an array")),
            }
        }
    }

    fn number(&mut self) -> Result<serde_json::Number, FastjsonError> {
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.input[start..self.pos])
            .map_err(|_| self.error("invalid number"))?;
        if let Ok(i) = text.parse::<i64>() {
            return Ok(i.into());
        }
        if let Ok(u) = text.parse::<u64>() {
            return Ok(u.into());
        }
        text.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .ok_or(FastjsonError::Syntax {
                offset: start,
                what: "invalid number",
            })
    }

    fn string(&mut self, quote: u8) -> Result<String, FastjsonError> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            self.pos += 1;
            match b {
                b if b == quote => break,
                b'\\' => self.escape(&mut out)?,
                b => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| self.error("string is not UTF-8"))
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), FastjsonError> {
        let Some(b) = self.peek() else {
            return Err(self.error("unterminated escape"));
        };
        self.pos += 1;
        let c = match b {
            b'"' | b'\'' | b'\\' | b'/' => b as char,
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = self.hex4()?;
                if (0xD800..0xDC00).contains(&high) && self.input[self.pos..].starts_with(b"\\u") {
                    self.pos += 2;
                    let low = self.hex4()?;
                    let combined = 0x10000
                        + ((u32::from(high) - 0xD800) << 10)
                        + (u32::from(low).wrapping_sub(0xDC00) & 0x3FF);
                    char::from_u32(combined).unwrap_or(char::REPLACEMENT_CHARACTER)
                } else {
                    char::from_u32(u32::from(high)).unwrap_or(char::REPLACEMENT_CHARACTER)
                }
            }
            _ => return Err(self.error("unknown escape")),
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    fn hex4(&mut self) -> Result<u16, FastjsonError> {
        let digits = self
            .input
            .get(self.pos..self.pos + 4)
            .ok_or(self.error("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error("bad \\u escape"))?;
        let v = u16::from_str_radix(text, 16).map_err(|_| self.error("bad \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }
}
