//! The VRRP advertisement on the wire: a zero-copy [`Packet`] view over a
//! buffer and a high-level [`Repr`], in the smoltcp `wire` idiom.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! v2: |   Auth Type   |   Adver Int   |          Checksum         |
//! v3: |(rsvd) |     Max Adver Int     |          Checksum         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |              IPv4 or IPv6 address(es), Count of them          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! v2 only: | Authentication Data (8 octets)                       |
//! ```
//!
//! The buffer handed to a [`Packet`] is the IP payload; anything after the
//! message (Ethernet padding that the IP layer did not trim) is ignored.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::units::{Centiseconds, Seconds};

/// IP protocol number of VRRP (both versions, both families).
pub const PROTOCOL: u8 = 112;
/// The IPv4 multicast group of VRRP (RFC 5798 §5.1.1.2).
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 multicast group of VRRP (RFC 5798 §5.1.2.2).
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// The TTL / hop limit every VRRP packet is sent and must be received with.
pub const TTL: u8 = 255;
/// The only packet type defined: ADVERTISEMENT.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Priority of the virtual router's IP address owner.
pub const PRIORITY_OWNER: u8 = 255;
/// Priority a Master sends when it stops participating.
pub const PRIORITY_STOP: u8 = 0;

const HEADER_LEN: usize = 8;
const AUTH_LEN: usize = 8;

mod field {
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    pub const AUTH_TYPE: usize = 4;
    pub const ADVER_INT: usize = 5;
    pub const MAX_ADVER_INT: core::ops::Range<usize> = 4..6;
    pub const CHECKSUM: core::ops::Range<usize> = 6..8;
    pub const ADDRESSES: usize = 8;
}

/// IP address family a VRRP message travels over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4: 4-byte addresses.
    V4,
    /// IPv6: 16-byte addresses (VRRPv3 only).
    V6,
}

impl Family {
    /// Length of one address of this family.
    pub const fn address_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }

    /// The family of `addr`.
    pub const fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The VRRP multicast group of this family.
    pub const fn multicast_group(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(MULTICAST_V4),
            Family::V6 => IpAddr::V6(MULTICAST_V6),
        }
    }
}

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 3768 (IPv4 only, interval in seconds, authentication field).
    V2,
    /// RFC 5798 (IPv4 and IPv6, interval in centiseconds).
    V3,
}

impl Version {
    /// The number in the version nibble.
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// A malformed VRRP message. Never a panic: every byte sequence maps to a
/// packet or to one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Shorter than its header, address list and (v2) authentication data.
    #[error("VRRP message truncated: {got} bytes, {needed} needed")]
    Truncated {
        /// Bytes present.
        got: usize,
        /// Bytes the header says the message has.
        needed: usize,
    },
    /// Version nibble is neither 2 nor 3.
    #[error("unknown VRRP version {0}")]
    UnknownVersion(u8),
    /// VRRPv2 exists only over IPv4.
    #[error("VRRPv2 over IPv6 does not exist")]
    V2OverIpv6,
    /// Type nibble is not ADVERTISEMENT (1).
    #[error("unknown VRRP packet type {0}")]
    UnknownType(u8),
    /// The checksum matches none of the accepted forms.
    #[error("bad VRRP checksum {0:#06x}")]
    Checksum(u16),
    /// `emit` was asked for more than 255 addresses.
    #[error("{0} addresses do not fit the 8-bit count")]
    TooManyAddresses(usize),
    /// `emit` was given a buffer smaller than [`Repr::buffer_len`].
    #[error("buffer of {got} bytes too small, {needed} needed")]
    BufferTooSmall {
        /// Bytes available.
        got: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// A pseudo-header address is of another family than the message.
    #[error("pseudo-header address family differs from the message's")]
    FamilyMismatch,
}

/// Which bytes a VRRPv3-over-IPv4 checksum covers. Implementations differ,
/// so a receiver detects the form and a sender chooses one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumForm {
    /// RFC 5798 §5.2.8: the IP pseudo-header (real source and destination)
    /// and the message. keepalived and FRR default; the only IPv6 form.
    PseudoHeader,
    /// The message alone, as in VRRPv2: the only v2 form, and the Cisco-style
    /// (keepalived `v3_checksum_as_v2`) v3-over-IPv4 form.
    MessageOnly,
    /// keepalived's old unicast form (`old_unicast_checksum`): a pseudo-header
    /// whose destination is 224.0.0.18 even though the packet is unicast.
    MulticastPseudoHeader,
}

