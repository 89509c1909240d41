//! [`ExtFields`]: a command's `extFields`, the string map every typed header travels in
//! (docs/remoting-protocol.md §2.6).
//!
//! A map of about a dozen short texts that is built once per frame, read a few times and
//! dropped. A received header keeps its text in one shared buffer, and its entries are ranges
//! of it: decoding allocates that buffer and the entry list instead of two strings per field,
//! and a lookup compares a handful of short keys instead of hashing. Keys a typed header
//! writes are `&'static str` and cost nothing either.

use std::fmt;
use std::sync::Arc;

/// A command's `extFields`: unique keys, each with one text value, in insertion order.
///
/// Compares like a map: two are equal when they hold the same pairs in any order.
#[derive(Clone, Default)]
pub struct ExtFields {
    /// The received header text that [`Text::Span`] entries point into.
    source: Option<Arc<str>>,
    entries: Vec<(Text, Text)>,
    /// A one-word Bloom filter of the keys ever added ([`key_bit`]): most lookups of an absent
    /// key, and the duplicate check of most additions, end here without comparing texts.
    key_bits: u64,
}

/// One key or value.
#[derive(Clone)]
enum Text {
    /// A byte range of the map's source text, on character boundaries.
    Span(u32, u32),
    Static(&'static str),
    Owned(Box<str>),
}

impl ExtFields {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map for about `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        ExtFields {
            source: None,
            entries: Vec::with_capacity(n),
            key_bits: 0,
        }
    }

    /// Makes room for `n` more pairs.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
    }

    /// An empty map whose entries may be ranges of `source` (see [`ExtFields::push_range`]).
    pub(crate) fn over(source: Arc<str>, n: usize) -> Self {
        ExtFields {
            source: Some(source),
            entries: Vec::with_capacity(n),
            key_bits: 0,
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key).map(|i| self.text(&self.entries[i].1))
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`, replacing and returning an earlier value.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        let value = Text::Owned(value.into_boxed_str());
        match self.position(&key) {
            Some(i) => Some(self.replace_value(i, value)),
            None => {
                self.key_bits |= key_bit(&key);
                self.entries
                    .push((Text::Owned(key.into_boxed_str()), value));
                None
            }
        }
    }

    /// Sets a key known at compile time (a typed header's field name): the key is not copied.
    pub(crate) fn insert_static(&mut self, key: &'static str, value: String) {
        let value = Text::Owned(value.into_boxed_str());
        match self.position(key) {
            Some(i) => {
                self.replace_value(i, value);
            }
            None => {
                self.key_bits |= key_bit(key);
                self.entries.push((Text::Static(key), value));
            }
        }
    }

    /// Adds a decoded header's key and value: each a byte range of the source text, or a text
    /// of its own where it had to be unescaped or converted.
    pub(crate) fn push_range(&mut self, key: RangeOrText, value: RangeOrText) {
        let (key, value) = (Text::from(key), Text::from(value));
        let (existing, bit) = {
            let k = self.text(&key);
            (self.position(k), key_bit(k))
        };
        // A key given twice keeps its last value, as a JSON object read into a map does.
        match existing {
            Some(i) => self.entries[i].1 = value,
            None => {
                self.key_bits |= bit;
                self.entries.push((key, value));
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.position(key)?;
        let (_, value) = self.entries.remove(i);
        Some(self.text(&value).to_owned())
    }

    /// Keeps only the pairs for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        let mut entries = std::mem::take(&mut self.entries);
        entries.retain(|(k, v)| keep(self.text(k), self.text(v)));
        self.entries = entries;
    }

    /// The pairs, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries
            .iter()
            .map(|(k, v)| (self.text(k), self.text(v)))
    }

