//! The checksummed record framing shared by the Raft log and the snapshot file:
//! `len: u32 LE | crc32(payload): u32 LE | payload`.

/// A record larger than this is corruption, not data: controller state is small.
const MAX_RECORD_LEN: usize = 64 * 1024 * 1024;

/// Appends `payload` as one record to `out`.
pub fn put(payload: &[u8], out: &mut Vec<u8>) -> Result<(), std::io::Error> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|l| *l as usize <= MAX_RECORD_LEN)
        .ok_or_else(|| std::io::Error::other("record too large"))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// The payload of the record at `at` and the offset after it, or `None` when the bytes there
/// are short, oversized or fail the checksum (a torn or corrupt tail).
pub fn next(bytes: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let head = bytes.get(at..at.checked_add(8)?)?;
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if len > MAX_RECORD_LEN {
        return None;
    }
    let end = at + 8 + len;
    let payload = bytes.get(at + 8..end)?;
    (crc32fast::hash(payload) == crc).then_some((payload, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let mut out = Vec::new();
        put(b"abc", &mut out).unwrap();
        put(b"", &mut out).unwrap();
        let (p, at) = next(&out, 0).unwrap();
        assert_eq!(p, b"abc");
        let (p, end) = next(&out, at).unwrap();
        assert_eq!((p, end), (&b""[..], out.len()));
        assert!(next(&out, end).is_none());
        out[9] ^= 1;
        assert!(next(&out, 0).is_none());
        assert!(next(&out[..5], 0).is_none());
    }
}
