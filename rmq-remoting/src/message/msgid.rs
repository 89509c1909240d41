//! Message ids (§8): the broker's offset id and the client's unique id.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::MessageError;

fn push_hex(out: &mut String, bytes: &[u8]) {
    // Every send answers with an id: a table, not `write!`, keeps this off the profile.
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Builds the offset message id: store host IP, port (4 bytes) and commit-log offset, as
/// upper-case hex (32 chars for IPv4, 56 for IPv6).
///
/// Exists because clients derive it from every pulled record and use it to address
/// VIEW_MESSAGE_BY_ID and END_TRANSACTION; the broker returns it as the send response's `msgId`.
pub fn encode_offset_msg_id(store_host: SocketAddr, physical_offset: i64) -> String {
    let mut out = String::with_capacity(56);
    match store_host.ip() {
        IpAddr::V4(ip) => push_hex(&mut out, &ip.octets()),
        IpAddr::V6(ip) => push_hex(&mut out, &ip.octets()),
    }
    push_hex(&mut out, &i32::from(store_host.port()).to_be_bytes());
    push_hex(&mut out, &physical_offset.to_be_bytes());
    out
}

/// Parses an offset message id back into (store host, commit-log offset); accepts lower case.
///
/// Exists so the broker can serve VIEW_MESSAGE_BY_ID and END_TRANSACTION without an index lookup.
pub fn decode_offset_msg_id(id: &str) -> Result<(SocketAddr, i64), MessageError> {
    let bad = || MessageError::InvalidMessageId(id.to_owned());
    let bytes = parse_hex(id).ok_or_else(bad)?;
    let (ip, rest): (IpAddr, &[u8]) = match bytes.len() {
        16 => (
            IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
            &bytes[4..],
        ),
        28 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&bytes[..16]);
            (IpAddr::V6(Ipv6Addr::from(a)), &bytes[16..])
        }
        _ => return Err(bad()),
    };
    let port = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
    let mut off = [0u8; 8];
    off.copy_from_slice(&rest[4..12]);
    Ok((SocketAddr::new(ip, port as u16), i64::from_be_bytes(off)))
}

/// Builds a Java-style client unique id (`UNIQ_KEY`, §8.2) from its parts, upper-case hex.
///
/// Exists for the client and for tools/tests that need realistic ids; the parts (which involve a
/// clock and a process id) are arguments so this stays pure.
pub fn encode_uniq_id(
    ip: IpAddr,
    pid: u16,
    class_loader_hash: i32,
    ms_since_month_start: u32,
    counter: u16,
) -> String {
    let mut out = String::with_capacity(56);
    match ip {
        IpAddr::V4(ip) => push_hex(&mut out, &ip.octets()),
        IpAddr::V6(ip) => push_hex(&mut out, &ip.octets()),
    }
    push_hex(&mut out, &pid.to_be_bytes());
    push_hex(&mut out, &class_loader_hash.to_be_bytes());
    push_hex(&mut out, &ms_since_month_start.to_be_bytes());
    push_hex(&mut out, &counter.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_examples() {
        let host: SocketAddr = "192.168.1.10:10911".parse().unwrap();
        let id = encode_offset_msg_id(host, 0x1234);
        assert_eq!(id, "C0A8010A00002A9F0000000000001234");
        assert_eq!(
            decode_offset_msg_id(&id.to_lowercase()).unwrap(),
            (host, 0x1234)
        );
        let u = encode_uniq_id(
            "192.168.1.5".parse().unwrap(),
            0x3039,
            0x1B6D3586,
            0x0A1B2C3D,
            1,
        );
        assert_eq!(u, "C0A8010530391B6D35860A1B2C3D0001");
        assert!(decode_offset_msg_id("XYZ").is_err());
        assert!(decode_offset_msg_id("C0A8010A00002A9F00000000000012").is_err());
    }

    proptest! {
        #[test]
        fn offset_id_round_trip(v4 in any::<bool>(), ip4 in any::<[u8; 4]>(), ip6 in any::<[u8; 16]>(),
                                port in any::<u16>(), off in any::<i64>()) {
            let ip = if v4 { IpAddr::from(ip4) } else { IpAddr::from(ip6) };
            let host = SocketAddr::new(ip, port);
            let id = encode_offset_msg_id(host, off);
            prop_assert_eq!(id.len(), if v4 { 32 } else { 56 });
            prop_assert_eq!(decode_offset_msg_id(&id).unwrap(), (host, off));
        }
    }
}
