//! keepalived's `virtual_routes` / `virtual_rules` (held by the Master
//! only) and the static addresses, routes and rules (held while the
//! director runs), on two directors on a virtual clock (`sim/mod.rs`).

mod sim;

use std::time::Duration;

use lvs_director::{Command, DirectorConfig, Removed, Route, RouteKind, Routing, Rule, Vip};
use lvs_ipvs::Family;
use lvs_vrrp::State;
use sim::*;

fn routes() -> Vec<Route> {
    vec![
        Route::new(ip("198.51.100.0"), 24)
            .with_via(ip("172.20.0.1"))
            .with_table(100),
        Route::new(ip("203.0.113.0"), 24).with_kind(RouteKind::Blackhole),
    ]
}

fn rules() -> Vec<Rule> {
    vec![
        Rule::new(Family::Inet)
            .with_from(vip(), 32)
            .with_table(100)
            .with_priority(100),
    ]
}

fn statics(node: usize) -> Routing {
    let mut addr = Vip::new(ip(if node == NODE01 {
        "10.9.0.1"
    } else {
        "10.9.0.2"
    }));
    addr.interface = Some(INTERFACE.into());
    let mut s = Routing::new(
        vec![Route::new(ip("10.10.0.0"), 16).with_dev(INTERFACE)],
        vec![
            Rule::new(Family::Inet)
                .with_to(ip("10.10.0.0"), 16)
                .with_table(10),
        ],
    );
    s.addresses.push(addr);
    s
}

fn routed(node: usize) -> DirectorConfig {
    let mut c = lab_config(node);
    c.instances[0].routes = routes();
    c.instances[0].rules = rules();
    c.static_routing = statics(node);
    c
}

/// What an instance's Master holds on top of the static ones.
fn master_view(node: usize) -> Routing {
    let s = statics(node);
    let mut r = Routing::new([s.routes, routes()].concat(), [s.rules, rules()].concat());
    r.addresses = s.addresses;
    r
}

fn sorted(r: &Routing) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut a: Vec<String> = r.addresses.iter().map(|v| v.addr.to_string()).collect();
    let mut b: Vec<String> = r.routes.iter().map(|x| x.to_string()).collect();
    let mut c: Vec<String> = r.rules.iter().map(|x| x.to_string()).collect();
    a.sort();
    b.sort();
    c.sort();
    (a, b, c)
}

fn assert_holds(w: &World, node: usize, want: &Routing) {
    assert_eq!(sorted(&w.nodes[node].routing), sorted(want), "node {node}");
}

/// Position in the node's log of the first command matching `f`.
fn position(w: &World, node: usize, f: impl Fn(&Command) -> bool) -> Option<usize> {
    w.nodes[node].log.iter().position(|l| f(&l.cmd))
}

#[test]
fn virtual_routes_follow_the_master_and_static_ones_the_process() {
    let mut w = World::new([routed(NODE01), routed(NODE02)]);
    assert_eq!(w.state(NODE01), Some(State::Master));
    // The Master holds its routes and rules, after its VIP; the Backup
    // only its static ones.
    assert_holds(&w, NODE01, &master_view(NODE01));
    assert_holds(&w, NODE02, &statics(NODE02));
    let vip_at = position(&w, NODE01, |c| matches!(c, Command::AddVip { .. })).expect("VIP");
    let routes_at = position(&w, NODE01, |c| {
        matches!(
            c,
            Command::AddRouting {
                instance: Some(_),
                ..
            }
        )
    })
    .expect("routes");
    let static_at = position(&w, NODE01, |c| {
        matches!(c, Command::AddRouting { instance: None, .. })
    })
    .expect("static");
    assert!(static_at < vip_at && vip_at < routes_at);

    // The Master's link goes down: FAULT, its routes go, before its VIP.
    let before = w.nodes[NODE01].log.len();
    w.set_link(NODE01, false);
    assert_eq!(w.state(NODE01), Some(State::Fault));
    assert_holds(&w, NODE01, &statics(NODE01));
    let log = &w.nodes[NODE01].log[before..];
    let gone = log
        .iter()
        .position(|l| {
            matches!(
                l.cmd,
                Command::RemoveRouting {
                    instance: Some(_),
                    ..
                }
            )
        })
        .expect("routes removed");
    let vip_gone = log
        .iter()
        .position(|l| matches!(l.cmd, Command::RemoveVip { .. }))
        .expect("VIP removed");
    assert!(gone < vip_gone);

    // The Backup takes over and installs them.
    w.run_for(Duration::from_secs(4));
    assert_eq!(w.state(NODE02), Some(State::Master));
    assert_holds(&w, NODE02, &master_view(NODE02));

    // Stopping takes everything away, static ones included.
    w.shutdown(NODE02);
    assert_holds(&w, NODE02, &Routing::default());
    w.shutdown(NODE01);
    assert_holds(&w, NODE01, &Routing::default());
}

