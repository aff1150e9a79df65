//! The kernel VM: Debian's kernel (IPVS as modules) booted under qemu with
//! virtme-ng, sharing the host filesystem read-only.
//!
//! Known pitfalls on these machines (see LAB.md): KVM hangs at boot, so
//! software emulation only; without `--verbose` the guest's output is lost;
//! `crc32c_generic` must be loaded before `ip_vs`. A boot costs ~30 s, so
//! callers batch everything they need into one script per boot.
//!
//! The guest writes its output to a file in the shared directory (9p, no
//! cache: each write reaches the host at once); [`run_script`] can follow
//! that file while the VM runs, so lines appear as they are written rather
//! than when the VM exits.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every IPVS scheduler module the kernel ships, loaded up front so tests
/// never race module auto-loading.
const SCHEDULERS: &[&str] = &[
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_lblc",
    "ip_vs_lblcr",
    "ip_vs_dh",
    "ip_vs_sh",
    "ip_vs_sed",
    "ip_vs_nq",
    "ip_vs_fo",
    "ip_vs_ovf",
    "ip_vs_mh",
];

/// The newest `/boot/vmlinuz-*` whose modules include IPVS.
pub(crate) fn find_kernel() -> Result<PathBuf, String> {
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    let entries = std::fs::read_dir("/boot").map_err(|e| format!("cannot read /boot: {e}"))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(version) = name.strip_prefix("vmlinuz-") else {
            continue;
        };
        let ipvs = Path::new("/lib/modules")
            .join(version)
            .join("kernel/net/netfilter/ipvs");
        if ipvs.is_dir() {
            found.push((version.to_string(), entry.path()));
        }
    }
    found.sort();
    found.pop().map(|(_, p)| p).ok_or_else(|| {
        "no kernel with IPVS modules in /boot (expected Debian's linux-image-amd64; run `cargo xtask setup`)"
            .to_string()
    })
}

/// What one boot produced.
pub(crate) struct VmOutcome {
    /// The shared writable directory, holding whatever the script wrote.
    pub rwdir: PathBuf,
}

/// The lines a file in the shared directory gains, read as it grows.
struct Follow {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl Follow {
    fn new(path: PathBuf) -> Follow {
        Follow {
            path,
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// Every complete line written since the last call (a line still
    /// being written waits for its newline).
    fn poll(&mut self) -> Vec<String> {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let mut buf = Vec::new();
        if f.seek(SeekFrom::Start(self.offset)).is_err() || f.read_to_end(&mut buf).is_err() {
            return Vec::new();
        }
        self.offset += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        let mut lines = Vec::new();
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            lines.push(String::from_utf8_lossy(&line[..end]).into_owned());
        }
        lines
    }

    /// The rest, including a last line without its newline.
    fn finish(&mut self) -> Vec<String> {
        let mut lines = self.poll();
        if !self.partial.is_empty() {
            lines.push(String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned());
        }
        lines
    }
}

/// Prints followed lines, each with the time since the VM was started.
fn echo(lines: Vec<String>, started: Instant) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(out, "[+{:.1}s] {line}", started.elapsed().as_secs_f64());
    }
    let _ = out.flush();
}

