//! keepalived's `net_namespace`: the director runs in a named network
//! namespace. The program moves itself there before anything opens a
//! socket or starts a thread (threads inherit the namespace of the thread
//! that starts them), and [`run`](super::run) checks that it did.

use std::os::fd::AsFd;
use std::path::PathBuf;

use lvs_sys::NsId;

use crate::DirectorConfig;

/// Why the director is not in its configured network namespace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetNamespaceError {
    /// `/run/netns/NAME` cannot be opened (no such namespace: make it with
    /// `ip netns add NAME`).
    #[error("network namespace {name:?}: cannot open {}: {source}", path.display())]
    Open {
        /// The name configured.
        name: String,
        /// Its file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Joining it failed (needs `CAP_SYS_ADMIN`).
    #[error("cannot enter network namespace {name:?}: {source}")]
    Enter {
        /// The name configured.
        name: String,
        /// Why.
        source: std::io::Error,
    },
    /// The calling thread is in another namespace than the configured one.
    #[error(
        "configured for network namespace {name:?} but running in another one \
         (call enter_net_namespace before starting the runtime)"
    )]
    Elsewhere {
        /// The name configured.
        name: String,
    },
}

fn path_of(name: &str) -> PathBuf {
    PathBuf::from("/run/netns").join(name)
}

/// Moves the calling thread into `config`'s
/// [`net_namespace`](DirectorConfig::net_namespace), if it names one (and
/// does nothing otherwise). Call it on the thread that will build the
/// runtime, before any runtime, thread or socket exists: what is made
/// afterwards is in the namespace, what was made before is not.
pub fn enter_net_namespace(config: &DirectorConfig) -> Result<(), NetNamespaceError> {
    let Some(name) = &config.net_namespace else {
        return Ok(());
    };
    let path = path_of(name);
    let file = std::fs::File::open(&path).map_err(|source| NetNamespaceError::Open {
        name: name.clone(),
        path: path.clone(),
        source,
    })?;
    lvs_sys::enter_netns(file.as_fd()).map_err(|source| NetNamespaceError::Enter {
        name: name.clone(),
        source,
    })
}

/// Whether the calling thread is in `config`'s namespace (always, when it
/// names none).
pub(crate) fn check(config: &DirectorConfig) -> Result<(), NetNamespaceError> {
    let Some(name) = &config.net_namespace else {
        return Ok(());
    };
    let path = path_of(name);
    let wanted = NsId::of(&path).map_err(|source| NetNamespaceError::Open {
        name: name.clone(),
        path,
        source,
    })?;
    match NsId::of("/proc/thread-self/ns/net") {
        Ok(here) if here == wanted => Ok(()),
        _ => Err(NetNamespaceError::Elsewhere { name: name.clone() }),
    }
}
