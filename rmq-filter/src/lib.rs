//! RocketMQ's SQL92 message filter: consumers subscribe with a condition on message properties
//! (`a > 5 AND region IN ('eu','us')`) and the broker delivers only the messages it holds for.
//!
//! [`Expression::compile`] parses once (errors name the position and what was expected);
//! [`Expression::matches`] then evaluates against any property lookup without allocating.
//!
//! Grammar (keywords case-insensitive): `OR`, `AND`, `NOT`, parentheses; `=`, `<>` (or `!=`),
//! `<`, `<=`, `>`, `>=`; `[NOT] BETWEEN x AND y`; `[NOT] IN ('a', 'b')`; `IS [NOT] NULL`;
//! literals `'text'` (`''` escapes a quote), integers (decimal, `0x` hex, octal), decimals,
//! `TRUE`, `FALSE`. Semantics follow RocketMQ's filter module: a comparison with a missing
//! property is unknown, and only a true result matches (so `a <> 1` does not match a message
//! without `a`; use `a IS NULL OR a <> 1`).

mod eval;
mod lexer;
mod parser;

use std::fmt;

/// `expressionType` of an SQL92 subscription.
pub const EXPRESSION_TYPE_SQL92: &str = "SQL92";
/// `expressionType` of a tag subscription (the default).
pub const EXPRESSION_TYPE_TAG: &str = "TAG";

/// Why an expression does not compile: what is wrong and, when known, where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FilterError {
    message: String,
    position: Option<usize>,
}

impl FilterError {
    fn new(message: impl Into<String>) -> Self {
        FilterError {
            message: message.into(),
            position: None,
        }
    }

    fn at(position: usize, message: impl Into<String>) -> Self {
        FilterError {
            message: message.into(),
            position: Some(position),
        }
    }

