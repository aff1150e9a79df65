//! Route announcement ([`DirectorConfig::route_announce`]): which VIPs the
//! kernel is asked to hold a host route for, and the drain that withdraws
//! them all before a planned stop.
//!
//! The core owns the decision; the kernel's table is only written through
//! [`Command::AddAnnouncement`] / [`Command::RemoveAnnouncement`], after
//! every input ([`Director::settle_announcements`]).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use tracing::info;

use super::Director;
use crate::command::Command;
use crate::config::RouteAnnounce;
use crate::routes::{Removed, Routing};

/// How often a drain measures this director's traffic.
const DRAIN_SAMPLE: Duration = Duration::from_secs(1);

/// The core's record of the announcements.
#[derive(Debug, Default)]
pub(super) struct Announcements {
    /// VIPs whose route the kernel was last asked to hold.
    announced: BTreeSet<IpAddr>,
    /// A full IPVS reconcile has succeeded since start.
    reconciled: bool,
    drain: Option<Drain>,
}

#[derive(Debug)]
struct Drain {
    deadline: Instant,
    /// When the next sample is asked for.
    next_sample: Instant,
    /// The incoming packet count of the last sample.
    last_in_packets: Option<u64>,
    done: bool,
}

/// This director's traffic to its announced VIPs, as the kernel counts it
/// (the sum over the VIPs' virtual servers), for
/// [`Director::handle_traffic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TrafficSample {
    /// Packets received for the VIPs so far (IPVS's `InPkts`).
    pub in_packets: u64,
    /// Active (established TCP) connections to their real servers.
    pub active_connections: u64,
}

impl TrafficSample {
    /// A sample.
    pub fn new(in_packets: u64, active_connections: u64) -> TrafficSample {
        TrafficSample {
            in_packets,
            active_connections,
        }
    }
}

/// Why a VIP is not announced (for the status view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotAnnounced {
    /// The IPVS table has not been written by a successful reconcile yet,
    /// or a write failed and the repair is pending.
    IpvsNotInStep,
    /// Some real server's probes have not all reported once.
    ChecksPending,
    /// Some virtual server on the VIP is short of its quorum.
    NoQuorum,
    /// The director is draining.
    Draining,
    /// The director has stopped.
    Stopped,
}

impl std::fmt::Display for NotAnnounced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NotAnnounced::IpvsNotInStep => "IPVS table not in step yet",
            NotAnnounced::ChecksPending => "first checks pending",
            NotAnnounced::NoQuorum => "quorum not held",
            NotAnnounced::Draining => "draining",
            NotAnnounced::Stopped => "stopped",
        })
    }
}

impl Announcements {
    pub(super) fn is_draining(&self) -> bool {
        self.drain.is_some()
    }

    pub(super) fn is_announced(&self, vip: IpAddr) -> bool {
        self.announced.contains(&vip)
    }

    pub(super) fn note_reconciled(&mut self) {
        self.reconciled = true;
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        let d = self.drain.as_ref().filter(|d| !d.done)?;
        Some(d.next_sample.min(d.deadline))
    }
}

impl Director {
    /// The commands a start needs first: the routes a crashed run left
    /// flushed, each VIP made local.
    pub(super) fn start_announcements(&mut self) {
        let Some(a) = self.config.route_announce.clone() else {
            return;
        };
        for table in [a.table, crate::config::TABLE_LOCAL] {
            self.commands.push_back(Command::FlushRoutes {
                table,
                protocol: a.protocol,
            });
        }
        self.commands.push_back(Command::AddRouting {
            instance: None,
            routing: local_routing(&a, &self.config),
        });
    }

    /// Each announced VIP's state, for [`Director::status`].
    pub(super) fn announcement_status(&self) -> Vec<crate::status::AnnouncementStatus> {
        let Some(a) = &self.config.route_announce else {
            return Vec::new();
        };
        a.vips_of(&self.config)
            .into_iter()
            .map(|vip| crate::status::AnnouncementStatus {
                vip,
                announced: self.announcements.is_announced(vip),
                held_back: self.announce_blocker(vip),
            })
            .collect()
    }

