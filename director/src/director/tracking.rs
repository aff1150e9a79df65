//! Tracked files and processes in the core: the one record of each file's
//! value and each process's count and state, turned into every tracking
//! router's input (`set_track_value` / `set_track`).

use std::collections::BTreeMap;
use std::time::Instant;

use tracing::{debug, info};

use super::Director;
use crate::command::Command;
use crate::config::{DirectorConfig, RealServer, TrackFile, TrackProcess};
use crate::table::Health;

/// The tracked files in use, by name.
pub(super) type Files = BTreeMap<String, FileState>;

/// What a real server's file checks say given the files' values: whether
/// they all pass (a file not reported yet fails), and the weight they add.
pub(super) fn file_checks(rs: &RealServer, files: &Files) -> (bool, i64) {
    let mut weight = 0i64;
    for c in &rs.file_checks {
        let Some((st, value)) = files.get(&c.file).and_then(|f| Some((f, f.value?))) else {
            return (false, 0);
        };
        let (w, reverse) = c.resolve(&st.spec);
        match c.effect(value, w, reverse) {
            Some(add) => weight += add,
            None => return (false, 0),
        }
    }
    (true, weight)
}

/// One tracked file some instance tracks.
pub(super) struct FileState {
    pub spec: TrackFile,
    /// Its value: `None` before the driver's first report.
    pub value: Option<i64>,
}

/// One tracked process some instance tracks.
pub(super) struct ProcState {
    pub spec: TrackProcess,
    /// Matching processes last reported; `None` before the first report.
    pub count: Option<u32>,
    /// The state the routers were given; `None` before the first report.
    pub up: Option<bool>,
    /// A change waiting out its delay: the state it would give, and when.
    pub pending: Option<(bool, Instant)>,
}

impl Director {
    /// Watches exactly the files and processes some instance of `cfg`
    /// tracks: an unchanged one keeps its value or count, a changed one is
    /// watched again (and undecided until reported), one no longer tracked
    /// is unwatched.
    pub(super) fn sync_tracking(&mut self, cfg: &DirectorConfig) {
        let used_files: std::collections::BTreeSet<&str> = cfg
            .instances
            .iter()
            .flat_map(|i| i.track_files.iter().map(|t| t.file.as_str()))
            .chain(
                cfg.virtual_servers
                    .iter()
                    .flat_map(|vs| &vs.real_servers)
                    .flat_map(|rs| rs.file_checks.iter().map(|c| c.file.as_str())),
            )
            .collect();
        let mut old = std::mem::take(&mut self.files);
        let mut files = BTreeMap::new();
        for spec in cfg
            .track_files
            .iter()
            .filter(|f| used_files.contains(f.name.as_str()))
        {
            let state = match old.remove(&spec.name) {
                Some(mut st) if st.spec.path == spec.path => {
                    st.spec = spec.clone();
                    st
                }
                _ => {
                    self.commands.push_back(Command::WatchFile {
                        name: spec.name.clone(),
                        path: spec.path.clone(),
                        init: spec.init,
                    });
                    FileState {
                        spec: spec.clone(),
                        value: None,
                    }
                }
            };
            files.insert(spec.name.clone(), state);
        }
        for name in old.into_keys() {
            if !files.contains_key(&name) {
                self.commands.push_back(Command::UnwatchFile { name });
            }
        }
        self.files = files;

        let used_procs: std::collections::BTreeSet<&str> = cfg
            .instances
            .iter()
            .flat_map(|i| i.track_processes.iter().map(|t| t.process.as_str()))
            .collect();
        let mut old = std::mem::take(&mut self.procs);
        let mut procs = BTreeMap::new();
        for spec in cfg
            .track_processes
            .iter()
            .filter(|p| used_procs.contains(p.name.as_str()))
        {
            let state = match old.remove(&spec.name) {
                Some(mut st) if st.spec.process == spec.process => {
                    // New quorum or delays: the count stands, judged anew.
                    st.spec = spec.clone();
                    st.pending = None;
                    if let Some(c) = st.count {
                        st.up = Some(spec.in_quorum(c));
                    }
                    st
                }
                _ => {
                    self.commands.push_back(Command::WatchProcess {
                        name: spec.name.clone(),
                        process: spec.process.clone(),
                    });
                    ProcState {
                        spec: spec.clone(),
                        count: None,
                        up: None,
                        pending: None,
                    }
                }
            };
            procs.insert(spec.name.clone(), state);
        }
        for name in old.into_keys() {
            if !procs.contains_key(&name) {
                self.commands.push_back(Command::UnwatchProcess { name });
            }
        }
        self.procs = procs;
    }

