//! Route announcement for active-active directors (`RouteAnnounce`): a
//! VIP's route is held only while its virtual servers are in the kernel,
//! checked once and at quorum, and a drain withdraws it and ends when the
//! director's traffic does — on two VRRP-less directors on a virtual clock
//! (`sim/mod.rs`).

mod sim;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use lvs_director::{
    Command, DirectorConfig, NotAnnounced, RouteAnnounce, RouteKind, SyncDaemonConfig,
    VirtualServer,
};
use lvs_ipvs::{Op, Scheduler, Service, ServiceKey, SyncDaemon, SyncState};
use sim::*;

const BACKENDS: [&str; 2] = ["10.0.9.11:80", "10.0.9.12:80"];

fn vip_a() -> IpAddr {
    ip("203.0.113.10")
}

/// An `mh` virtual server on the VIP over both backends (weight 0 on
/// failure, as the ECMP data plane wants), quorum 1.
fn announced_config(node: usize) -> DirectorConfig {
    let key = ServiceKey::tcp(sa("203.0.113.10:80"));
    let vs = BACKENDS.iter().fold(
        VirtualServer::new(Service::new(key, Scheduler::Maglev)),
        |vs, b| {
            let mut rs = real_server(b);
            rs.inhibit_on_failure = true;
            vs.with_real_server(rs)
        },
    );
    let mut c = DirectorConfig::new()
        .with_virtual_server(vs)
        .with_route_announce(RouteAnnounce::new());
    c.name = Some(format!("DIR{}", node + 1));
    c
}

fn announced(w: &World, node: usize) -> bool {
    w.nodes[node].announced.contains_key(&vip_a())
}

/// When the node's announcement was added (the first time since `since`).
fn announced_at(w: &World, node: usize, since: Instant) -> Option<Instant> {
    w.log_since(node, since)
        .find(|l| matches!(l.cmd, Command::AddAnnouncement { .. }))
        .map(|l| l.at)
}

fn held_back(w: &World, node: usize) -> Option<NotAnnounced> {
    w.nodes[node].director.status().announcements[0].held_back
}

#[test]
fn a_vip_is_announced_only_once_the_table_is_written_and_every_backend_checked() {
    let mut w = World::new([announced_config(NODE01), announced_config(NODE02)]);
    // Reconciled at start, but the first probes run 1 s after it.
    assert!(!announced(&w, NODE01));
    assert_eq!(held_back(&w, NODE01), Some(NotAnnounced::ChecksPending));
    w.run_to(3.0);
    for node in [NODE01, NODE02] {
        let at = announced_at(&w, node, w.start).expect("announced");
        let last_first_probe = BACKENDS
            .iter()
            .filter_map(|b| {
                w.nodes[node]
                    .probe_runs
                    .iter()
                    .find(|(_, a, _)| *a == sa(b))
                    .map(|(t, _, _)| *t)
            })
            .max()
            .expect("probes ran");
        assert_eq!(
            at, last_first_probe,
            "node {node}: announced right after the last first check"
        );
        assert!(at >= w.at(1.0));
        let r = &w.nodes[node].announced[&vip_a()];
        assert_eq!((r.table, r.protocol, r.prefix_len), (198, 99, 32));
        assert_eq!(held_back(&w, node), None);
    }
}

#[test]
fn the_start_flushes_leftovers_and_makes_the_vip_local_first() {
    let w = World::new([announced_config(NODE01), announced_config(NODE02)]);
    let first: Vec<&Command> = w.nodes[NODE01].log.iter().take(3).map(|l| &l.cmd).collect();
    assert!(
        matches!(
            first[0],
            Command::FlushRoutes {
                table: 198,
                protocol: 99
            }
        ),
        "{first:?}"
    );
    assert!(
        matches!(
            first[1],
            Command::FlushRoutes {
                table: 255,
                protocol: 99
            }
        ),
        "{first:?}"
    );
    let Command::AddRouting { routing, .. } = first[2] else {
        panic!("third command: {first:?}");
    };
    assert_eq!(routing.routes.len(), 1);
    let local = &routing.routes[0];
    assert_eq!(
        (local.kind, local.dest, local.table),
        (RouteKind::Local, vip_a(), 255)
    );
    assert_eq!(
        w.nodes[NODE01].routing.routes.len(),
        1,
        "the local route is held"
    );
}

#[test]
fn losing_the_quorum_withdraws_and_regaining_it_announces_again() {
    let mut w = World::new([announced_config(NODE01), announced_config(NODE02)]);
    w.run_to(3.0);
    assert!(announced(&w, NODE01));
    // One backend down: quorum 1 still held.
    w.kill_backend(BACKENDS[0]);
    w.run_to(10.0);
    assert!(announced(&w, NODE01), "one backend is still up");
    let t = w.now;
    w.kill_backend(BACKENDS[1]);
    w.run_to(20.0);
    assert!(!announced(&w, NODE01) && !announced(&w, NODE02));
    assert_eq!(held_back(&w, NODE01), Some(NotAnnounced::NoQuorum));
    let withdrawn = w
        .log_since(NODE01, t)
        .find(|l| matches!(l.cmd, Command::RemoveAnnouncement { .. }))
        .map(|l| l.at)
        .expect("withdrawn");
    // The same instant the quorum went: the weight-0 edit, then the withdrawal.
    let quorum_lost = w
        .log_since(NODE01, t)
        .find(|l| matches!(l.cmd, Command::QuorumChanged { up: false, .. }))
        .map(|l| l.at)
        .expect("quorum lost");
    assert_eq!(withdrawn, quorum_lost);
    // Inhibited, never deleted: the Maglev table keeps its slots.
    assert!(
        !w.ipvs_ops(NODE01, w.start)
            .iter()
            .any(|(_, op)| matches!(op, Op::DeleteDestination { .. })),
        "a destination was deleted"
    );
    let t = w.now;
    w.revive_backend(BACKENDS[1]);
    w.run_to(30.0);
    assert!(announced(&w, NODE01), "announced again");
    assert!(announced_at(&w, NODE01, t).is_some());
}

