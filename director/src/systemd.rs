//! systemd's notify protocol (`Type=notify`) for the program that runs a
//! director, through the `sd-notify` crate.
//!
//! The program owns its loop, so it calls a [`Notifier`] at each step:
//! [`ready`](Notifier::ready) once VRRP and IPVS are up (and again after a
//! reload), [`reloading`](Notifier::reloading) when a reload begins,
//! [`tick`](Notifier::tick) every [`tick_interval`](Notifier::tick_interval)
//! (`WATCHDOG=1` when systemd set `WATCHDOG_USEC`, `STATUS=` when the
//! [`status_line`] changed), [`stopping`](Notifier::stopping) at the end.
//! Without `NOTIFY_SOCKET` in the environment nothing is sent.
//!
//! ```no_run
//! # async fn example(handle: lvs_director::Handle) {
//! use lvs_director::report::Snapshot;
//! use lvs_director::systemd::{Notifier, status_line};
//!
//! let line = |r: &lvs_director::Report| status_line(&Snapshot::new(r, std::process::id(), "-"));
//! let mut notifier = Notifier::from_env();
//! notifier.ready(&handle.status().await.map(|r| line(&r)).unwrap_or_default());
//! if let Some(every) = notifier.tick_interval() {
//!     let mut tick = tokio::time::interval(every);
//!     for _ in 0..10 {
//!         tick.tick().await;
//!         // No answer from the driver: no WATCHDOG=1, so systemd restarts us.
//!         notifier.tick(handle.status().await.map(|r| line(&r)));
//!     }
//! }
//! notifier.stopping();
//! handle.shutdown().await;
//! # }
//! ```

use std::time::Duration;

use sd_notify::NotifyState;
use tracing::warn;

use crate::report::Snapshot;

/// How often `STATUS=` is refreshed when there is no watchdog to pace it.
const STATUS_EVERY: Duration = Duration::from_secs(5);

/// The one-line `STATUS=`: each instance's state, then the real servers up
/// (`VI_1 MASTER, VI_2 BACKUP, 2/3 real servers up`; `running` when the
/// snapshot holds neither).
pub fn status_line(s: &Snapshot) -> String {
    let mut parts: Vec<String> = s
        .instances
        .iter()
        .map(|i| format!("{} {}", i.name, i.state.to_uppercase()))
        .collect();
    if !s.real_servers.is_empty() {
        let up = s.real_servers.iter().filter(|r| r.up).count();
        parts.push(format!("{up}/{} real servers up", s.real_servers.len()));
    }
    if parts.is_empty() {
        parts.push("running".into());
    }
    parts.join(", ")
}

/// Where notifications go: the service manager, or (tests) a record.
#[derive(Debug)]
enum Sink {
    /// `NOTIFY_SOCKET` is set.
    Systemd,
    /// Nothing is listening.
    Off,
    #[cfg(test)]
    Record(Vec<Vec<String>>),
}

/// What the program tells systemd, and when.
#[derive(Debug)]
pub struct Notifier {
    sink: Sink,
    watchdog: Option<Duration>,
    last_status: String,
    failed: bool,
}

impl Notifier {
    /// From the environment systemd gives a `Type=notify` service
    /// (`NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`).
    pub fn from_env() -> Notifier {
        let sink = if std::env::var_os("NOTIFY_SOCKET").is_some() {
            Sink::Systemd
        } else {
            Sink::Off
        };
        Notifier {
            sink,
            watchdog: sd_notify::watchdog_enabled(),
            last_status: String::new(),
            failed: false,
        }
    }

    /// How often the loop should call [`Notifier::tick`]: half the
    /// watchdog period (as sd_watchdog_enabled(3) advises), else every 5 s
    /// for `STATUS=`; `None` when nothing is listening.
    pub fn tick_interval(&self) -> Option<Duration> {
        if matches!(self.sink, Sink::Off) {
            return None;
        }
        Some(self.watchdog.map_or(STATUS_EVERY, |w| w / 2))
    }

