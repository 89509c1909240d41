//! Batch bodies (§7.5): the concatenated mini records of SEND_BATCH_MESSAGE.

use bytes::Bytes;

use super::{
    decode_properties, property_value, MessageError, MAX_PROPERTIES_LEN, NAME_VALUE_SEPARATOR,
    PROPERTY_SEPARATOR,
};

/// Fixed bytes of one batch mini record (TOTALSIZE, MAGICCODE, BODYCRC, FLAG, BODYLENGTH and
/// PROPERTIESLENGTH).
pub const BATCH_ITEM_FIXED_LEN: usize = 4 + 4 + 4 + 4 + 4 + 2;

/// One message of a batch body.
///
/// Exists so the broker can turn a batch request into individual stored records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    /// Per-message user flag.
    pub flag: i32,
    /// Body (shares the request buffer).
    pub body: Bytes,
    /// Per-message encoded properties.
    pub properties: String,
}

/// Splits a batch body into its messages. MAGICCODE and BODYCRC are ignored, as Java does.
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchItem>, MessageError> {
    let mut items = Vec::new();
    let mut pos = 0usize;
    let buf = &body[..];
    let need = |pos: usize, n: usize, what: &'static str| -> Result<(), MessageError> {
        if pos.checked_add(n).is_none_or(|e| e > buf.len()) {
            Err(MessageError::Truncated {
                what,
                need: pos.saturating_add(n),
                have: buf.len(),
            })
        } else {
            Ok(())
        }
    };
    let be32 = |p: usize| i32::from_be_bytes([buf[p], buf[p + 1], buf[p + 2], buf[p + 3]]);
    while pos < buf.len() {
        need(pos, 20, "batch item header")?;
        let total = be32(pos);
        let flag = be32(pos + 12);
        let body_len = be32(pos + 16);
        if body_len < 0 {
            return Err(MessageError::InvalidLength {
                what: "BODYLENGTH",
                value: i64::from(body_len),
            });
        }
        let body_start = pos + 20;
        need(body_start, body_len as usize + 2, "batch item body")?;
        let body_end = body_start + body_len as usize;
        let props_len = i16::from_be_bytes([buf[body_end], buf[body_end + 1]]);
        if props_len < 0 {
            return Err(MessageError::InvalidLength {
                what: "PROPERTIESLENGTH",
                value: i64::from(props_len),
            });
        }
        let props_start = body_end + 2;
        need(props_start, props_len as usize, "batch item properties")?;
        let end = props_start + props_len as usize;
        let actual = (end - pos) as i64;
        if i64::from(total) != actual {
            return Err(MessageError::SizeMismatch {
                declared: i64::from(total),
                actual,
            });
        }
        let properties = std::str::from_utf8(&buf[props_start..end])
            .map_err(|_| MessageError::InvalidUtf8("batch properties"))?
            .to_owned();
        items.push(BatchItem {
            flag,
            body: body.slice(body_start..body_end),
            properties,
        });
        pos = end;
    }
    Ok(items)
}

/// Encodes messages as a batch body (what a client sends).
///
/// Exists for the client and for broker tests.
pub fn encode_batch(items: &[BatchItem]) -> Result<Vec<u8>, MessageError> {
    let mut out = Vec::new();
    for item in items {
        if item.properties.len() > MAX_PROPERTIES_LEN {
            return Err(MessageError::PropertiesTooLong(item.properties.len()));
        }
        let total = BATCH_ITEM_FIXED_LEN + item.body.len() + item.properties.len();
        out.extend_from_slice(&(total as i32).to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&item.flag.to_be_bytes());
        out.extend_from_slice(&(item.body.len() as i32).to_be_bytes());
        out.extend_from_slice(&item.body);
        out.extend_from_slice(&(item.properties.len() as i16).to_be_bytes());
        out.extend_from_slice(item.properties.as_bytes());
    }
    Ok(out)
}

/// Adds batch-level properties to one inner message's properties, only for keys it lacks.
///
/// Exists because Java 4.9–5.3 brokers appended every batch-level key, which made a 5.x client's
/// batch-level `UNIQ_KEY` override each message's own (apache/rocketmq issue 9416).
pub fn merge_batch_properties(inner: &str, batch: &str) -> String {
    let mut out = String::with_capacity(inner.len() + batch.len() + 1);
    out.push_str(inner);
    if !out.is_empty() && !out.ends_with(PROPERTY_SEPARATOR) {
        out.push(PROPERTY_SEPARATOR);
    }
    let mut batch_pairs: Vec<(String, String)> = decode_properties(batch).into_iter().collect();
    batch_pairs.sort();
    for (name, value) in batch_pairs {
        if property_value(inner, &name).is_none() {
            out.push_str(&name);
            out.push(NAME_VALUE_SEPARATOR);
            out.push_str(&value);
            out.push(PROPERTY_SEPARATOR);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn merge_keeps_inner_keys() {
        let merged = merge_batch_properties(
            "UNIQ_KEY\u{1}A\u{2}",
            "UNIQ_KEY\u{1}B\u{2}WAIT\u{1}true\u{2}",
        );
        assert_eq!(property_value(&merged, "UNIQ_KEY"), Some("A"));
        assert_eq!(property_value(&merged, "WAIT"), Some("true"));
        let merged = merge_batch_properties("K\u{1}v", "WAIT\u{1}true\u{2}");
        assert_eq!(merged, "K\u{1}v\u{2}WAIT\u{1}true\u{2}");
    }

    #[test]
    fn truncated_batch_rejected() {
        let items = vec![BatchItem {
            flag: 1,
            body: Bytes::from_static(b"abc"),
            properties: "A\u{1}b\u{2}".into(),
        }];
        let enc = encode_batch(&items).unwrap();
        for cut in 1..enc.len() {
            assert!(decode_batch(&Bytes::copy_from_slice(&enc[..cut])).is_err());
        }
        assert_eq!(decode_batch(&Bytes::from(enc)).unwrap(), items);
    }

    proptest! {
        #[test]
        fn round_trip(items in proptest::collection::vec(
            (any::<i32>(), proptest::collection::vec(any::<u8>(), 0..300), "[a-z]{1,5}\u{1}[a-z]{1,5}\u{2}"), 0..10)) {
            let items: Vec<BatchItem> = items.into_iter()
                .map(|(flag, body, properties)| BatchItem { flag, body: Bytes::from(body), properties })
                .collect();
            let enc = encode_batch(&items).unwrap();
            prop_assert_eq!(decode_batch(&Bytes::from(enc)).unwrap(), items);
        }
    }
}