/// Internet checksum accumulator (RFC 1071), folded at the end.
#[derive(Clone, Copy, Default)]
struct Sum(u64);

impl Sum {
    // Big-endian 32-bit words summed in 64 bits: 2^32 ≡ 1 (mod 2^16 - 1),
    // so folding at the end gives the same one's-complement sum as 16-bit
    // words, in half the additions.
    fn add_bytes(mut self, data: &[u8]) -> Sum {
        let mut chunks = data.chunks_exact(4);
        for c in &mut chunks {
            self.0 += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        }
        match *chunks.remainder() {
            [a] => self.0 += u64::from(a) << 8,
            [a, b] => self.0 += u64::from(u16::from_be_bytes([a, b])),
            [a, b, c] => self.0 += u64::from(u16::from_be_bytes([a, b])) + (u64::from(c) << 8),
            _ => {}
        }
        self
    }

    fn add_u16(mut self, v: u16) -> Sum {
        self.0 += u64::from(v);
        self
    }

    fn fold(self) -> u16 {
        let mut s = self.0;
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }
}

fn pseudo_header(src: &IpAddr, dst: &IpAddr, len: usize) -> Result<Sum, Error> {
    // The message length fits 16 bits: at most 8 + 255 * 16 bytes.
    let len = len as u16;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Ok(Sum::default()
            .add_bytes(&s.octets())
            .add_bytes(&d.octets())
            .add_u16(u16::from(PROTOCOL))
            .add_u16(len)),
        (IpAddr::V6(s), IpAddr::V6(d)) => Ok(Sum::default()
            .add_bytes(&s.octets())
            .add_bytes(&d.octets())
            .add_u16(len)
            .add_u16(u16::from(PROTOCOL))),
        _ => Err(Error::FamilyMismatch),
    }
}

