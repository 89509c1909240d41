//! Reading the text format back: what tests and tools need to check a scrape.

use std::collections::BTreeMap;

/// A sample's name and labels.
pub type Series = (String, BTreeMap<String, String>);

/// Why a scrape's text could not be read.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {why}: {text:?}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub why: &'static str,
    /// The line.
    pub text: String,
}

/// Every sample of a Prometheus text-format scrape by name and labels (comments skipped). A
/// series appearing twice is an error: an exporter must not print one twice.
pub fn parse_text(text: &str) -> Result<BTreeMap<Series, f64>, ParseError> {
    let mut samples = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |why| ParseError {
            line: i + 1,
            why,
            text: line.to_owned(),
        };
        let (series, value) = line.rsplit_once(' ').ok_or_else(|| fail("no value"))?;
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.strip_suffix('}').ok_or_else(|| fail("no '}'"))?),
            None => (series, ""),
        };
        let mut parsed = BTreeMap::new();
        let mut rest = labels;
        while let Some((key, after)) = rest.split_once("=\"") {
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c)) => value.push(c),
                        None => return Err(fail("unterminated escape")),
                    },
                    Some((at, '"')) => break at,
                    Some((_, c)) => value.push(c),
                    None => return Err(fail("unterminated label value")),
                }
            };
            parsed.insert(key.trim_start_matches(',').to_owned(), value);
            rest = &after[end + 1..];
        }
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|_| fail("value is not a number"))?,
        };
        if samples.insert((name.to_owned(), parsed), value).is_some() {
            return Err(fail("series printed twice"));
        }
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Exposition;

    #[test]
    fn reads_back_what_exposition_writes() {
        let mut out = Exposition::new(&[("node".into(), "a\"b\\c\nd".into())]);
        out.sample("m_total", &[("topic", "T")], 3.0);
        out.sample("m_bucket", &[("le", "+Inf")], f64::INFINITY);
        let samples = parse_text(&out.finish()).unwrap();
        let labels = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        assert_eq!(
            samples[&(
                "m_total".to_owned(),
                labels(&[("node", "a\"b\\c\nd"), ("topic", "T")])
            )],
            3.0
        );
        assert!(samples.values().any(|v| v.is_infinite()));
    }

    #[test]
    fn duplicates_and_garbage_are_errors() {
        assert!(parse_text("a{} 1\na{} 2\n").is_err());
        assert!(parse_text("a{x=\"1} 1\n").is_err());
        assert!(parse_text("a 1\nb{} x\n").is_err());
        assert_eq!(parse_text("a 1\n").unwrap().len(), 1);
    }
}
