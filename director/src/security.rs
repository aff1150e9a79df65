//! Who could change a script the director runs (keepalived's
//! `enable_script_security`): a script another user can rewrite runs with
//! the director's privileges.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

const GROUP_WRITE: u32 = 0o020;
const OTHER_WRITE: u32 = 0o002;
const STICKY: u32 = 0o1000;

/// `Ok` when `program` (a path, or a bare name looked up on `PATH`) and
/// every directory above it are safe; otherwise why not.
pub(crate) fn check(program: &str) -> Result<(), String> {
    let path = resolve(program).ok_or_else(|| format!("{program} is not found"))?;
    // Symbolic links resolved: what actually runs is what is checked.
    let real = std::fs::canonicalize(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    for p in real.ancestors() {
        let m = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let mode = m.permissions().mode();
        if m.uid() != 0 {
            return Err(format!(
                "{} is owned by uid {}, not root",
                p.display(),
                m.uid()
            ));
        }
        let checked = m.is_file() || (m.is_dir() && mode & STICKY == 0);
        if checked && (mode & OTHER_WRITE != 0 || (m.gid() != 0 && mode & GROUP_WRITE != 0)) {
            return Err(format!(
                "{} is writable by {} (mode {:o})",
                p.display(),
                if mode & OTHER_WRITE != 0 {
                    "everyone"
                } else {
                    "its group"
                },
                mode & 0o7777
            ));
        }
    }
    Ok(())
}

fn resolve(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| is_executable_file(p))
}

fn is_executable_file(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_owned_system_programs_are_safe() {
        assert_eq!(check("/bin/true"), Ok(()));
        assert_eq!(check("true"), Ok(()));
    }

    #[test]
    fn a_world_writable_or_missing_script_is_not() {
        let dir = std::env::temp_dir().join(format!("lvs-sec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let f = dir.join("chk.sh");
        std::fs::write(&f, "#!/bin/sh\n").expect("file");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let why = check(f.to_str().expect("utf-8")).expect_err("insecure");
        // Not root: owned by us; root: writable by everyone.
        assert!(
            why.contains("not root") || why.contains("writable by everyone"),
            "{why}"
        );
        if running_as_root() {
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            // /tmp is sticky, so the directories are fine and so is the file.
            assert_eq!(check(f.to_str().expect("utf-8")), Ok(()));
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
            let why = check(f.to_str().expect("utf-8")).expect_err("insecure dir");
            assert!(why.contains(dir.to_str().expect("utf-8")), "{why}");
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert!(check("/nonexistent/chk.sh").is_err());
        assert!(check("no-such-program-anywhere").is_err());
    }

    fn running_as_root() -> bool {
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }
}