/// A read/write view of a VRRP message in a buffer.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking anything; accessors may panic on a
    /// short buffer. Use [`new_checked`](Self::new_checked) on input.
    pub const fn new_unchecked(buffer: T, family: Family) -> Packet<T> {
        Packet { buffer, family }
    }

    /// Wraps `buffer` after [`check_len`](Self::check_len): every accessor
    /// is then in bounds.
    pub fn new_checked(buffer: T, family: Family) -> Result<Packet<T>, Error> {
        let packet = Packet::new_unchecked(buffer, family);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks version, type and that the whole message (header, addresses,
    /// v2 authentication data) is present. Trailing bytes are allowed.
    pub fn check_len(&self) -> Result<(), Error> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(Error::Truncated {
                got: data.len(),
                needed: HEADER_LEN,
            });
        }
        let version = match data[field::VER_TYPE] >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            other => return Err(Error::UnknownVersion(other)),
        };
        if version == Version::V2 && self.family == Family::V6 {
            return Err(Error::V2OverIpv6);
        }
        let kind = data[field::VER_TYPE] & 0x0f;
        if kind != TYPE_ADVERTISEMENT {
            return Err(Error::UnknownType(kind));
        }
        let needed = self.message_len();
        if data.len() < needed {
            return Err(Error::Truncated {
                got: data.len(),
                needed,
            });
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The family this message was read as.
    pub const fn family(&self) -> Family {
        self.family
    }

    /// The version nibble.
    pub fn version_number(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The version (valid after [`check_len`](Self::check_len)).
    pub fn version(&self) -> Version {
        if self.version_number() == 2 {
            Version::V2
        } else {
            Version::V3
        }
    }

    /// The type nibble.
    pub fn packet_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    /// Virtual Router Identifier.
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    /// Sender's priority.
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    /// Number of addresses.
    pub fn address_count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// v2 authentication type (meaningless in v3).
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }

    /// v2 advertisement interval.
    pub fn advert_interval_v2(&self) -> Seconds {
        Seconds(self.buffer.as_ref()[field::ADVER_INT])
    }

    /// v3 maximum advertisement interval (low 12 bits of the field).
    pub fn max_advert_interval(&self) -> Centiseconds {
        let d = self.buffer.as_ref();
        Centiseconds::from_field(u16::from_be_bytes([
            d[field::MAX_ADVER_INT.start],
            d[field::MAX_ADVER_INT.start + 1],
        ]))
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[field::CHECKSUM.start], d[field::CHECKSUM.start + 1]])
    }

    /// Length of the message proper (without trailing padding), from its header.
    pub fn message_len(&self) -> usize {
        let d = self.buffer.as_ref();
        let addrs = usize::from(d[field::COUNT]) * self.family.address_len();
        let auth = if d[field::VER_TYPE] >> 4 == 2 {
            AUTH_LEN
        } else {
            0
        };
        HEADER_LEN + addrs + auth
    }

    /// The raw address list (count × address length bytes).
    pub fn address_bytes(&self) -> &[u8] {
        let end = field::ADDRESSES + usize::from(self.address_count()) * self.family.address_len();
        &self.buffer.as_ref()[field::ADDRESSES..end]
    }

    /// The addresses, decoded.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let family = self.family;
        self.address_bytes()
            .chunks_exact(family.address_len())
            .map(move |c| match family {
                Family::V4 => IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3])),
                Family::V6 => {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(c);
                    IpAddr::V6(Ipv6Addr::from(o))
                }
            })
    }

    /// v2 authentication data (8 bytes after the addresses).
    pub fn auth_data(&self) -> [u8; AUTH_LEN] {
        let start = field::ADDRESSES + self.address_bytes().len();
        let mut out = [0u8; AUTH_LEN];
        out.copy_from_slice(&self.buffer.as_ref()[start..start + AUTH_LEN]);
        out
    }

    /// The message without trailing padding.
    pub fn message(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.message_len()]
    }

    /// Whether the checksum is right in `form`, for a packet from `src` to `dst`.
    pub fn checksum_ok(&self, form: ChecksumForm, src: &IpAddr, dst: &IpAddr) -> bool {
        match compute_checksum(self.message(), form, src, dst) {
            Ok(sum) => sum == 0,
            Err(_) => false,
        }
    }

    /// Verifies the checksum and tells which form the sender used.
    ///
    /// v2 and IPv6 have one form each. For v3 over IPv4 the forms are tried
    /// in order: RFC pseudo-header, message only, keepalived's old unicast.
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> Result<ChecksumForm, Error> {
        let forms: &[ChecksumForm] = match (self.version(), self.family) {
            (Version::V2, _) => &[ChecksumForm::MessageOnly],
            (Version::V3, Family::V6) => &[ChecksumForm::PseudoHeader],
            (Version::V3, Family::V4) => &[
                ChecksumForm::PseudoHeader,
                ChecksumForm::MessageOnly,
                ChecksumForm::MulticastPseudoHeader,
            ],
        };
        forms
            .iter()
            .copied()
            .find(|f| self.checksum_ok(*f, src, dst))
            .ok_or(Error::Checksum(self.checksum()))
    }
}

/// The folded one's-complement sum of `message` in `form`; zero when the
/// checksum field inside is right, and the field's value when it was zero.
fn compute_checksum(
    message: &[u8],
    form: ChecksumForm,
    src: &IpAddr,
    dst: &IpAddr,
) -> Result<u16, Error> {
    let base = match form {
        ChecksumForm::MessageOnly => Sum::default(),
        ChecksumForm::PseudoHeader => pseudo_header(src, dst, message.len())?,
        ChecksumForm::MulticastPseudoHeader => {
            pseudo_header(src, &Family::of(src).multicast_group(), message.len())?
        }
    };
    Ok(!base.add_bytes(message).fold())
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn data_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets version and type ADVERTISEMENT.
    pub fn set_version(&mut self, version: Version) {
        self.data_mut()[field::VER_TYPE] = (version.number() << 4) | TYPE_ADVERTISEMENT;
    }

    /// Sets the VRID.
    pub fn set_vrid(&mut self, vrid: u8) {
        self.data_mut()[field::VRID] = vrid;
    }

    /// Sets the priority (the checksum must be refilled after).
    pub fn set_priority(&mut self, priority: u8) {
        self.data_mut()[field::PRIORITY] = priority;
    }

    /// Sets the address count.
    pub fn set_address_count(&mut self, count: u8) {
        self.data_mut()[field::COUNT] = count;
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, sum: u16) {
        self.data_mut()[field::CHECKSUM].copy_from_slice(&sum.to_be_bytes());
    }

    /// Computes and writes the checksum in `form`.
    pub fn fill_checksum(
        &mut self,
        form: ChecksumForm,
        src: &IpAddr,
        dst: &IpAddr,
    ) -> Result<(), Error> {
        self.set_checksum(0);
        let len = self.message_len();
        let sum = compute_checksum(&self.buffer.as_ref()[..len], form, src, dst)?;
        self.set_checksum(sum);
        Ok(())
    }
}

