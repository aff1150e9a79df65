//! keepalived's `garp_extra_if all N` in the core, on the virtual clock:
//! while Master, every N s, one gratuitous ARP for the first VIP of each
//! interface that sends no adverts, with that interface's own MAC; nothing
//! for the VIPs on the advert interface, nothing as Backup.

mod sim;

use std::time::Duration;

use lvs_director::{Command, DirectorConfig, Vip};
use sim::*;

fn with_extra(node: usize) -> DirectorConfig {
    let mut c = lab_config(node);
    let inst = &mut c.instances[0];
    for a in ["10.9.0.1", "10.9.0.2"] {
        let mut v = Vip::new(ip(a)).with_prefix(24);
        v.interface = Some("eth1".into());
        inst.vips.push(v);
    }
    inst.router.announce.extra_interfaces = Some(Duration::from_secs(10));
    c
}

#[test]
fn the_master_refreshes_vips_on_other_interfaces_every_period() {
    let mut w = World::new([with_extra(NODE01), with_extra(NODE02)]);
    w.run_to(35.5);
    let extra: Vec<_> = w
        .log_since(NODE01, w.start)
        .filter_map(|l| match &l.cmd {
            Command::Announce {
                interface,
                addr,
                count: 1,
                mac: None,
                ..
            } if interface == "eth1" => Some((l.at, *addr)),
            _ => None,
        })
        .collect();
    let at: Vec<_> = extra.iter().map(|(t, _)| *t).collect();
    assert_eq!(at, [w.at(10.0), w.at(20.0), w.at(30.0)], "{extra:?}");
    assert!(
        extra.iter().all(|(_, a)| *a == ip("10.9.0.1")),
        "first VIP of eth1 only"
    );
    // The Backup sends none.
    assert_eq!(
        w.count(NODE02, w.start, |c| matches!(
            c,
            Command::Announce { count: 1, .. }
        )),
        0
    );
}
