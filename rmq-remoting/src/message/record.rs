//! The stored message record (§7.3): the bytes the commit log holds and a pull hands out as is.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;

use super::{sys_flag, MessageError, MAX_PROPERTIES_LEN};

/// Magic code of a v1 record (1-byte topic length). Written whenever the topic fits in 127 bytes,
/// because 4.9 Java clients and the Go client cannot decode v2.
pub const MAGIC_CODE_V1: u32 = 0xDAA3_20A7;
/// Magic code of a v2 record (2-byte topic length), used only for topics longer than 127 bytes.
pub const MAGIC_CODE_V2: u32 = 0xDAA3_20AB;
/// Magic code of the padding that fills the end of a commit-log file; never sent to clients.
pub const BLANK_MAGIC_CODE: u32 = 0xCBD4_3194;

/// Offset of TOTALSIZE .. SYSFLAG are fixed; hosts make the rest variable.
const OFF_SYSFLAG: usize = 36;
const OFF_BORN_HOST: usize = 48;

/// CRC32 (IEEE) of a body with the top bit cleared, as RocketMQ stores it (§7.7).
///
/// Exists so the store (on append and recovery) and the client (on pull) agree on the checksum.
pub fn body_crc32(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

fn host_len(sys_flag: i32, v6_bit: i32) -> usize {
    if sys_flag & v6_bit != 0 {
        20
    } else {
        8
    }
}

fn topic_len_width(topic_len: usize) -> usize {
    if topic_len > 127 {
        2
    } else {
        1
    }
}

/// Size in bytes of a record with these field lengths and host kinds (taken from `sys_flag`).
///
/// Exists so the store can reserve exactly the right space before writing in place.
pub fn record_size(
    sys_flag: i32,
    topic_len: usize,
    body_len: usize,
    properties_len: usize,
) -> usize {
    4 + 4
        + 4
        + 4
        + 4
        + 8
        + 8
        + 4
        + 8
        + host_len(sys_flag, sys_flag::BORNHOST_V6)
        + 8
        + host_len(sys_flag, sys_flag::STOREHOST_V6)
        + 4
        + 8
        + 4
        + body_len
        + topic_len_width(topic_len)
        + topic_len
        + 2
        + properties_len
}

/// A stored record, borrowed from the bytes it was decoded from (or about to be written to).
///
/// Exists so the store's dispatcher and recovery scan can read every field of every record without
/// allocating, and so encoding can write straight into a mapped file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// TOTALSIZE: the whole record's length.
    pub total_size: i32,
    /// MAGICCODE (v1 or v2).
    pub magic: u32,
    /// BODYCRC as stored.
    pub body_crc: i32,
    /// QUEUEID.
    pub queue_id: i32,
    /// FLAG (user flag).
    pub flag: i32,
    /// QUEUEOFFSET: logical offset in the consume queue.
    pub queue_offset: i64,
    /// PHYSICALOFFSET: commit-log offset of the record.
    pub physical_offset: i64,
    /// SYSFLAG (§7.4); the host bits agree with `born_host`/`store_host`.
    pub sys_flag: i32,
    /// BORNTIMESTAMP, ms.
    pub born_timestamp: i64,
    /// BORNHOST.
    pub born_host: SocketAddr,
    /// STORETIMESTAMP, ms.
    pub store_timestamp: i64,
    /// STOREHOST.
    pub store_host: SocketAddr,
    /// RECONSUMETIMES.
    pub reconsume_times: i32,
    /// PREPARED_TRANSACTION_OFFSET.
    pub prepared_transaction_offset: i64,
    /// The body as stored (possibly compressed).
    pub body: &'a [u8],
    /// The topic.
    pub topic: &'a str,
    /// The encoded properties string (§7.1).
    pub properties: &'a str,
}

