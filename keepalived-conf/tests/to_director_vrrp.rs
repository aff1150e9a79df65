//! VRRP instance → lvs-director instance → lvs-vrrp router configuration.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use lvs_director::DirectorConfig;
use lvs_keepalived_conf as config;
use lvs_vrrp::{AdvertInterval, Auth, Seconds};

fn inst(text: &str) -> config::Config {
    config::parse_str("t.conf", text).expect("valid").0
}

/// The router the first instance runs, its source address being `primary`.
fn router(cfg: &config::Config, primary: IpAddr) -> lvs_vrrp::Config {
    let mut typed = DirectorConfig::try_from(cfg).expect("converts");
    let mut i = typed.instances.remove(0);
    i.router.primary_address = primary;
    i.router_config()
}

const PRIMARY: IpAddr = IpAddr::V4(Ipv4Addr::new(172, 20, 0, 81));

#[test]
fn lab_node01_instance() {
    let (cfg, _) = config::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/lab/node01.conf"
    ))
    .expect("valid");
    let c = router(&cfg, PRIMARY);
    assert_eq!(c.vrid, 1);
    assert_eq!(c.priority, 100);
    assert_eq!(c.advert_interval, AdvertInterval::V2(Seconds(1)));
    assert_eq!(c.primary_address, PRIMARY);
    assert_eq!(
        c.virtual_addresses,
        vec![IpAddr::V4(Ipv4Addr::new(172, 20, 0, 83))]
    );
    assert!(c.start_as_master);
    assert!(c.preempt);
    assert!(c.unicast_peers.is_empty());
    assert_eq!(c.group(), IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)));
    assert_eq!(c.receive_group(), Some(c.group()));
    assert_eq!(c.auth, Auth::None);
    // keepalived's GARP defaults: 5 at once, again 5 s later.
    assert_eq!(c.announce.burst, 5);
    assert_eq!(c.announce.repeat_after, Some(Duration::from_secs(5)));
}

#[test]
fn backup_options_map() {
    let i = inst(
        "vrrp_instance V { state BACKUP interface eth0 virtual_router_id 7 priority 90
           advert_int 2 nopreempt preempt_delay 10
           unicast_peer { 172.20.0.82 }
           track_interface { eth1 weight -20 eth2 }
           authentication { auth_type PASS auth_pass secret12345 }
           virtual_ipaddress { 172.20.0.83/24 }
         }",
    );
    let c = router(&i, PRIMARY);
    assert!(!c.start_as_master);
    assert!(!c.preempt);
    assert_eq!(c.preempt_delay, Duration::from_secs(10));
    assert_eq!(c.advert_interval, AdvertInterval::V2(Seconds(2)));
    assert_eq!(
        c.unicast_peers,
        vec![IpAddr::V4(Ipv4Addr::new(172, 20, 0, 82))]
    );
    assert_eq!(c.auth, Auth::SimpleText(*b"secret12"));
    let tracks: Vec<_> = c
        .tracks
        .iter()
        .map(|t| (t.name.clone(), t.weight))
        .collect();
    assert_eq!(
        tracks,
        vec![
            ("interface:eth1".to_string(), -20),
            ("interface:eth2".to_string(), 0)
        ]
    );
}

#[test]
fn track_reverse_is_carried_over() {
    let cfg = inst(
        "vrrp_instance V { interface eth0 virtual_router_id 7
           track_interface { eth1 weight -20 reverse }
           virtual_ipaddress { 172.20.0.83 } }",
    );
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    let t = &typed.instances[0].track_interfaces[0];
    assert_eq!(
        (t.interface.as_str(), t.weight, t.reverse),
        ("eth1", -20, true)
    );
}

#[test]
fn vrrp_v3_keeps_centiseconds() {
    let i = inst(
        "global_defs { vrrp_version 3 }
         vrrp_instance V { interface eth0 virtual_router_id 7 advert_int 0.5
           virtual_ipaddress { 172.20.0.83 } }",
    );
    let c = router(&i, PRIMARY);
    match c.advert_interval {
        AdvertInterval::V3(cs) => assert_eq!(cs.get(), 50),
        other => panic!("{other:?}"),
    }
}

