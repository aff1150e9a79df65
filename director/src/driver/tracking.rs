//! Tracked files and processes, watched off the event loop on one thread
//! (`lvs-track`) that reports values and counts to the loop.
//!
//! Files: inotify on each file's directory (keepalived watches the same
//! way: `IN_CLOSE_WRITE` and a move into place mean read it, deleted or
//! moved away means 0), so a value is read once its writer closed it,
//! never half-written. A file whose directory is missing reads 0 and its
//! watch is retried every [`RETRY`].
//!
//! Processes: a scan of `/proc` every [`SCAN`] (keepalived follows the
//! kernel's process connector instead; a scan needs no privileges and
//! sees every process, a few hundred reads of `/proc/PID/stat` per scan on
//! a typical host). Each scan reports a tracked process's count when it
//! changed; the core applies quorum and delays.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use rustix::event::{EventfdFlags, PollFd, PollFlags, Timespec};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::config::{InitFile, ProcessMatch, parse_track_file};

/// Time between two scans of `/proc` while a process is tracked.
pub(crate) const SCAN: Duration = Duration::from_millis(500);
/// Time between two attempts to watch a file whose directory is missing.
pub(crate) const RETRY: Duration = Duration::from_secs(1);
/// keepalived reads at most this much of a track file.
const READ_MAX: u64 = 127;

/// What the loop asks the thread.
pub(super) enum Request {
    WatchFile {
        name: String,
        path: PathBuf,
        init: Option<InitFile>,
    },
    UnwatchFile(String),
    WatchProcess {
        name: String,
        process: ProcessMatch,
    },
    UnwatchProcess(String),
}

/// What the thread reports.
pub(super) enum Report {
    File(String, i64),
    Process(String, u32),
}

/// The loop's end: requests go in, the thread wakes on the eventfd.
pub(super) struct Tracker {
    tx: std_mpsc::Sender<Request>,
    wake: std::sync::Arc<OwnedFd>,
}

impl Tracker {
    /// Starts the thread; reports go to `reports`.
    pub(super) fn start(reports: mpsc::UnboundedSender<Report>) -> std::io::Result<Tracker> {
        let inotify = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
        let wake = std::sync::Arc::new(rustix::event::eventfd(
            0,
            EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK,
        )?);
        let (tx, rx) = std_mpsc::channel();
        let thread_wake = wake.clone();
        std::thread::Builder::new()
            .name("lvs-track".into())
            .spawn(move || {
                let mut w = Watcher {
                    inotify,
                    wake: thread_wake,
                    rx,
                    reports,
                    files: BTreeMap::new(),
                    procs: BTreeMap::new(),
                    next_scan: Instant::now(),
                    next_retry: Instant::now(),
                };
                w.run();
            })?;
        Ok(Tracker { tx, wake })
    }

    pub(super) fn send(&self, req: Request) {
        if self.tx.send(req).is_ok() {
            let _ = rustix::io::write(self.wake.as_fd(), &1u64.to_ne_bytes());
        }
    }
}

struct FileWatch {
    path: PathBuf,
    /// The file's name in its directory, as inotify reports it.
    base: OsString,
    /// The directory's watch, once it exists.
    wd: Option<i32>,
    /// The value last reported.
    last: Option<i64>,
}

struct ProcWatch {
    process: ProcessMatch,
    last: Option<u32>,
}

struct Watcher {
    inotify: OwnedFd,
    wake: std::sync::Arc<OwnedFd>,
    rx: std_mpsc::Receiver<Request>,
    reports: mpsc::UnboundedSender<Report>,
    files: BTreeMap<String, FileWatch>,
    procs: BTreeMap<String, ProcWatch>,
    next_scan: Instant,
    next_retry: Instant,
}

impl Watcher {
    fn run(&mut self) {
        loop {
            loop {
                match self.rx.try_recv() {
                    Ok(req) => self.request(req),
                    Err(std_mpsc::TryRecvError::Empty) => break,
                    // The loop is gone: so is the director.
                    Err(std_mpsc::TryRecvError::Disconnected) => return,
                }
            }
            let now = Instant::now();
            if !self.procs.is_empty() && now >= self.next_scan {
                self.scan();
                self.next_scan = now + SCAN;
            }
            if now >= self.next_retry {
                self.retry_watches();
                self.next_retry = now + RETRY;
            }
            let deadline = [
                (!self.procs.is_empty()).then_some(self.next_scan),
                self.files
                    .values()
                    .any(|f| f.wd.is_none())
                    .then_some(self.next_retry),
            ]
            .into_iter()
            .flatten()
            .min();
            if self.wait(deadline).is_err() {
                // Cannot happen with valid descriptors; never spin on it.
                std::thread::sleep(RETRY);
            }
            self.drain_wake();
            self.inotify_events();
        }
    }

