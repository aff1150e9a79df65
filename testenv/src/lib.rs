//! Test support shared by the lvs crates: network namespaces joined by a
//! bridge (the seed lab's L2 segment), commands run inside them, and checks
//! that *fail* — never skip — when the environment a test asked for is
//! missing.
//!
//! Tests that need root and namespaces are marked
//! `#[ignore = "needs root + netns (cargo xtask test)"]` and named with a
//! `netns_` prefix; `cargo xtask test` runs them with `--ignored`. Tests that
//! need IPVS are named `vm_` and run inside the kernel VM.
//!
//! ```no_run
//! let lan = lvs_testenv::Lan::new("doc");
//! let frontal = lan.add_host("frontal", &["172.20.0.80/24"]);
//! let out = frontal.run(&["ip", "-br", "addr"]);
//! assert!(out.contains("172.20.0.80"));
//! ```
#![warn(missing_docs)]

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Panics with a clear message unless the process runs as root.
///
/// Call it first in every test that needs privileges: a test asked for must
/// fail when its environment is missing, never pass silently.
pub fn require_root(what: &str) {
    assert!(
        rustix::process::geteuid().is_root(),
        "{what} needs root (network namespaces, raw sockets); run `cargo xtask test` as root"
    );
}

/// Panics with a clear message unless `program` is on `PATH`.
pub fn require_program(program: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "this test needs `{program}` on PATH; `cargo xtask setup` installs it"
    );
}