    /// Why `vip` is not announced now, or `None` when it should be.
    pub(super) fn announce_blocker(&self, vip: IpAddr) -> Option<NotAnnounced> {
        let ann = &self.announcements;
        if self.stopped {
            return Some(NotAnnounced::Stopped);
        }
        if ann.drain.is_some() {
            return Some(NotAnnounced::Draining);
        }
        if !ann.reconciled || self.retry.is_some() {
            return Some(NotAnnounced::IpvsNotInStep);
        }
        let on_vip = self.services.values().filter(|s| {
            s.cfg
                .member_keys()
                .any(|k| k.addr().is_some_and(|a| a.ip() == vip))
        });
        let mut quorum = true;
        for s in on_vip {
            let checked = s.probes.iter().flatten().all(|p| p.reported || !p.running);
            if !checked {
                return Some(NotAnnounced::ChecksPending);
            }
            quorum &= s.quorum_up;
        }
        (!quorum).then_some(NotAnnounced::NoQuorum)
    }

    /// Brings the kernel's announcements in line with what should be
    /// announced now: withdrawals first, then additions.
    pub(super) fn settle_announcements(&mut self) {
        let Some(a) = self.config.route_announce.clone() else {
            return;
        };
        let want: BTreeSet<IpAddr> = a
            .vips_of(&self.config)
            .into_iter()
            .filter(|v| self.announce_blocker(*v).is_none())
            .collect();
        let gone: Vec<IpAddr> = self
            .announcements
            .announced
            .difference(&want)
            .copied()
            .collect();
        for vip in gone {
            let why = self
                .announce_blocker(vip)
                .map_or_else(|| "no longer configured".to_string(), |w| w.to_string());
            info!(%vip, %why, "withdrawing the VIP's route");
            self.announcements.announced.remove(&vip);
            self.commands.push_back(Command::RemoveAnnouncement {
                vip,
                route: a.route(vip),
            });
        }
        let new: Vec<IpAddr> = want
            .difference(&self.announcements.announced)
            .copied()
            .collect();
        for vip in new {
            info!(%vip, "announcing the VIP's route");
            self.announcements.announced.insert(vip);
            self.commands.push_back(Command::AddAnnouncement {
                vip,
                route: a.route(vip),
            });
        }
    }

    /// On reload: a changed announcement setting withdraws everything the
    /// old one announced and moves the local routes; the new one is then
    /// settled from scratch.
    pub(super) fn reconfigure_announcements(&mut self, old: Option<&RouteAnnounce>) {
        if old == self.config.route_announce.as_ref() {
            return;
        }
        if let Some(o) = old {
            self.withdraw_all(o, "the announcement settings changed");
            let routing = local_routing(o, self.retired.as_ref().unwrap_or(&self.config));
            self.commands.push_back(Command::RemoveRouting {
                instance: None,
                routing,
            });
        }
        if let Some(n) = self.config.route_announce.clone() {
            self.commands.push_back(Command::AddRouting {
                instance: None,
                routing: local_routing(&n, &self.config),
            });
        }
    }

    /// At stop: every announcement withdrawn, the local routes removed.
    pub(super) fn stop_announcements(&mut self) {
        let Some(a) = self.config.route_announce.clone() else {
            return;
        };
        self.withdraw_all(&a, "stopping");
        self.commands.push_back(Command::RemoveRouting {
            instance: None,
            routing: local_routing(&a, &self.config),
        });
    }

    /// Withdraws every announced VIP (routes as `a` makes them).
    fn withdraw_all(&mut self, a: &RouteAnnounce, why: &str) {
        for vip in std::mem::take(&mut self.announcements.announced) {
            info!(%vip, %why, "withdrawing the VIP's route");
            self.commands.push_back(Command::RemoveAnnouncement {
                vip,
                route: a.route(vip),
            });
        }
    }

