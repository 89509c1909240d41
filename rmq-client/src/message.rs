//! Messages as the application sees them: [`Message`] to send, [`ReceivedMessage`] delivered to
//! listeners.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::net::SocketAddr;

use bytes::Bytes;
use rmq_remoting::body::client::MessageQueue;
use rmq_remoting::message::{
    encode_offset_msg_id, iter_pairs, keys, sys_flag, validate_property_text, RecordView,
    PROPERTY_SEPARATOR,
};

use crate::error::{ClientError, Result};

/// Properties the client manages itself; setting them as user properties would corrupt routing.
const RESERVED: &[&str] = &[
    keys::TAGS,
    keys::KEYS,
    keys::WAIT,
    keys::DELAY,
    keys::UNIQ_KEY,
    keys::TRAN_MSG,
    keys::PGROUP,
];

/// A message to send: topic, body, and the properties Java's `Message` carries (tags, keys,
/// delay level, user properties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    topic: String,
    body: Bytes,
    flag: i32,
    /// Properties set through the typed setters (`TAGS`, `KEYS`, `DELAY`, `WAIT`).
    system: BTreeMap<String, String>,
    /// Properties set with [`Message::with_property`].
    user: BTreeMap<String, String>,
    /// The body is compressed already (sent with the COMPRESSED flag, never compressed again).
    compressed: bool,
}

impl Message {
    /// A message for `topic` with `body`; `WAIT=true` as Java's `waitStoreMsgOK` default.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        let mut system = BTreeMap::new();
        system.insert(keys::WAIT.to_owned(), "true".to_owned());
        Message {
            topic: topic.into(),
            body: body.into(),
            flag: 0,
            system,
            user: BTreeMap::new(),
            compressed: false,
        }
    }

    /// Sets the tag consumers filter on (`TAGS`).
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.system.insert(keys::TAGS.to_owned(), tags.into());
        self
    }

    /// Sets the business keys the broker indexes for QUERY_MESSAGE (`KEYS`, space-separated).
    pub fn with_keys<I, S>(mut self, keys_list: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined: Vec<String> = keys_list
            .into_iter()
            .map(|k| k.as_ref().to_owned())
            .collect();
        self.system.insert(keys::KEYS.to_owned(), joined.join(" "));
        self
    }

    /// Asks the broker to deliver the message at `epoch_ms` (milliseconds since the epoch;
    /// RocketMQ 5's `TIMER_DELIVER_MS`, which rmq's broker honours). A time already past means
    /// now.
    pub fn with_deliver_time_ms(mut self, epoch_ms: i64) -> Self {
        self.system
            .insert(keys::TIMER_DELIVER_MS.to_owned(), epoch_ms.to_string());
        self
    }

    /// Asks the broker to deliver the message after delay level `level` (1 = 1 s … 18 = 2 h);
    /// 0 clears it.
    pub fn with_delay_level(mut self, level: i32) -> Self {
        if level > 0 {
            self.system
                .insert(keys::DELAY.to_owned(), level.to_string());
        } else {
            self.system.remove(keys::DELAY);
        }
        self
    }

    /// Whether the broker should answer only after flushing/replicating (`WAIT`, default true).
    pub fn with_wait_store_msg_ok(mut self, wait: bool) -> Self {
        self.system.insert(keys::WAIT.to_owned(), wait.to_string());
        self
    }

    /// Sets a property the client manages (e.g. `TRAN_MSG`, `UNIQ_KEY`), bypassing the
    /// reserved-name check: for senders that forward messages whose system properties were
    /// decided elsewhere, such as the gRPC proxy.
    pub fn with_system_property(mut self, name: &str, value: &str) -> Self {
        self.system.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Marks the body as compressed by the sender: it goes out as it is with the COMPRESSED
    /// flag, as Apache's gRPC proxy stores a body its client sent GZIP-encoded.
    pub fn with_compressed_body(mut self) -> Self {
        self.compressed = true;
        self
    }

    /// Whether the body was marked compressed by [`Message::with_compressed_body`].
    pub fn body_compressed(&self) -> bool {
        self.compressed
    }

    /// Sets the user flag stored verbatim with the message.
    pub fn with_flag(mut self, flag: i32) -> Self {
        self.flag = flag;
        self
    }

    /// Adds a user property; names reserved by RocketMQ are refused at send time.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.user.insert(name.into(), value.into());
        self
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The user flag.
    pub fn flag(&self) -> i32 {
        self.flag
    }

    /// The tag, if set.
    pub fn tags(&self) -> Option<&str> {
        self.property(keys::TAGS)
    }

    /// The delay level, 0 when none.
    pub fn delay_level(&self) -> i32 {
        self.property(keys::DELAY)
            .and_then(|d| d.parse().ok())
            .unwrap_or(0)
    }

    /// One property (system or user).
    pub fn property(&self, name: &str) -> Option<&str> {
        self.system
            .get(name)
            .or_else(|| self.user.get(name))
            .map(String::as_str)
    }

    /// The user properties.
    pub fn user_properties(&self) -> &BTreeMap<String, String> {
        &self.user
    }

    fn all_properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.system
            .iter()
            .chain(self.user.iter())
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Checks names and values: no separators, no empty names, no reserved names among the
    /// user properties (those are set through the typed setters).
    pub(crate) fn check_properties(&self) -> Result<()> {
        for (name, value) in self.all_properties() {
            if name.is_empty() {
                return Err(ClientError::InvalidMessage("empty property name".into()));
            }
            if RESERVED.contains(&name) && self.user.contains_key(name) {
                return Err(ClientError::InvalidMessage(format!(
                    "the property {name} is reserved by RocketMQ"
                )));
            }
            validate_property_text(name)
                .and_then(|()| validate_property_text(value))
                .map_err(|e| ClientError::InvalidMessage(e.to_string()))?;
        }
        Ok(())
    }

    /// The properties with `UNIQ_KEY` added, encoded for the wire.
    pub(crate) fn encoded_properties(&self, uniq_key: &str) -> String {
        let pairs = self
            .all_properties()
            .filter(|(name, _)| *name != keys::UNIQ_KEY)
            .chain(std::iter::once((keys::UNIQ_KEY, uniq_key)));
        rmq_remoting::message::encode_properties(pairs)
    }
}