    /// The keys, in insertion order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|(k, _)| self.text(k))
    }

    /// How many pairs there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no pair.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        if self.key_bits & key_bit(key) == 0 {
            return None;
        }
        let key = key.as_bytes();
        self.entries.iter().position(|(k, _)| self.bytes(k) == key)
    }

    /// The bytes of `t`: what comparing keys needs, without re-checking character boundaries.
    fn bytes<'a>(&'a self, t: &'a Text) -> &'a [u8] {
        match t {
            Text::Span(start, end) => self
                .source
                .as_deref()
                .and_then(|s| s.as_bytes().get(*start as usize..*end as usize))
                .unwrap_or_default(),
            Text::Static(s) => s.as_bytes(),
            Text::Owned(s) => s.as_bytes(),
        }
    }

    /// Puts `value` in entry `i`, returning the value it had.
    fn replace_value(&mut self, i: usize, value: Text) -> String {
        let old = std::mem::replace(&mut self.entries[i].1, value);
        self.text(&old).to_owned()
    }

    fn text<'a>(&'a self, t: &'a Text) -> &'a str {
        match t {
            Text::Span(start, end) => self
                .source
                .as_deref()
                .and_then(|s| s.get(*start as usize..*end as usize))
                .unwrap_or_default(),
            Text::Static(s) => s,
            Text::Owned(s) => s,
        }
    }
}

/// The filter bit of `key`: from its length and its first and last bytes, which tell apart
/// the keys of one header (`a`..`n`, or Java's field names) in nearly every case.
fn key_bit(key: &str) -> u64 {
    let b = key.as_bytes();
    let first = u32::from(b.first().copied().unwrap_or(0));
    let last = u32::from(b.last().copied().unwrap_or(0));
    let mixed = (b.len() as u32)
        .wrapping_mul(0x9E37_79B9)
        .wrapping_add(first.wrapping_mul(31))
        .wrapping_add(last.wrapping_mul(7));
    1 << (mixed.wrapping_mul(0x85EB_CA6B) >> 26)
}

/// Where a decoded key or value is: a byte range of the header text, or a text of its own.
pub(crate) enum RangeOrText {
    /// Start and end byte offsets into the source text.
    Range(u32, u32),
    Text(String),
}

impl From<RangeOrText> for Text {
    fn from(t: RangeOrText) -> Self {
        match t {
            RangeOrText::Range(start, end) => Text::Span(start, end),
            RangeOrText::Text(s) => Text::Owned(s.into_boxed_str()),
        }
    }
}

impl PartialEq for ExtFields {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl Eq for ExtFields {}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::ops::Index<&str> for ExtFields {
    type Output = str;

    /// The value of `key`; panics when there is none, as a map's index does.
    fn index(&self, key: &str) -> &str {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no extFields entry {key:?}"),
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut map = ExtFields::new();
        map.extend(pairs);
        map
    }
}

impl<K: Into<String>, V: Into<String>> Extend<(K, V)> for ExtFields {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        for (k, v) in pairs {
            self.insert(k.into(), v.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_map() {
        let mut m: ExtFields = [("a", "1"), ("b", "2")].into_iter().collect();
        assert_eq!(m.insert("a".into(), "3".into()), Some("1".to_owned()));
        m.insert_static("c", "4".to_owned());
        assert_eq!(m.get("a"), Some("3"));
        assert_eq!(m.get("c"), Some("4"));
        assert_eq!(m.get("d"), None);
        assert_eq!(m.len(), 3);
        assert_eq!(m.remove("b"), Some("2".to_owned()));
        assert!(!m.contains_key("b"));
        let other: ExtFields = [("c", "4"), ("a", "3")].into_iter().collect();
        assert_eq!(m, other, "equality ignores order");
        m.retain(|k, _| k != "a");
        assert_eq!(m.keys().collect::<Vec<_>>(), ["c"]);
    }

    #[test]
    fn ranges_point_into_the_source_and_the_last_duplicate_wins() {
        let source: Arc<str> = Arc::from("k1v1k2");
        let mut m = ExtFields::over(source, 2);
        m.push_range(RangeOrText::Range(0, 2), RangeOrText::Range(2, 4));
        m.push_range(RangeOrText::Range(4, 6), RangeOrText::Text("x".into()));
        m.push_range(RangeOrText::Range(0, 2), RangeOrText::Text("y".into()));
        assert_eq!(m.iter().collect::<Vec<_>>(), [("k1", "y"), ("k2", "x")]);
        let copy = m.clone();
        drop(m);
        assert_eq!(copy["k2"], *"x");
    }
}
