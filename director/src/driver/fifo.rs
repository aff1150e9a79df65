//! keepalived's notify FIFOs: a line per VRRP transition, per real server
//! going up or down and per virtual server's quorum change, written to named pipes in keepalived 2.2.7's
//! format, in the order the core emitted the events.
//!
//! Each FIFO has a thread of its own with a bounded queue: the event loop
//! only formats the line and `try_send`s it, so a FIFO nobody reads (or a
//! slow reader) never delays a VRRP timer. As keepalived does, the thread
//! makes the FIFO if it is missing (mode 0600, what keepalived's 0644
//! under its default umask 0177 gives; 0644 when asked), starts its script (the
//! FIFO's path appended to its argv), then opens it read-write and
//! non-blocking: the open never waits for a reader and a write never fails
//! with `EPIPE`, whether or not a reader is there. A line that finds the
//! pipe full waits up to [`FULL_WAIT`] for room, then is dropped (keepalived
//! drops it at once); a full queue drops lines too. Drops are counted and
//! logged. On stop (and when a reload changes the FIFOs) the script is sent
//! `SIGTERM` first, then the lines still queued are written (at stop, the
//! `STOP` lines: keepalived's order, which its sample reader relies on to
//! tell a stop from a closed FIFO), then the FIFO is removed if it was made
//! here (before closing, so a reader that reopens it in a loop cannot) and
//! closed.

use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use lvs_ipvs::{Protocol, ServiceKey};
use lvs_vrrp::State;
use tracing::{error, info, warn};

use crate::command::state_word;
use crate::config::{FifoWriter, NotifyFifos};

/// Lines queued for one FIFO before new ones are dropped.
const QUEUE: usize = 1024;
/// How long a line waits for room in a full pipe before it is dropped.
const FULL_WAIT: Duration = Duration::from_millis(500);
/// How long stopping waits for the writers to finish.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// How long a script is given to exit after `SIGTERM` before it is left.
const SCRIPT_EXIT_WAIT: Duration = Duration::from_secs(1);

/// `INSTANCE "VI_1" MASTER 100`: the instance, its new state and its
/// effective priority.
pub(super) fn instance_line(name: &str, state: State, priority: u8) -> String {
    format!("INSTANCE \"{name}\" {} {priority}\n", state_word(state))
}

/// `GROUP "G1" MASTER 0`: a sync group's new state (keepalived writes
/// priority 0 for a group).
pub(super) fn group_line(name: &str, state: State) -> String {
    format!("GROUP \"{name}\" {} 0\n", state_word(state))
}

/// `[192.0.2.80]:tcp:80`, or `FWM 1` for a firewall-mark service.
fn service_text(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr { protocol, addr } => endpoint(*addr, protocol_name(Some(*protocol))),
        ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
    }
}

/// keepalived names the service's protocol (`none` when it has none, as a
/// firewall-mark service here).
fn protocol_name(p: Option<Protocol>) -> &'static str {
    match p {
        Some(Protocol::Tcp) => "tcp",
        Some(Protocol::Udp) => "udp",
        Some(Protocol::Sctp) => "sctp",
        None => "none",
    }
}

fn endpoint(addr: SocketAddr, protocol: &str) -> String {
    format!("[{}]:{protocol}:{}", addr.ip(), addr.port())
}

/// `RS [192.0.2.11]:tcp:80 [192.0.2.80]:tcp:80 UP`: the real server (with
/// the service's protocol), the service, `UP` or `DOWN`.
pub(super) fn real_server_line(service: &ServiceKey, real_server: SocketAddr, up: bool) -> String {
    let protocol = match service {
        ServiceKey::Addr { protocol, .. } => Some(*protocol),
        ServiceKey::Fwmark { .. } => None,
    };
    format!(
        "RS {} {} {}\n",
        endpoint(real_server, protocol_name(protocol)),
        service_text(service),
        if up { "UP" } else { "DOWN" }
    )
}

/// `VS [192.0.2.80]:tcp:80 DOWN`: a virtual server gained (`UP`) or lost
/// (`DOWN`) its quorum.
pub(super) fn virtual_server_line(service: &ServiceKey, up: bool) -> String {
    format!(
        "VS {} {}\n",
        service_text(service),
        if up { "UP" } else { "DOWN" }
    )
}

/// What a FIFO's thread is handed.
enum Msg {
    /// A line to write.
    Line(Arc<str>),
    /// Send `SIGTERM` to the script now; lines may follow.
    TerminateScript,
}

