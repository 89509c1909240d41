//! Arbitrary bytes as a TCP stream into `decode_frame`, with two oracles:
//!
//! 1. Streaming: feeding the bytes in small chunks (as a socket would deliver them) yields
//!    exactly the commands and the final state that decoding the whole buffer at once does, and
//!    an incomplete frame consumes nothing.
//! 2. Round trip: every decoded command, re-encoded in JSON and in ROCKETMQ binary and decoded
//!    again, comes back equal — exactly for JSON (the first decode already normalised what JSON
//!    cannot keep: unknown language names → OTHER, extFields numbers → strings), and for binary
//!    after the losses the binary layout documents (§2.5: 16-bit code/version, zero-length
//!    remark/key/value = absent). A second round trip must change nothing.
//!
//! Each input is decoded with a small maximum frame length and with the 16 MiB default.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rmq_remoting::frame::{decode_frame, encode_frame, DEFAULT_MAX_FRAME_LEN};
use rmq_remoting::{RemotingCommand, SerializeType};

/// Small enough that many fuzz inputs announce frames over the limit.
const SMALL_MAX_FRAME_LEN: usize = 256;

#[derive(Debug, PartialEq)]
enum End {
    /// The stream ended with this many undecoded bytes (a partial frame, or none).
    Incomplete(usize),
    /// Decoding failed; the connection would be closed. Debug text of the error.
    Failed(String),
}

#[derive(Debug, PartialEq)]
struct Outcome {
    commands: Vec<RemotingCommand>,
    end: End,
}

/// Decodes frames from `buf` until it is incomplete or fails; checks that `Ok(None)` consumes
/// nothing. Returns `Some(error)` on failure.
fn drain(buf: &mut BytesMut, max: usize, commands: &mut Vec<RemotingCommand>) -> Option<String> {
    loop {
        // decode_frame can only consume from the front, so the length and the first bytes
        // (the length prefix) tell whether anything was consumed; cheaper than a copy.
        let before_len = buf.len();
        let mut before_head = [0u8; 8];
        let head = before_len.min(8);
        before_head[..head].copy_from_slice(&buf[..head]);
        match decode_frame(buf, max) {
            Ok(Some(cmd)) => {
                assert!(buf.len() < before_len, "a decoded frame consumed nothing");
                commands.push(cmd);
            }
            Ok(None) => {
                assert_eq!(buf.len(), before_len, "an incomplete frame consumed bytes");
                assert_eq!(&buf[..head], &before_head[..head], "an incomplete frame changed bytes");
                return None;
            }
            Err(e) => return Some(format!("{e:?}")),
        }
    }
}

fn decode_whole(stream: &[u8], max: usize) -> Outcome {
    let mut buf = BytesMut::from(stream);
    let mut commands = Vec::new();
    let end = match drain(&mut buf, max, &mut commands) {
        Some(err) => End::Failed(err),
        None => End::Incomplete(buf.len()),
    };
    Outcome { commands, end }
}

fn decode_chunked(stream: &[u8], max: usize, chunk: usize) -> Outcome {
    let mut buf = BytesMut::new();
    let mut commands = Vec::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        if let Some(err) = drain(&mut buf, max, &mut commands) {
            return Outcome {
                commands,
                end: End::Failed(err),
            };
        }
    }
    Outcome {
        commands,
        end: End::Incomplete(buf.len()),
    }
}

/// Encodes `cmd` as one frame in `serialize_type`, checks the frame's length words, and decodes it.
fn round_trip(cmd: &RemotingCommand, serialize_type: SerializeType) -> RemotingCommand {
    let mut cmd = cmd.clone();
    cmd.serialize_type = serialize_type;
    let mut buf = BytesMut::new();
    encode_frame(&cmd, &mut buf);
    let total = u32::from_be_bytes(buf[0..4].try_into().unwrap()) as usize;
    let word = u32::from_be_bytes(buf[4..8].try_into().unwrap());
    assert_eq!(total + 4, buf.len(), "totalLength does not match the frame");
    assert_eq!(word >> 24, u32::from(serialize_type.as_u8()), "wrong type byte");
    assert_eq!(
        (word & 0x00FF_FFFF) as usize + 8 + cmd.body.len(),
        buf.len(),
        "headerLength does not match the frame"
    );
    let frame = buf.clone();
    let back = match decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN) {
        Ok(Some(back)) => back,
        other => panic!(
            "our own {serialize_type:?} frame did not decode: {other:?}\ncommand: {cmd:?}\nframe: {}",
            hex(&frame)
        ),
    };
    assert!(buf.is_empty(), "our own frame left {} bytes", buf.len());
    back
}

/// What the ROCKETMQ binary layout keeps of a command (docs/remoting-protocol.md §2.5).
fn binary_normal_form(cmd: &RemotingCommand) -> RemotingCommand {
    let mut out = cmd.clone();
    out.code = i32::from(cmd.code as i16);
    out.version = i32::from(cmd.version as i16);
    out.remark = cmd.remark.clone().filter(|r| !r.is_empty());
    out.ext_fields.retain(|k, v| !k.is_empty() && !v.is_empty());
    out.serialize_type = SerializeType::RocketMq;
    out
}

fn with_type(cmd: &RemotingCommand, serialize_type: SerializeType) -> RemotingCommand {
    RemotingCommand {
        serialize_type,
        ..cmd.clone()
    }
}

fn check_round_trips(cmd: &RemotingCommand) {
    // JSON keeps everything a decoded command can hold.
    let json = round_trip(cmd, SerializeType::Json);
    assert_eq!(json, with_type(cmd, SerializeType::Json), "JSON round trip");

    // Binary keys carry a 16-bit length; a key longer than that cannot be written (nor can
    // Java write it). Only reachable with JSON headers of more than 32 KiB.
    if cmd.ext_fields.keys().any(|k| k.len() > i16::MAX as usize) {
        return;
    }
    let binary = round_trip(cmd, SerializeType::RocketMq);
    assert_eq!(binary, binary_normal_form(cmd), "binary round trip");

    // Normalised commands are fixed points of both serializations.
    assert_eq!(round_trip(&binary, SerializeType::RocketMq), binary, "binary is not idempotent");
    assert_eq!(
        round_trip(&binary, SerializeType::Json),
        with_type(&binary, SerializeType::Json),
        "binary-normalised command does not survive JSON"
    );
    assert_eq!(
        round_trip(&json, SerializeType::RocketMq),
        binary,
        "JSON-normalised command encodes to different binary"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fuzz_target!(|data: &[u8]| {
    // The chunk size is derived from the content so inputs stay plain wire bytes.
    let chunk = 1 + usize::from(data.first().copied().unwrap_or(0) % 16);
    let mut outcomes = Vec::new();
    for max in [SMALL_MAX_FRAME_LEN, DEFAULT_MAX_FRAME_LEN] {
        let whole = decode_whole(data, max);
        let chunked = decode_chunked(data, max, chunk);
        assert_eq!(whole, chunked, "chunked decoding (chunk {chunk}, max {max}) differs");
        outcomes.push(whole);
    }
    // A lower limit can only cut the stream short, never change what is decoded.
    let (small, default) = (&outcomes[0], &outcomes[1]);
    assert!(small.commands.len() <= default.commands.len());
    assert_eq!(small.commands[..], default.commands[..small.commands.len()]);
    if small.commands.len() < default.commands.len() {
        assert!(
            matches!(&small.end, End::Failed(e) if e.starts_with("TooLarge")),
            "small limit stopped early without TooLarge: {:?}",
            small.end
        );
    }
    for cmd in &default.commands {
        check_round_trips(cmd);
    }
});
