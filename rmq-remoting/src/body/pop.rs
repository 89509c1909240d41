//! BATCH_ACK_MESSAGE's body (Java's `BatchAckMessageRequestBody` and `BatchAck`): many popped
//! messages acked in one request, grouped by the pop that handed them out. Java names the
//! `BatchAck` fields with one or two letters on the wire and reads the long names too; the
//! acked offsets are a `java.util.BitSet` written as base64 of `BitSet.toByteArray()` (bit `i`
//! is offset `startOffset + i`).

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// BATCH_ACK_MESSAGE (200151) body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchAckMessageRequestBody {
    /// Acks, one per (retry, queue, pop) of the receipts acked.
    #[serde(default)]
    pub acks: Vec<BatchAck>,
    /// The broker the messages were popped from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_name: Option<String>,
}

/// The messages of one pop from one queue that are acked; fields in fastjson's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchAck {
    /// Acked offsets relative to `start_offset`, as `BitSet.toByteArray()` (little-endian).
    #[serde(
        rename = "b",
        alias = "bitSet",
        default,
        serialize_with = "bits_to_base64",
        deserialize_with = "bits_from_base64"
    )]
    pub bit_set: Vec<u8>,
    /// Consumer group.
    #[serde(rename = "c", alias = "consumerGroup")]
    pub consumer_group: String,
    /// The pop's invisible time, ms.
    #[serde(rename = "it", alias = "invisibleTime")]
    pub invisible_time: i64,
    /// The pop's time, ms (the receipts' `popTime`).
    #[serde(rename = "pt", alias = "popTime")]
    pub pop_time: i64,
    /// Queue.
    #[serde(rename = "q", alias = "queueId")]
    pub queue_id: i32,
    /// The receipts' `retry` mark: `0` the topic, `1` or `2` the group's pop retry topic.
    #[serde(rename = "r", alias = "retry")]
    pub retry: String,
    /// The receipts' revive queue.
    #[serde(rename = "rq", alias = "reviveQueueId")]
    pub revive_queue_id: i32,
    /// The receipts' `ckQueueOffset`: offset of bit 0.
    #[serde(rename = "so", alias = "startOffset")]
    pub start_offset: i64,
    /// The normal topic (the retry topic follows from `retry`).
    #[serde(rename = "t", alias = "topic")]
    pub topic: String,
}

impl BatchAck {
    /// The queue offsets this ack names.
    pub fn offsets(&self) -> impl Iterator<Item = i64> + '_ {
        self.bit_set
            .iter()
            .enumerate()
            .flat_map(move |(byte, bits)| {
                (0..8)
                    .filter(move |bit| bits & (1 << bit) != 0)
                    .map(move |bit| self.start_offset + (byte * 8 + bit) as i64)
            })
    }

    /// Marks `offset` (at or after `start_offset`) as acked; an offset before it is ignored.
    pub fn set(&mut self, offset: i64) {
        let Ok(index) = usize::try_from(offset - self.start_offset) else {
            return;
        };
        if self.bit_set.len() <= index / 8 {
            self.bit_set.resize(index / 8 + 1, 0);
        }
        self.bit_set[index / 8] |= 1 << (index % 8);
    }
}

fn bits_to_base64<S: Serializer>(bits: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bits))
}

fn bits_from_base64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastjson::{from_slice, to_vec, KeyStyle};

    #[test]
    fn reads_javas_short_names_and_bitset() {
        // What Java's client writes for offsets 10, 12 and 19 acked from startOffset 10:
        // BitSet{0, 2, 9}.toByteArray() = [0x05, 0x02].
        let java = br#"{"acks":[{"b":"BQI=","c":"g","it":30000,"pt":1700000000000,"q":1,"r":"0","rq":3,"so":10,"t":"T"}],"brokerName":"broker-a"}"#;
        let body: BatchAckMessageRequestBody = from_slice(java).unwrap();
        assert_eq!(body.broker_name.as_deref(), Some("broker-a"));
        let ack = &body.acks[0];
        assert_eq!(ack.offsets().collect::<Vec<_>>(), vec![10, 12, 19]);
        assert_eq!(
            String::from_utf8(to_vec(&body, KeyStyle::Fastjson))
                .unwrap()
                .as_bytes(),
            java
        );
        let mut built = BatchAck {
            start_offset: 10,
            ..ack.clone()
        };
        built.bit_set.clear();
        for offset in [19, 10, 12, 9] {
            built.set(offset);
        }
        assert_eq!(&built, ack);
        let long: BatchAck = from_slice(
            br#"{"bitSet":"AQ==","consumerGroup":"g","invisibleTime":1,"popTime":2,"queueId":0,"retry":"1","reviveQueueId":0,"startOffset":5,"topic":"T"}"#,
        )
        .unwrap();
        assert_eq!(long.offsets().collect::<Vec<_>>(), vec![5]);
    }
}
