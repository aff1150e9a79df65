//! A locked pid file: one instance of a daemon per file.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

/// Why [`PidFile::lock`] did not take the lock.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PidFileError {
    /// Another process holds the lock.
    #[error("pid file {} is locked by pid {pid}", path.display())]
    Held {
        /// The pid file.
        path: PathBuf,
        /// What the file says (the holder's pid, as written).
        pid: String,
    },
    /// The file could not be created, locked or written.
    #[error("cannot use the pid file {}: {source}", path.display())]
    Io {
        /// The pid file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// An exclusive `flock(2)` on a pid file, held while this value lives.
///
/// The kernel drops the lock when the process dies, however it dies, so a
/// stale file left by a killed process is simply taken over. The file
/// holds this process's pid and is removed on drop (unlinked while still
/// locked, so no newcomer locks the old file).
///
/// ```
/// use lvs_sys::{PidFile, PidFileError};
///
/// let path = std::env::temp_dir().join(format!("lvs-doc-{}.pid", std::process::id()));
/// let held = PidFile::lock(&path)?;
/// assert!(matches!(PidFile::lock(&path), Err(PidFileError::Held { .. })));
/// drop(held);
/// assert!(!path.exists());
/// # Ok::<(), PidFileError>(())
/// ```
#[derive(Debug)]
pub struct PidFile {
    /// Open for as long as the lock is to be held.
    _file: File,
    path: PathBuf,
}

impl PidFile {
    /// Takes the lock on `path` (creating it and its directory) and writes
    /// this process's pid into it, or says who holds it. `flock` locks are
    /// per open file: a second `lock` of the same path in the same process
    /// is refused too.
    pub fn lock(path: impl AsRef<Path>) -> Result<PidFile, PidFileError> {
        let path = path.as_ref();
        let io = |source| PidFileError::Io {
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
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    let mut pid = String::new();
                    let _ = file.read_to_string(&mut pid);
                    return Err(PidFileError::Held {
                        path: path.to_path_buf(),
                        pid: pid.trim().to_string(),
                    });
                }
                Err(e) => return Err(io(e.into())),
            }
            // A holder that was exiting may have unlinked the file between
            // our open and our lock: then the lock guards nothing, go again.
            let held = file.metadata().map_err(io)?;
            let on_disk = std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
            if on_disk != Some((held.dev(), held.ino())) {
                continue;
            }
            file.set_len(0).map_err(io)?;
            file.rewind().map_err(io)?;
            writeln!(file, "{}", std::process::id()).map_err(io)?;
            return Ok(PidFile {
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

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_admits_one_holder_and_goes_with_it() {
        let dir = std::env::temp_dir().join(format!("lvs-pidfile-{}", std::process::id()));
        let path = dir.join("sub/director.pid");
        let first = PidFile::lock(&path).unwrap();
        let pid = std::process::id().to_string();
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), pid);
        match PidFile::lock(&path) {
            Err(PidFileError::Held {
                pid: holder,
                path: p,
            }) => {
                assert_eq!(holder, pid);
                assert_eq!(p, path);
            }
            other => panic!("second lock: {other:?}"),
        }
        drop(first);
        assert!(!path.exists(), "the pid file goes with the lock");
        // A stale file from a killed process (no lock on it) is taken over.
        std::fs::write(&path, "99999\n").unwrap();
        let again = PidFile::lock(&path).unwrap();
        assert_eq!(std::fs::read_to_string(again.path()).unwrap().trim(), pid);
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unusable_path_is_an_io_error() {
        match PidFile::lock("/proc/self/no-such-dir/x.pid") {
            Err(PidFileError::Io { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
}
