//! A parser for `java.util.Properties` text.
//!
//! Java's rules, which users depend on without knowing (docs/behaviour.md §1.2): `#` and `!` start a
//! comment only as the first non-blank character of a line; the key ends at the first
//! unescaped `=`, `:` or blank; blanks around the separator are skipped; leading blanks of the
//! value are dropped but trailing ones kept; `\` escapes and a trailing `\` joins lines.
//!
//! Where Java would silently do something surprising, the parser keeps what a user meant and
//! records a [`Warning`]: a value followed by blanks and `#` has the "comment" removed (Java
//! would keep it, breaking e.g. an IP address), and trailing blanks are removed (Java keeps
//! them, and then silently ignores a number or reads a boolean as false).

/// One `key=value` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The key, unescaped.
    pub key: String,
    /// The value, unescaped, without an inline comment or trailing blanks.
    pub value: String,
    /// 1-based line where the entry starts.
    pub line: usize,
    /// What was changed from Java's reading, if anything.
    pub warning: Option<Warning>,
}

/// A place where rmq reads a value differently from Java, on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The value was followed by blanks and `#`; Java keeps that text as part of the value.
    InlineComment { removed: String },
    /// The value had trailing blanks; Java keeps them.
    TrailingBlanks,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::InlineComment { removed } => write!(
                f,
                "text after the value looks like a comment ({removed:?}); rmq ignores it, but Java RocketMQ would keep it as part of the value — put comments on their own line"
            ),
            Warning::TrailingBlanks => f.write_str(
                "the value ends with blanks; rmq ignores them, but Java RocketMQ would keep them (and then silently ignore a number or read a boolean as false)",
            ),
        }
    }
}

/// Parses properties text. Never fails: every line is either an entry, a comment or blank.
pub fn parse(text: &str) -> Vec<Property> {
    let mut out = Vec::new();
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((index, raw)) = lines.next() {
        let line_no = index + 1;
        let trimmed = raw
            .trim_start_matches([' ', '\t', '\u{c}'])
            .trim_end_matches('\r');
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        // Join continuation lines: an odd number of trailing backslashes continues the entry.
        let mut logical = String::from(trimmed);
        while ends_with_continuation(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(
                    next.trim_start_matches([' ', '\t', '\u{c}'])
                        .trim_end_matches('\r'),
                ),
                None => break,
            }
        }
        let (key, raw_value) = split_entry(&logical);
        let (value, warning) = clean_value(&raw_value);
        out.push(Property {
            key,
            value,
            line: line_no,
            warning,
        });
    }
    out
}

fn ends_with_continuation(s: &str) -> bool {
    s.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// Splits a logical line into the unescaped key and the still-escaped raw value.
fn split_entry(line: &str) -> (String, String) {
    let mut key = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    push_escaped(&mut key, next, &mut chars);
                }
            }
            '=' | ':' => break,
            ' ' | '\t' | '\u{c}' => {
                // Blanks end the key; one `=` or `:` may still follow them.
                while matches!(chars.peek(), Some(' ' | '\t' | '\u{c}')) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('=' | ':')) {
                    chars.next();
                }
                break;
            }
            c => key.push(c),
        }
    }
    while matches!(chars.peek(), Some(' ' | '\t' | '\u{c}')) {
        chars.next();
    }
    (key, chars.collect())
}

fn push_escaped(out: &mut String, c: char, rest: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match c {
        't' => out.push('\t'),
        'n' => out.push('\n'),
        'r' => out.push('\r'),
        'f' => out.push('\u{c}'),
        'u' => {
            let hex: String = rest.by_ref().take(4).collect();
            match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                Some(ch) => out.push(ch),
                None => out.push_str(&hex),
            }
        }
        other => out.push(other),
    }
}

fn clean_value(raw: &str) -> (String, Option<Warning>) {
    // Find an unescaped " #" / "\t#" before unescaping.
    let bytes = raw.as_bytes();
    let mut comment_at = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'#' if i > 0 && matches!(bytes[i - 1], b' ' | b'\t') => {
                comment_at = Some(i);
                break;
            }
            _ => i += 1,
        }
    }
    let (body, warning) = match comment_at {
        Some(at) => (
            &raw[..at],
            Some(Warning::InlineComment {
                removed: raw[at..].to_owned(),
            }),
        ),
        None => (raw, None),
    };
    let trimmed = body.trim_end_matches([' ', '\t', '\u{c}']);
    let warning =
        warning.or_else(|| (trimmed.len() != body.len()).then_some(Warning::TrailingBlanks));
    let mut value = String::with_capacity(trimmed.len());
    let mut chars = trimmed.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                push_escaped(&mut value, next, &mut chars);
            }
        } else {
            value.push(c);
        }
    }
    (value, warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(String, String)> {
        parse(text).into_iter().map(|p| (p.key, p.value)).collect()
    }

    #[test]
    fn java_separators_and_comments() {
        let text = "# comment\n  ! also comment\nbrokerName = broker-a\nbrokerId:0\ndeleteWhen 04\n\nempty=\n";
        assert_eq!(
            kv(text),
            vec![
                ("brokerName".into(), "broker-a".into()),
                ("brokerId".into(), "0".into()),
                ("deleteWhen".into(), "04".into()),
                ("empty".into(), "".into()),
            ]
        );
    }

    #[test]
    fn inline_comment_and_trailing_blanks_are_removed_with_a_warning() {
        let props =
            parse("brokerIP1=10.0.0.5   # the public address\nlistenPort=10911 \r\nurl=a#b\n");
        assert_eq!(props[0].value, "10.0.0.5");
        assert!(matches!(
            props[0].warning,
            Some(Warning::InlineComment { .. })
        ));
        assert_eq!(props[1].value, "10911");
        assert_eq!(props[1].warning, Some(Warning::TrailingBlanks));
        assert_eq!(
            props[2].value, "a#b",
            "a # without a blank before it is part of the value"
        );
        assert_eq!(props[2].warning, None);
    }

    #[test]
    fn escapes_and_continuations() {
        let props = kv(
            "path=D:\\\\rocketmq\\\\store\nlong=a,\\\n    b\nuni=\\u0041x\nkey\\ with\\ space=v\n",
        );
        assert_eq!(props[0].1, "D:\\rocketmq\\store");
        assert_eq!(props[1].1, "a,b");
        assert_eq!(props[2].1, "Ax");
        assert_eq!(props[3].0, "key with space");
        assert_eq!(props[0].0, "path");
    }

    #[test]
    fn line_numbers_point_at_the_entry() {
        let props = parse("\n# c\nlistenPort=1\n");
        assert_eq!(props[0].line, 3);
    }
}