#[test]
fn use_vmac_puts_the_vips_on_a_macvlan_named_as_keepalived_does() {
    let cfg = inst(
        "vrrp_instance A { interface eth0 virtual_router_id 7 use_vmac
           virtual_ipaddress { 172.20.0.83/24 } }
         vrrp_instance B { interface eth0 virtual_router_id 8 use_vmac vm8 vmac_xmit_base
           virtual_ipaddress { 172.20.0.84/24 } }
         vrrp_instance C { interface eth1 virtual_router_id 7 use_vmac
           virtual_ipaddress { 172.20.1.83/24 } }
         vrrp_instance D { interface eth0 virtual_router_id 7 use_vmac
           virtual_ipaddress { fd00::83 } }
         vrrp_instance E { interface eth0 virtual_router_id 9
           virtual_ipaddress { 172.20.0.85/24 } }",
    );
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    let vmac = |i: usize| {
        typed.instances[i]
            .vmac
            .as_ref()
            .map(|v| (v.name.as_str(), v.xmit_base))
    };
    // keepalived's default vrrp.VRID; the next free one for the same VRID
    // (vrrp1.7 for IPv4, vrrp6.7 for IPv6); a given name as is.
    assert_eq!(vmac(0), Some(("vrrp.7", false)));
    assert_eq!(vmac(1), Some(("vm8", true)));
    assert_eq!(vmac(2), Some(("vrrp1.7", false)));
    assert_eq!(vmac(3), Some(("vrrp6.7", false)));
    assert_eq!(vmac(4), None);
    typed.validate().expect("valid");
    let a = &typed.instances[0];
    // The VIPs go on the macvlan, adverts too (not with vmac_xmit_base),
    // and the router announces with the virtual MAC.
    assert_eq!(a.vip_interface(&a.vips[0]), "vrrp.7");
    assert_eq!(a.advert_interface(), "vrrp.7");
    assert_eq!(a.interface, "eth0");
    assert!(a.router_config().virtual_mac);
    let b = &typed.instances[1];
    assert_eq!(b.vip_interface(&b.vips[0]), "vm8");
    assert_eq!(b.advert_interface(), "eth0");
    let e = &typed.instances[4];
    assert_eq!(e.vip_interface(&e.vips[0]), "eth0");
    assert!(!e.router_config().virtual_mac);
}

#[test]
fn use_vmac_with_a_mac_address_is_refused_and_xmit_base_alone_warned() {
    let e = config::parse_str(
        "t.conf",
        "vrrp_instance V { interface eth0 virtual_router_id 7 use_vmac 02:00:00:00:00:07
           virtual_ipaddress { 172.20.0.83 } }",
    )
    .unwrap_err();
    assert_eq!(e.len(), 1);
    assert!(
        e[0].to_string().starts_with(
            "t.conf:1:63: error: `use_vmac MAC` is keepalived syntax that director does not support"
        ),
        "{}",
        e[0]
    );
    let (cfg, warnings) = config::parse_str(
        "t.conf",
        "vrrp_instance V { interface eth0 virtual_router_id 7 vmac_xmit_base
           virtual_ipaddress { 172.20.0.83 } }",
    )
    .expect("valid");
    assert!(
        warnings.iter().any(|w| w
            .to_string()
            .contains("`vmac_xmit_base` only applies with `use_vmac`")),
        "{warnings:?}"
    );
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    assert_eq!(typed.instances[0].vmac, None);
}

#[test]
fn configured_group_is_used_and_unicast_joins_none() {
    let text = "global_defs { vrrp_mcast_group4 224.0.0.99 }
        vrrp_instance V { interface eth0 virtual_router_id 7
          virtual_ipaddress { 172.20.0.83 } }";
    let i = inst(text);
    let c = router(&i, PRIMARY);
    let custom = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 99));
    assert_eq!(c.group(), custom);
    assert_eq!(c.receive_group(), Some(custom));
    let i = inst(&text.replace(
        "virtual_ipaddress",
        "unicast_peer { 172.20.0.82 } virtual_ipaddress",
    ));
    let c = router(&i, PRIMARY);
    assert_eq!(c.receive_group(), None);
}

#[test]
fn ipv6_instance_is_v3_from_the_link_local_address_to_the_v6_group() {
    let i = inst(
        "global_defs {\n vrrp_mcast_group6 ff02::99\n}
         vrrp_instance V6 { interface eth0 virtual_router_id 9 advert_int 1
           virtual_ipaddress { 2001:db8::83/64 } }",
    );
    let ll: IpAddr = "fe80::1".parse().unwrap();
    let c = router(&i, ll);
    assert_eq!(
        c.advert_interval,
        AdvertInterval::V3(lvs_vrrp::Centiseconds::new(100).unwrap())
    );
    assert_eq!(c.primary_address, ll);
    assert_eq!(c.receive_group(), Some("ff02::99".parse().unwrap()));
}