    /// Character position (0-based) of the offending token, when there is one.
    pub fn position(&self) -> Option<usize> {
        self.position
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(at) => write!(f, "{} at position {at}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A compiled SQL92 condition; cheap to evaluate, safe to share between threads.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    text: String,
    root: parser::Node,
}

impl Expression {
    /// Parses `text`, applying RocketMQ's compile-time checks.
    pub fn compile(text: &str) -> Result<Expression, FilterError> {
        let tokens = lexer::tokenize(text)?;
        let root = parser::parse(&tokens, text.chars().count())?;
        Ok(Expression {
            text: text.to_owned(),
            root,
        })
    }

    /// The source text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether a message whose properties `lookup` returns satisfies the condition.
    pub fn matches<'a>(&'a self, lookup: impl Fn(&str) -> Option<&'a str>) -> bool {
        eval::eval(&self.root, &lookup) == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn check(expr: &str, props: &[(&str, &str)]) -> bool {
        let map: HashMap<&str, &str> = props.iter().copied().collect();
        let compiled = Expression::compile(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        compiled.matches(|name| map.get(name).copied())
    }

    fn error(expr: &str) -> String {
        Expression::compile(expr).unwrap_err().to_string()
    }

    #[test]
    fn comparisons_on_numbers_and_strings() {
        let m = [("a", "10"), ("region", "eu"), ("f", "2.5")];
        assert!(check("a > 5", &m));
        assert!(check("a >= 10 AND a <= 10", &m));
        assert!(!check("a < 10", &m));
        assert!(check("a = 10", &m));
        assert!(check("a <> 11", &m));
        assert!(check("f > 2", &m));
        assert!(check("f < 2.6", &m));
        assert!(check("a > f", &m));
        assert!(check("region = 'eu'", &m));
        assert!(!check("region = 'EU'", &m));
        assert!(check("region <> 'us'", &m));
        assert!(check("region != 'us'", &m));
        assert!(check("a > -5", &m));
        assert!(check("a = 0xA", &m));
    }

    #[test]
    fn logic_parentheses_and_keywords_in_any_case() {
        let m = [("a", "3"), ("b", "x")];
        assert!(check("a = 3 and (b = 'y' or b = 'x')", &m));
        assert!(!check("a = 3 AND b = 'y' OR a = 4", &m));
        assert!(check("NOT (a = 4)", &m));
        assert!(check("TRUE", &m));
        assert!(!check("FALSE", &m));
        assert!(check("(a = 3) = TRUE", &m));
    }

    #[test]
    fn in_between_and_null_tests() {
        let m = [("a", "3"), ("region", "us")];
        assert!(check("region IN ('eu', 'us')", &m));
        assert!(!check("region NOT IN ('eu', 'us')", &m));
        assert!(check("a BETWEEN 0 AND 3", &m));
        assert!(!check("a BETWEEN 4 AND 9", &m));
        assert!(check("a NOT BETWEEN 4 AND 9", &m));
        assert!(check("missing IS NULL", &m));
        assert!(!check("a IS NULL", &m));
        assert!(check("a IS NOT NULL", &m));
        assert!(check("a > 1 AND region IN ('eu','us') AND x IS NULL", &m));
    }

    #[test]
    fn a_missing_property_makes_comparisons_unknown() {
        let m = [("a", "3")];
        for expr in [
            "b = 1",
            "b <> 1",
            "b > 1",
            "b < 1",
            "b IN ('x')",
            "b NOT IN ('x')",
            "b BETWEEN 0 AND 9",
            "NOT (b = 1)",
        ] {
            assert!(!check(expr, &m), "{expr} must not match");
        }
        assert!(check("b IS NULL OR b <> 1", &m));
        // AND/OR turn unknown into false before NOT sees it, as RocketMQ does.
        assert!(check("NOT (b = 1 AND a = 3)", &m));
    }

    #[test]
    fn values_that_are_not_numbers_do_not_match_numeric_comparisons() {
        let m = [("a", "abc")];
        assert!(!check("a > 1", &m));
        assert!(!check("a < 1", &m));
        assert!(!check("a = 1", &m));
    }

    #[test]
    fn tags_are_a_property_like_any_other() {
        assert!(check("TAGS = 'TagA'", &[("TAGS", "TagA")]));
    }

    #[test]
    fn malformed_expressions_say_what_and_where() {
        assert_eq!(error(""), "the expression is empty");
        assert_eq!(
            error("a >"),
            "expected a value, but the expression ends at position 3"
        );
        assert_eq!(error("a = 1 b"), "unexpected 'b' at position 6");
        assert_eq!(
            error("(a = 1"),
            "expected ')', but the expression ends at position 6"
        );
        assert!(error("a").contains("must be a condition"));
        assert!(error("a > 'x'").contains("only numbers"));
        assert!(error("a = NULL").contains("IS NULL"));
        assert!(error("a IN (1, 2)").contains("string literal"));
        assert!(error("'x' IN ('x')").contains("IN needs a property"));
        assert!(error("a BETWEEN 5 AND 1").contains("Illegal values of between"));
        assert!(error("a BETWEEN 1 2").contains("AND between the bounds"));
        assert!(error("a IS 1").contains("NULL after IS"));
        assert!(error("NOT a = 1").contains("operand of NOT"));
        assert!(error("a = = 1").contains("expected a value, found '='"));
        assert!(error("AND = 1").contains("found 'AND'"));
    }

    proptest::proptest! {
        #[test]
        fn compile_never_panics(text in "[ -~]{0,40}") {
            let _ = Expression::compile(&text);
        }

        #[test]
        fn numeric_comparison_agrees_with_rust(a in -1000i64..1000, b in -1000i64..1000) {
            let value = a.to_string();
            let props = [("a", value.as_str())];
            proptest::prop_assert_eq!(check(&format!("a > {b}"), &props), a > b);
            proptest::prop_assert_eq!(check(&format!("a <= {b}"), &props), a <= b);
            proptest::prop_assert_eq!(check(&format!("a = {b}"), &props), a == b);
        }
    }
}
