//! keepalived's `ha_suspend` on the virtual clock (see `sim/mod.rs`): the
//! Backup, which does not hold the VIP, runs no probes and keeps each real
//! server's health; once it holds the VIP its probes start again from that
//! health.

mod sim;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use lvs_director::{Command, DirectorConfig};
use sim::*;

fn suspending(node: usize) -> DirectorConfig {
    let mut c = lab_config(node);
    c.virtual_servers[0].ha_suspend = true;
    c
}

fn runs(w: &World, node: usize, from: f64, to: f64) -> usize {
    w.nodes[node]
        .probe_runs
        .iter()
        .filter(|(at, _, _)| *at >= w.at(from) && *at < w.at(to))
        .count()
}

fn set(addrs: &[&str]) -> Option<BTreeSet<SocketAddr>> {
    Some(addrs.iter().map(|a| sa(a)).collect())
}

#[test]
fn the_backup_suspends_its_checks_and_resumes_them_from_the_kept_health() {
    let mut w = World::new([suspending(NODE01), suspending(NODE02)]);
    w.run_to(1.0);
    w.report_addresses(NODE01);
    w.report_addresses(NODE02);
    let removed = w.count(NODE02, w.at(1.0), |c| {
        matches!(c, Command::RemoveProbe { .. })
    });
    assert_eq!(removed, 2, "NODE02 stops both probes");
    assert_eq!(
        w.count(NODE01, w.at(1.0), |c| matches!(
            c,
            Command::RemoveProbe { .. }
        )),
        0,
        "NODE01 holds the VIP: its probes run"
    );
    w.run_to(30.0);
    assert_eq!(
        runs(&w, NODE02, 1.1, 30.0),
        0,
        "no probe runs on the Backup"
    );
    assert!(runs(&w, NODE01, 1.1, 30.0) > 10);

    // A backend dies: NODE01 takes it out, NODE02 (suspended) keeps it.
    w.kill_backend("172.20.0.86:80");
    w.run_to(60.0);
    assert_eq!(w.kernel_dests(NODE01, http()), set(&["172.20.0.85:80"]));
    assert_eq!(
        w.kernel_dests(NODE02, http()),
        set(&["172.20.0.85:80", "172.20.0.86:80"])
    );

    // NODE02 takes over: with the VIP its probes start, from "up", and
    // take .86 out after its own fall.
    w.crash(NODE01);
    w.run_to(65.0);
    assert!(w.holds_vip(NODE02));
    let back = w.now;
    w.report_addresses(NODE02);
    let added = w.count(NODE02, back, |c| matches!(c, Command::AddProbe { .. }));
    assert_eq!(added, 2);
    assert_eq!(
        w.kernel_dests(NODE02, http()),
        set(&["172.20.0.85:80", "172.20.0.86:80"]),
        "no real server changes when checks resume"
    );
    w.run_for(Duration::from_secs(30));
    assert!(runs(&w, NODE02, 65.0, 95.0) > 10);
    assert_eq!(w.kernel_dests(NODE02, http()), set(&["172.20.0.85:80"]));
}

#[test]
fn without_ha_suspend_or_before_any_report_every_probe_runs() {
    let mut w = World::lab();
    w.run_to(1.0);
    w.report_addresses(NODE02);
    assert_eq!(
        w.count(NODE02, w.start, |c| matches!(
            c,
            Command::RemoveProbe { .. }
        )),
        0
    );
    let mut w = World::new([suspending(NODE01), suspending(NODE02)]);
    w.run_to(20.0);
    assert!(runs(&w, NODE02, 1.0, 20.0) > 5, "no report yet: probes run");
}