/// VRRPv2 authentication (RFC 3768 §5.3.6; RFC 2338 for the retired types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Type 0: no authentication; data sent as zeros.
    None,
    /// Type 1: a clear-text password of up to 8 bytes, zero padded.
    SimpleText([u8; AUTH_LEN]),
    /// Any other type (2 was IP AH in RFC 2338), kept as is.
    Other {
        /// The type octet.
        kind: u8,
        /// The 8 data bytes.
        data: [u8; AUTH_LEN],
    },
}

impl Auth {
    /// Simple-text authentication from a password of at most 8 bytes
    /// (longer ones are cut, as keepalived does).
    pub fn simple_text(password: &[u8]) -> Auth {
        let mut data = [0u8; AUTH_LEN];
        let n = password.len().min(AUTH_LEN);
        data[..n].copy_from_slice(&password[..n]);
        Auth::SimpleText(data)
    }

    /// The type octet.
    pub const fn kind(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::SimpleText(_) => 1,
            Auth::Other { kind, .. } => *kind,
        }
    }

    fn data(&self) -> [u8; AUTH_LEN] {
        match self {
            Auth::None => [0; AUTH_LEN],
            Auth::SimpleText(d) | Auth::Other { data: d, .. } => *d,
        }
    }

    fn from_wire(kind: u8, data: [u8; AUTH_LEN]) -> Auth {
        match kind {
            0 => Auth::None,
            1 => Auth::SimpleText(data),
            kind => Auth::Other { kind, data },
        }
    }
}

/// The version-specific part of an advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// VRRPv2: interval in seconds and authentication.
    V2 {
        /// Advertisement interval.
        interval: Seconds,
        /// Authentication.
        auth: Auth,
    },
    /// VRRPv3: maximum advertisement interval in centiseconds.
    V3 {
        /// Max Adver Int.
        interval: Centiseconds,
    },
}

impl Kind {
    /// The protocol version.
    pub const fn version(&self) -> Version {
        match self {
            Kind::V2 { .. } => Version::V2,
            Kind::V3 { .. } => Version::V3,
        }
    }
}

/// The address list of an advertisement, one family.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Addresses {
    /// IPv4 addresses.
    V4(Vec<Ipv4Addr>),
    /// IPv6 addresses.
    V6(Vec<Ipv6Addr>),
}

impl Addresses {
    /// The family of the list.
    pub const fn family(&self) -> Family {
        match self {
            Addresses::V4(_) => Family::V4,
            Addresses::V6(_) => Family::V6,
        }
    }

    /// Number of addresses.
    pub fn len(&self) -> usize {
        match self {
            Addresses::V4(v) => v.len(),
            Addresses::V6(v) => v.len(),
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The addresses as they appear on the wire, concatenated.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Addresses::V4(v) => v.iter().flat_map(|a| a.octets()).collect(),
            Addresses::V6(v) => v.iter().flat_map(|a| a.octets()).collect(),
        }
    }

