//! Address management and clean teardown in namespaces.
//! Needs root: `cargo test -p lvs-arpguard -- --ignored netns_`.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsFd, BorrowedFd};

use lvs_arpguard::nft::{self, NftSuppression};
use lvs_arpguard::sysctl::{SysctlScope, apply_sysctls};
use lvs_arpguard::{BackendVip, Change, DirectorVip, Error, Rtnl};
use lvs_testenv::{LAB_IFACE, Lan, Netns, require_program, require_root};

const VIP: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 83);

fn ns(host: &Netns) -> Option<BorrowedFd<'_>> {
    Some(host.as_fd())
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_vips_are_idempotent_typed_and_stay_in_their_namespace() {
    require_root("address management");
    let lan = Lan::new("ad");
    let host = lan.add_host("h", &["172.20.0.81/24"]);
    let mut rtnl = Rtnl::open(ns(&host)).unwrap();

    let lo = BackendVip::on_lo(IpAddr::V4(VIP));
    let first = lo.install(&mut rtnl).unwrap();
    assert!(first.address_added && !first.link_created);
    let second = lo.install(&mut rtnl).unwrap();
    assert!(!second.address_added, "second install must be a no-op");
    // Undoing the no-op install leaves the address that was already there.
    second.undo(&mut rtnl).unwrap();
    let on_lo = rtnl.addresses(Some("lo")).unwrap();
    let vip = on_lo.iter().find(|a| a.addr == IpAddr::V4(VIP)).unwrap();
    assert_eq!(vip.prefix_len, 32);
    assert!(vip.state.permanent && !vip.state.dynamic && !vip.state.secondary);
    assert_eq!(vip.valid_lifetime, None);
    assert!(
        host.run(&["ip", "-br", "addr", "show", "dev", "lo"])
            .contains("172.20.0.83/32")
    );

    let v6: IpAddr = "2001:db8::83".parse().unwrap();
    let lo6 = BackendVip::on_lo(v6);
    let undo6 = lo6.install(&mut rtnl).unwrap();
    assert!(!undo6.link_created && undo6.address_added);
    let d = rtnl.addresses(Some("lo")).unwrap();
    let a = d.iter().find(|a| a.addr == v6).unwrap();
    assert_eq!(a.prefix_len, 128);
    assert!(a.state.nodad && a.state.permanent && !a.state.tentative);

    // The director's VIP with the seed's label.
    let mut dvip = DirectorVip::new(LAB_IFACE, IpAddr::V4(VIP), 24);
    dvip.label = Some("ens18:0".into());
    assert_eq!(dvip.add(&mut rtnl).unwrap(), Change::Applied);
    assert_eq!(dvip.add(&mut rtnl).unwrap(), Change::Unchanged);
    let ens = rtnl.addresses(Some(LAB_IFACE)).unwrap();
    let labelled = ens.iter().find(|a| a.addr == IpAddr::V4(VIP)).unwrap();
    assert_eq!(labelled.label.as_deref(), Some("ens18:0"));
    assert!(labelled.state.secondary, "second address in 172.20.0.0/24");
    let primary = ens
        .iter()
        .find(|a| a.addr == IpAddr::V4(Ipv4Addr::new(172, 20, 0, 81)))
        .unwrap();
    assert_eq!(primary.label, None);
    assert!(!primary.state.secondary);
    assert!(
        host.run(&["ip", "addr", "show", "label", "ens18:0"])
            .contains("172.20.0.83/24")
    );
    assert_eq!(dvip.remove(&mut rtnl).unwrap(), Change::Applied);
    assert_eq!(dvip.remove(&mut rtnl).unwrap(), Change::Unchanged);

    // Bad requests get specific errors.
    let mut v6_label = dvip.clone();
    v6_label.addr = v6;
    v6_label.prefix_len = 64;
    assert!(matches!(
        v6_label.add(&mut rtnl),
        Err(Error::InvalidLabel { .. })
    ));
    let mut missing = dvip;
    missing.iface = "nosuch0".into();
    missing.label = None;
    assert!(matches!(missing.add(&mut rtnl), Err(Error::NoSuchInterface(n)) if n == "nosuch0"));

    // None of it leaked into the test's own namespace.
    let mine = Rtnl::open(None).unwrap().addresses(None).unwrap();
    assert!(
        !mine
            .iter()
            .any(|a| a.addr == IpAddr::V4(VIP) || a.addr == v6)
    );

    undo6.undo(&mut rtnl).unwrap();
    assert!(!lo6.is_present(&mut rtnl).unwrap());
    first.undo(&mut rtnl).unwrap();
    assert!(!lo.is_present(&mut rtnl).unwrap());
}

