//! keepalived's `vrrp_startup_delay` and `net_namespace` in the core, on
//! the virtual clock (see `sim/mod.rs`): instances wait at start, not after
//! a reload; a reload cannot move the director to another namespace.

mod sim;

use std::time::Duration;

use lvs_director::{ConfigError, DirectorConfig};
use lvs_vrrp::State;
use sim::*;

fn delayed(node: usize, delay: Duration) -> DirectorConfig {
    let mut c = lab_config(node);
    c.vrrp_startup_delay = delay;
    c
}

#[test]
fn startup_delay_holds_every_instance_in_initialize_then_starts_them() {
    let d = Duration::from_millis(2500);
    let mut w = World::new([delayed(NODE01, d), delayed(NODE02, d)]);
    w.run_to(2.4);
    assert_eq!(w.state(NODE01), Some(State::Initialize));
    assert_eq!(w.state(NODE02), Some(State::Initialize));
    assert!(w.adverts(NODE01, w.start).is_empty());
    assert!(!w.holds_vip(NODE01));
    w.run_to(2.6);
    // `state MASTER` goes Master as soon as the delay is over.
    assert_eq!(w.became_master(NODE01, w.start), Some(w.at(2.5)));
    assert_eq!(w.adverts(NODE01, w.start).first(), Some(&w.at(2.5)));
    assert_eq!(w.state(NODE02), Some(State::Backup));
    assert!(w.holds_vip(NODE01));
}

#[test]
fn a_reload_does_not_delay_a_restarted_instance() {
    let d = Duration::from_secs(3);
    let mut w = World::new([delayed(NODE01, d), delayed(NODE02, d)]);
    w.run_to(5.0);
    assert_eq!(w.state(NODE02), Some(State::Backup));
    // A new priority restarts NODE02's router; it is Backup at once.
    let mut c = delayed(NODE02, d);
    c.instances[0].router.priority = 80;
    let summary = w.apply_config(NODE02, c);
    assert!(summary.instances_started > 0, "{summary:?}");
    assert_eq!(w.state(NODE02), Some(State::Backup));
}

#[test]
fn a_reload_cannot_change_the_namespace() {
    let mut w = World::lab();
    w.run_to(1.0);
    let mut c = lab_config(NODE01);
    c.net_namespace = Some("lb-blue".into());
    let now = w.now;
    let e = w.nodes[NODE01].director.apply_config(now, c).unwrap_err();
    assert!(
        matches!(&e, ConfigError::NetNamespaceChanged { running: None, new: Some(n) } if n == "lb-blue"),
        "{e}"
    );
    // Nothing changed: still Master with the same configuration.
    assert_eq!(w.state(NODE01), Some(State::Master));
    assert_eq!(w.nodes[NODE01].director.config().net_namespace, None);
}