/// One FIFO's thread, seen from the loop.
struct Writer {
    path: PathBuf,
    vrrp: bool,
    lvs: bool,
    queue: Option<SyncSender<Msg>>,
    /// Disconnected when the thread has finished.
    done: Receiver<()>,
    dropped: u64,
}

/// Every configured FIFO's writer.
pub(super) struct Fifos {
    config: NotifyFifos,
    writers: Vec<Writer>,
}

impl Fifos {
    /// Starts a writer per FIFO of `config`. Failures (a path that is not
    /// a FIFO, a directory that does not exist) are logged by the writer,
    /// never fatal: keepalived runs on without the FIFO too.
    pub(super) fn start(config: &NotifyFifos) -> Fifos {
        let mut f = Fifos {
            config: NotifyFifos::default(),
            writers: Vec::new(),
        };
        f.reconfigure(config);
        f
    }

    /// Replaces the writers when the FIFOs changed (a reload); unchanged
    /// FIFOs keep their writer, script and queued lines.
    pub(super) fn reconfigure(&mut self, config: &NotifyFifos) {
        if *config == self.config {
            return;
        }
        // A new writer on the same path must not make its FIFO before the
        // old one has removed its own: each waits for the old threads.
        let old: Vec<Receiver<()>> = self.close_all();
        let old = Arc::new(std::sync::Mutex::new(old));
        for w in config.writers() {
            let (tx, rx) = mpsc::sync_channel(QUEUE);
            let (done_tx, done) = mpsc::channel();
            let path = w.path.clone();
            let (vrrp, lvs) = (w.vrrp, w.lvs);
            let old = old.clone();
            let spawned = std::thread::Builder::new()
                .name("lvs-notify-fifo".into())
                .spawn(move || {
                    if let Ok(mut old) = old.lock() {
                        wait_all(&mut old, CLOSE_WAIT);
                    }
                    write_loop(&w, &rx);
                    drop(done_tx);
                });
            match spawned {
                Ok(_) => self.writers.push(Writer {
                    path,
                    vrrp,
                    lvs,
                    queue: Some(tx),
                    done,
                    dropped: 0,
                }),
                Err(e) => {
                    error!(fifo = %path.display(), error = %e, "cannot start the notify FIFO thread")
                }
            }
        }
        self.config = config.clone();
    }

    /// Queues a VRRP transition's line.
    pub(super) fn transition(&mut self, name: &str, to: State, priority: u8) {
        if self.writers.iter().any(|w| w.vrrp) {
            let line: Arc<str> = instance_line(name, to, priority).into();
            self.send(|w| w.vrrp, &line);
        }
    }

    /// Queues a sync group's transition line (on the VRRP FIFOs, as the
    /// instances' lines).
    pub(super) fn group(&mut self, name: &str, to: State) {
        if self.writers.iter().any(|w| w.vrrp) {
            let line: Arc<str> = group_line(name, to).into();
            self.send(|w| w.vrrp, &line);
        }
    }

    /// Queues a real server's up/down line.
    pub(super) fn real_server(&mut self, service: &ServiceKey, real_server: SocketAddr, up: bool) {
        if self.writers.iter().any(|w| w.lvs) {
            let line: Arc<str> = real_server_line(service, real_server, up).into();
            self.send(|w| w.lvs, &line);
        }
    }

    /// Queues a virtual server's quorum line.
    pub(super) fn virtual_server(&mut self, service: &ServiceKey, up: bool) {
        if self.writers.iter().any(|w| w.lvs) {
            let line: Arc<str> = virtual_server_line(service, up).into();
            self.send(|w| w.lvs, &line);
        }
    }

    /// Tells every script to stop (`SIGTERM`) before the lines that follow
    /// (the director's `STOP` lines) are written.
    pub(super) fn terminate_scripts(&mut self) {
        for w in &self.writers {
            if let Some(q) = &w.queue {
                // A full queue: the script is stopped after it, at close.
                let _ = q.try_send(Msg::TerminateScript);
            }
        }
    }

