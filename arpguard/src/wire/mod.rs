//! Frames on the wire, smoltcp style: a zero-copy `Packet<T: AsRef<[u8]>>`
//! view with `new_checked`, and a `Repr` with `parse`/`emit`.
//!
//! Written here rather than taken from etherparse because the crate needs
//! the exact RFC 5227 / RFC 4861 layouts (ARP announcement vs. reply forms,
//! the all-zero target hardware address, the NA override flag and
//! target-link-layer option) checked and emitted byte for byte, and only
//! three tiny formats: Ethernet II, ARP for IPv4 over Ethernet, and the
//! IPv6 + ICMPv6 neighbour advertisement.

mod arp;
mod ethernet;
mod ndisc;

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use ethernet::{EtherType, EthernetFrame, EthernetRepr};
pub use ndisc::{Ipv6Packet, Ipv6Repr, NeighborAdvertPacket, NeighborAdvertRepr};

/// Why bytes are not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than the format needs.
    #[error("{what}: {have} bytes, need at least {need}")]
    Truncated {
        /// Which layer.
        what: &'static str,
        /// Bytes present.
        have: usize,
        /// Bytes needed.
        need: usize,
    },
    /// A field holds a value this format does not allow.
    #[error("{what}: unexpected {field} {value:#x}")]
    BadField {
        /// Which layer.
        what: &'static str,
        /// Which field.
        field: &'static str,
        /// The value found.
        value: u32,
    },
    /// The ICMPv6 checksum does not match.
    #[error("ICMPv6 checksum {found:#06x}, expected {expected:#06x}")]
    BadChecksum {
        /// In the packet.
        found: u16,
        /// Computed.
        expected: u16,
    },
}