/// Boots the VM once and runs `script` (POSIX sh) inside it as root, after
/// loading IPVS. `$RW` in the script is the shared writable directory.
/// With `follow`, the lines of `$RW/<follow>` are echoed as the guest
/// writes them. Fails when the VM cannot boot, IPVS cannot be loaded, or
/// the script does not finish within `timeout`.
pub(crate) fn run_script(
    name: &str,
    script: &str,
    timeout: Duration,
    follow: Option<&str>,
) -> Result<VmOutcome, String> {
    let kernel = find_kernel()?;
    let vng = crate::setup::venv_dir().join("bin/vng");
    if !vng.exists() {
        return Err(format!(
            "virtme-ng is missing ({}); run `cargo xtask setup`",
            vng.display()
        ));
    }
    // One directory per boot and process: several VMs may run at once.
    let rwdir = crate::workspace_root()
        .join("target/vm")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&rwdir);
    std::fs::create_dir_all(&rwdir).map_err(|e| format!("create {}: {e}", rwdir.display()))?;
    let rw = rwdir.display().to_string();
    let mut guest = String::new();
    guest.push_str("#!/bin/sh\n");
    guest.push_str(&format!("RW='{rw}'\nexport RW\n"));
    guest.push_str("export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
    guest.push_str("export RUST_BACKTRACE=1 LVS_IN_VM=1\n");
    guest.push_str("modprobe crc32c_generic\n");
    guest.push_str(
        "if ! modprobe ip_vs; then echo 'modprobe ip_vs failed in the guest' > \"$RW/ipvs-missing\"; echo 1 > \"$RW/exit\"; exit 1; fi\n",
    );
    for m in SCHEDULERS {
        guest.push_str(&format!("modprobe {m}\n"));
    }
    // The SIP persistence engine and dummy links are used by the kernel tests.
    guest.push_str("modprobe ip_vs_pe_sip\nmodprobe dummy\n");
    guest.push_str("mkdir -p /run/netns\n");
    guest.push_str("( set +e\n");
    guest.push_str(script);
    guest.push_str("\n)\necho $? > \"$RW/exit\"\n");
    let script_path = rwdir.join("guest.sh");
    std::fs::write(&script_path, guest).map_err(|e| format!("write guest script: {e}"))?;

    let console_path = rwdir.join("console.log");
    let console = std::fs::File::create(&console_path)
        .map_err(|e| format!("create {}: {e}", console_path.display()))?;
    let console_err = console
        .try_clone()
        .map_err(|e| format!("console log: {e}"))?;
    let path = format!(
        "{}:{}",
        vng.parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        std::env::var("PATH").unwrap_or_default()
    );
    let started = Instant::now();
    eprintln!(
        "vm {name}: booting {} (software emulation, about a minute)",
        kernel.display()
    );
    let mut follow = follow.map(|f| Follow::new(rwdir.join(f)));
    let mut child = Command::new(&vng)
        .env("PATH", path)
        .arg("--run")
        .arg(&kernel)
        .args(["--disable-kvm", "--force-9p", "--memory", "2G", "--verbose"])
        .arg("--rwdir")
        .arg(&rwdir)
        .arg("-e")
        .arg(format!("sh {}", script_path.display()))
        .stdin(Stdio::null())
        .stdout(console)
        .stderr(console_err)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", vng.display()))?;
    loop {
        if let Some(f) = follow.as_mut() {
            echo(f.poll(), started);
        }
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the kernel VM did not finish within {}s (console: {})",
                    timeout.as_secs(),
                    console_path.display()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => return Err(format!("waiting for the VM: {e}")),
        }
    }
    if let Some(f) = follow.as_mut() {
        echo(f.finish(), started);
    }
    eprintln!(
        "vm {name}: booted {} and ran in {:.1}s",
        kernel.display(),
        started.elapsed().as_secs_f64()
    );
    if let Ok(why) = std::fs::read_to_string(rwdir.join("ipvs-missing")) {
        return Err(format!("IPVS is not available in the VM: {}", why.trim()));
    }
    if !rwdir.join("exit").exists() {
        let tail = std::fs::read_to_string(&console_path).unwrap_or_default();
        let tail: String = tail
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        return Err(format!(
            "the kernel VM did not run the script to its end; console tail:\n{tail}"
        ));
    }
    Ok(VmOutcome { rwdir })
}

/// `cargo xtask vm [--timeout SECS] -- CMD...`
pub(crate) fn run_cli(args: &[String]) -> Result<(), String> {
    let mut timeout = Duration::from_secs(600);
    let mut iter = args.iter();
    let mut cmd: Vec<String> = Vec::new();
    while let Some(a) = iter.next() {
        match a.as_str() {
            "--timeout" => {
                let v = iter.next().ok_or("--timeout needs seconds")?;
                timeout = Duration::from_secs(v.parse().map_err(|_| format!("bad --timeout {v}"))?);
            }
            "--" => {
                cmd.extend(iter.by_ref().cloned());
            }
            other => cmd.push(other.to_string()),
        }
    }
    if cmd.is_empty() {
        return Err("nothing to run: cargo xtask vm -- CMD...".into());
    }
    let quoted: Vec<String> = cmd.iter().map(|a| shell_quote(a)).collect();
    let script = format!(
        "{} > \"$RW/out\" 2>&1\necho $? > \"$RW/rc\"",
        quoted.join(" ")
    );
    let outcome = run_script("adhoc", &script, timeout, Some("out"))?;
    let rc = std::fs::read_to_string(outcome.rwdir.join("rc")).unwrap_or_default();
    if rc.trim() == "0" {
        Ok(())
    } else {
        Err(format!("command exited {} in the VM", rc.trim()))
    }
}

/// Quotes one word for POSIX sh.
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_yields_lines_as_the_file_grows() {
        let dir = std::env::temp_dir().join(format!("xtask-follow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out");
        let mut f = Follow::new(path.clone());
        // Not there yet: the guest has not started writing.
        assert!(f.poll().is_empty());
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(b"=== first\n[PASS] one: ok\nhalf").unwrap();
        assert_eq!(f.poll(), ["=== first", "[PASS] one: ok"]);
        assert!(f.poll().is_empty());
        file.write_all(b" a line\nlab: 1 passed, 0 failed").unwrap();
        assert_eq!(f.poll(), ["half a line"]);
        assert_eq!(f.finish(), ["lab: 1 passed, 0 failed"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