    fn wait(&self, deadline: Option<Instant>) -> rustix::io::Result<()> {
        let timeout = deadline.map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            Timespec {
                tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(left.subsec_nanos()),
            }
        });
        let mut fds = [
            PollFd::new(&self.inotify, PollFlags::IN),
            PollFd::new(&*self.wake, PollFlags::IN),
        ];
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn drain_wake(&self) {
        let mut buf = [0u8; 8];
        let _ = rustix::io::read(self.wake.as_fd(), &mut buf);
    }

    fn request(&mut self, req: Request) {
        match req {
            Request::WatchFile { name, path, init } => {
                if let Some(init) = init {
                    init_file(&path, init);
                }
                let base = path.file_name().map(OsString::from).unwrap_or_default();
                let mut w = FileWatch {
                    path,
                    base,
                    wd: None,
                    last: None,
                };
                w.wd = self.add_watch(&w.path);
                let old = self.files.insert(name.clone(), w);
                if let Some(old) = old {
                    self.drop_watch(old.wd);
                }
                self.read_file(&name);
            }
            Request::UnwatchFile(name) => {
                if let Some(old) = self.files.remove(&name) {
                    self.drop_watch(old.wd);
                }
            }
            Request::WatchProcess { name, process } => {
                self.procs.insert(
                    name,
                    ProcWatch {
                        process,
                        last: None,
                    },
                );
                // The first count goes out at once.
                self.next_scan = Instant::now();
            }
            Request::UnwatchProcess(name) => {
                self.procs.remove(&name);
            }
        }
    }

    fn add_watch(&self, path: &Path) -> Option<i32> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let flags = WatchFlags::CLOSE_WRITE
            | WatchFlags::DELETE
            | WatchFlags::MOVED_FROM
            | WatchFlags::MOVED_TO
            | WatchFlags::ONLYDIR;
        match inotify::add_watch(&self.inotify, dir, flags) {
            Ok(wd) => Some(wd),
            Err(e) => {
                debug!(dir = %dir.display(), error = %e, "cannot watch a track file's directory yet");
                None
            }
        }
    }

    /// Removes a directory watch no other file uses.
    fn drop_watch(&self, wd: Option<i32>) {
        let Some(wd) = wd else { return };
        if !self.files.values().any(|f| f.wd == Some(wd)) {
            let _ = inotify::remove_watch(&self.inotify, wd);
        }
    }

    fn retry_watches(&mut self) {
        let missing: Vec<String> = self
            .files
            .iter()
            .filter(|(_, f)| f.wd.is_none())
            .map(|(n, _)| n.clone())
            .collect();
        for name in missing {
            let wd = self.files.get(&name).and_then(|f| self.add_watch(&f.path));
            if wd.is_some() {
                if let Some(f) = self.files.get_mut(&name) {
                    f.wd = wd;
                }
                // Its directory appeared: the file may have too.
                self.read_file(&name);
            }
        }
    }

    fn inotify_events(&mut self) {
        let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
        let mut changed: Vec<(String, bool)> = Vec::new();
        let mut lost: Vec<i32> = Vec::new();
        let mut overflow = false;
        {
            let mut reader = inotify::Reader::new(&self.inotify, &mut buf);
            loop {
                let ev = match reader.next() {
                    Ok(ev) => ev,
                    Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => break,
                    Err(e) => {
                        warn!(error = %e, "reading inotify events failed");
                        break;
                    }
                };
                let flags = ev.events();
                if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                    // Events were lost: every file is read again.
                    overflow = true;
                    continue;
                }
                if flags.contains(ReadFlags::IGNORED) {
                    // The directory itself went away.
                    lost.push(ev.wd());
                    continue;
                }
                if flags.contains(ReadFlags::ISDIR) {
                    continue;
                }
                let Some(file) = ev.file_name() else { continue };
                let gone = flags.intersects(ReadFlags::DELETE | ReadFlags::MOVED_FROM);
                for (name, f) in &self.files {
                    if f.wd == Some(ev.wd()) && f.base.as_encoded_bytes() == file.to_bytes() {
                        changed.push((name.clone(), gone));
                    }
                }
            }
        }
        for wd in lost {
            for f in self.files.values_mut().filter(|f| f.wd == Some(wd)) {
                f.wd = None;
            }
        }
        if overflow {
            let all: Vec<String> = self.files.keys().cloned().collect();
            changed = all.into_iter().map(|n| (n, false)).collect();
        }
        for (name, gone) in changed {
            if gone {
                self.report_file(&name, 0);
            } else {
                self.read_file(&name);
            }
        }
    }

    fn read_file(&mut self, name: &str) {
        let Some(f) = self.files.get(name) else {
            return;
        };
        let value = match std::fs::File::open(&f.path) {
            Ok(file) => {
                let mut text = Vec::new();
                match file.take(READ_MAX).read_to_end(&mut text) {
                    Ok(_) => parse_track_file(&String::from_utf8_lossy(&text)),
                    Err(_) => Some(0),
                }
            }
            // Missing or unreadable: 0, as keepalived.
            Err(_) => Some(0),
        };
        match value {
            Some(v) => self.report_file(name, v),
            None => warn!(file = %name, path = %f.path.display(),
                          "track file holds a number outside the 32-bit range: ignored"),
        }
    }

    fn report_file(&mut self, name: &str, value: i64) {
        let Some(f) = self.files.get_mut(name) else {
            return;
        };
        if f.last == Some(value) {
            return;
        }
        f.last = Some(value);
        let _ = self.reports.send(Report::File(name.to_string(), value));
    }

    fn scan(&mut self) {
        let want_comm = self.procs.values().any(|p| !p.process.full_command);
        let want_cmdline = self.procs.values().any(|p| p.process.full_command);
        let mut counts: Vec<u32> = vec![0; self.procs.len()];
        let Ok(dir) = std::fs::read_dir("/proc") else {
            warn!("cannot read /proc: tracked processes count 0");
            return self.report_counts(&counts);
        };
        let mut cmdline = Vec::new();
        for ent in dir.flatten() {
            let pid = ent.file_name();
            if !pid.as_encoded_bytes().iter().all(u8::is_ascii_digit) {
                continue;
            }
            let base = ent.path();
            let comm = if want_comm {
                match proc_comm(&base.join("stat")) {
                    Some(c) => Some(c),
                    None => continue, // gone, or a zombie
                }
            } else {
                None
            };
            cmdline.clear();
            if want_cmdline {
                match std::fs::File::open(base.join("cmdline")) {
                    Ok(mut f) => {
                        let _ = f.read_to_end(&mut cmdline);
                    }
                    Err(_) => continue,
                }
            }
            let comm = comm.as_deref().unwrap_or("");
            for (n, p) in self.procs.values().enumerate() {
                if p.process.matches(comm, &cmdline) {
                    counts[n] += 1;
                }
            }
        }
        self.report_counts(&counts);
    }

    fn report_counts(&mut self, counts: &[u32]) {
        for ((name, p), &c) in self.procs.iter_mut().zip(counts) {
            if p.last != Some(c) {
                p.last = Some(c);
                let _ = self.reports.send(Report::Process(name.clone(), c));
            }
        }
    }
}

/// The process name from `/proc/PID/stat`, `None` for a zombie or a
/// process gone since the directory was listed.
fn proc_comm(stat: &Path) -> Option<String> {
    let text = std::fs::read(stat).ok()?;
    let open = text.iter().position(|&b| b == b'(')?;
    // The name may hold ')': the last one closes it.
    let close = text.iter().rposition(|&b| b == b')')?;
    if text.get(close + 2) == Some(&b'Z') || close < open {
        return None;
    }
    Some(String::from_utf8_lossy(&text[open + 1..close]).into_owned())
}

/// keepalived's `init_file`: write the value if the file is missing, or
/// always with `overwrite` (a regular file only).
fn init_file(path: &Path, init: InitFile) {
    match std::fs::metadata(path) {
        Ok(_) if !init.overwrite => return,
        Ok(m) if !m.is_file() => {
            warn!(path = %path.display(), "cannot initialise a track file that is not a regular file");
            return;
        }
        _ => {}
    }
    if let Err(e) = std::fs::write(path, format!("{}\n", init.value)) {
        warn!(path = %path.display(), error = %e, "cannot initialise track file");
    }
}