/// A 48-bit Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// `00:00:00:00:00:00`.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// The VRRP virtual router MAC for IPv4, `00:00:5e:00:01:<vrid>` (RFC 5798).
    pub fn vrrp_v4(vrid: u8) -> MacAddr {
        MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, vrid])
    }

    /// The VRRP virtual router MAC for IPv6, `00:00:5e:00:02:<vrid>`.
    pub fn vrrp_v6(vrid: u8) -> MacAddr {
        MacAddr([0x00, 0x00, 0x5e, 0x00, 0x02, vrid])
    }

    /// The Ethernet multicast address of an IPv6 multicast group (RFC 2464).
    pub fn ipv6_multicast(group: Ipv6Addr) -> MacAddr {
        let o = group.octets();
        MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(b: [u8; 6]) -> MacAddr {
        MacAddr(b)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// A string that is not `aa:bb:cc:dd:ee:ff`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a MAC address: {0:?}")]
pub struct MacParseError(pub String);

impl FromStr for MacAddr {
    type Err = MacParseError;
    fn from_str(s: &str) -> Result<MacAddr, MacParseError> {
        let err = || MacParseError(s.to_string());
        let mut out = [0u8; 6];
        let mut parts = s.trim().split([':', '-']);
        for byte in &mut out {
            let part = parts.next().ok_or_else(err)?;
            if part.is_empty() || part.len() > 2 {
                return Err(err());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(MacAddr(out))
    }
}

/// Which ARP form a gratuitous announcement takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GarpForm {
    /// RFC 5227 §2.3 ARP Announcement: a request, sender = target = VIP,
    /// target hardware address zero. Updates caches of every Linux peer.
    Request,
    /// The reply form (as `arping -A`): sender = target = VIP, target
    /// hardware address = sender's. Some stacks only honour this one.
    Reply,
}

/// Length of an Ethernet + ARP frame (without padding).
pub const ARP_FRAME_LEN: usize = ethernet::HEADER_LEN + arp::PACKET_LEN;

/// A gratuitous ARP frame announcing `vip` at `mac`, broadcast.
pub fn garp_frame(form: GarpForm, mac: MacAddr, vip: Ipv4Addr) -> Vec<u8> {
    let (operation, target_mac) = match form {
        GarpForm::Request => (ArpOperation::Request, MacAddr::ZERO),
        GarpForm::Reply => (ArpOperation::Reply, mac),
    };
    arp_frame(
        MacAddr::BROADCAST,
        &ArpRepr {
            operation,
            source_mac: mac,
            source_ip: vip,
            target_mac,
            target_ip: vip,
        },
    )
}

/// A broadcast ARP request "who has `target`? tell `source_ip`".
pub fn arp_request_frame(source_mac: MacAddr, source_ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    arp_frame(
        MacAddr::BROADCAST,
        &ArpRepr {
            operation: ArpOperation::Request,
            source_mac,
            source_ip,
            target_mac: MacAddr::ZERO,
            target_ip: target,
        },
    )
}

fn arp_frame(dst: MacAddr, arp: &ArpRepr) -> Vec<u8> {
    let mut buf = vec![0u8; ARP_FRAME_LEN];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    EthernetRepr {
        src: arp.source_mac,
        dst,
        ethertype: EtherType::Arp,
    }
    .emit(&mut frame);
    arp.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
    buf
}

/// Parses an Ethernet frame carrying ARP.
pub fn parse_arp_frame(bytes: &[u8]) -> Result<(EthernetRepr, ArpRepr), WireError> {
    let frame = EthernetFrame::new_checked(bytes)?;
    let eth = EthernetRepr::parse(&frame)?;
    if eth.ethertype != EtherType::Arp {
        return Err(WireError::BadField {
            what: "Ethernet",
            field: "ethertype",
            value: u32::from(u16::from(eth.ethertype)),
        });
    }
    let arp = ArpRepr::parse(&ArpPacket::new_checked(frame.payload())?)?;
    Ok((eth, arp))
}

/// Length of an unsolicited NA frame with the target link-layer option.
pub const NA_FRAME_LEN: usize =
    ethernet::HEADER_LEN + ndisc::IPV6_HEADER_LEN + ndisc::NA_LEN_WITH_TLLA;

/// An unsolicited neighbour advertisement (RFC 4861 §7.2.6) for `vip` at
/// `mac`: from `vip` to all-nodes `ff02::1`, hop limit 255, Override set,
/// Solicited clear, with the target link-layer address option.
pub fn unsolicited_na_frame(mac: MacAddr, vip: Ipv6Addr, router: bool) -> Vec<u8> {
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let na = NeighborAdvertRepr {
        router,
        solicited: false,
        override_: true,
        target: vip,
        target_mac: Some(mac),
    };
    let ip = Ipv6Repr {
        src: vip,
        dst: all_nodes,
        next_header: ndisc::NEXT_HEADER_ICMPV6,
        payload_len: na.buffer_len() as u16,
        hop_limit: 255,
    };
    let mut buf = vec![0u8; ethernet::HEADER_LEN + ndisc::IPV6_HEADER_LEN + na.buffer_len()];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    EthernetRepr {
        src: mac,
        dst: MacAddr::ipv6_multicast(all_nodes),
        ethertype: EtherType::Ipv6,
    }
    .emit(&mut frame);
    let mut packet = Ipv6Packet::new_unchecked(frame.payload_mut());
    ip.emit(&mut packet);
    na.emit(
        &mut NeighborAdvertPacket::new_unchecked(packet.payload_mut()),
        &vip,
        &all_nodes,
    );
    buf
}

/// Parses an Ethernet frame carrying an IPv6 neighbour advertisement,
/// checking hop limit 255 and the ICMPv6 checksum.
pub fn parse_na_frame(
    bytes: &[u8],
) -> Result<(EthernetRepr, Ipv6Repr, NeighborAdvertRepr), WireError> {
    let frame = EthernetFrame::new_checked(bytes)?;
    let eth = EthernetRepr::parse(&frame)?;
    if eth.ethertype != EtherType::Ipv6 {
        return Err(WireError::BadField {
            what: "Ethernet",
            field: "ethertype",
            value: u32::from(u16::from(eth.ethertype)),
        });
    }
    let packet = Ipv6Packet::new_checked(frame.payload())?;
    let ip = Ipv6Repr::parse(&packet)?;
    if ip.next_header != ndisc::NEXT_HEADER_ICMPV6 {
        return Err(WireError::BadField {
            what: "IPv6",
            field: "next header",
            value: u32::from(ip.next_header),
        });
    }
    if ip.hop_limit != 255 {
        return Err(WireError::BadField {
            what: "IPv6 (neighbour discovery)",
            field: "hop limit",
            value: u32::from(ip.hop_limit),
        });
    }
    let na = NeighborAdvertRepr::parse(
        &NeighborAdvertPacket::new_checked(packet.payload())?,
        &ip.src,
        &ip.dst,
    )?;
    Ok((eth, ip, na))
}

#[cfg(test)]
mod tests;
