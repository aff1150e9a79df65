//! ARP for IPv4 over Ethernet (RFC 826), the only kind the segment carries.

use std::net::Ipv4Addr;

use super::{MacAddr, WireError};

pub(crate) const PACKET_LEN: usize = 28;
const HTYPE_ETHERNET: u16 = 1;
const PTYPE_IPV4: u16 = 0x0800;
const OP_REQUEST: u16 = 1;
const OP_REPLY: u16 = 2;

/// ARP opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOperation {
    /// who-has.
    Request,
    /// is-at.
    Reply,
}

/// A view of an ARP packet.
#[derive(Debug)]
pub struct ArpPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps without checking.
    pub fn new_unchecked(buffer: T) -> ArpPacket<T> {
        ArpPacket { buffer }
    }

    /// Wraps after checking the length.
    pub fn new_checked(buffer: T) -> Result<ArpPacket<T>, WireError> {
        let have = buffer.as_ref().len();
        if have < PACKET_LEN {
            return Err(WireError::Truncated {
                what: "ARP",
                have,
                need: PACKET_LEN,
            });
        }
        Ok(ArpPacket { buffer })
    }

    fn u16_at(&self, at: usize) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    fn mac_at(&self, at: usize) -> MacAddr {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.buffer.as_ref()[at..at + 6]);
        MacAddr(m)
    }

    fn ip_at(&self, at: usize) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
    }

    /// Hardware type.
    pub fn hardware_type(&self) -> u16 {
        self.u16_at(0)
    }
    /// Protocol type.
    pub fn protocol_type(&self) -> u16 {
        self.u16_at(2)
    }
    /// Hardware address length.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[4]
    }
    /// Protocol address length.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[5]
    }
    /// Raw opcode.
    pub fn operation(&self) -> u16 {
        self.u16_at(6)
    }
    /// Sender hardware address.
    pub fn source_mac(&self) -> MacAddr {
        self.mac_at(8)
    }
    /// Sender protocol address.
    pub fn source_ip(&self) -> Ipv4Addr {
        self.ip_at(14)
    }
    /// Target hardware address.
    pub fn target_mac(&self) -> MacAddr {
        self.mac_at(18)
    }
    /// Target protocol address.
    pub fn target_ip(&self) -> Ipv4Addr {
        self.ip_at(24)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    fn set(&mut self, at: usize, bytes: &[u8]) {
        self.buffer.as_mut()[at..at + bytes.len()].copy_from_slice(bytes);
    }
}

/// An Ethernet/IPv4 ARP packet as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    /// Request or reply.
    pub operation: ArpOperation,
    /// Sender hardware address.
    pub source_mac: MacAddr,
    /// Sender protocol address.
    pub source_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    /// Reads and validates (Ethernet/IPv4 only, request or reply).
    pub fn parse<T: AsRef<[u8]>>(p: &ArpPacket<T>) -> Result<ArpRepr, WireError> {
        let bad = |field, value| WireError::BadField {
            what: "ARP",
            field,
            value,
        };
        if p.hardware_type() != HTYPE_ETHERNET {
            return Err(bad("hardware type", u32::from(p.hardware_type())));
        }
        if p.protocol_type() != PTYPE_IPV4 {
            return Err(bad("protocol type", u32::from(p.protocol_type())));
        }
        if p.hardware_len() != 6 {
            return Err(bad("hardware length", u32::from(p.hardware_len())));
        }
        if p.protocol_len() != 4 {
            return Err(bad("protocol length", u32::from(p.protocol_len())));
        }
        let operation = match p.operation() {
            OP_REQUEST => ArpOperation::Request,
            OP_REPLY => ArpOperation::Reply,
            other => return Err(bad("operation", u32::from(other))),
        };
        Ok(ArpRepr {
            operation,
            source_mac: p.source_mac(),
            source_ip: p.source_ip(),
            target_mac: p.target_mac(),
            target_ip: p.target_ip(),
        })
    }

    /// Packet length.
    pub fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Writes the packet.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut ArpPacket<T>) {
        p.set(0, &HTYPE_ETHERNET.to_be_bytes());
        p.set(2, &PTYPE_IPV4.to_be_bytes());
        p.set(4, &[6, 4]);
        let op = match self.operation {
            ArpOperation::Request => OP_REQUEST,
            ArpOperation::Reply => OP_REPLY,
        };
        p.set(6, &op.to_be_bytes());
        p.set(8, &self.source_mac.0);
        p.set(14, &self.source_ip.octets());
        p.set(18, &self.target_mac.0);
        p.set(24, &self.target_ip.octets());
    }

    /// Sender and target protocol addresses are equal: a gratuitous ARP.
    pub fn is_gratuitous(&self) -> bool {
        self.source_ip == self.target_ip
    }
}
