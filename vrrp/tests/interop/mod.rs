//! Harness for running our router next to a real keepalived on one bridged
//! segment (lvs_testenv::Lan): host "ka" (172.20.0.81, fd00::81) runs
//! keepalived from its own temp dir; host "us" (172.20.0.82, fd00::82)
//! runs our tokio driver on a thread inside its namespace.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lvs_testenv::{LAB_IFACE, Lan, Netns};
use lvs_vrrp::driver::{Driver, VrrpSocket};
use lvs_vrrp::{Action, AdvertInterval, Centiseconds, Config, Reason, Router, Seconds, State};

/// Protocol version and family under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// VRRPv2 over IPv4.
    V2,
    /// VRRPv3 over IPv4.
    V3,
    /// VRRPv3 over IPv6.
    V3Ipv6,
}

impl Flavor {
    fn vip_cidr(self) -> &'static str {
        match self {
            Flavor::V2 | Flavor::V3 => "172.20.0.83/24",
            Flavor::V3Ipv6 => "fd00::83/64",
        }
    }
    fn vip(self) -> IpAddr {
        self.vip_cidr()
            .split('/')
            .next()
            .and_then(|s| s.parse().ok())
            .expect("literal")
    }
}

enum Cmd {
    Start(Box<Config>),
    Shutdown,
    Crash,
}

/// One segment, a keepalived host and our host.
pub struct Harness {
    pub flavor: Flavor,
    /// Advertisement interval in centiseconds (v2: must be whole seconds).
    pub interval_cs: u16,
    /// Run both keepalived (`vrrp_rt_priority`) and our driver thread
    /// SCHED_FIFO 50, so a loaded machine delays neither.
    pub realtime: bool,
    pub lan: Lan,
    pub ka_host: Arc<Netns>,
    pub our_host: Arc<Netns>,
    /// keepalived on the "ka" host.
    pub ka: Keepalived,
    /// A second keepalived, on our host (to measure keepalived as Backup).
    pub ka2: Keepalived,
    cmd: tokio::sync::mpsc::UnboundedSender<Cmd>,
    pub events: Arc<Mutex<Vec<(Instant, Action)>>>,
    our_primary: IpAddr,
}

fn wait_until<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn link_local(host: &Netns) -> IpAddr {
    wait_until(
        Duration::from_secs(10),
        "a usable link-local address",
        || {
            let out = host.run(&[
                "ip", "-6", "-o", "addr", "show", "dev", LAB_IFACE, "scope", "link",
            ]);
            if out.contains("tentative") {
                return None;
            }
            out.split_whitespace()
                .skip_while(|w| *w != "inet6")
                .nth(1)
                .and_then(|a| a.split('/').next())
                .and_then(|a| a.parse().ok())
        },
    )
}

impl Harness {
    pub fn new(flavor: Flavor, tag: &str) -> Harness {
        Harness::with_interval(flavor, tag, 100)
    }

    pub fn with_interval(flavor: Flavor, tag: &str, interval_cs: u16) -> Harness {
        Harness::with_options(flavor, tag, interval_cs, false)
    }

    pub fn with_options(flavor: Flavor, tag: &str, interval_cs: u16, realtime: bool) -> Harness {
        lvs_testenv::require_root("VRRP interop with keepalived");
        lvs_testenv::require_program("keepalived");
        let lan = Lan::new(&format!("vr{tag}"));
        let ka_host = lan.add_host("ka", &["172.20.0.81/24", "fd00::81/64"]);
        let our_host = lan.add_host("us", &["172.20.0.82/24", "fd00::82/64"]);
        let our_primary: IpAddr = match flavor {
            Flavor::V2 | Flavor::V3 => "172.20.0.82".parse().expect("literal"),
            Flavor::V3Ipv6 => {
                link_local(&ka_host);
                link_local(&our_host)
            }
        };
        let events = Arc::new(Mutex::new(Vec::new()));
        let (cmd, rx) = tokio::sync::mpsc::unbounded_channel();
        let netns = our_host.file();
        let ev = events.clone();
        let vip_cidr = flavor.vip_cidr();
        std::thread::spawn(move || our_thread(netns, rx, ev, vip_cidr, realtime));
        let ka = Keepalived::new(ka_host.clone());
        let ka2 = Keepalived::new(our_host.clone());
        Harness {
            flavor,
            interval_cs,
            realtime,
            lan,
            ka_host,
            our_host,
            ka,
            ka2,
            cmd,
            events,
            our_primary,
        }
    }

    fn keepalived_conf(&self, priority: u8) -> String {
        self.keepalived_conf_with(priority, "")
    }

    fn keepalived_conf_with(&self, priority: u8, extra: &str) -> String {
        self.keepalived_conf_full(priority, "", extra)
    }

