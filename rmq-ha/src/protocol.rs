//! The two frames of the classic HA protocol.

/// Master to slave: commit-log offset (i64) and body length (i32), big-endian.
pub(crate) const TRANSFER_HEADER_SIZE: usize = 12;

/// Slave to master: the slave's commit-log end (i64), big-endian.
pub(crate) const REPORT_SIZE: usize = 8;

/// Largest body a slave accepts in one frame. Masters send `haTransferBatchSize` (32 KiB by
/// default); anything far larger is a broken or hostile peer, and the connection is closed
/// rather than buffering it.
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

/// First 4 bytes of a [`Hello`] ("RMQH").
pub(crate) const HELLO_MAGIC: u32 = 0x524D_5148;
/// Bytes of a [`Hello`].
pub(crate) const HELLO_SIZE: usize = 24;
const HELLO_VERSION: u32 = 1;

/// What a controller-mode slave says first: who it is and which master epoch it follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    /// The slave's controller-assigned broker id.
    pub broker_id: i64,
    /// The master epoch the slave learned from the controller; a master in another epoch
    /// closes the connection.
    pub master_epoch: i32,
}

impl Hello {
    /// The 24 bytes on the wire: magic, version, broker id, master epoch, reserved.
    pub(crate) fn encode(self) -> [u8; HELLO_SIZE] {
        let mut b = [0u8; HELLO_SIZE];
        b[..4].copy_from_slice(&HELLO_MAGIC.to_be_bytes());
        b[4..8].copy_from_slice(&HELLO_VERSION.to_be_bytes());
        b[8..16].copy_from_slice(&self.broker_id.to_be_bytes());
        b[16..20].copy_from_slice(&self.master_epoch.to_be_bytes());
        b
    }

    /// Whether the first 8 bytes a slave sent open a hello rather than report an offset.
    pub(crate) fn starts(first: &[u8; REPORT_SIZE]) -> bool {
        first[..4] == HELLO_MAGIC.to_be_bytes()
    }

    /// Decodes the 16 bytes after the first 8.
    pub(crate) fn decode_rest(rest: &[u8; HELLO_SIZE - REPORT_SIZE]) -> Hello {
        let mut id = [0u8; 8];
        id.copy_from_slice(&rest[..8]);
        let mut epoch = [0u8; 4];
        epoch.copy_from_slice(&rest[8..12]);
        Hello {
            broker_id: i64::from_be_bytes(id),
            master_epoch: i32::from_be_bytes(epoch),
        }
    }
}

/// The header of a frame carrying `len` bytes that belong at commit-log offset `offset`.
pub(crate) fn transfer_header(offset: i64, len: usize) -> [u8; TRANSFER_HEADER_SIZE] {
    let mut h = [0u8; TRANSFER_HEADER_SIZE];
    h[..8].copy_from_slice(&offset.to_be_bytes());
    h[8..].copy_from_slice(&(len as i32).to_be_bytes());
    h
}

/// Decodes a transfer header: (offset, body length). A negative length is returned as is for
/// the caller to refuse.
pub(crate) fn parse_transfer_header(h: &[u8]) -> Option<(i64, i32)> {
    let offset = i64::from_be_bytes(h.get(..8)?.try_into().ok()?);
    let len = i32::from_be_bytes(h.get(8..12)?.try_into().ok()?);
    Some((offset, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hello_round_trips_and_never_reads_as_an_offset() {
        let hello = Hello {
            broker_id: 3,
            master_epoch: 7,
        };
        let b = hello.encode();
        let first: [u8; REPORT_SIZE] = b[..8].try_into().unwrap();
        assert!(Hello::starts(&first));
        assert!(
            i64::from_be_bytes(first) > 1 << 62,
            "not a plausible offset"
        );
        assert!(!Hello::starts(&123_456i64.to_be_bytes()));
        assert_eq!(Hello::decode_rest(b[8..].try_into().unwrap()), hello);
    }

    #[test]
    fn header_round_trips_in_network_order() {
        let h = transfer_header(0x0102_0304_0506_0708, 0x0A0B);
        assert_eq!(h, [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x0A, 0x0B]);
        assert_eq!(
            parse_transfer_header(&h),
            Some((0x0102_0304_0506_0708, 0x0A0B))
        );
        assert_eq!(parse_transfer_header(&h[..11]), None);
    }
}
