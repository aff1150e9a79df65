//! systemd's notify protocol (`Type=notify`), through the `sd-notify`
//! crate: `READY=1` once VRRP and IPVS are up, `STATUS=` with the VRRP
//! states and real servers, `WATCHDOG=1` from the program's event loop
//! when systemd set `WATCHDOG_USEC`, `RELOADING=1` around a reload and
//! `STOPPING=1` at the end. Without `NOTIFY_SOCKET` nothing is sent.

use std::time::Duration;

use lvs_director::report::Snapshot;
use sd_notify::NotifyState;
use tracing::warn;

/// How often `STATUS=` is refreshed when there is no watchdog to pace it.
const STATUS_EVERY: Duration = Duration::from_secs(5);

/// The one-line `STATUS=`: each instance's state, then the real servers up.
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

/// What the program tells systemd, and when.
#[derive(Debug)]
pub struct Notifier {
    enabled: bool,
    watchdog: Option<Duration>,
    last_status: String,
    failed: bool,
}

impl Notifier {
    /// From the environment systemd gives a `Type=notify` service.
    pub fn from_env() -> Notifier {
        Notifier {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some(),
            watchdog: sd_notify::watchdog_enabled(),
            last_status: String::new(),
            failed: false,
        }
    }

    /// How often the event loop should call [`Notifier::tick`]: half the
    /// watchdog period (as sd_watchdog_enabled(3) advises), else
    /// every 5 s for `STATUS=`; `None` when nothing is listening.
    pub fn tick_interval(&self) -> Option<Duration> {
        if !self.enabled {
            return None;
        }
        Some(self.watchdog.map_or(STATUS_EVERY, |w| w / 2))
    }

    fn send(&mut self, states: &[NotifyState<'_>]) {
        if !self.enabled {
            return;
        }
        if let Err(e) = sd_notify::notify(states) {
            // Once: a service manager that went away is not news each tick.
            if !self.failed {
                warn!(error = %e, "cannot notify the service manager");
            }
            self.failed = true;
        }
    }

    /// The director is up (again, after a reload).
    pub fn ready(&mut self, status: &str) {
        self.last_status = status.to_string();
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// A reload begins.
    pub fn reloading(&mut self) {
        let mut states = vec![NotifyState::Reloading];
        if let Ok(now) = NotifyState::monotonic_usec_now() {
            states.push(now);
        }
        self.send(&states);
    }

    /// One turn of the event loop: `status` is `None` when the director's
    /// driver no longer answers, and then no `WATCHDOG=1` is sent, so
    /// systemd restarts a director whose core is gone.
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

    /// The director is stopping.
    pub fn stopping(&mut self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvs_director::report::{InstanceView, RealServerView};

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

    #[test]
    fn without_a_socket_nothing_ticks() {
        let n = Notifier {
            enabled: false,
            watchdog: Some(Duration::from_secs(10)),
            last_status: String::new(),
            failed: false,
        };
        assert_eq!(n.tick_interval(), None);
        let n = Notifier { enabled: true, ..n };
        assert_eq!(n.tick_interval(), Some(Duration::from_secs(5)));
        let n = Notifier {
            watchdog: None,
            ..n
        };
        assert_eq!(n.tick_interval(), Some(STATUS_EVERY));
    }
}
