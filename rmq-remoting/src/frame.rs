//! Framing (docs/remoting-protocol.md §1.2): a 4-byte total length, a 4-byte word holding the
//! serialization type and header length, the header, then the body.
//!
//! [`decode_frame`] and [`encode_frame`] are pure; the transport reads into and writes from
//! their buffers.

use bytes::{Buf, BufMut, BytesMut};

use crate::command::{RemotingCommand, SerializeType};
use crate::error::FrameError;
use crate::header_codec;

/// Java's default `com.rocketmq.remoting.frameMaxLength`: 16 MiB, counting the length prefix.
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// Takes one complete frame off the front of `src` and decodes it.
///
/// Returns `Ok(None)` while the frame is still incomplete (nothing is consumed then). Checks the
/// announced length against `max_frame_len` before waiting for the bytes, so a hostile length
/// cannot make us buffer 4 GiB, and reserves nothing for the bytes announced: the caller's
/// buffer grows as they arrive, so announcing 16 MiB and sending nothing costs nothing.
pub fn decode_frame(
    src: &mut BytesMut,
    max_frame_len: usize,
) -> Result<Option<RemotingCommand>, FrameError> {
    if src.len() < 4 {
        return Ok(None);
    }
    let total = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
    if total.saturating_add(4) > max_frame_len {
        return Err(FrameError::TooLarge {
            len: total.saturating_add(4),
            max: max_frame_len,
        });
    }
    if total < 4 {
        return Err(FrameError::TooShort(total));
    }
    if src.len() < 4 + total {
        return Ok(None);
    }
    src.advance(4);
    let mut frame = src.split_to(total);
    let word = frame.get_u32();
    let header_len = (word & 0x00FF_FFFF) as usize;
    if header_len > frame.len() {
        return Err(FrameError::HeaderBeyondFrame {
            header: header_len,
            available: frame.len(),
        });
    }
    let header = frame.split_to(header_len);
    let mut cmd = match (word >> 24) as u8 {
        0 => header_codec::decode_json(&header)?,
        1 => header_codec::decode_binary(&header)?,
        other => return Err(FrameError::UnknownSerializeType(other)),
    };
    cmd.body = frame.freeze();
    Ok(Some(cmd))
}

/// Appends `cmd` as one frame, with its header in `cmd.serialize_type`.
pub fn encode_frame(cmd: &RemotingCommand, dst: &mut BytesMut) {
    let start = dst.len();
    // The header is rarely more than a few hundred bytes; one reservation saves regrowing.
    dst.reserve(8 + 512 + cmd.body.len());
    dst.put_u32(0); // total length, patched below
    dst.put_u32(0); // header word, patched below
    match cmd.serialize_type {
        SerializeType::Json => header_codec::encode_json(cmd, dst),
        SerializeType::RocketMq => header_codec::encode_binary(cmd, dst),
    }
    let header_len = dst.len() - start - 8;
    dst.extend_from_slice(&cmd.body);
    let total = (dst.len() - start - 4) as u32;
    let word = (u32::from(cmd.serialize_type.as_u8()) << 24) | (header_len as u32 & 0x00FF_FFFF);
    dst[start..start + 4].copy_from_slice(&total.to_be_bytes());
    dst[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
}