/// A consumed message (Java `MessageExt`): body already decompressed, `msg_id` the producer's
/// `UNIQ_KEY` when present, topic restored for retried messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The topic the producer sent to.
    pub topic: String,
    /// The queue it was pulled from (its topic is the retry topic for retried messages).
    pub queue: MessageQueue,
    /// Logical offset in that queue.
    pub queue_offset: i64,
    /// `UNIQ_KEY` if the producer set one, else the offset id.
    pub msg_id: String,
    /// The broker's offset message id (store host + commit-log offset).
    pub offset_msg_id: String,
    /// Commit-log position, needed to send the message back for a retry.
    pub commit_log_offset: i64,
    /// The body, decompressed.
    pub body: Bytes,
    /// All properties (`TAGS`, `KEYS`, `UNIQ_KEY`, user properties, `MIN_OFFSET`, …).
    pub properties: HashMap<String, String>,
    /// User flag.
    pub flag: i32,
    /// Message sysFlag (compression bit cleared after decompression).
    pub sys_flag: i32,
    /// How many times this message has been retried.
    pub reconsume_times: i32,
    /// Producer clock at send, ms.
    pub born_timestamp: i64,
    /// Producer address as the broker saw it.
    pub born_host: SocketAddr,
    /// Broker clock at store, ms.
    pub store_timestamp: i64,
    /// Broker address.
    pub store_host: SocketAddr,
}

impl ReceivedMessage {
    /// The tag, if any.
    pub fn tags(&self) -> Option<&str> {
        self.property(keys::TAGS)
    }