impl RecordView<'_> {
    /// Copies the view into an owned [`MessageExt`].
    pub fn to_owned_message(&self) -> MessageExt {
        MessageExt {
            queue_id: self.queue_id,
            body_crc: self.body_crc,
            flag: self.flag,
            queue_offset: self.queue_offset,
            commit_log_offset: self.physical_offset,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            store_timestamp: self.store_timestamp,
            store_host: self.store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body: Bytes::copy_from_slice(self.body),
            topic: self.topic.to_owned(),
            properties: self.properties.to_owned(),
        }
    }

    /// The sysFlag with the host bits forced to match the host address kinds.
    pub fn effective_sys_flag(&self) -> i32 {
        let mut f = self.sys_flag & !(sys_flag::BORNHOST_V6 | sys_flag::STOREHOST_V6);
        if self.born_host.is_ipv6() {
            f |= sys_flag::BORNHOST_V6;
        }
        if self.store_host.is_ipv6() {
            f |= sys_flag::STOREHOST_V6;
        }
        f
    }

    /// Size of this record when encoded.
    pub fn encoded_size(&self) -> usize {
        record_size(
            self.effective_sys_flag(),
            self.topic.len(),
            self.body.len(),
            self.properties.len(),
        )
    }
}

/// An owned stored message (Java `MessageExt`): what the client decodes from a pull body and what
/// `MessageDecoder.encode` writes for transaction checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    /// Topic.
    pub topic: String,
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Logical offset in the consume queue.
    pub queue_offset: i64,
    /// Physical commit-log offset.
    pub commit_log_offset: i64,
    /// sysFlag (§7.4). Host bits are recomputed from the host kinds on encode.
    pub sys_flag: i32,
    /// Born timestamp, ms.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Store timestamp, ms.
    pub store_timestamp: i64,
    /// Broker address.
    pub store_host: SocketAddr,
    /// Reconsume count.
    pub reconsume_times: i32,
    /// Half-message offset for committed transactional messages.
    pub prepared_transaction_offset: i64,
    /// Body CRC as stored (recomputed on [`MessageExt::encode`]).
    pub body_crc: i32,
    /// Body as stored.
    pub body: Bytes,
    /// Encoded properties string.
    pub properties: String,
}

impl MessageExt {
    /// Borrows this message as a [`RecordView`] (for writing).
    pub fn as_view(&self) -> RecordView<'_> {
        let mut v = RecordView {
            total_size: 0,
            magic: if self.topic.len() > 127 {
                MAGIC_CODE_V2
            } else {
                MAGIC_CODE_V1
            },
            body_crc: body_crc32(&self.body),
            queue_id: self.queue_id,
            flag: self.flag,
            queue_offset: self.queue_offset,
            physical_offset: self.commit_log_offset,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            store_timestamp: self.store_timestamp,
            store_host: self.store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body: &self.body,
            topic: &self.topic,
            properties: &self.properties,
        };
        v.sys_flag = v.effective_sys_flag();
        v.total_size = v.encoded_size() as i32;
        v
    }

    /// Encodes this message as a stored record (body CRC computed fresh).
    pub fn encode(&self) -> Result<Vec<u8>, MessageError> {
        let view = self.as_view();
        let mut out = vec![0u8; view.encoded_size()];
        write_record(&view, &mut out)?;
        Ok(out)
    }
}

struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }
    fn i32(&mut self, v: i32) {
        self.put(&v.to_be_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.put(&v.to_be_bytes());
    }
    fn host(&mut self, addr: &SocketAddr) {
        match addr.ip() {
            IpAddr::V4(ip) => self.put(&ip.octets()),
            IpAddr::V6(ip) => self.put(&ip.octets()),
        }
        self.i32(i32::from(addr.port()));
    }
}

