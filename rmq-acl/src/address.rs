//! Remote-address patterns of `whiteRemoteAddress` and `globalWhiteRemoteAddresses`, with the
//! forms Apache's `RemoteAddressStrategyFactory` accepts, matched on parsed addresses.

use std::net::IpAddr;

/// One whitelist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressPattern {
    /// Empty or absent: matches nobody.
    Nobody,
    /// `*`, `*.*.*.*` or `*:*:*:*:*:*:*:*`: matches everybody.
    Anybody,
    /// One address, a comma list (`a,b,c`) or a braced last part (`192.168.0.{1,2}`).
    Exact(Vec<IpAddr>),
    /// `192.168.1.1-5`, `192.168.1.*`, `10.1-20.*.*`, `1050::5:600:300c:1-200`,
    /// `1050::5:600:300c:*`: the leading parts fixed, one part in a range, the rest anything.
    Range {
        /// IPv6 (16-bit parts) or IPv4 (octets).
        v6: bool,
        /// The fixed leading parts.
        prefix: Vec<u16>,
        /// Lowest allowed value of the part after the prefix.
        low: u16,
        /// Highest allowed value of that part.
        high: u16,
    },
}

impl AddressPattern {
    /// Reads one pattern; an error says what is wrong with it.
    pub fn parse(text: &str) -> Result<AddressPattern, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(AddressPattern::Nobody);
        }
        if matches!(text, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(AddressPattern::Anybody);
        }
        let bad = |why: &str| format!("bad remote address {text:?}: {why}");
        if let Some(open) = text.find('{') {
            let inner = text[open + 1..]
                .strip_suffix('}')
                .ok_or_else(|| bad("a '{' list must end the address"))?;
            let head = &text[..open];
            if head.is_empty() || !(head.ends_with('.') || head.ends_with(':')) {
                return Err(bad("the '{' list must replace the last part"));
            }
            let addresses = inner
                .split(',')
                .map(|last| parse_full(&format!("{head}{}", last.trim())).map_err(|e| bad(&e)))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(AddressPattern::Exact(addresses));
        }
        if text.contains(',') {
            let addresses = text
                .split(',')
                .map(|one| parse_full(one.trim()).map_err(|e| bad(&e)))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(AddressPattern::Exact(addresses));
        }
        if text.contains('*') || text.contains('-') {
            return parse_range(text).map_err(|e| bad(&e));
        }
        Ok(AddressPattern::Exact(vec![
            parse_full(text).map_err(|e| bad(&e))?
        ]))
    }

    /// Whether a peer at `peer` matches.
    pub fn matches(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        match self {
            AddressPattern::Nobody => false,
            AddressPattern::Anybody => true,
            AddressPattern::Exact(addresses) => addresses.contains(&peer),
            AddressPattern::Range {
                v6,
                prefix,
                low,
                high,
            } => {
                let parts: Vec<u16> = match (peer, v6) {
                    (IpAddr::V4(v4), false) => v4.octets().iter().map(|&o| u16::from(o)).collect(),
                    (IpAddr::V6(v6), true) => v6.segments().to_vec(),
                    _ => return false,
                };
                parts.starts_with(prefix)
                    && parts
                        .get(prefix.len())
                        .is_some_and(|part| (*low..=*high).contains(part))
            }
        }
    }
}

fn parse_full(text: &str) -> Result<IpAddr, String> {
    text.parse::<IpAddr>()
        .map(|ip| ip.to_canonical())
        .map_err(|_| format!("{text:?} is not an IPv4 or IPv6 address"))
}

/// `a.b.c-d.*` and the IPv6 equivalents: fixed parts, then one range (`x-y` or `*`), then
/// only `*`.
fn parse_range(text: &str) -> Result<AddressPattern, String> {
    let v6 = text.contains(':');
    let (radix, max, count) = if v6 { (16, 0xffff, 8) } else { (10, 255, 4) };
    let parts: Vec<&str> = if v6 {
        expand_v6(text)?
    } else {
        text.split('.').map(str::trim).collect()
    };
    // Apache accepts an IPv6 prefix without `::` followed by `*` ("1050:5:600:300c:3261:*"):
    // the parts it leaves out are anything.
    let mut parts = parts;
    if v6 && parts.len() < count && parts.last() == Some(&"*") {
        parts.resize(count, "*");
    }
    if parts.len() != count {
        return Err(format!("expected {count} parts"));
    }
    let number = |part: &str| {
        u16::from_str_radix(part, radix)
            .ok()
            .filter(|n| u32::from(*n) <= max)
            .ok_or_else(|| format!("{part:?} is not a number from 0 to {max:x}"))
    };
    let at = parts
        .iter()
        .position(|part| *part == "*" || part.contains('-'))
        .ok_or("no range part")?;
    let prefix = parts[..at]
        .iter()
        .map(|part| number(part))
        .collect::<Result<Vec<_>, _>>()?;
    let (low, high) = match parts[at].split_once('-') {
        None => (0, max as u16),
        Some((low, high)) => (number(low.trim())?, number(high.trim())?),
    };
    if low > high {
        return Err(format!("range start {low} is above its end {high}"));
    }
    if parts[at + 1..].iter().any(|part| *part != "*") {
        return Err("only '*' may follow the range part".to_owned());
    }
    Ok(AddressPattern::Range {
        v6,
        prefix,
        low,
        high,
    })
}

