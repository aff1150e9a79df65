//! The crate's error type.

use std::net::IpAddr;

/// Everything that can go wrong in lvs-arpguard.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call or file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The kernel refused a netlink request.
    #[error("netlink {operation} failed: {source}")]
    Netlink {
        /// The request, e.g. `RTM_NEWADDR 172.20.0.83/32 dev lo`.
        operation: String,
        /// The errno the kernel returned.
        #[source]
        source: std::io::Error,
    },
    /// A netlink reply could not be decoded.
    #[error("cannot decode netlink reply to {operation}: {detail}")]
    Decode {
        /// The request whose reply was bad.
        operation: String,
        /// What was wrong.
        detail: String,
    },
    /// No interface has this name in the namespace.
    #[error("no interface named {0:?}")]
    NoSuchInterface(String),
    /// The interface has no IPv4 address to use as ARP sender or rewrite source.
    #[error("interface {0:?} has no IPv4 address")]
    NoIpv4Address(String),
    /// The interface has no Ethernet (6-byte) hardware address.
    #[error("interface {0:?} has no Ethernet address")]
    NoEthernetAddress(String),
    /// An address label the kernel would refuse.
    #[error("invalid label {label:?} for {iface}: {reason}")]
    InvalidLabel {
        /// The label asked for.
        label: String,
        /// The interface.
        iface: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A prefix length out of range for the address family.
    #[error("prefix length /{prefix_len} is invalid for {addr}")]
    InvalidPrefix {
        /// The address.
        addr: IpAddr,
        /// The prefix length asked for.
        prefix_len: u8,
    },
    /// The operation only exists for one address family.
    #[error("{0}")]
    Unsupported(&'static str),
    /// A sysctl value was not a number.
    #[error("sysctl {path} holds {value:?}, not an integer")]
    BadSysctl {
        /// The /proc/sys path.
        path: String,
        /// What it held.
        value: String,
    },
    /// `nft` failed; its standard error is included.
    #[error("nft {action} failed: {stderr}")]
    Nft {
        /// What was attempted.
        action: &'static str,
        /// nft's diagnostics.
        stderr: String,
    },
    /// Entering a network namespace failed.
    #[error("cannot enter network namespace: {0}")]
    Namespace(#[source] std::io::Error),
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
