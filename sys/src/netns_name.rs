//! Which network namespace the process is in, as a file name needs it.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A namespace's identity: the nsfs device and inode of a file naming it
/// (`/proc/PID/ns/net`, `/run/netns/NAME`). Two files name the same
/// namespace when their ids are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NsId {
    /// Device of the nsfs file.
    pub dev: u64,
    /// Inode of the nsfs file.
    pub ino: u64,
}

impl NsId {
    /// The id of the namespace the file at `path` names.
    pub fn of(path: impl AsRef<Path>) -> io::Result<NsId> {
        let m = std::fs::metadata(path)?;
        Ok(NsId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

/// The network namespace the calling process is in, by the name a file of
/// its own should carry: `/run` is shared across namespaces, so a daemon
/// that is to run once per namespace names its pid file and sockets after
/// it ([`NetnsName::file_stem`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetnsName {
    /// The host's: the one pid 1 is in.
    Host,
    /// One that `ip netns` named (`/run/netns/NAME`).
    Named(String),
    /// Any other, by its nsfs inode.
    Inode(u64),
}

impl NetnsName {
    /// The calling process's namespace, compared with pid 1's and those
    /// under `/run/netns`. Without the right to read pid 1's (not root) it
    /// is never taken for the host's. `Err` only when
    /// `/proc/self/ns/net` cannot be read.
    pub fn current() -> io::Result<NetnsName> {
        let me = NsId::of("/proc/self/ns/net")?;
        let named = std::fs::read_dir("/run/netns")
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let e = e.ok()?;
                Some((
                    e.file_name().to_str()?.to_string(),
                    NsId::of(e.path()).ok()?,
                ))
            });
        Ok(NetnsName::identify(
            me,
            NsId::of("/proc/1/ns/net").ok(),
            named,
        ))
    }

    /// Which namespace `me` is, given the host's (`None`: unknown) and the
    /// named ones.
    pub fn identify(
        me: NsId,
        host: Option<NsId>,
        named: impl IntoIterator<Item = (String, NsId)>,
    ) -> NetnsName {
        if host == Some(me) {
            return NetnsName::Host;
        }
        match named.into_iter().find(|(_, id)| *id == me) {
            Some((name, _)) => NetnsName::Named(name),
            None => NetnsName::Inode(me.ino),
        }
    }

    /// A file name for `prefix` in this namespace, in systemd's instance
    /// style: `prefix` in the host's, `prefix@NAME` in a named one,
    /// `prefix@netns-INODE` in any other.
    ///
    /// ```
    /// use lvs_sys::NetnsName;
    /// assert_eq!(NetnsName::Host.file_stem("director"), "director");
    /// assert_eq!(NetnsName::Named("red".into()).file_stem("director"), "director@red");
    /// assert_eq!(NetnsName::Inode(30).file_stem("director"), "director@netns-30");
    /// ```
    pub fn file_stem(&self, prefix: &str) -> String {
        match self {
            NetnsName::Host => prefix.to_string(),
            NetnsName::Named(name) => format!("{prefix}@{name}"),
            NetnsName::Inode(ino) => format!("{prefix}@netns-{ino}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_named_host_by_name_or_by_inode() {
        let id = |dev, ino| NsId { dev, ino };
        let named = || {
            [
                ("blue".to_string(), id(4, 20)),
                ("red".to_string(), id(4, 30)),
            ]
        };
        assert_eq!(
            NetnsName::identify(id(4, 10), Some(id(4, 10)), named()),
            NetnsName::Host
        );
        assert_eq!(
            NetnsName::identify(id(4, 30), Some(id(4, 10)), named()),
            NetnsName::Named("red".into())
        );
        // Same inode on another device is another namespace.
        assert_eq!(
            NetnsName::identify(id(5, 30), Some(id(4, 10)), named()),
            NetnsName::Inode(30)
        );
        // pid 1's namespace unreadable (not root): never taken for the host's.
        assert_eq!(
            NetnsName::identify(id(4, 10), None, named()),
            NetnsName::Inode(10)
        );
    }

    #[test]
    fn the_current_namespace_is_identified() {
        let me = NsId::of("/proc/self/ns/net").unwrap();
        match NetnsName::current().unwrap() {
            // Whatever it is, it is this one.
            NetnsName::Host => assert_eq!(NsId::of("/proc/1/ns/net").ok(), Some(me)),
            NetnsName::Named(name) => {
                assert_eq!(NsId::of(Path::new("/run/netns").join(name)).unwrap(), me)
            }
            NetnsName::Inode(ino) => assert_eq!(ino, me.ino),
        }
    }
}
