//! FRR instances for the lab's ECMP part (one zebra + bfdd + bgpd per
//! network namespace) and the vrrpd interop test (zebra + vrrpd), kept apart with FRR's pathspace (`-N NAME`) and with
//! every file the daemons write (config, vty sockets, zserv socket, pid
//! files, logs) in one directory of their own, because inside the kernel
//! VM `/etc` is read-only. The daemons are stopped by the pids they wrote,
//! never by name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lvs_testenv::Netns;

const SBIN: &str = "/usr/lib/frr";
/// The routing daemons, in start order: bfdd and bgpd connect to zebra's
/// zserv socket.
pub const ROUTING: &[&str] = &["zebra", "bfdd", "bgpd"];

/// One running FRR instance; its pathspace is its namespace's name.
#[derive(Debug)]
pub struct Frr {
    name: String,
    dir: PathBuf,
    logs_to: PathBuf,
    /// The daemons it runs, zebra first.
    daemons: &'static [&'static str],
}

/// `/var/run/frr/NAME`: FRR creates it for `-N NAME` even when every path
/// is given on the command line.
fn run_dir(name: &str) -> PathBuf {
    Path::new("/var/run/frr").join(name)
}

fn chown_frr(path: &Path) -> Result<(), String> {
    let out = std::process::Command::new("chown")
        .args(["-R", "frr:frr"])
        .arg(path)
        .output()
        .map_err(|e| format!("chown: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "chown frr:frr {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Frr {
    /// Writes `config` (an integrated `frr.conf`) under `base/frr-NAME` and
    /// starts zebra, bfdd and bgpd in `host` with pathspace `NAME` (the
    /// namespace's own name, unique per run). `base` must allow `chown`
    /// (a tmpfs or a local file system: the daemons run as `frr`); their
    /// logs are copied to `logs_to` when the instance is dropped.
    pub fn start(host: &Netns, base: &Path, logs_to: &Path, config: &str) -> Result<Frr, String> {
        Frr::start_daemons(host, base, logs_to, config, ROUTING)
    }

    /// As [`start`](Self::start), with these daemons (started in order;
    /// zebra first, the others connect to it).
    pub fn start_daemons(
        host: &Netns,
        base: &Path,
        logs_to: &Path,
        config: &str,
        daemons: &'static [&'static str],
    ) -> Result<Frr, String> {
        let name = host.name().to_string();
        let dir = base.join(format!("frr-{name}"));
        // A run killed before its clean-up leaves its directory: start clean.
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(run_dir(&name));
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let write = |file: &str, text: &str| {
            std::fs::write(dir.join(file), text)
                .map_err(|e| format!("write {}/{file}: {e}", dir.display()))
        };
        write("frr.conf", config)?;
        write("vtysh.conf", "")?;
        chown_frr(&dir)?;
        let frr = Frr {
            name,
            dir,
            logs_to: logs_to.to_path_buf(),
            daemons,
        };
        for daemon in daemons {
            let args = frr.daemon_args(daemon);
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = host.try_run(&argv);
            if !out.status.success() {
                return Err(format!(
                    "{daemon} in {}: {}{} (log: {})",
                    frr.name,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                    frr.log_tail(daemon)
                ));
            }
        }
        Ok(frr)
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    fn daemon_args(&self, daemon: &str) -> Vec<String> {
        let mut v: Vec<String> = [
            format!("{SBIN}/{daemon}"),
            "-d".into(),
            "-N".into(),
            self.name.clone(),
            "-f".into(),
            self.path("frr.conf"),
            "--vty_socket".into(),
            self.dir.display().to_string(),
            "-z".into(),
            self.path("zserv.api"),
            "-i".into(),
            self.path(&format!("{daemon}.pid")),
            "-u".into(),
            "frr".into(),
            "-g".into(),
            "frr".into(),
            "--log".into(),
            format!("file:{}", self.path(&format!("{daemon}.log"))),
        ]
        .into();
        if daemon == "bfdd" {
            v.push("--bfdctl".into());
            v.push(self.path("bfdd.sock"));
        }
        v
    }

    /// The last lines of a daemon's log, for error messages.
    pub fn log_tail(&self, daemon: &str) -> String {
        let text =
            std::fs::read_to_string(self.dir.join(format!("{daemon}.log"))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }

    /// Runs one `vtysh -c CMD` against this instance; its output.
    pub fn vtysh(&self, cmd: &str) -> String {
        self.vtysh_all(&[cmd])
    }

    /// Runs `vtysh -c CMD…` (one session: `configure terminal` then what
    /// follows it); its output.
    pub fn vtysh_all(&self, cmds: &[&str]) -> String {
        let mut c = std::process::Command::new("ip");
        c.args(["netns", "exec"])
            .arg(&self.name)
            .args(["vtysh", "--vty_socket"])
            .arg(&self.dir)
            .arg("--config_dir")
            .arg(&self.dir);
        for cmd in cmds {
            c.args(["-c", cmd]);
        }
        match c.output() {
            Ok(o) => format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => format!("vtysh: {e}"),
        }
    }

    fn pids(&self) -> Vec<rustix::process::Pid> {
        self.daemons.iter().filter_map(|d| self.pid(d)).collect()
    }

    /// The pid a daemon of this instance wrote.
    fn pid(&self, daemon: &str) -> Option<rustix::process::Pid> {
        let text = std::fs::read_to_string(self.dir.join(format!("{daemon}.pid"))).ok()?;
        rustix::process::Pid::from_raw(text.trim().parse().ok()?)
    }

    /// SIGKILLs one daemon of this instance (a crash of that daemon alone).
    pub fn kill_daemon(&self, daemon: &str) {
        if let Some(p) = self.pid(daemon) {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        }
    }

    /// Sends `signal` to every daemon of this instance and waits up to
    /// `grace` for them to be gone.
    pub fn signal(&self, signal: rustix::process::Signal, grace: Duration) {
        let pids = self.pids();
        for p in &pids {
            let _ = rustix::process::kill_process(*p, signal);
        }
        let deadline = std::time::Instant::now() + grace;
        while std::time::Instant::now() < deadline
            && pids
                .iter()
                .any(|p| rustix::process::test_kill_process(*p).is_ok())
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILLs every daemon of this instance (a crash).
    pub fn kill(&self) {
        self.signal(rustix::process::Signal::KILL, Duration::from_secs(2));
    }

    /// The instance's directory (config, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        self.signal(rustix::process::Signal::TERM, Duration::from_secs(3));
        self.kill();
        for d in self.daemons {
            let _ = std::fs::copy(
                self.dir.join(format!("{d}.log")),
                self.logs_to.join(format!("frr-{}-{d}.log", self.name)),
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(run_dir(&self.name));
    }
}