    /// A tracked file's value (read as [`parse_track_file`](crate::parse_track_file)
    /// reads it; 0 for a missing file): every instance tracking it moves
    /// its priority or enters or leaves FAULT, and every real server with a
    /// file check on it is taken down, brought back or reweighted (one IPVS
    /// delta per service). A value equal to the last one changes nothing;
    /// an unknown name is ignored (a file a reload removed).
    pub fn handle_track_file(&mut self, now: Instant, name: &str, value: i64) {
        let Some(st) = self.files.get(name) else {
            return;
        };
        if st.value == Some(value) {
            return;
        }
        info!(file = %name, path = %st.spec.path.display(), value, "tracked file changed");
        // The real servers it feeds, with their health before the change.
        let affected: Vec<(lvs_ipvs::ServiceKey, Vec<Health>)> = self
            .services
            .iter()
            .filter(|(_, s)| {
                s.cfg
                    .real_servers
                    .iter()
                    .any(|rs| rs.file_checks.iter().any(|c| c.file == name))
            })
            .map(|(k, s)| (*k, s.health(&self.files)))
            .collect();
        if let Some(st) = self.files.get_mut(name) {
            st.value = Some(value);
        }
        for (key, before) in affected {
            let Some(svc) = self.services.get(&key) else {
                continue;
            };
            let after = svc.health(&self.files);
            let changed: Vec<(usize, Health, Health)> = before
                .into_iter()
                .zip(after)
                .enumerate()
                .filter(|(_, (b, a))| b != a)
                .map(|(i, (b, a))| (i, b, a))
                .collect();
            if changed.is_empty() {
                continue;
            }
            for (rs, b, a) in changed {
                self.real_server_changed(&key, rs, b, a);
            }
            self.update_service(&key);
        }
        let track = format!("file:{name}");
        for i in 0..self.instances.len() {
            let inst = &mut self.instances[i];
            if !inst.cfg.track_files.iter().any(|t| t.file == name) {
                continue;
            }
            // Absent from the router: a weighted file on an address owner.
            let _ = inst.router.set_track_value(now, &track, value);
            inst.track_decided(now, &track);
            debug!(instance = %inst.cfg.name, priority = inst.router.effective_priority(),
                   file = %name, value, "tracked file applied");
            self.drain_router(i);
        }
        self.settle_sync_groups(now);
    }

    /// How many processes match a tracked process now: the process goes up
    /// or down once the number is inside or outside its quorum, after its
    /// `fork_delay` (the number went up) or `terminate_delay` (it went
    /// down), unless it changes back first. The first report applies at
    /// once, as keepalived's start-up scan does.
    pub fn handle_process_count(&mut self, now: Instant, name: &str, count: u32) {
        let Some(st) = self.procs.get_mut(name) else {
            return;
        };
        let before = st.count.replace(count);
        let target = st.spec.in_quorum(count);
        let Some(up) = st.up else {
            info!(process = %name, count, up = target, "tracked process counted");
            self.apply_process(now, name, target);
            return;
        };
        if before == Some(count) {
            return;
        }
        debug!(process = %name, count, "tracked process count changed");
        if target == up {
            st.pending = None;
            return;
        }
        if st.pending.is_some_and(|(t, _)| t == target) {
            return;
        }
        let delay = if before.is_some_and(|b| count > b) {
            st.spec.fork_delay
        } else {
            st.spec.terminate_delay
        };
        if delay.is_zero() {
            st.pending = None;
            self.apply_process(now, name, target);
        } else {
            st.pending = Some((target, now + delay));
        }
    }

    /// The earliest process delay running out.
    pub(super) fn tracking_timeout(&self) -> Option<Instant> {
        self.procs
            .values()
            .filter_map(|p| p.pending.map(|(_, at)| at))
            .min()
    }

    /// Applies every process delay that ran out by `now`.
    pub(super) fn tracking_handle_timeout(&mut self, now: Instant) {
        let due: Vec<(String, bool)> = self
            .procs
            .iter_mut()
            .filter_map(|(name, p)| match p.pending {
                Some((target, at)) if at <= now => {
                    p.pending = None;
                    Some((name.clone(), target))
                }
                _ => None,
            })
            .collect();
        for (name, target) in due {
            self.apply_process(now, &name, target);
        }
    }

    fn apply_process(&mut self, now: Instant, name: &str, up: bool) {
        let Some(st) = self.procs.get_mut(name) else {
            return;
        };
        if st.up == Some(up) {
            return;
        }
        if st.up.is_some() {
            info!(process = %name, count = st.count.unwrap_or(0), up, "tracked process changed");
        }
        st.up = Some(up);
        let spec = st.spec.clone();
        for i in 0..self.instances.len() {
            let inst = &mut self.instances[i];
            let Some(t) = inst.cfg.track_processes.iter().find(|t| t.process == name) else {
                continue;
            };
            let r = t.resolve(&spec);
            let _ = inst.router.set_track(now, &r.track_name, r.signal(up));
            inst.track_decided(now, &r.track_name);
            self.drain_router(i);
        }
        self.settle_sync_groups(now);
    }

    /// Before a router starts: the tracked files' and processes' states
    /// known now go in, and the names of those not reported yet (the
    /// instance waits in Initialize for them, as keepalived reads them
    /// all before it starts).
    pub(super) fn initial_tracking(
        &self,
        now: Instant,
        cfg: &crate::config::VrrpInstance,
        router: &mut lvs_vrrp::Router,
    ) -> Vec<String> {
        let mut waiting = Vec::new();
        let has = |router: &lvs_vrrp::Router, name: &str| {
            router.config().tracks.iter().any(|t| t.name == name)
        };
        for t in &cfg.track_files {
            let name = t.track_name();
            if !has(router, &name) {
                info!(instance = %cfg.name, file = %t.file,
                      "weighted track file ignored: the address owner's priority never changes");
                continue;
            }
            match self.files.get(&t.file).and_then(|f| f.value) {
                Some(v) => {
                    let _ = router.set_track_value(now, &name, v);
                }
                None => waiting.push(name),
            }
        }
        for t in &cfg.track_processes {
            let name = t.track_name();
            let Some(st) = self.procs.get(&t.process) else {
                continue;
            };
            if !has(router, &name) {
                info!(instance = %cfg.name, process = %t.process,
                      "weighted track process ignored: the address owner's priority never changes");
                continue;
            }
            match st.up {
                Some(up) => {
                    let _ = router.set_track(now, &name, t.resolve(&st.spec).signal(up));
                }
                None => waiting.push(name),
            }
        }
        waiting
    }
}
