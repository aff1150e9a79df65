//! keepalived's split-brain cures and start-up settings, from the text to
//! lvs-vrrp's router and lvs-director's configuration: how a Master answers
//! another Master's adverts (`garp_lower_prio_*`, `lower_prio_no_advert`,
//! `higher_prio_send_advert`, and what strict mode does to them),
//! `vrrp_startup_delay` and `net_namespace`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use lvs_director::DirectorConfig;

mod common;
use common::{ok, refused};

const INSTANCE: &str = "vrrp_instance V { interface eth0 virtual_router_id 1 priority 100
    advert_int 1 virtual_ipaddress { 172.20.0.83/24 } ";

fn typed(text: &str) -> DirectorConfig {
    DirectorConfig::try_from(&ok(text).0).expect("converts")
}

fn router(global: &str, instance_extra: &str) -> lvs_vrrp::Config {
    let text = format!("global_defs {{ {global} }}\n{INSTANCE} {instance_extra} }}");
    let mut t = typed(&text);
    let mut i = t.instances.remove(0);
    i.router.primary_address = IpAddr::V4(Ipv4Addr::new(172, 20, 0, 81));
    i.router_config()
}

#[test]
fn keepalived_defaults_answer_a_lower_priority_master() {
    let r = router("", "");
    assert!(!r.lower_prio_no_advert);
    assert!(!r.higher_prio_send_advert);
    // garp_lower_prio_repeat / _delay default to the GARP master values.
    assert_eq!(r.announce.lower_prio_burst, 5);
    assert_eq!(
        r.announce.lower_prio_repeat_after,
        Some(Duration::from_secs(5))
    );
    let r = router("vrrp_garp_master_repeat 3 vrrp_garp_master_delay 2", "");
    assert_eq!(r.announce.lower_prio_burst, 3);
    assert_eq!(
        r.announce.lower_prio_repeat_after,
        Some(Duration::from_secs(2))
    );
}

#[test]
fn global_then_instance_values_win() {
    let g = "vrrp_garp_lower_prio_repeat 2 vrrp_garp_lower_prio_delay 7 \
             vrrp_lower_prio_no_advert vrrp_higher_prio_send_advert true";
    let r = router(g, "");
    assert_eq!(r.announce.lower_prio_burst, 2);
    assert_eq!(
        r.announce.lower_prio_repeat_after,
        Some(Duration::from_secs(7))
    );
    assert!(r.lower_prio_no_advert);
    assert!(r.higher_prio_send_advert);
    let r = router(
        g,
        "garp_lower_prio_repeat 1 garp_lower_prio_delay 0 lower_prio_no_advert false \
         higher_prio_send_advert off",
    );
    assert_eq!(r.announce.lower_prio_burst, 1);
    assert_eq!(r.announce.lower_prio_repeat_after, None);
    assert!(!r.lower_prio_no_advert);
    assert!(!r.higher_prio_send_advert);
}

#[test]
fn vrrp_strict_keeps_a_master_silent_and_resets_higher_prio_send_advert() {
    let r = router("vrrp_strict", "");
    assert!(r.lower_prio_no_advert);
    assert_eq!(r.announce.lower_prio_burst, 0);
    assert!(!r.higher_prio_send_advert);
    // keepalived reports it and goes on without it (tests/vrrp_strict.rs
    // has each strict rule).
    let (c, w) = ok(&format!(
        "global_defs {{ vrrp_strict }}\n{INSTANCE}\n higher_prio_send_advert }}"
    ));
    let text = w[0].to_string();
    assert!(
        text.starts_with("t.conf:4:2:") && text.contains("vrrp_strict"),
        "{text}"
    );
    let mut t = DirectorConfig::try_from(&c).expect("converts");
    let mut i = t.instances.remove(0);
    i.router.primary_address = IpAddr::V4(Ipv4Addr::new(172, 20, 0, 81));
    assert!(!i.router_config().higher_prio_send_advert);
    // An instance's own strict_mode does the same without vrrp_strict.
    let r = router("", "strict_mode lower_prio_no_advert off");
    assert!(r.lower_prio_no_advert);
    assert_eq!(r.announce.lower_prio_burst, 0);
}

#[test]
fn bad_values_are_refused_where_they_are() {
    let e = refused(&format!("{INSTANCE}\n  garp_lower_prio_repeat -1 }}"));
    assert!(e[0].to_string().starts_with("t.conf:3:"), "{}", e[0]);
    let e = refused("global_defs {\n vrrp_lower_prio_no_advert maybe\n}");
    assert!(e[0].to_string().starts_with("t.conf:2:"), "{}", e[0]);
    let e = refused("global_defs {\n vrrp_startup_delay soon\n}");
    assert!(e[0].to_string().starts_with("t.conf:2:"), "{}", e[0]);
}

#[test]
fn startup_delay_and_namespace_reach_the_director() {
    let t = typed(&format!(
        "global_defs {{ vrrp_startup_delay 2.5 net_namespace lb-blue }}\n{INSTANCE} }}"
    ));
    assert_eq!(t.vrrp_startup_delay, Duration::from_millis(2500));
    assert_eq!(t.net_namespace.as_deref(), Some("lb-blue"));
    let t = typed(&format!("{INSTANCE} }}"));
    assert_eq!(t.vrrp_startup_delay, Duration::ZERO);
    assert_eq!(t.net_namespace, None);
}