    fn keepalived_conf_full(&self, priority: u8, global: &str, extra: &str) -> String {
        let rt = if self.realtime {
            "  vrrp_rt_priority 50\n"
        } else {
            ""
        };
        let (version, advert) = match self.flavor {
            Flavor::V2 => (2, format!("{}", self.interval_cs / 100)),
            _ => (
                3,
                format!("{}.{:02}", self.interval_cs / 100, self.interval_cs % 100),
            ),
        };
        format!(
            "global_defs {{\n  router_id ka\n  vrrp_garp_master_repeat 1\n  vrrp_garp_master_delay 0\n{rt}{global}}}\n\
             vrrp_instance VI_1 {{\n  state BACKUP\n  interface {LAB_IFACE}\n  virtual_router_id 1\n  \
             priority {priority}\n  advert_int {advert}\n  version {version}\n{extra}\n  \
             virtual_ipaddress {{\n    {}\n  }}\n}}\n",
            self.flavor.vip_cidr()
        )
    }

    /// Starts keepalived on the "ka" host with `priority` (state BACKUP, preempt on).
    pub fn start_keepalived(&self, priority: u8) -> Instant {
        self.ka.start(&self.keepalived_conf(priority))
    }

    /// Starts keepalived on the "ka" host with extra `vrrp_instance` lines.
    pub fn start_keepalived_with(&self, priority: u8, extra: &str) -> Instant {
        self.ka.start(&self.keepalived_conf_with(priority, extra))
    }

    /// Starts keepalived on the "ka" host with extra `global_defs` lines.
    pub fn start_keepalived_global(&self, priority: u8, global: &str) -> Instant {
        self.ka
            .start(&self.keepalived_conf_full(priority, global, ""))
    }

    /// Stops the "ka" host's keepalived (see [`Keepalived::stop`]).
    pub fn stop_keepalived(&self, kill: bool) -> Instant {
        self.ka.stop(kill)
    }

    /// Waits for a "ka" keepalived log line containing `pattern` after `since`.
    pub fn wait_keepalived(&self, pattern: &str, since: Instant, timeout: Duration) -> Instant {
        self.ka.wait(pattern, since, timeout)
    }

    /// Neither keepalived complained about what it received.
    pub fn assert_keepalived_happy(&self) {
        self.ka.assert_happy();
        self.ka2.assert_happy();
    }

    /// Starts the second keepalived, on our host, instead of our router.
    pub fn start_keepalived_on_our_host(&self, priority: u8) -> Instant {
        self.ka2.start(&self.keepalived_conf(priority))
    }

    pub fn start_ours(&self, priority: u8) -> Instant {
        self.start_ours_with(priority, |_| {})
    }

    /// Starts our router after `tweak` adjusted its configuration.
    pub fn start_ours_with(&self, priority: u8, tweak: impl FnOnce(&mut Config)) -> Instant {
        let interval = match self.flavor {
            Flavor::V2 => AdvertInterval::V2(Seconds((self.interval_cs / 100) as u8)),
            _ => AdvertInterval::V3(Centiseconds::new(self.interval_cs).expect("12 bits")),
        };
        let mut cfg = Config::new(
            1,
            priority,
            interval,
            self.our_primary,
            vec![self.flavor.vip()],
        );
        tweak(&mut cfg);
        let t = Instant::now();
        let _ = self.cmd.send(Cmd::Start(Box::new(cfg)));
        t
    }

    /// Stops our router: resign (priority 0) or crash (silence). Returns
    /// the instant of the request.
    pub fn stop_ours(&self, crash: bool) -> Instant {
        let t = Instant::now();
        let _ = self
            .cmd
            .send(if crash { Cmd::Crash } else { Cmd::Shutdown });
        wait_until(Duration::from_secs(5), "our router to stop", || {
            self.events
                .lock()
                .expect("lock")
                .iter()
                .any(|(at, a)| {
                    *at >= t
                        && matches!(
                            a,
                            Action::StateChanged {
                                to: State::Initialize,
                                ..
                            }
                        )
                })
                .then_some(())
        });
        t
    }

    pub fn our_state(&self) -> State {
        self.events
            .lock()
            .expect("lock")
            .iter()
            .rev()
            .find_map(|(_, a)| match a {
                Action::StateChanged { to, .. } => Some(*to),
                _ => None,
            })
            .unwrap_or(State::Initialize)
    }