#[test]
fn a_reload_applies_only_the_delta_and_keeps_the_master_running() {
    let mut w = World::new([routed(NODE01), routed(NODE02)]);
    let mut next = routed(NODE01);
    // One route changed (a metric), one kept, the rule dropped, a static
    // route added.
    next.instances[0].routes[0].metric = Some(7);
    next.instances[0].rules.clear();
    next.static_routing
        .routes
        .push(Route::new(ip("10.11.0.0"), 16).with_dev(INTERFACE));
    let before = w.nodes[NODE01].log.len();
    let summary = w.apply_config(NODE01, next.clone());
    assert_eq!(summary.instances_started, 0, "{summary:?}");
    assert_eq!(summary.routing_changed, 4, "{summary:?}");
    let cmds: Vec<&Command> = w.nodes[NODE01].log[before..]
        .iter()
        .map(|l| &l.cmd)
        .collect();
    let removed: Vec<&Routing> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::RemoveRouting { routing, .. } => Some(routing),
            _ => None,
        })
        .collect();
    let added: Vec<&Routing> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::AddRouting { routing, .. } => Some(routing),
            _ => None,
        })
        .collect();
    assert_eq!(removed.len(), 1, "{cmds:?}");
    assert_eq!(removed[0].routes, [routes()[0].clone()]);
    assert_eq!(removed[0].rules, rules());
    assert_eq!(added.len(), 2, "{cmds:?}");
    assert_eq!(added[0].routes, [next.instances[0].routes[0].clone()]);
    assert_eq!(added[1].routes, [next.static_routing.routes[1].clone()]);
    assert!(
        !cmds
            .iter()
            .any(|c| matches!(c, Command::OpenInstance { .. }))
    );
    let mut want = Routing::new(
        [
            next.static_routing.routes.clone(),
            next.instances[0].routes.clone(),
        ]
        .concat(),
        next.static_routing.rules.clone(),
    );
    want.addresses = next.static_routing.addresses.clone();
    assert_holds(&w, NODE01, &want);

    // On the Backup, a change of the virtual routes installs nothing.
    let mut backup = routed(NODE02);
    backup.instances[0].routes.pop();
    let before = w.nodes[NODE02].log.len();
    let summary = w.apply_config(NODE02, backup);
    assert_eq!(summary.routing_changed, 0);
    assert!(!w.nodes[NODE02].log[before..].iter().any(|l| matches!(
        l.cmd,
        Command::AddRouting { .. } | Command::RemoveRouting { .. }
    )));
    assert_holds(&w, NODE02, &statics(NODE02));
}

#[test]
fn a_bad_route_is_refused_by_validation() {
    let mut c = routed(NODE01);
    c.instances[0].routes.push(Route::new(ip("10.0.0.0"), 8));
    let e = c.validate().expect_err("a route with nowhere to go");
    assert!(e.to_string().contains("needs a gateway"), "{e}");
    let mut c = routed(NODE01);
    c.static_routing.addresses[0].interface = None;
    assert!(c.validate().is_err());
}

/// The instance's transitions logged from `since` on (state words).
fn transitions(w: &World, node: usize, since: usize) -> usize {
    w.nodes[node].log[since..]
        .iter()
        .filter(|l| matches!(l.cmd, Command::AddVip { .. }))
        .count()
}