#[test]
fn a_failed_ipvs_write_withdraws_until_the_table_is_repaired() {
    let mut w = World::new([announced_config(NODE01), announced_config(NODE02)]);
    w.run_to(3.0);
    assert!(announced(&w, NODE01));
    w.nodes[NODE01].ipvs_failing = true;
    w.kill_backend(BACKENDS[0]);
    w.run_to(8.0);
    assert!(
        !announced(&w, NODE01),
        "a failed write leaves the table unknown"
    );
    assert_eq!(held_back(&w, NODE01), Some(NotAnnounced::IpvsNotInStep));
    assert!(announced(&w, NODE02), "the other director's writes succeed");
    w.nodes[NODE01].ipvs_failing = false;
    w.run_to(20.0);
    assert!(announced(&w, NODE01), "repaired by the retried reconcile");
}

#[test]
fn a_drain_withdraws_at_once_and_ends_when_no_packet_arrives_between_samples() {
    let mut w = World::new([announced_config(NODE01), announced_config(NODE02)]);
    w.run_to(3.0);
    w.nodes[NODE01].traffic_per_sample = 10;
    let t = w.now;
    w.drain(NODE01);
    assert!(!announced(&w, NODE01), "withdrawn at once");
    assert!(announced(&w, NODE02));
    assert_eq!(held_back(&w, NODE01), Some(NotAnnounced::Draining));
    w.run_to(10.0);
    let drained = |w: &World| {
        w.log_since(NODE01, t).find_map(|l| match l.cmd {
            Command::Drained { timed_out } => Some((l.at, timed_out)),
            _ => None,
        })
    };
    assert_eq!(drained(&w), None, "traffic still arrives");
    // The probes and IPVS keep running while draining.
    assert!(
        w.nodes[NODE01]
            .probe_runs
            .iter()
            .any(|(at, _, _)| *at > w.at(8.0))
    );
    w.nodes[NODE01].traffic_per_sample = 0;
    let quiet = w.now;
    w.run_to(13.0);
    let (at, timed_out) = drained(&w).expect("drained");
    assert!(!timed_out);
    assert!(
        at > quiet && at <= quiet + Duration::from_secs(2),
        "{:?}",
        at - quiet
    );
    // Nothing is announced again, even though everything is healthy.
    w.run_to(20.0);
    assert!(!announced(&w, NODE01));
}

#[test]
fn a_drain_whose_traffic_never_ends_stops_at_its_timeout() {
    let mut c = announced_config(NODE01);
    c.route_announce.as_mut().expect("announce").drain_timeout = Duration::from_secs(30);
    let mut w = World::new([c, announced_config(NODE02)]);
    w.run_to(3.0);
    w.nodes[NODE01].traffic_per_sample = 10;
    let t = w.now;
    w.drain(NODE01);
    w.run_to(40.0);
    let ends: Vec<(Instant, bool)> = w
        .log_since(NODE01, t)
        .filter_map(|l| match l.cmd {
            Command::Drained { timed_out } => Some((l.at, timed_out)),
            _ => None,
        })
        .collect();
    assert_eq!(ends, [(t + Duration::from_secs(30), true)]);
}

#[test]
fn a_stop_withdraws_before_anything_else_and_removes_the_local_route() {
    let mut w = World::new([announced_config(NODE01), announced_config(NODE02)]);
    w.run_to(3.0);
    let t = w.now;
    w.shutdown(NODE01);
    let cmds: Vec<&Command> = w.log_since(NODE01, t).map(|l| &l.cmd).collect();
    assert!(
        matches!(cmds[0], Command::RemoveAnnouncement { .. }),
        "{cmds:?}"
    );
    assert!(!announced(&w, NODE01));
    assert!(
        w.nodes[NODE01].routing.routes.is_empty(),
        "local route left behind"
    );
    assert_eq!(held_back(&w, NODE01), Some(NotAnnounced::Stopped));
}

#[test]
fn an_announced_route_deleted_behind_its_back_is_put_back() {
    let mut w = World::new([announced_config(NODE01), announced_config(NODE02)]);
    w.run_to(3.0);
    let route = w.nodes[NODE01].announced[&vip_a()].clone();
    w.delete_behind_its_back(NODE01, &lvs_director::Removed::Route(route));
    assert!(announced(&w, NODE01), "put back at once");
}

#[test]
fn a_sync_daemon_without_an_instance_runs_as_master_and_backup() {
    let mut c = announced_config(NODE01);
    c.sync_daemon = Some(SyncDaemonConfig::both(SyncDaemon::new(
        SyncState::Master,
        INTERFACE,
        7,
    )));
    let w = World::new([c, announced_config(NODE02)]);
    let started: Vec<SyncState> = w
        .ipvs_ops(NODE01, w.start)
        .into_iter()
        .filter_map(|(_, op)| match op {
            Op::StartDaemon(d) => Some(d.state),
            _ => None,
        })
        .collect();
    assert_eq!(started, [SyncState::Master, SyncState::Backup]);
}

#[test]
fn an_announced_vip_may_not_be_a_vrrp_address() {
    let mut c = announced_config(NODE01);
    let mut inst = instance(NODE01);
    inst.vips = vec![lvs_director::Vip::new(vip_a())];
    c.instances.push(inst);
    let e = c.validate().expect_err("refused");
    assert!(
        e.to_string().contains("must not be an interface address"),
        "{e}"
    );
}
