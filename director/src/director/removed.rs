//! What the kernel reports deleted behind the director's back: keepalived's
//! tracking of VIPs, virtual routes and rules (a Master that loses one
//! steps down and takes over again, its sync group with it) and of the
//! static ones (put back).

use std::time::Instant;

use lvs_vrrp::State;
use tracing::info;

use super::Director;
use crate::command::Command;
use crate::config::{Vip, VrrpInstance};
use crate::routes::{Removed, Route, Routing, Rule};

impl Director {
    /// Tells that the kernel deleted an address, route or rule (the driver
    /// reports only what is really gone at the time of the call, so an
    /// event left over from the director's own removal changes nothing).
    ///
    /// As keepalived does, unless the item is `no_track`:
    /// - one of a Master's VIPs, virtual routes or rules: the instance
    ///   resigns (priority 0), removes the rest and becomes Master again
    ///   after Skew_Time, putting everything back — unless a peer takes
    ///   over first; the Masters of its sync group do the same;
    /// - a static address, route or rule: it is added again.
    ///
    /// Anything else, or an instance that is not Master, is ignored.
    pub fn handle_removed(&mut self, now: Instant, removed: &Removed) {
        if self.stopped || self.announcement_removed(removed) {
            return;
        }
        let lost = tracked_part(&self.config.static_routing, removed);
        if !lost.is_empty() {
            info!(what = %removed, "a static item was deleted: putting it back");
            self.commands.push_back(Command::AddRouting {
                instance: None,
                routing: lost,
            });
        }
        let hit: Vec<usize> = (0..self.instances.len())
            .filter(|&i| {
                let inst = &self.instances[i];
                inst.router.state() == State::Master && owns(&inst.cfg, removed)
            })
            .collect();
        for i in hit {
            let name = self.instances[i].cfg.name.clone();
            info!(instance = %name, what = %removed,
                  "deleted while Master: stepping down to take over again");
            let group = self
                .config
                .sync_groups
                .iter()
                .find(|g| g.members.contains(&name))
                .map(|g| g.members.clone())
                .unwrap_or_else(|| vec![name]);
            for j in 0..self.instances.len() {
                if group.contains(&self.instances[j].cfg.name) {
                    self.instances[j].router.step_down_and_retake(now);
                    self.drain_router(j);
                }
            }
        }
        self.settle_sync_groups(now);
    }
}

/// Whether `removed` is one of the instance's tracked VIPs, routes or rules.
fn owns(inst: &VrrpInstance, removed: &Removed) -> bool {
    inst.vips.iter().any(|v| is_vip(removed, v))
        || inst.routes.iter().any(|r| is_route(removed, r))
        || inst.rules.iter().any(|r| is_rule(removed, r))
}

/// The tracked items of `routing` that `removed` is.
fn tracked_part(routing: &Routing, removed: &Removed) -> Routing {
    let mut out = routing.clone();
    out.addresses.retain(|v| is_vip(removed, v));
    out.routes.retain(|r| is_route(removed, r));
    out.rules.retain(|r| is_rule(removed, r));
    out
}

// Whether `removed` is this tracked (not `no_track`) address, route, rule.

fn is_vip(removed: &Removed, v: &Vip) -> bool {
    !v.no_track && matches!(removed, Removed::Address(a) if *a == v.addr)
}

fn is_route(removed: &Removed, r: &Route) -> bool {
    !r.no_track && matches!(removed, Removed::Route(x) if r.same_route(x))
}

fn is_rule(removed: &Removed, r: &Rule) -> bool {
    !r.no_track && matches!(removed, Removed::Rule(x) if r.same_rule(x))
}
