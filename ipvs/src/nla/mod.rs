//! Netlink attributes of the IPVS generic netlink family, one enum per
//! attribute space of `include/uapi/linux/ip_vs.h`.
//!
//! Every enum is `#[non_exhaustive]` and keeps attributes it does not know in
//! `Other(DefaultNla)`, so a message parsed from a newer kernel is emitted
//! back unchanged. Values keep the kernel's wire representation (ports are
//! big-endian on the wire and host-order `u16` here; addresses are the raw
//! 16-byte `union nf_inet_addr`); the typed view is [`crate::Service`], [`crate::Destination`] and friends.

mod command;
mod daemon;
mod dest;
mod info;
mod service;
mod stats;

pub use command::CmdAttr;
pub use daemon::DaemonAttr;
pub use dest::DestAttr;
pub use info::InfoAttr;
pub(crate) use service::Flags;
pub use service::{SvcAttr, SvcFlags};
pub use stats::{Stats64Attr, StatsAttr};

use netlink_packet_core::{DecodeError, Emitable, NlaBuffer, NlasIterator, Parseable};

/// How one attribute value is laid out on the wire.
pub(crate) trait Codec<T> {
    fn len(v: &T) -> usize;
    fn emit(v: &T, buf: &mut [u8]);
    fn parse(buf: &[u8]) -> Result<T, DecodeError>;
}

fn exact<const N: usize>(buf: &[u8]) -> Result<[u8; N], DecodeError> {
    buf.try_into()
        .map_err(|_| DecodeError::invalid_number(N, buf.len()))
}

macro_rules! int_codec {
    ($name:ident, $ty:ty, $to:ident, $from:ident) => {
        pub(crate) struct $name;
        impl Codec<$ty> for $name {
            fn len(_: &$ty) -> usize {
                std::mem::size_of::<$ty>()
            }
            fn emit(v: &$ty, buf: &mut [u8]) {
                buf.copy_from_slice(&v.$to());
            }
            fn parse(buf: &[u8]) -> Result<$ty, DecodeError> {
                Ok(<$ty>::$from(exact(buf)?))
            }
        }
    };
}

int_codec!(U8, u8, to_ne_bytes, from_ne_bytes);
int_codec!(U16, u16, to_ne_bytes, from_ne_bytes);
int_codec!(U32, u32, to_ne_bytes, from_ne_bytes);
int_codec!(U64, u64, to_ne_bytes, from_ne_bytes);
// Ports: network byte order on the wire, host order in the enum.
int_codec!(Be16, u16, to_be_bytes, from_be_bytes);

/// A NUL-terminated string (`nla_put_string`).
pub(crate) struct Str;
impl Codec<String> for Str {
    fn len(v: &String) -> usize {
        v.len() + 1
    }
    fn emit(v: &String, buf: &mut [u8]) {
        buf[..v.len()].copy_from_slice(v.as_bytes());
        buf[v.len()] = 0;
    }
    fn parse(buf: &[u8]) -> Result<String, DecodeError> {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8(buf[..end].to_vec())
            .map_err(|e| DecodeError::from(format!("string attribute is not UTF-8: {e}")))
    }
}

/// Raw fixed-size bytes (`union nf_inet_addr`, `__be32` netmask, addresses).
pub(crate) struct Raw;
impl<const N: usize> Codec<[u8; N]> for Raw {
    fn len(_: &[u8; N]) -> usize {
        N
    }
    fn emit(v: &[u8; N], buf: &mut [u8]) {
        buf.copy_from_slice(v);
    }
    fn parse(buf: &[u8]) -> Result<[u8; N], DecodeError> {
        exact(buf)
    }
}

/// An IPv4 address in network order (`struct in_addr`).
pub(crate) struct V4;
impl Codec<std::net::Ipv4Addr> for V4 {
    fn len(_: &std::net::Ipv4Addr) -> usize {
        4
    }
    fn emit(v: &std::net::Ipv4Addr, buf: &mut [u8]) {
        buf.copy_from_slice(&v.octets());
    }
    fn parse(buf: &[u8]) -> Result<std::net::Ipv4Addr, DecodeError> {
        Ok(exact::<4>(buf)?.into())
    }
}

/// An IPv6 address (`struct in6_addr`).
pub(crate) struct V6;
impl Codec<std::net::Ipv6Addr> for V6 {
    fn len(_: &std::net::Ipv6Addr) -> usize {
        16
    }
    fn emit(v: &std::net::Ipv6Addr, buf: &mut [u8]) {
        buf.copy_from_slice(&v.octets());
    }
    fn parse(buf: &[u8]) -> Result<std::net::Ipv6Addr, DecodeError> {
        Ok(exact::<16>(buf)?.into())
    }
}

/// A nested attribute set (emitted without `NLA_F_NESTED`, as the kernel and
/// ipvsadm do).
pub(crate) struct Nested;
impl<A> Codec<Vec<A>> for Nested
where
    A: netlink_packet_core::Nla + for<'a> Parseable<NlaBuffer<&'a [u8]>>,
{
    fn len(v: &Vec<A>) -> usize {
        v.as_slice().buffer_len()
    }
    fn emit(v: &Vec<A>, buf: &mut [u8]) {
        v.as_slice().emit(buf)
    }
    fn parse(buf: &[u8]) -> Result<Vec<A>, DecodeError> {
        parse_nlas(buf)
    }
}

/// Parses a run of attributes.
pub(crate) fn parse_nlas<A>(buf: &[u8]) -> Result<Vec<A>, DecodeError>
where
    A: for<'a> Parseable<NlaBuffer<&'a [u8]>>,
{
    NlasIterator::new(buf).map(|nla| A::parse(&nla?)).collect()
}

/// Declares an attribute enum: variant, kernel number, value type, codec.
macro_rules! nla_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($ty:ty) = $kind:expr, $codec:ident; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant($ty), )*
            /// An attribute this crate does not interpret, kept verbatim.
            Other(netlink_packet_core::DefaultNla),
        }

        impl netlink_packet_core::Nla for $name {
            fn value_len(&self) -> usize {
                match self {
                    $( Self::$variant(v) => <$crate::nla::$codec as $crate::nla::Codec<$ty>>::len(v), )*
                    Self::Other(o) => o.value_len(),
                }
            }
            fn kind(&self) -> u16 {
                match self {
                    $( Self::$variant(_) => $kind, )*
                    Self::Other(o) => o.kind(),
                }
            }
            fn emit_value(&self, buf: &mut [u8]) {
                match self {
                    $( Self::$variant(v) => <$crate::nla::$codec as $crate::nla::Codec<$ty>>::emit(v, buf), )*
                    Self::Other(o) => o.emit_value(buf),
                }
            }
        }

        impl<'a, T: AsRef<[u8]> + ?Sized> netlink_packet_core::Parseable<netlink_packet_core::NlaBuffer<&'a T>> for $name {
            fn parse(buf: &netlink_packet_core::NlaBuffer<&'a T>) -> Result<Self, netlink_packet_core::DecodeError> {
                use netlink_packet_core::ErrorContext;
                let kind = buf.kind();
                let value = buf.value();
                $(
                    if kind == $kind {
                        return Ok(Self::$variant(
                            <$crate::nla::$codec as $crate::nla::Codec<$ty>>::parse(value)
                                .context(concat!("invalid ", stringify!($name), "::", stringify!($variant)))?,
                        ));
                    }
                )*
                Ok(Self::Other(netlink_packet_core::DefaultNla::parse(buf)?))
            }
        }
    };
}
pub(crate) use nla_enum;
