//! Splits an SQL92 filter expression into tokens, remembering where each one starts so parse
//! errors can point at it.

use crate::FilterError;

/// One token of an expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    /// A property name or a keyword (keywords are matched case-insensitively by the parser).
    Word(String),
    /// A single-quoted string, quotes removed and `''` unescaped.
    Str(String),
    /// An integer literal (decimal, `0x` hex or leading-zero octal; an `L` suffix is allowed).
    Long(i64),
    /// A floating-point literal.
    Double(f64),
    /// `(`, `)`, `,`, `=`, `<>`, `!=`, `<`, `<=`, `>`, `>=`, `+`, `-`.
    Symbol(&'static str),
}

/// A token and the character position it starts at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spanned {
    pub token: Token,
    pub at: usize,
}

const SYMBOLS: [&str; 12] = [
    "<>", "!=", "<=", ">=", "(", ")", ",", "=", "<", ">", "+", "-",
];

/// Tokenizes `text`.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Spanned>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i;
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let (s, next) = string_literal(&chars, i)?;
            out.push(Spanned {
                token: Token::Str(s),
                at,
            });
            i = next;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let (token, next) = number(&chars, i)?;
            out.push(Spanned { token, at });
            i = next;
        } else if is_word_start(c) {
            let end = (i..chars.len())
                .find(|&j| !is_word_part(chars[j]))
                .unwrap_or(chars.len());
            out.push(Spanned {
                token: Token::Word(chars[i..end].iter().collect()),
                at,
            });
            i = end;
        } else if let Some(symbol) = SYMBOLS.iter().find(|s| {
            s.chars()
                .enumerate()
                .all(|(k, sc)| chars.get(i + k) == Some(&sc))
        }) {
            out.push(Spanned {
                token: Token::Symbol(symbol),
                at,
            });
            i += symbol.len();
        } else {
            return Err(FilterError::at(at, format!("unexpected character '{c}'")));
        }
    }
    Ok(out)
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_word_part(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || c == '.'
}

fn string_literal(chars: &[char], start: usize) -> Result<(String, usize), FilterError> {
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => return Err(FilterError::at(start, "unterminated string literal")),
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                s.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((s, i + 1)),
            Some(&c) => {
                s.push(c);
                i += 1;
            }
        }
    }
}

fn number(chars: &[char], start: usize) -> Result<(Token, usize), FilterError> {
    let take = |from: usize, pred: &dyn Fn(char) -> bool| {
        (from..chars.len())
            .find(|&j| !pred(chars[j]))
            .unwrap_or(chars.len())
    };
    let bad = |end: usize| {
        let text: String = chars[start..end].iter().collect();
        FilterError::at(start, format!("invalid number '{text}'"))
    };
    let long_suffix = |end: usize| {
        if matches!(chars.get(end), Some('l' | 'L')) {
            end + 1
        } else {
            end
        }
    };
    if chars[start] == '0' && matches!(chars.get(start + 1), Some('x' | 'X')) {
        let end = take(start + 2, &|c| c.is_ascii_hexdigit());
        let digits: String = chars[start + 2..end].iter().collect();
        let value = i64::from_str_radix(&digits, 16).map_err(|_| bad(end))?;
        return Ok((Token::Long(value), long_suffix(end)));
    }
    let int_end = take(start, &|c| c.is_ascii_digit());
    let mut end = int_end;
    let mut float = false;
    if chars.get(end) == Some(&'.') {
        float = true;
        end = take(end + 1, &|c| c.is_ascii_digit());
    }
    if matches!(chars.get(end), Some('e' | 'E')) {
        let mut exp = end + 1;
        if matches!(chars.get(exp), Some('+' | '-')) {
            exp += 1;
        }
        let exp_end = take(exp, &|c| c.is_ascii_digit());
        if exp_end == exp {
            return Err(bad(exp_end));
        }
        float = true;
        end = exp_end;
    }
    let text: String = chars[start..end].iter().collect();
    if float {
        let value = text.parse::<f64>().map_err(|_| bad(end))?;
        let end = if matches!(chars.get(end), Some('d' | 'D' | 'f' | 'F')) {
            end + 1
        } else {
            end
        };
        return Ok((Token::Double(value), end));
    }
    let value = if text.len() > 1 && text.starts_with('0') {
        i64::from_str_radix(&text[1..], 8)
    } else {
        text.parse::<i64>()
    }
    .map_err(|_| bad(end))?;
    Ok((Token::Long(value), long_suffix(end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<Token> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|s| s.token)
            .collect()
    }

    #[test]
    fn literals_and_symbols() {
        assert_eq!(
            tokens("a.b>=10 AND x<>'it''s' OR y IN (0x1F, 010, 2.5e1, 7L)"),
            vec![
                Token::Word("a.b".into()),
                Token::Symbol(">="),
                Token::Long(10),
                Token::Word("AND".into()),
                Token::Word("x".into()),
                Token::Symbol("<>"),
                Token::Str("it's".into()),
                Token::Word("OR".into()),
                Token::Word("y".into()),
                Token::Word("IN".into()),
                Token::Symbol("("),
                Token::Long(31),
                Token::Symbol(","),
                Token::Long(8),
                Token::Symbol(","),
                Token::Double(25.0),
                Token::Symbol(","),
                Token::Long(7),
                Token::Symbol(")"),
            ]
        );
        assert_eq!(tokens(".5"), vec![Token::Double(0.5)]);
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(
            tokenize("a = 'open").unwrap_err().to_string(),
            "unterminated string literal at position 4"
        );
        assert!(tokenize("a # b").unwrap_err().to_string().contains("'#'"));
        assert!(tokenize("a = 99999999999999999999").is_err());
    }
}