    /// The business keys.
    pub fn keys(&self) -> Vec<&str> {
        self.property(keys::KEYS)
            .map(|k| k.split(' ').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }

    /// One property.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }

    /// Decodes a pulled record the way Java's `PullAPIWrapper.processPullResult` does:
    /// decompress, adopt `UNIQ_KEY` as the id, add `MIN_OFFSET`/`MAX_OFFSET`, restore the
    /// original topic of retried messages.
    pub(crate) fn from_record(
        record: &RecordView<'_>,
        broker_name: &str,
        min_offset: i64,
        max_offset: i64,
        retry_topic: &str,
    ) -> Result<Self, String> {
        Self::from_record_in(
            record,
            None,
            broker_name,
            min_offset,
            max_offset,
            retry_topic,
        )
    }

    /// [`Self::from_record`] for a record decoded from `frame`: an uncompressed body is a
    /// view of `frame` instead of a copy (a pulled batch's bodies share its response buffer,
    /// which lives until the last of them is dropped).
    pub(crate) fn from_record_in(
        record: &RecordView<'_>,
        frame: Option<&Bytes>,
        broker_name: &str,
        min_offset: i64,
        max_offset: i64,
        retry_topic: &str,
    ) -> Result<Self, String> {
        let mut sys = record.sys_flag;
        let body = if sys & sys_flag::COMPRESSED != 0 {
            sys &= !(sys_flag::COMPRESSED | sys_flag::COMPRESSION_TYPE_MASK);
            inflate(record.body)?
        } else {
            match frame {
                Some(frame) => frame.slice_ref(record.body),
                None => Bytes::copy_from_slice(record.body),
            }
        };
        // sized once for the stored properties (the last pair may lack its separator) and the
        // two added below: growing it as they came cost one or two rehashes per message
        let stored = record.properties.matches(PROPERTY_SEPARATOR).count() + 1;
        let mut properties = HashMap::with_capacity(stored + 2);
        let mut uniq_key = None;
        for (name, value) in iter_pairs(record.properties) {
            if name == keys::UNIQ_KEY {
                uniq_key = Some(value);
            }
            properties.insert(name.to_owned(), value.to_owned());
        }
        let offset_msg_id = encode_offset_msg_id(record.store_host, record.physical_offset);
        let msg_id = uniq_key.map_or_else(|| offset_msg_id.clone(), str::to_owned);
        properties.insert(keys::MIN_OFFSET.to_owned(), min_offset.to_string());
        properties.insert(keys::MAX_OFFSET.to_owned(), max_offset.to_string());
        let mut topic = record.topic.to_owned();
        if topic == retry_topic {
            if let Some(original) = properties.get(keys::RETRY_TOPIC) {
                topic = original.clone();
            }
        }
        Ok(ReceivedMessage {
            topic,
            queue: MessageQueue::new(record.topic, broker_name, record.queue_id),
            queue_offset: record.queue_offset,
            msg_id,
            offset_msg_id,
            commit_log_offset: record.physical_offset,
            body,
            properties,
            flag: record.flag,
            sys_flag: sys,
            reconsume_times: record.reconsume_times,
            born_timestamp: record.born_timestamp,
            born_host: record.born_host,
            store_timestamp: record.store_timestamp,
            store_host: record.store_host,
        })
    }
}

/// Largest body a compressed message may inflate to; guards against zip bombs (the broker's
/// own limit on stored bodies is 4 MiB, compressed bodies inflate a few times at most).
const MAX_INFLATED_BODY: u64 = 64 * 1024 * 1024;

/// Inflates a COMPRESSED body: zlib, as Java's producers compress, or gzip (magic `1f 8b`), as a
/// gRPC client's GZIP-encoded body is stored by the 5.x proxy (Java's consumers cannot read
/// those; rmq's can).
pub(crate) fn inflate(data: &[u8]) -> Result<Bytes, String> {
    let mut out = Vec::with_capacity(data.len() * 4);
    let decoder: Box<dyn Read + '_> = if data.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(data))
    } else {
        Box::new(flate2::read::ZlibDecoder::new(data))
    };
    decoder
        .take(MAX_INFLATED_BODY + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot inflate a compressed body: {e}"))?;
    if out.len() as u64 > MAX_INFLATED_BODY {
        return Err("a compressed body inflates beyond 64 MiB".into());
    }
    Ok(Bytes::from(out))
}

/// Compresses a body with zlib (Java `Deflater` with header) at `level`.
pub(crate) fn deflate(data: &[u8], level: u32) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2),
        flate2::Compression::new(level),
    );
    enc.write_all(data)?;
    enc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_bodies_inflate_too() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(5));
        gz.write_all(b"gzip body").unwrap();
        assert_eq!(&inflate(&gz.finish().unwrap()).unwrap()[..], b"gzip body");
    }

    #[test]
    fn compression_round_trips() {
        let body = vec![b'x'; 10_000];
        let packed = deflate(&body, 5).unwrap();
        assert!(packed.len() < 200);
        assert_eq!(&inflate(&packed).unwrap()[..], &body[..]);
        assert!(inflate(b"not zlib").is_err());
    }

    #[test]
    fn reserved_properties_are_refused() {
        let ok = Message::new("T", "b")
            .with_tags("A")
            .with_keys(["k1", "k2"]);
        assert_eq!(ok.property(keys::KEYS), Some("k1 k2"));
        assert!(ok.check_properties().is_ok());
        let bad = Message::new("T", "b").with_property("a", "x\u{1}y");
        assert!(bad.check_properties().is_err());
        let reserved = Message::new("T", "b").with_property(keys::UNIQ_KEY, "x");
        assert!(reserved.check_properties().is_err());
    }
}