    fn send(&mut self, wants: impl Fn(&Writer) -> bool, line: &Arc<str>) {
        for w in self.writers.iter_mut().filter(|w| wants(w)) {
            let Some(q) = &w.queue else { continue };
            match q.try_send(Msg::Line(line.clone())) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    w.dropped += 1;
                    if w.dropped == 1 || w.dropped.is_multiple_of(1000) {
                        warn!(fifo = %w.path.display(), dropped = w.dropped, "notify FIFO queue full: line dropped");
                    }
                }
                // The writer gave up (it logged why): stop formatting for it.
                Err(TrySendError::Disconnected(_)) => w.queue = None,
            }
        }
    }

    /// Ends every writer (queued lines are still written) and returns what
    /// tells when each has finished.
    fn close_all(&mut self) -> Vec<Receiver<()>> {
        self.terminate_scripts();
        self.writers
            .drain(..)
            .map(|mut w| {
                w.queue = None;
                w.done
            })
            .collect()
    }

    /// Ends every writer and waits (up to [`CLOSE_WAIT`]) until the queued
    /// lines are written, the FIFOs it made removed and the scripts told to
    /// stop.
    pub(super) fn close(&mut self) {
        let mut done = self.close_all();
        wait_all(&mut done, CLOSE_WAIT);
        self.config = NotifyFifos::default();
    }
}

impl Drop for Fifos {
    fn drop(&mut self) {
        // Without waiting: the threads finish on their own.
        self.close_all();
    }
}

/// Waits until every thread behind `done` has finished, or `limit` passes.
fn wait_all(done: &mut Vec<Receiver<()>>, limit: Duration) {
    let deadline = Instant::now() + limit;
    for d in done.drain(..) {
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = d.recv_timeout(left);
    }
}

/// One FIFO's thread: make, start the script, open, write lines until the
/// queue is closed, clean up.
fn write_loop(w: &FifoWriter, lines: &Receiver<Msg>) {
    let path = w.path.as_path();
    let created = match lvs_sys::create_fifo(path, w.readable_by_all) {
        Ok(c) => c,
        Err(e) => {
            error!(fifo = %path.display(), error = %e, "cannot make the notify FIFO; its lines are dropped");
            return;
        }
    };
    let mut script = w.script.as_ref().and_then(|s| start_script(s, path));
    let fd = match lvs_sys::open_fifo_writer(path) {
        Ok(fd) => fd,
        Err(e) => {
            error!(fifo = %path.display(), error = %e, "cannot open the notify FIFO; its lines are dropped");
            stop(path, created, None, script.as_mut(), false);
            return;
        }
    };
    info!(fifo = %path.display(), created, "notify FIFO open");
    let mut dropped: u64 = 0;
    // After a line found the pipe full for FULL_WAIT, the next ones do not
    // wait until one goes in: a queue behind a stalled reader drains at once.
    let mut stalled = false;
    let mut terminated = false;
    while let Ok(msg) = lines.recv() {
        let line = match msg {
            Msg::Line(l) => l,
            Msg::TerminateScript => {
                if let Some(c) = &mut script
                    && !terminated
                    && matches!(c.try_wait(), Ok(None))
                {
                    let _ = lvs_sys::terminate(c.id());
                }
                terminated = true;
                continue;
            }
        };
        let wait = if stalled { Duration::ZERO } else { FULL_WAIT };
        let r = write_line(&fd, line.as_bytes(), wait);
        stalled = r.is_err();
        if let Err(e) = r {
            dropped += 1;
            if dropped == 1 || dropped.is_multiple_of(1000) {
                warn!(fifo = %path.display(), dropped, error = %e, "notify FIFO line dropped");
            }
        }
    }
    stop(path, created, Some(fd), script.as_mut(), terminated);
}

