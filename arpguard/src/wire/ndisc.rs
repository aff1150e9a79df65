//! The IPv6 header and the ICMPv6 neighbour advertisement (RFC 4861 §4.4).

use std::net::Ipv6Addr;

use super::{MacAddr, WireError};

pub(crate) const IPV6_HEADER_LEN: usize = 40;
pub(crate) const NEXT_HEADER_ICMPV6: u8 = 58;
const NA_LEN: usize = 24;
// Option type 2 (target link-layer address), length 1 (8 bytes).
const OPT_TARGET_LL: u8 = 2;
const OPT_LEN_UNIT: usize = 8;
pub(crate) const NA_LEN_WITH_TLLA: usize = NA_LEN + OPT_LEN_UNIT;
const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;

/// A view of an IPv6 packet (fixed header only; no extension headers).
#[derive(Debug)]
pub struct Ipv6Packet<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps without checking.
    pub fn new_unchecked(buffer: T) -> Ipv6Packet<T> {
        Ipv6Packet { buffer }
    }

    /// Wraps after checking header and payload length.
    pub fn new_checked(buffer: T) -> Result<Ipv6Packet<T>, WireError> {
        let have = buffer.as_ref().len();
        if have < IPV6_HEADER_LEN {
            return Err(WireError::Truncated {
                what: "IPv6",
                have,
                need: IPV6_HEADER_LEN,
            });
        }
        let p = Ipv6Packet { buffer };
        let need = IPV6_HEADER_LEN + usize::from(p.payload_len());
        if have < need {
            return Err(WireError::Truncated {
                what: "IPv6 payload",
                have,
                need,
            });
        }
        Ok(p)
    }

    /// Version nibble.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }
    /// Payload length field.
    pub fn payload_len(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[4], b[5]])
    }
    /// Next header.
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[6]
    }
    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[7]
    }
    fn addr_at(&self, at: usize) -> Ipv6Addr {
        let mut o = [0u8; 16];
        o.copy_from_slice(&self.buffer.as_ref()[at..at + 16]);
        Ipv6Addr::from(o)
    }
    /// Source address.
    pub fn src(&self) -> Ipv6Addr {
        self.addr_at(8)
    }
    /// Destination address.
    pub fn dst(&self) -> Ipv6Addr {
        self.addr_at(24)
    }
    /// The payload, as long as the payload length says.
    pub fn payload(&self) -> &[u8] {
        let end = IPV6_HEADER_LEN + usize::from(self.payload_len());
        &self.buffer.as_ref()[IPV6_HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// Mutable payload (everything after the header).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[IPV6_HEADER_LEN..]
    }
}

/// An IPv6 fixed header as data (traffic class and flow label zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Repr {
    /// Source.
    pub src: Ipv6Addr,
    /// Destination.
    pub dst: Ipv6Addr,
    /// Next header.
    pub next_header: u8,
    /// Payload length.
    pub payload_len: u16,
    /// Hop limit.
    pub hop_limit: u8,
}

impl Ipv6Repr {
    /// Reads the header.
    pub fn parse<T: AsRef<[u8]>>(p: &Ipv6Packet<T>) -> Result<Ipv6Repr, WireError> {
        if p.version() != 6 {
            return Err(WireError::BadField {
                what: "IPv6",
                field: "version",
                value: u32::from(p.version()),
            });
        }
        Ok(Ipv6Repr {
            src: p.src(),
            dst: p.dst(),
            next_header: p.next_header(),
            payload_len: p.payload_len(),
            hop_limit: p.hop_limit(),
        })
    }

    /// Writes the header.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Ipv6Packet<T>) {
        let b = p.buffer.as_mut();
        b[0..4].copy_from_slice(&[0x60, 0, 0, 0]);
        b[4..6].copy_from_slice(&self.payload_len.to_be_bytes());
        b[6] = self.next_header;
        b[7] = self.hop_limit;
        b[8..24].copy_from_slice(&self.src.octets());
        b[24..40].copy_from_slice(&self.dst.octets());
    }
}

/// A view of an ICMPv6 neighbour advertisement message.
#[derive(Debug)]
pub struct NeighborAdvertPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> NeighborAdvertPacket<T> {
    /// Wraps without checking.
    pub fn new_unchecked(buffer: T) -> NeighborAdvertPacket<T> {
        NeighborAdvertPacket { buffer }
    }

    /// Wraps after checking the fixed part fits.
    pub fn new_checked(buffer: T) -> Result<NeighborAdvertPacket<T>, WireError> {
        let have = buffer.as_ref().len();
        if have < NA_LEN {
            return Err(WireError::Truncated {
                what: "neighbour advertisement",
                have,
                need: NA_LEN,
            });
        }
        Ok(NeighborAdvertPacket { buffer })
    }

