//! The address a broker advertises when `brokerIP1` is not set, chosen as RocketMQ does: the
//! first public IPv4 address of an interface that is up, otherwise the last private one,
//! otherwise loopback.

use std::net::{IpAddr, Ipv4Addr};

/// The detected address, and whether other hosts can likely reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The address to advertise.
    pub ip: IpAddr,
    /// False for loopback and private (container, NAT) addresses: clients elsewhere will fail.
    pub publicly_reachable: bool,
}

/// Picks the advertised address from the machine's interfaces.
pub fn detect() -> Detected {
    pick(&interface_ipv4s())
}

fn pick(addrs: &[Ipv4Addr]) -> Detected {
    let usable: Vec<Ipv4Addr> = addrs
        .iter()
        .copied()
        .filter(|a| !a.is_loopback() && !a.is_unspecified() && !a.is_link_local())
        .collect();
    if let Some(public) = usable.iter().find(|a| !a.is_private()) {
        return Detected {
            ip: IpAddr::V4(*public),
            publicly_reachable: true,
        };
    }
    match usable.last() {
        Some(private) => Detected {
            ip: IpAddr::V4(*private),
            publicly_reachable: false,
        },
        None => Detected {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            publicly_reachable: false,
        },
    }
}

/// IPv4 addresses of interfaces that are up, in enumeration order.
fn interface_ipv4s() -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we only read and then free exactly once.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cursor = head;
    while !cursor.is_null() {
        // SAFETY: `cursor` points into the list returned by getifaddrs, valid until freeifaddrs.
        let entry = unsafe { &*cursor };
        let up = entry.ifa_flags & (libc::IFF_UP as u32) != 0;
        if up && !entry.ifa_addr.is_null() {
            // SAFETY: ifa_addr is non-null and, for AF_INET, points at a sockaddr_in.
            let family = unsafe { (*entry.ifa_addr).sa_family };
            if i32::from(family) == libc::AF_INET {
                let sin = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in) };
                out.push(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
            }
        }
        cursor = entry.ifa_next;
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_first_then_last_private_then_loopback() {
        let public = Ipv4Addr::new(203, 0, 113, 7);
        let private_a = Ipv4Addr::new(10, 0, 0, 5);
        let private_b = Ipv4Addr::new(172, 17, 0, 2);
        assert_eq!(
            pick(&[Ipv4Addr::LOCALHOST, private_a, public]).ip,
            IpAddr::V4(public)
        );
        let private = pick(&[private_a, private_b]);
        assert_eq!(
            private,
            Detected {
                ip: IpAddr::V4(private_b),
                publicly_reachable: false
            }
        );
        assert_eq!(
            pick(&[Ipv4Addr::LOCALHOST]).ip,
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert!(!interface_ipv4s().is_empty() || cfg!(not(target_os = "linux")));
    }
}