    /// An announced route deleted behind the director's back: put back
    /// (the next settle adds it again while the VIP is still healthy).
    /// Whether `removed` was one.
    pub(super) fn announcement_removed(&mut self, removed: &Removed) -> bool {
        let Some(a) = self.config.route_announce.clone() else {
            return false;
        };
        let Removed::Route(r) = removed else {
            return false;
        };
        let hit = self
            .announcements
            .announced
            .iter()
            .copied()
            .find(|v| a.route(*v).same_route(r));
        if let Some(vip) = hit {
            info!(%vip, "the VIP's announced route was deleted: putting it back");
            self.announcements.announced.remove(&vip);
            self.settle_announcements();
        }
        hit.is_some()
    }

    /// Starts a drain: every VIP withdrawn at once; IPVS, the probes and
    /// the sync daemon keep running until this director's traffic to the
    /// VIPs has ended — no packet received for them between two samples a
    /// second apart, or no active connection — or until
    /// [`RouteAnnounce::drain_timeout`], then [`Command::Drained`]. (The
    /// connection counters alone would not do: with connection sync, every
    /// director counts the others' connections too.) Without route
    /// announcement there is nothing to drain: `Drained` at once. A second
    /// call changes nothing.
    pub fn drain(&mut self, now: Instant) {
        if self.announcements.drain.is_some() {
            return;
        }
        let Some(a) = self.config.route_announce.clone() else {
            self.commands
                .push_back(Command::Drained { timed_out: false });
            return;
        };
        info!(timeout_s = a.drain_timeout.as_secs(), "draining");
        self.announcements.drain = Some(Drain {
            deadline: now + a.drain_timeout,
            // The routers need a moment to move the flows away.
            next_sample: now + DRAIN_SAMPLE,
            last_in_packets: None,
            done: false,
        });
        self.settle_announcements();
    }

    /// Whether a drain has been started.
    pub fn is_draining(&self) -> bool {
        self.announcements.is_draining()
    }

    /// Feeds a [`Command::SampleTraffic`] measurement.
    pub fn handle_traffic(&mut self, _now: Instant, sample: TrafficSample) {
        let Some(d) = self.announcements.drain.as_mut().filter(|d| !d.done) else {
            return;
        };
        let quiet = d.last_in_packets == Some(sample.in_packets);
        d.last_in_packets = Some(sample.in_packets);
        if quiet || sample.active_connections == 0 {
            info!(
                in_packets = sample.in_packets,
                active = sample.active_connections,
                "drained: this director's traffic has ended"
            );
            d.done = true;
            self.commands
                .push_back(Command::Drained { timed_out: false });
        }
    }

    /// The drain's timers: a sample due, the deadline passed.
    pub(super) fn announcements_handle_timeout(&mut self, now: Instant) {
        let Some(d) = self.announcements.drain.as_mut().filter(|d| !d.done) else {
            return;
        };
        if now >= d.deadline {
            info!("drain timeout: stopping with traffic still arriving");
            d.done = true;
            self.commands
                .push_back(Command::Drained { timed_out: true });
            return;
        }
        if now >= d.next_sample {
            d.next_sample = now + DRAIN_SAMPLE;
            let vips = match &self.config.route_announce {
                Some(a) => a.vips_of(&self.config),
                None => Vec::new(),
            };
            self.commands.push_back(Command::SampleTraffic { vips });
        }
    }
}

/// The `local` routes that make each VIP this host's.
fn local_routing(a: &RouteAnnounce, config: &crate::config::DirectorConfig) -> Routing {
    let routes = a
        .vips_of(config)
        .into_iter()
        .map(|v| a.local_route(v))
        .collect();
    Routing::new(routes, Vec::new())
}
