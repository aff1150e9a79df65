//! [`Error`]: what can go wrong talking to IPVS, with the kernel's errno
//! mapped to its meaning for the operation that failed.

use std::io;

/// An IPVS operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel has no IPVS generic netlink family in this network
    /// namespace: the `ip_vs` module is not loaded (or not built).
    #[error("IPVS is not available in this kernel/namespace: {hint}")]
    IpvsUnavailable {
        /// What to do about it.
        hint: &'static str,
    },
    /// Adding a service that already exists (`EEXIST`).
    #[error("the service already exists")]
    ServiceExists,
    /// Adding a destination that already exists (`EEXIST`).
    #[error("the destination already exists")]
    DestinationExists,
    /// The service does not exist (`ESRCH`).
    #[error("no such service")]
    NoSuchService,
    /// The destination does not exist (`ENOENT` on a destination command).
    #[error("no such destination")]
    NoSuchDestination,
    /// The scheduler or persistence engine module is unknown (`ENOENT` on a
    /// service command).
    #[error("unknown scheduler or persistence engine `{name}` (no ip_vs_{name} module?)")]
    UnknownScheduler {
        /// The name that was asked for.
        name: String,
    },
    /// The sync daemon is already running (`EEXIST` on daemon start).
    #[error("the sync daemon is already running")]
    DaemonRunning,
    /// No sync daemon of that kind runs (`ESRCH` on daemon stop).
    #[error("no such sync daemon")]
    NoSuchDaemon,
    /// The caller lacks `CAP_NET_ADMIN` (`EPERM`).
    #[error("permission denied: IPVS changes need CAP_NET_ADMIN in the namespace")]
    Permission,
    /// The kernel or this crate rejected an argument (`EINVAL`).
    #[error("invalid argument ({field}): {hint}")]
    InvalidArgument {
        /// Which field (or the likeliest one, for a kernel `EINVAL`).
        field: &'static str,
        /// Why.
        hint: String,
    },
    /// Another errno from the kernel.
    #[error("{op}: kernel error {errno}: {source}")]
    Kernel {
        /// The operation.
        op: &'static str,
        /// The errno.
        errno: i32,
        /// The errno as an I/O error.
        source: io::Error,
    },
    /// A reply could not be understood.
    #[error("malformed netlink reply: {0}")]
    Decode(String),
    /// The socket failed.
    #[error("netlink socket: {0}")]
    Io(#[from] io::Error),
    /// Entering the requested network namespace failed.
    #[error("cannot enter the network namespace: {0}")]
    Netns(#[source] io::Error),
}

/// The hint of [`Error::IpvsUnavailable`].
pub(crate) const LOAD_HINT: &str = "load it with `modprobe ip_vs` (and the scheduler modules, e.g. `modprobe ip_vs_rr`) in the host kernel";

impl Error {
    pub(crate) fn decode(msg: impl Into<String>) -> Error {
        Error::Decode(msg.into())
    }
    pub(crate) fn invalid(field: &'static str, hint: impl Into<String>) -> Error {
        Error::InvalidArgument {
            field,
            hint: hint.into(),
        }
    }
    pub(crate) fn unavailable() -> Error {
        Error::IpvsUnavailable { hint: LOAD_HINT }
    }

    /// The errno behind this error, when the kernel returned one.
    pub fn errno(&self) -> Option<i32> {
        Some(match self {
            Error::ServiceExists | Error::DestinationExists | Error::DaemonRunning => libc::EEXIST,
            Error::NoSuchService | Error::NoSuchDaemon => libc::ESRCH,
            Error::NoSuchDestination | Error::UnknownScheduler { .. } => libc::ENOENT,
            Error::Permission => libc::EPERM,
            Error::Kernel { errno, .. } => *errno,
            _ => return None,
        })
    }
}

impl From<netlink_packet_core::DecodeError> for Error {
    fn from(e: netlink_packet_core::DecodeError) -> Error {
        Error::Decode(e.to_string())
    }
}
