//! One director per network namespace: the default pid file and control
//! socket carry the namespace's name, and the pid file's lock is taken
//! before anything else (no socket opened, no VIP touched by a second
//! instance).
//!
//! In the host's namespace (pid 1's) the files are
//! `/run/lvs-director/director.{pid,sock}`; in a namespace `ip netns` named
//! `NAME` they are `director@NAME.{pid,sock}`; in any other,
//! `director@netns-INODE.{pid,sock}` (the namespace's nsfs inode). `/run`
//! is shared across namespaces, so without the name two directors on one
//! host would use the same socket.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Where the per-namespace files live.
pub const RUN_DIR: &str = "/run/lvs-director";

/// The network namespace this process is in, as far as a file name needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Netns {
    /// The host's: the one pid 1 is in.
    Host,
    /// One that `ip netns` named (`/run/netns/NAME`).
    Named(String),
    /// Any other, by its nsfs inode.
    Inode(u64),
}

/// A namespace's identity: the nsfs device and inode of its file.
type NsId = (u64, u64);

fn ns_id(path: &Path) -> Option<NsId> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl Netns {
    /// The calling process's namespace.
    pub fn current() -> std::io::Result<Netns> {
        let me = std::fs::metadata("/proc/self/ns/net")?;
        let named = std::fs::read_dir("/run/netns")
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let e = e.ok()?;
                Some((e.file_name().to_str()?.to_string(), ns_id(&e.path())?))
            });
        Ok(Netns::identify(
            (me.dev(), me.ino()),
            ns_id(Path::new("/proc/1/ns/net")),
            named,
        ))
    }

    /// Which namespace `me` is, given the host's and the named ones.
    pub fn identify(
        me: NsId,
        host: Option<NsId>,
        mut named: impl Iterator<Item = (String, NsId)>,
    ) -> Netns {
        if host == Some(me) {
            return Netns::Host;
        }
        match named.find(|(_, id)| *id == me) {
            Some((name, _)) => Netns::Named(name),
            None => Netns::Inode(me.1),
        }
    }

    /// The file name both per-namespace files start with.
    pub fn file_stem(&self) -> String {
        match self {
            Netns::Host => "director".to_string(),
            Netns::Named(name) => format!("director@{name}"),
            Netns::Inode(ino) => format!("director@netns-{ino}"),
        }
    }

    /// The default pid file.
    pub fn pid_file(&self) -> PathBuf {
        Path::new(RUN_DIR).join(format!("{}.pid", self.file_stem()))
    }

    /// The default control socket.
    pub fn control_socket(&self) -> PathBuf {
        Path::new(RUN_DIR).join(format!("{}.sock", self.file_stem()))
    }
}

/// Why the single-instance lock was not taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another process holds the pid file's lock.
    #[error(
        "another director is running here (pid {pid}, pid file {}); stop it first, \
         or give this one a --pid-file and --control of its own",
        path.display()
    )]
    Running {
        /// The pid file.
        path: PathBuf,
        /// What the pid file says.
        pid: String,
    },
    /// The pid file could not be created, locked or written.
    #[error("cannot use the pid file {}: {source}", path.display())]
    Io {
        /// The pid file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// An exclusive `flock` on the pid file, held for the life of the process
/// (the kernel drops it when the process dies, however it dies). The file
/// holds the pid and is removed on drop.
#[derive(Debug)]
pub struct InstanceLock {
    /// Open for as long as the lock is to be held.
    _file: File,
    path: PathBuf,
}

impl InstanceLock {
    /// Takes the lock on `path` (creating it and its directory) and writes
    /// this process's pid into it, or says who holds it.
    pub fn acquire(path: &Path) -> Result<InstanceLock, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o644)
                .open(path)
                .map_err(io)?;
            use rustix::fs::{FlockOperation, flock};
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    let mut pid = String::new();
                    let _ = file.read_to_string(&mut pid);
                    return Err(LockError::Running {
                        path: path.to_path_buf(),
                        pid: pid.trim().to_string(),
                    });
                }
                Err(e) => return Err(io(e.into())),
            }
            // A holder that was exiting may have unlinked the file between
            // our open and our lock: then the lock guards nothing, go again.
            let held = file.metadata().map_err(io)?;
            if ns_id(path) != Some((held.dev(), held.ino())) {
                continue;
            }
            file.set_len(0).map_err(io)?;
            file.rewind().map_err(io)?;
            writeln!(file, "{}", std::process::id()).map_err(io)?;
            return Ok(InstanceLock {
                _file: file,
                path: path.to_path_buf(),
            });
        }
    }

    /// The pid file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for InstanceLock {
    fn drop(&mut self) {
        // Unlinked while still locked, so no newcomer locks the old file.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_named_host_by_name_or_by_inode() {
        let named =
            || vec![("blue".to_string(), (4, 20)), ("red".to_string(), (4, 30))].into_iter();
        assert_eq!(
            Netns::identify((4, 10), Some((4, 10)), named()),
            Netns::Host
        );
        assert_eq!(
            Netns::identify((4, 30), Some((4, 10)), named()),
            Netns::Named("red".into())
        );
        // Same inode on another device is another namespace.
        assert_eq!(
            Netns::identify((5, 30), Some((4, 10)), named()),
            Netns::Inode(30)
        );
        // pid 1's namespace unreadable (not root): never taken for the host's.
        assert_eq!(Netns::identify((4, 10), None, named()), Netns::Inode(10));
        assert_eq!(
            Netns::Named("red".into()).control_socket(),
            Path::new("/run/lvs-director/director@red.sock")
        );
        assert_eq!(
            Netns::Host.pid_file(),
            Path::new("/run/lvs-director/director.pid")
        );
        assert_eq!(Netns::Inode(30).file_stem(), "director@netns-30");
    }

    #[test]
    fn the_current_namespace_is_identified() {
        // Whatever it is, it names files under RUN_DIR.
        let ns = Netns::current().unwrap();
        assert!(ns.control_socket().starts_with(RUN_DIR));
    }

    #[test]
    fn the_lock_admits_one_holder_and_goes_with_it() {
        let dir = std::env::temp_dir().join(format!("lvs-lock-{}", std::process::id()));
        let path = dir.join("sub/director.pid");
        let first = InstanceLock::acquire(&path).unwrap();
        let pid = std::process::id().to_string();
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), pid);
        // flock is per open file: a second open in this process is refused too.
        match InstanceLock::acquire(&path) {
            Err(LockError::Running { pid: holder, .. }) => assert_eq!(holder, pid),
            other => panic!("second lock: {other:?}"),
        }
        drop(first);
        assert!(!path.exists(), "the pid file goes with the lock");
        // A stale file from a killed director (no lock on it) is taken over.
        std::fs::write(&path, "99999\n").unwrap();
        let again = InstanceLock::acquire(&path).unwrap();
        assert_eq!(std::fs::read_to_string(again.path()).unwrap().trim(), pid);
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