#[test]
fn skip_check_adv_addr_maps_to_the_address_check() {
    let body = "vrrp_instance V { interface eth0 virtual_router_id 7 priority 90
           virtual_ipaddress { 172.20.0.83/24 } }";
    let plain = router(&inst(body), PRIMARY);
    assert_eq!(plain.address_check, lvs_vrrp::AddressCheck::Drop);
    for (globals, want) in [
        (
            "vrrp_skip_check_adv_addr",
            lvs_vrrp::AddressCheck::SkipFromMaster,
        ),
        (
            "vrrp_skip_check_adv_addr on",
            lvs_vrrp::AddressCheck::SkipFromMaster,
        ),
        ("vrrp_skip_check_adv_addr no", lvs_vrrp::AddressCheck::Drop),
    ] {
        let text = format!("global_defs {{ {globals} }}\n{body}");
        let (cfg, warnings) = config::parse_str("t.conf", &text).expect("valid");
        assert!(warnings.is_empty(), "{globals}: {warnings:?}");
        assert_eq!(router(&cfg, PRIMARY).address_check, want, "{globals}");
    }
    let bad = "global_defs { vrrp_skip_check_adv_addr maybe }";
    let errs = config::parse_str("t.conf", bad).expect_err("not a boolean");
    let text = errs[0].to_string();
    assert!(
        text.contains("t.conf:1:") && text.contains("maybe"),
        "{text}"
    );
}

#[test]
fn vrrp_scripts_and_track_scripts_convert() {
    // kubeadm's check_apiserver and the `killall -0 haproxy` pattern.
    let cfg = inst(
        "vrrp_script check_apiserver {
           script \"/etc/keepalived/check_apiserver.sh\"
           interval 3
           weight -2
           fall 10
           rise 2
         }
         vrrp_script chk_haproxy {
           script \"/usr/bin/killall -0 haproxy\"
           interval 2
           timeout 1
           weight 2
           init_fail
         }
         vrrp_script unused { script /bin/true }
         vrrp_instance V { state BACKUP interface eth0 virtual_router_id 7 priority 100
           virtual_ipaddress { 172.20.0.83/24 }
           track_script {
             check_apiserver
             chk_haproxy weight -30 reverse
           }
         }",
    );
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    assert!(typed.validate().is_ok());
    let api = typed.track_script("check_apiserver").expect("defined");
    assert_eq!(api.script.argv, ["/etc/keepalived/check_apiserver.sh"]);
    assert_eq!(api.interval, Duration::from_secs(3));
    // keepalived: timeout defaults to the interval.
    assert_eq!(api.timeout(), Duration::from_secs(3));
    assert_eq!(
        (api.weight, api.rise, api.fall, api.init_fail),
        (-2, 2, 10, false)
    );
    let hap = typed.track_script("chk_haproxy").expect("defined");
    assert_eq!(hap.script.argv, ["/usr/bin/killall", "-0", "haproxy"]);
    assert_eq!(
        (hap.timeout(), hap.weight, hap.init_fail),
        (Duration::from_secs(1), 2, true)
    );
    // The probe the director runs: an exec check with the script's rise/fall.
    let probe = hap.probe();
    assert_eq!(probe.policy.interval, Duration::from_secs(2));
    assert_eq!(probe.policy.timeout, Duration::from_secs(1));
    assert!(probe.policy.from_start);
    assert_eq!(probe.policy.initial, lvs_healthcheck::InitialState::Down);
    assert_eq!(
        api.probe().policy.initial,
        lvs_healthcheck::InitialState::Unknown
    );
    assert_eq!((api.probe().policy.rise, api.probe().policy.fall), (2, 10));

    let i = &typed.instances[0];
    assert_eq!(i.track_scripts.len(), 2);
    assert_eq!(i.track_scripts[1].weight, Some(-30));
    assert_eq!(i.track_scripts[1].reverse, Some(true));
    // The router tracks both, under `script:NAME`; the override's reverse
    // is the opposite weight on the inverted signal.
    let mut i = i.clone();
    i.router.primary_address = PRIMARY;
    let r = typed.router_config_of(&i);
    let tracks: Vec<(&str, i16, bool)> = r
        .tracks
        .iter()
        .map(|t| (t.name.as_str(), t.weight, t.initially_up))
        .collect();
    assert_eq!(
        tracks,
        [
            // Undecided: the state that adjusts nothing (up for a negative weight).
            ("script:check_apiserver", -2, true),
            // init_fail, reversed -30: +30 on the inverted signal, which is up
            // while the script fails, so +30 applies from the start.
            ("script:chk_haproxy", 30, true),
        ]
    );
}