/// Writes `view` as a record into `out`, which must be exactly `view.encoded_size()` bytes.
///
/// TOTALSIZE, the magic code and the host bits of SYSFLAG are derived from the fields; BODYCRC is
/// written as given (the store computes it once). Exists so the store can encode in place, straight
/// into a mapped commit-log file.
pub fn write_record(view: &RecordView<'_>, out: &mut [u8]) -> Result<(), MessageError> {
    if view.properties.len() > MAX_PROPERTIES_LEN {
        return Err(MessageError::PropertiesTooLong(view.properties.len()));
    }
    if view.topic.len() > i16::MAX as usize {
        return Err(MessageError::TopicTooLong(view.topic.len()));
    }
    let need = view.encoded_size();
    if out.len() != need {
        return Err(MessageError::BufferSize {
            need,
            have: out.len(),
        });
    }
    let sys = view.effective_sys_flag();
    let v2 = view.topic.len() > 127;
    let mut w = Writer { buf: out, pos: 0 };
    w.i32(need as i32);
    w.put(&(if v2 { MAGIC_CODE_V2 } else { MAGIC_CODE_V1 }).to_be_bytes());
    w.i32(view.body_crc);
    w.i32(view.queue_id);
    w.i32(view.flag);
    w.i64(view.queue_offset);
    w.i64(view.physical_offset);
    w.i32(sys);
    w.i64(view.born_timestamp);
    w.host(&view.born_host);
    w.i64(view.store_timestamp);
    w.host(&view.store_host);
    w.i32(view.reconsume_times);
    w.i64(view.prepared_transaction_offset);
    w.i32(view.body.len() as i32);
    w.put(view.body);
    if v2 {
        w.put(&(view.topic.len() as u16).to_be_bytes());
    } else {
        w.put(&[view.topic.len() as u8]);
    }
    w.put(view.topic.as_bytes());
    w.put(&(view.properties.len() as u16).to_be_bytes());
    w.put(view.properties.as_bytes());
    Ok(())
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], MessageError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or(MessageError::Truncated {
                what,
                need: self.pos.saturating_add(n),
                have: self.buf.len(),
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn i32(&mut self, what: &'static str) -> Result<i32, MessageError> {
        let s = self.take(4, what)?;
        Ok(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn i64(&mut self, what: &'static str) -> Result<i64, MessageError> {
        let s = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(i64::from_be_bytes(a))
    }
    fn host(&mut self, v6: bool, what: &'static str) -> Result<SocketAddr, MessageError> {
        let ip = if v6 {
            let s = self.take(16, what)?;
            let mut a = [0u8; 16];
            a.copy_from_slice(s);
            IpAddr::V6(Ipv6Addr::from(a))
        } else {
            let s = self.take(4, what)?;
            IpAddr::V4(Ipv4Addr::new(s[0], s[1], s[2], s[3]))
        };
        let port = self.i32(what)?;
        Ok(SocketAddr::new(ip, port as u16))
    }
}

/// Decodes one record from the start of `buf` (which may hold more bytes after it).
///
/// Checks the magic code, that TOTALSIZE matches the length fields, and, when `verify_crc` is set,
/// the body CRC. Exists for the store's recovery scan (which must reject torn or corrupt records)
/// and for clients decoding pull bodies. A [`BLANK_MAGIC_CODE`] padding is reported as
/// [`MessageError::BadMagic`]; the store checks for padding itself before calling this.
pub fn decode_record(buf: &[u8], verify_crc: bool) -> Result<RecordView<'_>, MessageError> {
    let mut r = Reader { buf, pos: 0 };
    let total_size = r.i32("TOTALSIZE")?;
    let magic = r.i32("MAGICCODE")? as u32;
    if magic != MAGIC_CODE_V1 && magic != MAGIC_CODE_V2 {
        return Err(MessageError::BadMagic(magic));
    }
    if total_size < 0 {
        return Err(MessageError::InvalidLength {
            what: "TOTALSIZE",
            value: i64::from(total_size),
        });
    }
    if total_size as usize > buf.len() {
        return Err(MessageError::Truncated {
            what: "record",
            need: total_size as usize,
            have: buf.len(),
        });
    }
    // Only look at the record's own bytes from here on.
    let mut r = Reader {
        buf: &buf[..total_size as usize],
        pos: 8,
    };
    let body_crc = r.i32("BODYCRC")?;
    let queue_id = r.i32("QUEUEID")?;
    let flag = r.i32("FLAG")?;
    let queue_offset = r.i64("QUEUEOFFSET")?;
    let physical_offset = r.i64("PHYSICALOFFSET")?;
    let sys = r.i32("SYSFLAG")?;
    let born_timestamp = r.i64("BORNTIMESTAMP")?;
    let born_host = r.host(sys & sys_flag::BORNHOST_V6 != 0, "BORNHOST")?;
    let store_timestamp = r.i64("STORETIMESTAMP")?;
    let store_host = r.host(sys & sys_flag::STOREHOST_V6 != 0, "STOREHOST")?;
    let reconsume_times = r.i32("RECONSUMETIMES")?;
    let prepared_transaction_offset = r.i64("PREPARED_TRANSACTION_OFFSET")?;
    let body_len = r.i32("BODYLENGTH")?;
    if body_len < 0 {
        return Err(MessageError::InvalidLength {
            what: "BODYLENGTH",
            value: i64::from(body_len),
        });
    }
    let body = r.take(body_len as usize, "BODY")?;
    let topic_len = if magic == MAGIC_CODE_V2 {
        let s = r.take(2, "TOPICLENGTH")?;
        usize::from(u16::from_be_bytes([s[0], s[1]]))
    } else {
        let s = r.take(1, "TOPICLENGTH")?;
        // Java reads a signed byte.
        let l = s[0] as i8;
        if l < 0 {
            return Err(MessageError::InvalidLength {
                what: "TOPICLENGTH",
                value: i64::from(l),
            });
        }
        l as usize
    };
    let topic = std::str::from_utf8(r.take(topic_len, "TOPIC")?)
        .map_err(|_| MessageError::InvalidUtf8("topic"))?;
    let props_len = {
        let s = r.take(2, "PROPERTIESLENGTH")?;
        i16::from_be_bytes([s[0], s[1]])
    };
    if props_len < 0 {
        return Err(MessageError::InvalidLength {
            what: "PROPERTIESLENGTH",
            value: i64::from(props_len),
        });
    }
    let properties = std::str::from_utf8(r.take(props_len as usize, "PROPERTIES")?)
        .map_err(|_| MessageError::InvalidUtf8("properties"))?;
    if r.pos != total_size as usize {
        return Err(MessageError::SizeMismatch {
            declared: i64::from(total_size),
            actual: r.pos as i64,
        });
    }
    if verify_crc {
        let computed = body_crc32(body);
        if computed != body_crc {
            return Err(MessageError::BodyCrcMismatch {
                stored: body_crc,
                computed,
            });
        }
    }
    Ok(RecordView {
        total_size,
        magic,
        body_crc,
        queue_id,
        flag,
        queue_offset,
        physical_offset,
        sys_flag: sys,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties,
    })
}

/// Reads STORETIMESTAMP from the start of a record without decoding the rest.
///
/// Exists for the consume queue's search-by-time, which binary-searches on store time.
pub fn store_timestamp_at(record: &[u8]) -> Option<i64> {
    let sys = i32::from_be_bytes(record.get(OFF_SYSFLAG..OFF_SYSFLAG + 4)?.try_into().ok()?);
    let pos = OFF_BORN_HOST + host_len(sys, sys_flag::BORNHOST_V6);
    Some(i64::from_be_bytes(
        record.get(pos..pos + 8)?.try_into().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> MessageExt {
        MessageExt {
            topic: "TopicTest".into(),
            queue_id: 3,
            flag: 7,
            queue_offset: 42,
            commit_log_offset: 0x1234,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: "10.0.0.1:50000".parse().unwrap(),
            store_timestamp: 1_700_000_000_005,
            store_host: "192.168.1.10:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body_crc: body_crc32(b"Hello RocketMQ"),
            body: Bytes::from_static(b"Hello RocketMQ"),
            properties: "TAGS\u{1}TagA\u{2}".into(),
        }
    }

    #[test]
    fn crc_matches_spec_example() {
        assert_eq!(body_crc32(b"Hello RocketMQ"), 1_774_740_973);
    }

    #[test]
    fn ipv4_layout() {
        let m = sample();
        let bytes = m.encode().unwrap();
        assert_eq!(bytes.len(), 91 + 14 + 9 + 10);
        assert_eq!(&bytes[0..4], &(bytes.len() as i32).to_be_bytes());
        assert_eq!(&bytes[4..8], &MAGIC_CODE_V1.to_be_bytes());
        assert_eq!(&bytes[8..12], &1_774_740_973i32.to_be_bytes());
        assert_eq!(&bytes[48..52], &[10, 0, 0, 1]);
        assert_eq!(&bytes[52..56], &50000i32.to_be_bytes());
        assert_eq!(&bytes[64..68], &[192, 168, 1, 10]);
        assert_eq!(&bytes[84..88], &14i32.to_be_bytes());
        assert_eq!(bytes[88 + 14], 9);
        assert_eq!(store_timestamp_at(&bytes), Some(1_700_000_000_005));
        let back = decode_record(&bytes, true).unwrap().to_owned_message();
        assert_eq!(back, m);
    }

    #[test]
    fn ipv6_and_v2() {
        let mut m = sample();
        m.born_host = "[::1]:9".parse().unwrap();
        m.topic = "t".repeat(200);
        let bytes = m.encode().unwrap();
        assert_eq!(bytes.len(), 91 + 12 + 1 + 14 + 200 + 10);
        assert_eq!(&bytes[4..8], &MAGIC_CODE_V2.to_be_bytes());
        let v = decode_record(&bytes, true).unwrap();
        assert_eq!(v.sys_flag & sys_flag::BORNHOST_V6, sys_flag::BORNHOST_V6);
        assert_eq!(store_timestamp_at(&bytes), Some(m.store_timestamp));
        m.sys_flag |= sys_flag::BORNHOST_V6;
        assert_eq!(v.to_owned_message(), m);
    }

    #[test]
    fn detects_corruption_and_truncation() {
        let bytes = sample().encode().unwrap();
        for cut in 0..bytes.len() {
            assert!(decode_record(&bytes[..cut], true).is_err(), "cut at {cut}");
        }
        let mut bad = bytes.clone();
        bad[90] ^= 0xFF; // inside the body
        assert!(matches!(
            decode_record(&bad, true),
            Err(MessageError::BodyCrcMismatch { .. })
        ));
        assert!(decode_record(&bad, false).is_ok());
        let mut bad = bytes;
        bad[4] = 0;
        assert!(matches!(
            decode_record(&bad, true),
            Err(MessageError::BadMagic(_))
        ));
    }

    fn arb_addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>())
                .prop_map(|(ip, p)| SocketAddr::new(IpAddr::from(ip), p)),
            (any::<[u8; 16]>(), any::<u16>())
                .prop_map(|(ip, p)| SocketAddr::new(IpAddr::from(ip), p)),
        ]
    }

    prop_compose! {
        fn arb_msg()(topic in "[a-zA-Z0-9_%-]{1,300}", queue_id in any::<i32>(), flag in any::<i32>(),
                     queue_offset in any::<i64>(), commit_log_offset in any::<i64>(),
                     sys in 0i32..0x800, born_timestamp in any::<i64>(), born_host in arb_addr(),
                     store_timestamp in any::<i64>(), store_host in arb_addr(),
                     reconsume_times in any::<i32>(), prepared in any::<i64>(),
                     body in proptest::collection::vec(any::<u8>(), 0..2048),
                     properties in "[^\u{1}\u{2}]{0,10}\u{1}[a-z]{1,10}\u{2}") -> MessageExt {
            let mut m = MessageExt {
                topic, queue_id, flag, queue_offset, commit_log_offset, sys_flag: sys, born_timestamp,
                born_host, store_timestamp, store_host, reconsume_times,
                prepared_transaction_offset: prepared, body_crc: body_crc32(&body),
                body: Bytes::from(body), properties,
            };
            m.sys_flag = m.as_view().sys_flag;
            m
        }
    }

    proptest! {
        #[test]
        fn round_trip(m in arb_msg()) {
            let bytes = m.encode().unwrap();
            prop_assert_eq!(bytes.len(), m.as_view().encoded_size());
            let v = decode_record(&bytes, true).unwrap();
            prop_assert_eq!(v.total_size as usize, bytes.len());
            prop_assert_eq!(store_timestamp_at(&bytes), Some(m.store_timestamp));
            prop_assert_eq!(v.to_owned_message(), m);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_record(&data, true);
            let _ = store_timestamp_at(&data);
        }
    }
}
