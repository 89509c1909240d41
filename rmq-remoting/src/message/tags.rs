//! Tags (§9): the consume-queue tag code and TAG subscription expressions.

/// Java's `String.hashCode()` over UTF-16 code units (wrapping 32-bit arithmetic).
///
/// Exists because the consume queue stores this hash of the tag, and Java brokers and clients filter
/// on it; any other hash would break interop with their stores and filters.
pub fn java_string_hash(s: &str) -> i32 {
    java_string_hash_of(&[s])
}

/// [`java_string_hash`] of the concatenation of `parts`, without building it (the index hashes
/// `topic#key` for every key of every message it stores).
pub fn java_string_hash_of(parts: &[&str]) -> i32 {
    parts
        .iter()
        .flat_map(|part| part.encode_utf16())
        .fold(0i32, |h, unit| {
            h.wrapping_mul(31).wrapping_add(i32::from(unit))
        })
}

/// The consume-queue tag code of a message: the tag's Java hash sign-extended to 64 bits, or 0
/// when the message has no (or an empty) tag.
pub fn tags_code(tag: Option<&str>) -> i64 {
    match tag {
        Some(t) if !t.is_empty() => i64::from(java_string_hash(t)),
        _ => 0,
    }
}

/// A parsed TAG subscription expression (`*`, or `TagA || TagB`).
///
/// Exists so broker and store filter pulls by tag code the same way the Java broker does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSubscription {
    /// True for `*`, null or empty: every message matches.
    pub all: bool,
    /// The tags, trimmed, empty parts dropped.
    pub tags: Vec<String>,
    /// Java hash of each tag.
    pub codes: Vec<i32>,
}

impl TagSubscription {
    /// Parses a subscription expression like Java's `FilterAPI.buildSubscriptionData`.
    pub fn parse(expression: Option<&str>) -> Self {
        let expr = expression.map(str::trim).unwrap_or("");
        if expr.is_empty() || expr == "*" {
            return TagSubscription {
                all: true,
                tags: Vec::new(),
                codes: Vec::new(),
            };
        }
        let tags: Vec<String> = expr
            .split("||")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        let codes = tags.iter().map(|t| java_string_hash(t)).collect();
        TagSubscription {
            all: tags.is_empty(),
            tags,
            codes,
        }
    }

    /// The broker-side hash match on a consume-queue tag code: all, no code, or a listed code.
    pub fn matches_code(&self, tag_code: i64) -> bool {
        self.all || tag_code == 0 || self.codes.contains(&(tag_code as i32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hashes() {
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash("TagB"), 2_598_920);
        assert_eq!(java_string_hash("*"), 42);
        assert_eq!(java_string_hash(""), 0);
        // Wraps like Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(tags_code(Some("polygenelubricants")), i64::from(i32::MIN));
        assert_eq!(tags_code(None), 0);
    }

    #[test]
    fn subscription() {
        let s = TagSubscription::parse(Some("TagA || TagB ||  "));
        assert_eq!(s.tags, vec!["TagA", "TagB"]);
        assert_eq!(s.codes, vec![2_598_919, 2_598_920]);
        assert!(s.matches_code(2_598_920));
        assert!(s.matches_code(0));
        assert!(!s.matches_code(42));
        assert!(TagSubscription::parse(Some("*")).all);
        assert!(TagSubscription::parse(None).matches_code(5));
    }
}
