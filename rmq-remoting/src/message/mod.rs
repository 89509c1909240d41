//! Message encodings: the properties string, stored message records, batch bodies, message ids.
//!
//! Everything here is pure (no I/O, no clocks): the broker, the store and the client all need the
//! same byte layouts, so they live once, next to the rest of the protocol, where they can be
//! property-tested in isolation. Layouts follow docs/remoting-protocol.md §7–§9.

mod batch;
mod error;
mod msgid;
mod properties;
mod record;
mod tags;

pub use batch::{
    decode_batch, encode_batch, merge_batch_properties, BatchItem, BATCH_ITEM_FIXED_LEN,
};
pub use error::MessageError;
pub use msgid::{decode_offset_msg_id, encode_offset_msg_id, encode_uniq_id};
pub use properties::{
    decode_properties, edit_properties, encode_properties, iter_pairs, keys, property_value,
    property_values, reply_topic, validate_property_text, MAX_PROPERTIES_LEN, NAME_VALUE_SEPARATOR,
    PROPERTY_SEPARATOR, REPLY_MESSAGE_FLAG,
};
pub use record::{
    body_crc32, decode_record, record_size, store_timestamp_at, write_record, MessageExt,
    RecordView, BLANK_MAGIC_CODE, MAGIC_CODE_V1, MAGIC_CODE_V2,
};
pub use tags::{java_string_hash, java_string_hash_of, tags_code, TagSubscription};

/// Bits of the message `sysFlag` (§7.4), shared by producers, broker and store.
pub mod sys_flag {
    /// The body is compressed (the store never decompresses it).
    pub const COMPRESSED: i32 = 0x1;
    /// The broker set the topic filter type to MULTI_TAG.
    pub const MULTI_TAGS: i32 = 0x2;
    /// Mask of the two transaction-type bits.
    pub const TRANSACTION_MASK: i32 = 0xC;
    /// Not a transactional message.
    pub const TRANSACTION_NOT_TYPE: i32 = 0x0;
    /// A transactional half message: stored but never dispatched to consumers.
    pub const TRANSACTION_PREPARED: i32 = 0x4;
    /// A committed transactional message: dispatched like a normal one.
    pub const TRANSACTION_COMMIT: i32 = 0x8;
    /// A rolled-back transactional message: stored but never dispatched.
    pub const TRANSACTION_ROLLBACK: i32 = 0xC;
    /// The born host in the record is 16+4 bytes (IPv6).
    pub const BORNHOST_V6: i32 = 0x10;
    /// The store host in the record is 16+4 bytes (IPv6).
    pub const STOREHOST_V6: i32 = 0x20;
    /// 5.x inner batch: the consumer must unwrap.
    pub const NEED_UNWRAP: i32 = 0x40;
    /// 5.x inner batch flag.
    pub const INNER_BATCH: i32 = 0x80;
    /// Mask of the compression type bits (value << 8).
    pub const COMPRESSION_TYPE_MASK: i32 = 0x700;

    /// The transaction type bits of a sysFlag, so callers can decide about dispatch.
    pub fn transaction_type(sys_flag: i32) -> i32 {
        sys_flag & TRANSACTION_MASK
    }
}