/// Splits an IPv6 pattern into its eight parts, filling `::` with zeros.
fn expand_v6(text: &str) -> Result<Vec<&str>, String> {
    match text.split_once("::") {
        None => Ok(text.split(':').collect()),
        Some((head, tail)) => {
            let head: Vec<&str> = head.split(':').filter(|p| !p.is_empty()).collect();
            let tail: Vec<&str> = tail.split(':').filter(|p| !p.is_empty()).collect();
            let zeros = 8usize
                .checked_sub(head.len() + tail.len())
                .filter(|z| *z > 0)
                .ok_or("'::' stands for no part")?;
            Ok(head
                .into_iter()
                .chain(std::iter::repeat_n("0", zeros))
                .chain(tail)
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, peer: &str) -> bool {
        AddressPattern::parse(pattern)
            .unwrap()
            .matches(peer.parse().unwrap())
    }

    /// The shapes of Apache 4.9.7's `RemoteAddressStrategyTest`.
    #[test]
    fn kinds() {
        assert_eq!(AddressPattern::parse("").unwrap(), AddressPattern::Nobody);
        for any in ["*", "*.*.*.*", "*:*:*:*:*:*:*:*"] {
            assert_eq!(AddressPattern::parse(any).unwrap(), AddressPattern::Anybody);
        }
        for range in [
            "127.0.0.1-200",
            "127.0.0.*",
            "127.0.1-20.*",
            "1050::0005:0600:300c:3261:1-200",
            "1050:0005:0600:300c:3261:*",
            "1050::0005:0600:300c:3261:1-20:*",
        ] {
            assert!(
                matches!(
                    AddressPattern::parse(range).unwrap(),
                    AddressPattern::Range { .. }
                ),
                "{range}"
            );
        }
    }

    #[test]
    fn rejects_what_apache_rejects() {
        for bad in [
            "256.0.0.1",
            "::1ggg",
            "127.0.0.2-1",
            "127.0.0.-1",
            "127.0.0.1,2,3}",
            "::1,2,3}",
            "192.168.{1}",
            "{192.168.1}",
            "{192.168.1.1}",
            "192.168.*",
            "127.0.0.256-300",
        ] {
            assert!(AddressPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_address() {
        assert!(matches("127.0.0.1", "127.0.0.1"));
        assert!(!matches("127.0.0.1", "127.0.0.2"));
        assert!(matches("::1", "0000:0000:0000:0000:0000:0000:0000:0001"));
        assert!(!matches("::1", "::2"));
        assert!(matches("127.0.0.1", "::ffff:127.0.0.1"), "v4-mapped peers");
        assert!(!matches("", "127.0.0.1"));
    }

    #[test]
    fn lists() {
        for pattern in ["127.0.0.1,127.0.0.2,127.0.0.3", "127.0.0.{1,2,3}"] {
            for (peer, ok) in [
                ("127.0.0.1", true),
                ("127.0.0.2", true),
                ("127.0.0.3", true),
                ("127.0.0.4", false),
                ("127.0.0.0", false),
            ] {
                assert_eq!(matches(pattern, peer), ok, "{pattern} {peer}");
            }
        }
        for pattern in [
            "1050::0005:0600:300c:1,1050::0005:0600:300c:2,1050::0005:0600:300c:3",
            "1050::0005:0600:300c:{1,2,3}",
        ] {
            assert!(matches(pattern, "1050:0000:0000:0000:0005:0600:300c:3"));
            assert!(!matches(pattern, "1050:0000:0000:0000:0005:0600:300c:4"));
        }
    }

    #[test]
    fn ranges() {
        for i in 0..=255u16 {
            let peer = format!("127.0.0.{i}");
            assert_eq!(matches("127.0.0.1-200", &peer), (1..=200).contains(&i));
            assert!(matches("127.0.0.*", &peer));
            assert!(matches("127.*.*.*", &peer));
        }
        assert!(matches("127.0.1-200.*", "127.0.7.9"));
        assert!(!matches("127.0.1-200.*", "127.0.0.9"));
        assert!(matches("192.100-150.*.*", "192.130.0.2"));
        assert!(!matches("192.100-150.*.*", "192.151.0.2"));
        assert!(
            !matches("127.0.0.*", "::1"),
            "an IPv4 range never matches IPv6"
        );
        // IPv6 parts are hexadecimal: 1-200 is 0x1 to 0x200.
        assert!(matches(
            "1050::0005:0600:300c:1-200",
            "1050::5:600:300c:200"
        ));
        assert!(!matches(
            "1050::0005:0600:300c:1-200",
            "1050::5:600:300c:201"
        ));
        assert!(matches("1050::0005:0600:300c:*", "1050::5:600:300c:ffff"));
        assert!(!matches("1050::0005:0600:3001:*", "1050::5:600:300c:1"));
        assert!(matches(
            "1050::0005:0600:300c:1-200:*",
            "1050::5:600:300c:1:9"
        ));
        assert!(!matches(
            "1050::0005:0600:300c:1-200:*",
            "1050::5:600:300c:201:9"
        ));
    }
}
