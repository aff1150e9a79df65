//! Running work inside a network namespace.
//!
//! Sockets (netlink, packet) stay bound to the namespace they were created
//! in, and `/proc/sys/net` and child processes follow the creating thread's
//! namespace. So everything namespace-specific is done on a short-lived
//! thread that called `setns(2)` first; the caller's thread never moves.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Where to act: the caller's own network namespace or another one.
#[derive(Debug, Clone, Default)]
pub enum Namespace {
    /// The calling thread's namespace.
    #[default]
    Current,
    /// The namespace behind this open file (`/run/netns/NAME`, `/proc/PID/ns/net`).
    File(Arc<File>),
}

impl Namespace {
    /// Opens a namespace file, e.g. `/run/netns/node01`.
    pub fn open(path: impl AsRef<Path>) -> Result<Namespace> {
        let path = path.as_ref();
        let file =
            File::open(path).map_err(|e| Error::io(format!("open {}", path.display()), e))?;
        Ok(Namespace::File(Arc::new(file)))
    }

    /// Wraps an already open namespace file.
    pub fn from_file(file: File) -> Namespace {
        Namespace::File(Arc::new(file))
    }

    /// Runs `f` inside the namespace (on a helper thread unless it is
    /// [`Namespace::Current`]) and returns its result.
    pub fn run<R: Send, F: FnOnce() -> Result<R> + Send>(&self, f: F) -> Result<R> {
        match self {
            Namespace::Current => f(),
            Namespace::File(file) => {
                lvs_sys::in_netns(file.as_fd(), f).map_err(Error::Namespace)?
            }
        }
    }
}