    /// Builds a list from addresses that must all be of `family`; `None` if
    /// one is not.
    pub fn from_ips(family: Family, ips: &[IpAddr]) -> Option<Addresses> {
        match family {
            Family::V4 => ips
                .iter()
                .map(|a| match a {
                    IpAddr::V4(a) => Some(*a),
                    IpAddr::V6(_) => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(Addresses::V4),
            Family::V6 => ips
                .iter()
                .map(|a| match a {
                    IpAddr::V6(a) => Some(*a),
                    IpAddr::V4(_) => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(Addresses::V6),
        }
    }
}

/// A decoded VRRP advertisement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Virtual Router Identifier.
    pub vrid: u8,
    /// Sender's priority (0 = stopping, 255 = address owner).
    pub priority: u8,
    /// Version-specific fields.
    pub kind: Kind,
    /// The virtual router's addresses.
    pub addresses: Addresses,
}

impl Repr {
    /// Decodes a checked packet. The checksum is not verified here: see
    /// [`Packet::verify_checksum`], which needs the IP addresses.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, Error> {
        packet.check_len()?;
        let kind = match packet.version() {
            Version::V2 => Kind::V2 {
                interval: packet.advert_interval_v2(),
                auth: Auth::from_wire(packet.auth_type(), packet.auth_data()),
            },
            Version::V3 => Kind::V3 {
                interval: packet.max_advert_interval(),
            },
        };
        let addresses = match packet.family() {
            Family::V4 => Addresses::V4(
                packet
                    .address_bytes()
                    .chunks_exact(4)
                    .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                    .collect(),
            ),
            Family::V6 => Addresses::V6(
                packet
                    .address_bytes()
                    .chunks_exact(16)
                    .map(|c| {
                        let mut o = [0u8; 16];
                        o.copy_from_slice(c);
                        Ipv6Addr::from(o)
                    })
                    .collect(),
            ),
        };
        Ok(Repr {
            vrid: packet.vrid(),
            priority: packet.priority(),
            kind,
            addresses,
        })
    }

    /// The family of the message.
    pub const fn family(&self) -> Family {
        self.addresses.family()
    }

    /// Length of the emitted message.
    pub fn buffer_len(&self) -> usize {
        let auth = match self.kind {
            Kind::V2 { .. } => AUTH_LEN,
            Kind::V3 { .. } => 0,
        };
        HEADER_LEN + self.addresses.len() * self.family().address_len() + auth
    }

    /// Writes the message into `packet` and fills its checksum in `form`
    /// (v2 always uses [`ChecksumForm::MessageOnly`]).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        form: ChecksumForm,
        src: &IpAddr,
        dst: &IpAddr,
    ) -> Result<(), Error> {
        let count = self.addresses.len();
        if count > usize::from(u8::MAX) {
            return Err(Error::TooManyAddresses(count));
        }
        if let Kind::V2 { .. } = self.kind
            && self.family() == Family::V6
        {
            return Err(Error::V2OverIpv6);
        }
        if Family::of(src) != self.family() || Family::of(dst) != self.family() {
            return Err(Error::FamilyMismatch);
        }
        let needed = self.buffer_len();
        let got = packet.buffer.as_ref().len();
        if got < needed {
            return Err(Error::BufferTooSmall { got, needed });
        }
        packet.family = self.family();
        packet.set_version(self.kind.version());
        packet.set_vrid(self.vrid);
        packet.set_priority(self.priority);
        packet.set_address_count(count as u8);
        let addrs = self.addresses.to_bytes();
        let data = packet.data_mut();
        let form = match self.kind {
            Kind::V2 { interval, auth } => {
                data[field::AUTH_TYPE] = auth.kind();
                data[field::ADVER_INT] = interval.0;
                let end = field::ADDRESSES + addrs.len();
                data[field::ADDRESSES..end].copy_from_slice(&addrs);
                data[end..end + AUTH_LEN].copy_from_slice(&auth.data());
                ChecksumForm::MessageOnly
            }
            Kind::V3 { interval } => {
                data[field::MAX_ADVER_INT].copy_from_slice(&interval.get().to_be_bytes());
                data[field::ADDRESSES..field::ADDRESSES + addrs.len()].copy_from_slice(&addrs);
                form
            }
        };
        packet.fill_checksum(form, src, dst)
    }

    /// Emits into a fresh vector.
    pub fn to_bytes(
        &self,
        form: ChecksumForm,
        src: &IpAddr,
        dst: &IpAddr,
    ) -> Result<Vec<u8>, Error> {
        let mut buf = vec![0u8; self.buffer_len()];
        let mut packet = Packet::new_unchecked(&mut buf[..], self.family());
        self.emit(&mut packet, form, src, dst)?;
        Ok(buf)
    }
}

/// An IPv4 datagram as a raw IPv4 socket delivers it: header fields VRRP
/// checks, and the payload trimmed to the header's total length (so
/// Ethernet padding is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Datagram<'a> {
    /// Source address.
    pub source: Ipv4Addr,
    /// Destination address.
    pub destination: Ipv4Addr,
    /// Time to live.
    pub ttl: u8,
    /// Protocol number.
    pub protocol: u8,
    /// The IP payload.
    pub payload: &'a [u8],
}