/// Writes one line; a full pipe is waited on for up to `wait`.
/// A line up to `PIPE_BUF` (4 KiB) goes in one piece or not at all.
fn write_line(fd: &OwnedFd, mut line: &[u8], wait: Duration) -> std::io::Result<()> {
    let deadline = Instant::now() + wait;
    while !line.is_empty() {
        match lvs_sys::write_some(fd.as_fd(), line) {
            Ok(n) => line = &line[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let ready = lvs_sys::poll_until(fd.as_fd(), lvs_sys::PollFlags::OUT, deadline)?;
                if ready.is_empty() {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the pipe stayed full (is its reader running?)",
                    ));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Starts the FIFO's reader: its argv with the FIFO's path appended, no shell.
fn start_script(s: &crate::config::Script, path: &Path) -> Option<Child> {
    let argv = &s.argv;
    let (program, args) = argv.split_first()?;
    let mut cmd = std::process::Command::new(program);
    if let Some(r) = s.run_as {
        r.apply(&mut cmd);
    }
    let r = cmd
        .args(args)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .spawn();
    match r {
        Ok(c) => {
            info!(script = %argv.join(" "), pid = c.id(), "notify FIFO script started");
            Some(c)
        }
        Err(e) => {
            error!(script = %argv.join(" "), error = %e, "cannot run the notify FIFO script");
            None
        }
    }
}

/// Removes the FIFO if it was made here (before closing, so a reader that
/// reopens it in a loop cannot), closes it, and stops the script (sent
/// `SIGTERM` unless it already was), waiting a moment for it to exit.
fn stop(
    path: &Path,
    created: bool,
    fd: Option<OwnedFd>,
    script: Option<&mut Child>,
    terminated: bool,
) {
    if created && let Err(e) = lvs_sys::unlink(path) {
        warn!(fifo = %path.display(), error = %e, "cannot remove the notify FIFO");
    }
    drop(fd);
    let Some(child) = script else { return };
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    if !terminated {
        let _ = lvs_sys::terminate(child.id());
    }
    let deadline = Instant::now() + SCRIPT_EXIT_WAIT;
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    warn!(fifo = %path.display(), pid = child.id(), "notify FIFO script still running after SIGTERM");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{NotifyFifo, Script};
    use std::io::Read;

    #[test]
    fn lines_are_keepalived_2_2_7s() {
        assert_eq!(
            instance_line("VI_1", State::Master, 100),
            "INSTANCE \"VI_1\" MASTER 100\n"
        );
        assert_eq!(
            instance_line("VI_1", State::Backup, 90),
            "INSTANCE \"VI_1\" BACKUP 90\n"
        );
        assert_eq!(
            instance_line("web v6", State::Fault, 0),
            "INSTANCE \"web v6\" FAULT 0\n"
        );
        assert_eq!(
            instance_line("VI_1", State::Initialize, 100),
            "INSTANCE \"VI_1\" STOP 100\n"
        );
        assert_eq!(group_line("G1", State::Master), "GROUP \"G1\" MASTER 0\n");
        assert_eq!(group_line("G1", State::Fault), "GROUP \"G1\" FAULT 0\n");
        let tcp = ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
        assert_eq!(
            real_server_line(&tcp, "10.0.0.2:80".parse().unwrap(), true),
            "RS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 UP\n"
        );
        assert_eq!(
            virtual_server_line(&tcp, false),
            "VS [10.0.0.1]:tcp:80 DOWN\n"
        );
        let udp = ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: "[2001:db8::1]:53".parse().unwrap(),
        };
        assert_eq!(
            real_server_line(&udp, "[2001:db8::2]:5353".parse().unwrap(), false),
            "RS [2001:db8::2]:udp:5353 [2001:db8::1]:udp:53 DOWN\n"
        );
        let fwm = ServiceKey::Fwmark {
            family: lvs_ipvs::Family::Inet,
            mark: 7,
        };
        assert_eq!(
            real_server_line(&fwm, "10.0.0.3:0".parse().unwrap(), true),
            "RS [10.0.0.3]:none:0 FWM 7 UP\n"
        );
        assert_eq!(virtual_server_line(&fwm, true), "VS FWM 7 UP\n");
    }

    fn temp_dir(what: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lvs-fifo-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn lines_reach_a_reader_in_order_and_the_fifo_it_made_goes_at_close() {
        let dir = temp_dir("order");
        let vrrp_path = dir.join("vrrp");
        let lvs_path = dir.join("lvs");
        let cfg = NotifyFifos {
            vrrp: Some(NotifyFifo::new(&vrrp_path)),
            lvs: Some(NotifyFifo::new(&lvs_path)),
            ..NotifyFifos::default()
        };
        let mut f = Fifos::start(&cfg);
        let key = ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
        let rs: SocketAddr = "10.0.0.2:80".parse().unwrap();
        for i in 0..200u8 {
            f.transition("VI_1", State::Master, i);
            f.real_server(&key, rs, i % 2 == 0);
        }
        // The writers made the FIFOs; read them as a reader would.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !(vrrp_path.exists() && lvs_path.exists()) {
            assert!(Instant::now() < deadline, "FIFOs not made");
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut vrrp = std::fs::File::open(&vrrp_path).unwrap();
        let mut lvs = std::fs::File::open(&lvs_path).unwrap();
        f.close();
        assert!(
            !vrrp_path.exists() && !lvs_path.exists(),
            "made here, removed at close"
        );
        let mut text = String::new();
        vrrp.read_to_string(&mut text).unwrap();
        let want: String = (0..200u8)
            .map(|i| instance_line("VI_1", State::Master, i))
            .collect();
        assert_eq!(text, want, "every VRRP line, in order, nothing else");
        text.clear();
        lvs.read_to_string(&mut text).unwrap();
        let want: String = (0..200u8)
            .map(|i| real_server_line(&key, rs, i % 2 == 0))
            .collect();
        assert_eq!(text, want, "every RS line, in order, nothing else");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_reload_keeps_an_unchanged_fifo_and_moves_a_changed_one() {
        let dir = temp_dir("reload");
        let (one, two) = (dir.join("one"), dir.join("two"));
        let cfg = |p: &Path| NotifyFifos {
            vrrp: Some(NotifyFifo::new(p)),
            ..NotifyFifos::default()
        };
        let mut f = Fifos::start(&cfg(&one));
        f.transition("VI_1", State::Backup, 100);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !one.exists() {
            assert!(Instant::now() < deadline, "FIFO not made");
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut first = std::fs::File::open(&one).unwrap();
        f.reconfigure(&cfg(&one));
        f.transition("VI_1", State::Master, 100);
        // Moved: the old FIFO gets what was queued for it, then goes.
        f.reconfigure(&cfg(&two));
        f.transition("VI_1", State::Fault, 0);
        let mut text = String::new();
        first.read_to_string(&mut text).unwrap();
        assert_eq!(
            text, "INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MASTER 100\n",
            "one writer across the unchanged reload, closed by the change"
        );
        assert!(!one.exists(), "the old FIFO is removed");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !two.exists() {
            assert!(Instant::now() < deadline, "new FIFO not made");
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut second = std::fs::File::open(&two).unwrap();
        f.close();
        text.clear();
        second.read_to_string(&mut text).unwrap();
        assert_eq!(text, "INSTANCE \"VI_1\" FAULT 0\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fifo_nobody_reads_never_blocks_the_caller_and_one_already_there_stays() {
        let dir = temp_dir("noreader");
        let path = dir.join("all");
        assert!(lvs_sys::create_fifo(&path, false).unwrap());
        let cfg = NotifyFifos {
            all: Some(NotifyFifo::new(&path)),
            ..NotifyFifos::default()
        };
        let mut f = Fifos::start(&cfg);
        // Far more than the pipe (64 KiB) and the queue hold.
        let started = Instant::now();
        for i in 0..100_000u32 {
            f.transition("VI_1", State::Backup, (i % 256) as u8);
        }
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "queueing took {took:?}");
        assert!(f.writers[0].dropped > 0, "a full queue drops lines");
        f.close();
        assert!(
            path.exists(),
            "a FIFO made by someone else is left in place"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_script_gets_the_path_last_and_sigterm_at_close() {
        let dir = temp_dir("script");
        let path = dir.join("fifo");
        let out = dir.join("out");
        // Copies the FIFO to `out` until SIGTERM, then notes it.
        let body = format!(
            "trap 'echo TERM >> {o}; exit 0' TERM; echo \"args $0 $1\" > {o}; while read -r l; do echo \"$l\" >> {o}; done < \"$1\"; sleep 3 & wait",
            o = out.display()
        );
        let script = Script::new(["sh", "-c", body.as_str(), "reader"]).unwrap();
        let cfg = NotifyFifos {
            vrrp: Some(NotifyFifo::new(&path).with_script(script)),
            ..NotifyFifos::default()
        };
        let mut f = Fifos::start(&cfg);
        f.transition("VI_1", State::Backup, 100);
        f.transition("VI_1", State::Master, 100);
        let deadline = Instant::now() + Duration::from_secs(5);
        let want = format!(
            "args reader {}\nINSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MASTER 100\n",
            path.display()
        );
        while std::fs::read_to_string(&out).unwrap_or_default() != want {
            assert!(
                Instant::now() < deadline,
                "script output: {:?}",
                std::fs::read_to_string(&out)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        f.close();
        let deadline = Instant::now() + Duration::from_secs(3);
        while !std::fs::read_to_string(&out)
            .unwrap_or_default()
            .ends_with("TERM\n")
        {
            assert!(Instant::now() < deadline, "no SIGTERM seen");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