    pub fn our_masters(&self) -> usize {
        self.events
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, a)| {
                matches!(
                    a,
                    Action::StateChanged {
                        to: State::Master,
                        ..
                    }
                )
            })
            .count()
    }

    pub fn last_reason(&self) -> Option<Reason> {
        self.events
            .lock()
            .expect("lock")
            .iter()
            .rev()
            .find_map(|(_, a)| match a {
                Action::StateChanged { reason, .. } => Some(reason.clone()),
                _ => None,
            })
    }

    /// Waits for our router to enter `state` after `since`.
    pub fn wait_our_state(&self, state: State, since: Instant, timeout: Duration) -> Instant {
        wait_until(timeout, &format!("our router to enter {state:?}"), || {
            self.events
                .lock()
                .expect("lock")
                .iter()
                .find(|(at, a)| {
                    *at >= since && matches!(a, Action::StateChanged { to, .. } if *to == state)
                })
                .map(|(at, _)| *at)
        })
    }

    /// Waits until our router is in `state` (now or later); returns when.
    pub fn wait_our_state_now(&self, state: State, timeout: Duration) -> Instant {
        wait_until(timeout, &format!("our router in {state:?}"), || {
            (self.our_state() == state).then(Instant::now)
        })
    }

    fn has_vip(&self, host: &Netns) -> bool {
        let out = host.run(&["ip", "-o", "addr", "show", "dev", LAB_IFACE]);
        let vip = format!("{}/", self.flavor.vip());
        out.contains(&vip)
    }

    /// The VIP is (or is not) on keepalived's host, within 2 s.
    pub fn assert_vip_on_keepalived(&self, present: bool) {
        wait_until(
            Duration::from_secs(2),
            "the VIP on keepalived's host",
            || (self.has_vip(&self.ka_host) == present).then_some(()),
        );
    }

    /// The VIP is (or is not) on our host, within 2 s.
    pub fn assert_vip_on_ours(&self, present: bool) {
        wait_until(Duration::from_secs(2), "the VIP on our host", || {
            (self.has_vip(&self.our_host) == present).then_some(())
        });
    }

    /// keepalived's log so far, for failure messages.
    pub fn keepalived_log(&self) -> String {
        std::fs::read_to_string(self.ka.dir.join("ka.log")).unwrap_or_default()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.cmd.send(Cmd::Crash);
    }
}

/// One keepalived process (parent + VRRP child) run from its own temp dir
/// with its own config, pid files and log.
pub struct Keepalived {
    host: Arc<Netns>,
    dir: PathBuf,
    pid: Mutex<Option<u32>>,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    stop_tail: Arc<AtomicBool>,
}