    fn send(&mut self, states: &[NotifyState<'_>]) {
        let result = match &mut self.sink {
            Sink::Off => return,
            Sink::Systemd => sd_notify::notify(states),
            #[cfg(test)]
            Sink::Record(sent) => {
                sent.push(states.iter().map(ToString::to_string).collect());
                Ok(())
            }
        };
        if let Err(e) = result {
            // Once: a service manager that went away is not news each tick.
            if !self.failed {
                warn!(error = %e, "cannot notify the service manager");
            }
            self.failed = true;
        }
    }

    /// The director is up (again, after a reload): `READY=1` and `STATUS=`.
    pub fn ready(&mut self, status: &str) {
        self.last_status = status.to_string();
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// A reload begins: `RELOADING=1` with `MONOTONIC_USEC=`.
    pub fn reloading(&mut self) {
        let mut states = vec![NotifyState::Reloading];
        if let Ok(now) = NotifyState::monotonic_usec_now() {
            states.push(now);
        }
        self.send(&states);
    }

    /// One turn of the loop: `WATCHDOG=1` (with a watchdog) and `STATUS=`
    /// if it changed. `status` is `None` when the director's driver no
    /// longer answers, and then nothing is sent, so systemd restarts a
    /// director whose core is gone.
    pub fn tick(&mut self, status: Option<String>) {
        let Some(status) = status else { return };
        let changed = status != self.last_status;
        let mut states = Vec::new();
        if self.watchdog.is_some() {
            states.push(NotifyState::Watchdog);
        }
        if changed {
            states.push(NotifyState::Status(&status));
        }
        if !states.is_empty() {
            self.send(&states);
        }
        if changed {
            self.last_status = status;
        }
    }

    /// The director is stopping: `STOPPING=1`, `STATUS=stopping`.
    pub fn stopping(&mut self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{InstanceView, RealServerView};

    #[test]
    fn the_status_line_names_states_and_counts_real_servers() {
        let instance = |name: &str, state: &str| InstanceView {
            name: name.into(),
            interface: "ens18".into(),
            vrid: 51,
            state: state.into(),
            priority: 100,
            effective_priority: 100,
            master: None,
            vips: vec![],
            last_reason: "Startup".into(),
            drops: Default::default(),
        };
        let rs = |up| RealServerView {
            virtual_server: "TCP 172.20.0.83:80".into(),
            addr: "172.20.0.85:80".parse().unwrap(),
            up,
            weight: None,
            checks: vec![],
        };
        let mut s = Snapshot {
            router_id: "N1".into(),
            pid: 1,
            config_file: "n1.conf".into(),
            instances: vec![instance("VI_1", "Master"), instance("VI_2", "Backup")],
            real_servers: vec![rs(true), rs(false), rs(true)],
            ipvs: None,
            ghosts: vec![],
            announcements: Vec::new(),
            draining: false,
            ipvs_repaired: 0,
        };
        assert_eq!(
            status_line(&s),
            "VI_1 MASTER, VI_2 BACKUP, 2/3 real servers up"
        );
        s.real_servers.clear();
        assert_eq!(status_line(&s), "VI_1 MASTER, VI_2 BACKUP");
        s.instances.clear();
        assert_eq!(status_line(&s), "running");
    }

    fn recording(watchdog: Option<Duration>) -> Notifier {
        Notifier {
            sink: Sink::Record(Vec::new()),
            watchdog,
            last_status: String::new(),
            failed: false,
        }
    }

    fn sent(n: &Notifier) -> Vec<Vec<String>> {
        match &n.sink {
            Sink::Record(s) => s.clone(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn without_a_socket_nothing_ticks() {
        let off = Notifier {
            sink: Sink::Off,
            ..recording(Some(Duration::from_secs(10)))
        };
        assert_eq!(off.tick_interval(), None);
        let dog = recording(Some(Duration::from_secs(10)));
        assert_eq!(dog.tick_interval(), Some(Duration::from_secs(5)));
        let fast = recording(Some(Duration::from_millis(300)));
        assert_eq!(fast.tick_interval(), Some(Duration::from_millis(150)));
        assert_eq!(recording(None).tick_interval(), Some(STATUS_EVERY));
    }

    #[test]
    fn ticks_feed_the_watchdog_and_send_status_only_on_change() {
        let mut n = recording(Some(Duration::from_secs(1)));
        n.ready("VI_1 BACKUP");
        n.tick(Some("VI_1 BACKUP".into()));
        n.tick(Some("VI_1 MASTER".into()));
        // The driver is gone: no watchdog, systemd will restart us.
        n.tick(None);
        n.reloading();
        n.stopping();
        let got = sent(&n);
        assert_eq!(got[0], ["READY=1", "STATUS=VI_1 BACKUP"]);
        assert_eq!(got[1], ["WATCHDOG=1"]);
        assert_eq!(got[2], ["WATCHDOG=1", "STATUS=VI_1 MASTER"]);
        assert_eq!(got[3][0], "RELOADING=1");
        assert!(got[3][1].starts_with("MONOTONIC_USEC="), "{got:?}");
        assert_eq!(got[4], ["STOPPING=1", "STATUS=stopping"]);
        assert_eq!(got.len(), 5);
        // Without a watchdog a tick sends only a changed status.
        let mut quiet = recording(None);
        quiet.ready("running");
        quiet.tick(Some("running".into()));
        quiet.tick(Some("VI_1 MASTER".into()));
        assert_eq!(sent(&quiet)[1..], [vec!["STATUS=VI_1 MASTER".to_string()]]);
    }
}