impl<'a> Ipv4Datagram<'a> {
    /// Splits an IPv4 datagram; `None` if it is not a well-formed IPv4 header.
    pub fn parse(data: &'a [u8]) -> Option<Ipv4Datagram<'a>> {
        if data.len() < 20 || data[0] >> 4 != 4 {
            return None;
        }
        let ihl = usize::from(data[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([data[2], data[3]]));
        if ihl < 20 || total < ihl || data.len() < ihl {
            return None;
        }
        // A total length beyond the buffer (a truncated read) is clamped;
        // the VRRP length check then reports what is missing.
        let end = total.min(data.len());
        Some(Ipv4Datagram {
            source: Ipv4Addr::new(data[12], data[13], data[14], data[15]),
            destination: Ipv4Addr::new(data[16], data[17], data[18], data[19]),
            ttl: data[8],
            protocol: data[9],
            payload: &data[ihl..end],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4]) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(a))
    }

    #[test]
    fn short_and_garbage_inputs_are_errors() {
        assert_eq!(
            Packet::new_checked(&[0x31u8][..], Family::V4).unwrap_err(),
            Error::Truncated { got: 1, needed: 8 }
        );
        let bad_version = [0x41u8, 1, 100, 0, 0, 100, 0, 0];
        assert_eq!(
            Packet::new_checked(&bad_version[..], Family::V4).unwrap_err(),
            Error::UnknownVersion(4)
        );
        let bad_type = [0x32u8, 1, 100, 0, 0, 100, 0, 0];
        assert_eq!(
            Packet::new_checked(&bad_type[..], Family::V4).unwrap_err(),
            Error::UnknownType(2)
        );
        let v2_on_v6 = [0x21u8, 1, 100, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            Packet::new_checked(&v2_on_v6[..], Family::V6).unwrap_err(),
            Error::V2OverIpv6
        );
        let missing_addr = [0x31u8, 1, 100, 2, 0, 100, 0, 0, 1, 2, 3, 4];
        assert_eq!(
            Packet::new_checked(&missing_addr[..], Family::V4).unwrap_err(),
            Error::Truncated {
                got: 12,
                needed: 16
            }
        );
    }

    #[test]
    fn three_checksum_forms_are_told_apart() {
        let src = v4([172, 20, 0, 81]);
        let dst = v4([172, 20, 0, 82]);
        let repr = Repr {
            vrid: 3,
            priority: 150,
            kind: Kind::V3 {
                interval: Centiseconds::new(50).unwrap(),
            },
            addresses: Addresses::V4(vec![Ipv4Addr::new(172, 20, 0, 87)]),
        };
        for form in [
            ChecksumForm::PseudoHeader,
            ChecksumForm::MessageOnly,
            ChecksumForm::MulticastPseudoHeader,
        ] {
            let bytes = repr.to_bytes(form, &src, &dst).unwrap();
            let p = Packet::new_checked(&bytes[..], Family::V4).unwrap();
            assert_eq!(p.verify_checksum(&src, &dst), Ok(form));
        }
    }

    #[test]
    fn padding_is_ignored() {
        let src = v4([10, 0, 0, 1]);
        let dst = IpAddr::V4(MULTICAST_V4);
        let repr = Repr {
            vrid: 1,
            priority: 100,
            kind: Kind::V2 {
                interval: Seconds(1),
                auth: Auth::None,
            },
            addresses: Addresses::V4(vec![Ipv4Addr::new(10, 0, 0, 9)]),
        };
        let mut bytes = repr
            .to_bytes(ChecksumForm::MessageOnly, &src, &dst)
            .unwrap();
        bytes.extend_from_slice(&[0xaa; 6]);
        let p = Packet::new_checked(&bytes[..], Family::V4).unwrap();
        assert_eq!(p.verify_checksum(&src, &dst), Ok(ChecksumForm::MessageOnly));
        assert_eq!(Repr::parse(&p).unwrap(), repr);
    }
}