#[test]
fn a_master_that_loses_a_tracked_route_rule_or_vip_steps_down_and_takes_over_again() {
    let mut w = World::new([routed(NODE01), routed(NODE02)]);
    assert_eq!(w.state(NODE01), Some(State::Master));
    let lost: [Removed; 3] = [
        Removed::Route(routes()[0].clone()),
        Removed::Rule(rules()[0].clone()),
        Removed::Address(vip()),
    ];
    for what in lost {
        let before = (w.nodes[NODE01].log.len(), w.nodes[NODE02].log.len());
        w.delete_behind_its_back(NODE01, &what);
        // Resigned at once with priority 0, everything removed.
        assert_eq!(w.state(NODE01), Some(State::Backup), "{what}");
        assert_holds(&w, NODE01, &statics(NODE01));
        assert!(!w.holds(NODE01, vip()));
        let resign = w.nodes[NODE01].log[before.0..].iter().any(
            |l| matches!(&l.cmd, Command::SendAdvert { transmit, .. } if transmit.payload[2] == 0),
        );
        assert!(resign, "{what}: priority 0 sent");
        // Back after its Skew_Time (0.61 s at 100, before the peer's 0.65 s).
        w.run_for(Duration::from_millis(800));
        assert_eq!(w.state(NODE01), Some(State::Master), "{what}");
        assert_holds(&w, NODE01, &master_view(NODE01));
        assert!(w.holds(NODE01, vip()));
        assert_eq!(w.state(NODE02), Some(State::Backup), "{what}");
        assert_eq!(
            transitions(&w, NODE02, before.1),
            0,
            "{what}: peer never took the VIP"
        );
        w.run_for(Duration::from_secs(3));
        assert_eq!(w.state(NODE01), Some(State::Master), "{what}: stays");
    }
}

#[test]
fn untracked_foreign_and_backup_deletions_change_nothing_and_static_ones_come_back() {
    let mut cfg = routed(NODE01);
    cfg.instances[0].routes[1].no_track = true;
    let mut w = World::new([cfg, routed(NODE02)]);
    assert_eq!(w.state(NODE01), Some(State::Master));
    let before = w.nodes[NODE01].log.len();
    // A `no_track` route, a route that is not ours (another metric), and
    // the Backup's view of a virtual route: nothing happens.
    let untracked = routes()[1].clone();
    w.delete_behind_its_back(NODE01, &Removed::Route(untracked.clone()));
    let mut foreign = routes()[0].clone().with_metric(7);
    foreign.protocol = 4;
    w.delete_behind_its_back(NODE01, &Removed::Route(foreign));
    w.delete_behind_its_back(NODE02, &Removed::Route(routes()[0].clone()));
    w.run_for(Duration::from_secs(2));
    assert_eq!(w.state(NODE01), Some(State::Master));
    assert_eq!(w.state(NODE02), Some(State::Backup));
    assert!(
        !w.nodes[NODE01].log[before..].iter().any(|l| matches!(
            l.cmd,
            Command::RemoveVip { .. } | Command::AddRouting { .. }
        )),
        "nothing removed or reinstalled"
    );
    assert!(
        !w.nodes[NODE01].routing.routes.contains(&untracked),
        "not put back"
    );

    // A static route, rule and address deleted: each put back, alone, by
    // the Backup as by the Master.
    for node in [NODE01, NODE02] {
        let s = statics(node);
        for what in [
            Removed::Route(s.routes[0].clone()),
            Removed::Rule(s.rules[0].clone()),
            Removed::Address(s.addresses[0].addr),
        ] {
            let before = w.nodes[node].log.len();
            w.delete_behind_its_back(node, &what);
            let put_back: Vec<&Routing> = w.nodes[node].log[before..]
                .iter()
                .filter_map(|l| match &l.cmd {
                    Command::AddRouting {
                        instance: None,
                        routing,
                    } => Some(routing),
                    _ => None,
                })
                .collect();
            assert_eq!(put_back.len(), 1, "{what}");
            let n = put_back[0];
            assert_eq!(
                n.routes.len() + n.rules.len() + n.addresses.len(),
                1,
                "{what}"
            );
        }
        let want = if node == NODE01 {
            let mut m = master_view(NODE01);
            m.routes.retain(|r| *r != untracked);
            m
        } else {
            statics(node)
        };
        assert_holds(&w, node, &want);
    }
    assert_eq!(w.state(NODE01), Some(State::Master));
}