/// Everything the crate could touch, as text.
fn snapshot(host: &Netns) -> String {
    let sysctls = host.run(&[
        "sh",
        "-c",
        "grep . /proc/sys/net/ipv4/conf/*/arp_ignore /proc/sys/net/ipv4/conf/*/arp_announce",
    ]);
    let addrs = host.run(&["ip", "addr"]);
    let links = host.run(&["ip", "-br", "link"]);
    let tables = host.run(&["nft", "list", "ruleset"]);
    // Lifetimes and counters are not state the crate owns.
    format!("{sysctls}\n{addrs}\n{links}\n{tables}")
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_teardown_leaves_no_sysctl_address_link_or_table_behind() {
    require_root("teardown");
    require_program("nft");
    let lan = Lan::new("td");
    let host = lan.add_host("w1", &["172.20.0.85/24"]);
    // A value the operator had set before: it must come back, not 0.
    host.run(&["sysctl", "-qw", "net.ipv4.conf.ens18.arp_announce=1"]);
    let before = snapshot(&host);
    let n = ns(&host);
    let mut rtnl = Rtnl::open(n).unwrap();

    let vip_lo = BackendVip::on_lo(IpAddr::V4(VIP))
        .install(&mut rtnl)
        .unwrap();
    let vip_lo2 = BackendVip::on_lo(IpAddr::V4(Ipv4Addr::new(172, 20, 0, 84)))
        .install(&mut rtnl)
        .unwrap();
    let sysctls = apply_sysctls(n, &[LAB_IFACE], SysctlScope::InterfacesAndAll).unwrap();
    assert_eq!(sysctls.changes.len(), 4, "{sysctls:#?}");
    NftSuppression::new(
        vec![VIP, Ipv4Addr::new(172, 20, 0, 84)],
        LAB_IFACE,
        Ipv4Addr::new(172, 20, 0, 85),
    )
    .install(n)
    .unwrap();
    let during = snapshot(&host);
    assert_ne!(before, during);
    assert!(during.contains("lvs_arpguard") && during.contains("172.20.0.84/32"));

    nft::remove(n).unwrap();
    sysctls.undo(n).unwrap();
    vip_lo2.undo(&mut rtnl).unwrap();
    vip_lo.undo(&mut rtnl).unwrap();
    let after = snapshot(&host);
    assert_eq!(before, after, "teardown left something behind");
    assert!(after.contains("/proc/sys/net/ipv4/conf/ens18/arp_announce:1"));
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_backend_vip_on_a_dummy_interface_is_created_and_removed() {
    // The development kernel has no CONFIG_DUMMY; the VM's Debian kernel has.
    require_root("dummy interfaces");
    let host = Netns::new("dm");
    let mut rtnl = Rtnl::open(ns(&host)).unwrap();
    let before = host.run(&["ip", "-br", "link"]);
    let dummy = BackendVip::on_dummy("vip0", IpAddr::V4(VIP));
    let undo = dummy.install(&mut rtnl).unwrap();
    assert!(undo.link_created && undo.address_added);
    assert!(rtnl.link("vip0").unwrap().up);
    let again = dummy.install(&mut rtnl).unwrap();
    assert!(!again.link_created && !again.address_added);
    let a = rtnl.addresses(Some("vip0")).unwrap();
    assert_eq!((a[0].addr, a[0].prefix_len), (IpAddr::V4(VIP), 32));
    undo.undo(&mut rtnl).unwrap();
    assert!(matches!(rtnl.link("vip0"), Err(Error::NoSuchInterface(_))));
    assert_eq!(before, host.run(&["ip", "-br", "link"]));
}