/// Polls `cond` every 20 ms until it holds, and returns how long that
/// took; panics naming `what` after `limit`.
pub fn wait_for(
    what: &str,
    limit: std::time::Duration,
    mut cond: impl FnMut() -> bool,
) -> std::time::Duration {
    let t0 = std::time::Instant::now();
    while t0.elapsed() < limit {
        if cond() {
            return t0.elapsed();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("timed out after {limit:?} waiting for: {what}");
}

/// A unique short name: interface names are limited to 15 bytes.
pub fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id() % 100_000;
    format!("{prefix}{pid}x{n}")
}

fn check(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A named network namespace (`ip netns add`), deleted on drop together with
/// the processes spawned into it through [`Netns::spawn`].
#[derive(Debug)]
pub struct Netns {
    name: String,
    // Held open so the namespace can be lent as a `BorrowedFd` ([`AsFd`]).
    file: File,
    children: std::sync::Mutex<Vec<Child>>,
}

impl Netns {
    /// Creates a namespace named from `prefix` plus a unique suffix, with `lo` up.
    pub fn new(prefix: &str) -> Netns {
        require_root("creating a network namespace");
        let name = unique_name(prefix);
        check(
            Command::new("ip").args(["netns", "add", &name]),
            &format!("ip netns add {name}"),
        );
        let path = format!("/run/netns/{name}");
        let file = File::open(&path).unwrap_or_else(|e| {
            let _ = Command::new("ip").args(["netns", "del", &name]).status();
            panic!("open {path}: {e}")
        });
        let ns = Netns {
            name,
            file,
            children: std::sync::Mutex::new(Vec::new()),
        };
        ns.run(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name, as `ip netns` knows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Path of the namespace file (`/run/netns/NAME`).
    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// Opens the namespace file anew (an owned fd of its own). To lend the
    /// namespace to a library's netns-aware call, `ns.as_fd()` is enough.
    pub fn file(&self) -> File {
        File::open(self.path()).unwrap_or_else(|e| panic!("open {}: {e}", self.path()))
    }

    fn command(&self, argv: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).args(argv);
        cmd
    }

    /// Runs `argv` inside the namespace; panics with its output unless it succeeds.
    /// Returns its standard output.
    pub fn run(&self, argv: &[&str]) -> String {
        let out = check(&mut self.command(argv), &argv.join(" "));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `argv` inside the namespace and returns its full output, whatever its status.
    pub fn try_run(&self, argv: &[&str]) -> Output {
        self.command(argv)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", argv.join(" ")))
    }

    /// Starts `argv` inside the namespace in the background; it is killed when
    /// the namespace is dropped. Output is discarded unless redirected by the caller.
    pub fn spawn(&self, argv: &[&str]) -> u32 {
        self.spawn_with(argv, Stdio::null(), Stdio::null())
    }

    /// Like [`Netns::spawn`], with standard output and error appended to `log`.
    pub fn spawn_logged(&self, argv: &[&str], log: &std::path::Path) -> u32 {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", log.display()));
        let err = file
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot dup {}: {e}", log.display()));
        self.spawn_with(argv, file.into(), err.into())
    }

    fn spawn_with(&self, argv: &[&str], stdout: Stdio, stderr: Stdio) -> u32 {
        let child = self
            .command(argv)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", argv.join(" ")));
        let pid = child.id();
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(child);
        pid
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to a process started here and
    /// waits up to `grace` for it to exit; returns whether it exited.
    pub fn signal(&self, pid: u32, signal: i32, grace: std::time::Duration) -> bool {
        let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        let Some(pos) = children.iter().position(|c| c.id() == pid) else {
            return true;
        };
        // A child we spawned and have not reaped, so the pid is still ours.
        let target = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        let sig = rustix::process::Signal::from_named_raw(signal);
        if let (Some(target), Some(sig)) = (target, sig) {
            let _ = rustix::process::kill_process(target, sig);
        }
        let deadline = std::time::Instant::now() + grace;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = children[pos].try_wait() {
                // Already reaped by try_wait; wait() returns at once.
                let _ = children.remove(pos).wait();
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        false
    }

    /// Kills a process started with [`Netns::spawn`] and waits for it.
    pub fn kill(&self, pid: u32) {
        let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pos) = children.iter().position(|c| c.id() == pid) {
            let mut child = children.remove(pos);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs `f` on a fresh thread that has entered this namespace, so sockets
    /// it opens live there. The calling thread's namespace is untouched.
    pub fn enter<R: Send, F: FnOnce() -> R + Send>(&self, f: F) -> R {
        lvs_sys::in_netns(self.as_fd(), f).unwrap_or_else(|e| panic!("setns({}): {e}", self.name))
    }

    /// The MAC address of `iface` inside this namespace, as `aa:bb:..`.
    pub fn mac(&self, iface: &str) -> String {
        let path = format!("/sys/class/net/{iface}/address");
        self.run(&["cat", &path]).trim().to_string()
    }
}

/// The namespace as the libraries take it, e.g.
/// `IpvsHandle::open_in_netns(ns.as_fd())`.
impl AsFd for Netns {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        for child in children.iter_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

/// One L2 segment: a bridge in its own namespace, and hosts (namespaces)
/// each joined to it by a veth pair whose host end is named `ens18`, as on
/// every host of the seed lab.
#[derive(Debug)]
pub struct Lan {
    switch: Netns,
    bridge: String,
    hosts: std::sync::Mutex<Vec<std::sync::Arc<Netns>>>,
}

/// The interface name every lab host uses.
pub const LAB_IFACE: &str = "ens18";

impl Lan {
    /// Creates the segment (a namespace holding bridge `br0`).
    pub fn new(prefix: &str) -> Lan {
        let switch = Netns::new(&format!("{prefix}sw"));
        let bridge = "br0".to_string();
        switch.run(&["ip", "link", "add", &bridge, "type", "bridge"]);
        switch.run(&["ip", "link", "set", &bridge, "up"]);
        Lan {
            switch,
            bridge,
            hosts: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The namespace holding the bridge (for captures on the segment).
    pub fn switch(&self) -> &Netns {
        &self.switch
    }

    /// Adds a host namespace with `ens18` on the segment, up, with `addrs`
    /// (CIDR strings; IPv6 ones get `nodad` so they are usable at once).
    pub fn add_host(&self, prefix: &str, addrs: &[&str]) -> std::sync::Arc<Netns> {
        let host = Netns::new(prefix);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let outer = format!("v{}p{n}", std::process::id() % 100_000);
        // Create the pair in the switch namespace, then move one end.
        self.switch.run(&[
            "ip",
            "link",
            "add",
            &outer,
            "type",
            "veth",
            "peer",
            "name",
            LAB_IFACE,
            "netns",
            host.name(),
        ]);
        self.switch
            .run(&["ip", "link", "set", &outer, "master", &self.bridge]);
        self.switch.run(&["ip", "link", "set", &outer, "up"]);
        for addr in addrs {
            if addr.contains(':') {
                host.run(&["ip", "addr", "add", addr, "dev", LAB_IFACE, "nodad"]);
            } else {
                host.run(&["ip", "addr", "add", addr, "dev", LAB_IFACE]);
            }
        }
        host.run(&["ip", "link", "set", LAB_IFACE, "up"]);
        let host = std::sync::Arc::new(host);
        self.hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(host.clone());
        host
    }

    /// Cuts (`false`) or restores (`true`) a host's port on the bridge,
    /// the way pulling its cable would.
    pub fn set_link(&self, host: &Netns, up: bool) {
        let state = if up { "up" } else { "down" };
        host.run(&["ip", "link", "set", LAB_IFACE, state]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_fit_an_interface_name() {
        let a = unique_name("frontal");
        let b = unique_name("frontal");
        assert_ne!(a, b);
        assert!(a.len() <= 15, "{a} is too long for IFNAMSIZ");
    }

    #[test]
    #[ignore = "needs root + netns (cargo xtask test)"]
    fn netns_hosts_on_a_lan_reach_each_other() {
        let lan = Lan::new("te");
        let a = lan.add_host("a", &["172.20.0.80/24"]);
        let _b = lan.add_host("b", &["172.20.0.81/24"]);
        a.run(&["ping", "-c", "1", "-W", "2", "172.20.0.81"]);
        let inside =
            a.enter(|| std::fs::read_to_string("/proc/thread-self/net/dev").unwrap_or_default());
        assert!(inside.contains(LAB_IFACE));
    }
}