impl Keepalived {
    fn new(host: Arc<Netns>) -> Keepalived {
        let dir = std::env::temp_dir().join(lvs_testenv::unique_name("lvs-vrrp-ka"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stop_tail = Arc::new(AtomicBool::new(false));
        {
            let lines = lines.clone();
            let stop = stop_tail.clone();
            let path = dir.join("ka.log");
            std::thread::spawn(move || tail(path, lines, stop));
        }
        Keepalived {
            host,
            dir,
            pid: Mutex::new(None),
            lines,
            stop_tail,
        }
    }

    fn start(&self, conf: &str) -> Instant {
        std::fs::write(self.dir.join("ka.conf"), conf).expect("write conf");
        let d = self.dir.display();
        let cmdline = format!(
            "exec keepalived -n -l -D -P -R -f {d}/ka.conf -p {d}/ka.pid -r {d}/vrrp.pid -c {d}/chk.pid >> {d}/ka.log 2>&1"
        );
        let t = Instant::now();
        let pid = self.host.spawn(&["sh", "-c", &cmdline]);
        *self.pid.lock().expect("lock") = Some(pid);
        t
    }

    /// Stops keepalived: gracefully (SIGTERM, it resigns with priority 0)
    /// or by SIGKILL of both its processes (peer loss). Returns the instant
    /// just before the signal.
    pub fn stop(&self, kill: bool) -> Instant {
        let pid = self
            .pid
            .lock()
            .expect("lock")
            .take()
            .expect("keepalived running");
        let child: Option<i32> = std::fs::read_to_string(self.dir.join("vrrp.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let t = Instant::now();
        use rustix::process::{Pid, Signal, kill_process, test_kill_process};
        // Pids we started (keepalived and its VRRP child).
        let child = child.and_then(Pid::from_raw);
        let parent = i32::try_from(pid).ok().and_then(Pid::from_raw);
        if kill {
            if let Some(c) = child {
                let _ = kill_process(c, Signal::KILL);
            }
            if let Some(p) = parent {
                let _ = kill_process(p, Signal::KILL);
            }
        } else if let Some(p) = parent {
            let _ = kill_process(p, Signal::TERM);
        }
        if let Some(c) = child {
            wait_until(Duration::from_secs(10), "keepalived's exit", || {
                test_kill_process(c).is_err().then_some(())
            });
        }
        self.host.kill(pid);
        let _ = std::fs::remove_file(self.dir.join("vrrp.pid"));
        t
    }

    /// Waits for a log line containing `pattern`, seen after `since`.
    pub fn wait(&self, pattern: &str, since: Instant, timeout: Duration) -> Instant {
        wait_until(timeout, &format!("keepalived to log {pattern:?}"), || {
            self.lines
                .lock()
                .expect("lock")
                .iter()
                .find(|(t, l)| *t >= since && l.contains(pattern))
                .map(|(t, _)| *t)
        })
    }

    /// keepalived never complained about what it received.
    pub fn assert_happy(&self) {
        let lines = self.lines.lock().expect("lock");
        for (_, l) in lines.iter() {
            let lower = l.to_lowercase();
            for bad in ["invalid", "checksum", "mismatch", "bad ", "wrong", "error"] {
                assert!(!lower.contains(bad), "keepalived complained: {l}");
            }
        }
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        if self.pid.lock().map(|p| p.is_some()).unwrap_or(false) {
            self.stop(true);
        }
        self.stop_tail.store(true, Ordering::Relaxed);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Follows keepalived's log, timestamping each line as it appears.
fn tail(path: PathBuf, lines: Arc<Mutex<Vec<(Instant, String)>>>, stop: Arc<AtomicBool>) {
    let mut pos = 0u64;
    let mut partial = String::new();
    while !stop.load(Ordering::Relaxed) {
        if let Ok(mut f) = std::fs::File::open(&path)
            && f.seek(SeekFrom::Start(pos)).is_ok()
        {
            let mut r = BufReader::new(f);
            let mut buf = String::new();
            while let Ok(n) = r.read_line(&mut buf) {
                if n == 0 {
                    break;
                }
                pos += n as u64;
                if buf.ends_with('\n') {
                    partial.push_str(buf.trim_end());
                    lines
                        .lock()
                        .expect("lock")
                        .push((Instant::now(), std::mem::take(&mut partial)));
                } else {
                    partial.push_str(&buf);
                }
                buf.clear();
            }
        }
        std::thread::sleep(Duration::from_millis(3));
    }
}

fn ip_addr(op: &str, cidr: &str) {
    let mut args = vec!["addr", op, cidr, "dev", LAB_IFACE];
    if cidr.contains(':') && op == "add" {
        args.push("nodad");
    }
    // This thread lives in our namespace; the child inherits it.
    let _ = Command::new("ip")
        .args(&args)
        .stderr(std::process::Stdio::null())
        .status();
}

/// Our router's thread: enters the namespace, runs a current-thread tokio
/// runtime with the driver, applies address actions with `ip`.
fn our_thread(
    netns: std::fs::File,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Cmd>,
    events: Arc<Mutex<Vec<(Instant, Action)>>>,
    vip_cidr: &'static str,
    realtime: bool,
) {
    use std::os::fd::AsFd;
    // This thread runs the router's runtime, so it moves for good.
    rustix::thread::move_into_link_name_space(
        netns.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .expect("setns");
    if realtime {
        let param = libc::sched_param { sched_priority: 50 };
        // SAFETY: pid 0 is this thread; param is a valid sched_param.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
        assert_eq!(rc, 0, "SCHED_FIFO: {}", std::io::Error::last_os_error());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Address changes run on a worker thread (created here, so inside the
    // namespace) in order, so the driver is never held up by `ip`.
    let (ip_tx, ip_rx) = std::sync::mpsc::channel::<&'static str>();
    std::thread::spawn(move || {
        for op in ip_rx {
            ip_addr(op, vip_cidr);
        }
    });
    let record = |a: Action| {
        let at = Instant::now();
        match &a {
            Action::AddAddresses { .. } => {
                let _ = ip_tx.send("add");
            }
            Action::RemoveAddresses { .. } => {
                let _ = ip_tx.send("del");
            }
            _ => {}
        }
        events.lock().expect("lock").push((at, a));
    };
    rt.block_on(async {
        let mut driver: Option<Driver> = None;
        loop {
            let next = async {
                match driver.as_mut() {
                    Some(d) => d.next_action().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Cmd::Start(cfg)) => {
                        let socket = VrrpSocket::open_for(LAB_IFACE, &cfg).expect("raw sockets");
                        let mut d = Driver::new(Router::new(*cfg).expect("config"), socket)
                            .expect("driver timer");
                        d.start();
                        driver = Some(d);
                    }
                    Some(Cmd::Shutdown) => {
                        if let Some(mut d) = driver.take() {
                            for a in d.shutdown().await {
                                record(a);
                            }
                        }
                    }
                    Some(Cmd::Crash) => {
                        if let Some(d) = driver.take() {
                            // Silence, as if the process died; clean the address.
                            let _ = ip_tx.send("del");
                            record(Action::StateChanged {
                                from: d.router().state(),
                                to: State::Initialize,
                                reason: Reason::Shutdown,
                            });
                        }
                    }
                    None => break,
                },
                a = next => record(a.expect("driver I/O")),
            }
        }
    });
}