    /// ICMPv6 type.
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[0]
    }
    /// ICMPv6 code.
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[1]
    }
    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[2], b[3]])
    }
    /// R/S/O flag byte.
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[4]
    }
    /// Target address.
    pub fn target(&self) -> Ipv6Addr {
        let mut o = [0u8; 16];
        o.copy_from_slice(&self.buffer.as_ref()[8..24]);
        Ipv6Addr::from(o)
    }
    /// Options (TLVs in 8-byte units).
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[NA_LEN..]
    }
}

/// RFC 4443 §2.3 checksum over the pseudo-header and the message.
fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, message: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for chunk in bytes.chunks(2) {
            let word = if chunk.len() == 2 {
                u16::from_be_bytes([chunk[0], chunk[1]])
            } else {
                u16::from_be_bytes([chunk[0], 0])
            };
            sum += u32::from(word);
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(message.len() as u32).to_be_bytes());
    add(&[0, 0, 0, NEXT_HEADER_ICMPV6]);
    add(message);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A neighbour advertisement as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborAdvertRepr {
    /// R: the sender is a router.
    pub router: bool,
    /// S: answer to a solicitation (clear in unsolicited ones).
    pub solicited: bool,
    /// O: override an existing cache entry.
    pub override_: bool,
    /// The address advertised.
    pub target: Ipv6Addr,
    /// Target link-layer address option.
    pub target_mac: Option<MacAddr>,
}

impl NeighborAdvertRepr {
    /// Reads and validates, including the checksum against `src`/`dst`.
    pub fn parse<T: AsRef<[u8]>>(
        p: &NeighborAdvertPacket<T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
    ) -> Result<NeighborAdvertRepr, WireError> {
        let bad = |field, value| WireError::BadField {
            what: "neighbour advertisement",
            field,
            value,
        };
        if p.msg_type() != ICMPV6_NEIGHBOR_ADVERT {
            return Err(bad("ICMPv6 type", u32::from(p.msg_type())));
        }
        if p.code() != 0 {
            return Err(bad("code", u32::from(p.code())));
        }
        let mut copy = p.buffer.as_ref().to_vec();
        copy[2] = 0;
        copy[3] = 0;
        let expected = icmpv6_checksum(src, dst, &copy);
        if expected != p.checksum() {
            return Err(WireError::BadChecksum {
                found: p.checksum(),
                expected,
            });
        }
        let mut target_mac = None;
        let mut opts = p.options();
        while !opts.is_empty() {
            if opts.len() < 2 {
                return Err(WireError::Truncated {
                    what: "ND option",
                    have: opts.len(),
                    need: 2,
                });
            }
            let len = usize::from(opts[1]) * OPT_LEN_UNIT;
            if len == 0 {
                return Err(bad("option length", 0));
            }
            if opts.len() < len {
                return Err(WireError::Truncated {
                    what: "ND option",
                    have: opts.len(),
                    need: len,
                });
            }
            if opts[0] == OPT_TARGET_LL && len == OPT_LEN_UNIT {
                let mut m = [0u8; 6];
                m.copy_from_slice(&opts[2..8]);
                target_mac = Some(MacAddr(m));
            }
            opts = &opts[len..];
        }
        let flags = p.flags();
        Ok(NeighborAdvertRepr {
            router: flags & FLAG_ROUTER != 0,
            solicited: flags & FLAG_SOLICITED != 0,
            override_: flags & FLAG_OVERRIDE != 0,
            target: p.target(),
            target_mac,
        })
    }

    /// Message length (with the option when present).
    pub fn buffer_len(&self) -> usize {
        if self.target_mac.is_some() {
            NA_LEN_WITH_TLLA
        } else {
            NA_LEN
        }
    }

    /// Writes the message and its checksum for `src` → `dst`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        p: &mut NeighborAdvertPacket<T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
    ) {
        let len = self.buffer_len();
        let b = &mut p.buffer.as_mut()[..len];
        b.fill(0);
        b[0] = ICMPV6_NEIGHBOR_ADVERT;
        let mut flags = 0;
        if self.router {
            flags |= FLAG_ROUTER;
        }
        if self.solicited {
            flags |= FLAG_SOLICITED;
        }
        if self.override_ {
            flags |= FLAG_OVERRIDE;
        }
        b[4] = flags;
        b[8..24].copy_from_slice(&self.target.octets());
        if let Some(mac) = self.target_mac {
            b[24] = OPT_TARGET_LL;
            b[25] = 1;
            b[26..32].copy_from_slice(&mac.0);
        }
        let sum = icmpv6_checksum(src, dst, b);
        b[2..4].copy_from_slice(&sum.to_be_bytes());
    }
}
