//! The two frames of the classic HA protocol.

/// Master to slave: commit-log offset (i64) and body length (i32), big-endian.
pub(crate) const TRANSFER_HEADER_SIZE: usize = 12;

/// Slave to master: the slave's commit-log end (i64), big-endian.
pub(crate) const REPORT_SIZE: usize = 8;

/// Largest body a slave accepts in one frame. Masters send `haTransferBatchSize` (32 KiB by
/// default); anything far larger is a broken or hostile peer, and the connection is closed
/// rather than buffering it.
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

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