#[test]
fn an_address_owner_drops_weighted_scripts() {
    let cfg = inst(
        "vrrp_script w { script /bin/true weight -20 }
         vrrp_script f { script /bin/true }
         vrrp_instance V { interface eth0 virtual_router_id 7 priority 255
           virtual_ipaddress { 172.20.0.83/24 }
           track_script { w
             f }
         }",
    );
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    let r = typed.router_config_of(&typed.instances[0]);
    let names: Vec<&str> = r.tracks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["script:f"]);
}

#[test]
fn enable_script_security_refuses_scripts_others_could_change() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("lvs-kcsec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let script = dir.join("chk.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").expect("file");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let text = |security: &str| {
        format!(
            "global_defs {{\n {security}\n}}\nvrrp_script chk {{\n script {}\n}}\n\
             vrrp_instance V {{\n interface eth0\n virtual_router_id 7\n notify_master /bin/true\n\
             virtual_ipaddress {{ 172.20.0.83/24 }}\n track_script {{\n chk\n }}\n}}\n",
            script.display()
        )
    };
    let typed = DirectorConfig::try_from(&inst(&text("enable_script_security"))).expect("converts");
    assert!(typed.script_security);
    assert_eq!(
        typed.programs(),
        ["/bin/true", script.to_str().expect("utf-8")]
    );
    let bad = typed.insecure_scripts();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0].0, script.to_str().expect("utf-8"));
    let typed = DirectorConfig::try_from(&inst(&text("router_id R"))).expect("converts");
    assert!(!typed.script_security);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn instance_skip_check_adv_addr_overrides_the_global_one() {
    let check = |global: &str, extra: &str| {
        let c = inst(&format!(
            "global_defs {{ {global} }}
             vrrp_instance V {{ interface eth0 virtual_router_id 1 {extra}
               virtual_ipaddress {{ 172.20.0.83 }} }}"
        ));
        router(&c, PRIMARY).address_check
    };
    use lvs_vrrp::AddressCheck;
    assert_eq!(check("", ""), AddressCheck::Drop);
    assert_eq!(
        check("", "skip_check_adv_addr"),
        AddressCheck::SkipFromMaster
    );
    assert_eq!(
        check("vrrp_skip_check_adv_addr", ""),
        AddressCheck::SkipFromMaster
    );
    assert_eq!(
        check("vrrp_skip_check_adv_addr", "skip_check_adv_addr off"),
        AddressCheck::Drop
    );
}

#[test]
fn garp_extra_if_all_times_the_router_and_without_all_warns() {
    let text = |global: &str, extra: &str| {
        format!(
            "global_defs {{ {global} }}
             vrrp_instance V {{ interface eth0 virtual_router_id 1 {extra}
               virtual_ipaddress {{ 172.20.0.83 10.9.0.1/24 dev eth1 }} }}"
        )
    };
    let extra = |global: &str, inst_extra: &str| {
        router(&inst(&text(global, inst_extra)), PRIMARY)
            .announce
            .extra_interfaces
    };
    assert_eq!(extra("", ""), None);
    assert_eq!(
        extra("", "garp_extra_if all 100"),
        Some(Duration::from_secs(100))
    );
    assert_eq!(
        extra("vrrp_garp_extra_if all 60", ""),
        Some(Duration::from_secs(60))
    );
    assert_eq!(
        extra("vrrp_garp_extra_if all 60", "garp_extra_if all 0"),
        None
    );
    let (cfg, warnings) =
        config::parse_str("t.conf", &text("", "garp_extra_if 100")).expect("valid");
    assert_eq!(router(&cfg, PRIMARY).announce.extra_interfaces, None);
    assert!(
        warnings
            .iter()
            .any(|w| w.to_string().contains("without `all`")),
        "{warnings:?}"
    );
    let e = config::parse_str("t.conf", &text("", "garp_extra_if some 100")).unwrap_err();
    assert!(e[0].to_string().contains("`some`"), "{}", e[0]);
}
