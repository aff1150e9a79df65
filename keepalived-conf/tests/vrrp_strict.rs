//! keepalived's strict mode (global `vrrp_strict`, or an instance's own
//! `strict_mode`), rule by rule as keepalived 2.2.7 applies it: what it
//! refuses, and what it reports and overrides.

use lvs_keepalived_conf::{InitialState, VrrpInstance, Warning};
use lvs_vrrp::Version;
use std::time::Duration;

mod common;
use common::{ok, refused};

/// An instance with `body` from line 7 on, after `global` in global_defs.
fn text(global: &str, body: &str) -> String {
    format!(
        "global_defs {{\n {global}\n}}\nvrrp_instance V {{\n interface eth0\n \
         virtual_router_id 1\n{body}\n}}\n"
    )
}

const VIP: &str = " virtual_ipaddress { 172.20.0.83/24 }";

fn load(global: &str, body: &str) -> (VrrpInstance, Vec<Warning>) {
    let (mut c, w) = ok(&text(global, body));
    (c.vrrp_instances.remove(0), w)
}

/// The one warning about strict mode, which must name `by` and start at `at`.
fn strict_warning(w: &[Warning], at: &str, by: &str) -> String {
    let s: Vec<String> = w
        .iter()
        .map(|w| w.to_string())
        .filter(|w| w.contains("strict mode"))
        .collect();
    assert_eq!(s.len(), 1, "{s:#?}");
    assert!(s[0].starts_with(at) && s[0].contains(by), "{}", s[0]);
    s[0].clone()
}

fn no_strict_warning(w: &[Warning]) {
    assert!(
        !w.iter().any(|w| w.message.contains("strict mode")),
        "{w:#?}"
    );
}

#[test]
fn an_instance_without_vips_is_refused() {
    let e = refused(&text("vrrp_strict", " priority 100"));
    let s = e[0].to_string();
    assert!(
        s.starts_with("t.conf:4:1:")
            && s.contains("virtual_ipaddress")
            && s.contains("vrrp_strict"),
        "{s}"
    );
    let e = refused(&text("", " strict_mode\n priority 100"));
    assert!(e[0].to_string().contains("`strict_mode`"), "{}", e[0]);
    // keepalived also requires one with VRRP version 3, strict or not...
    let e = refused(&text("vrrp_version 3", " priority 100"));
    assert!(e[0].to_string().contains("version 3"), "{}", e[0]);
    // ...and only finds it unwise with version 2.
    let (_, w) = load("", " priority 100");
    assert!(
        w.iter().any(|w| w.message.contains("no virtual_ipaddress")),
        "{w:#?}"
    );
}

#[test]
fn unicast_peers_run_with_a_warning_as_in_keepalived_2_2_7() {
    let (i, w) = load(
        "vrrp_strict",
        &format!("{VIP}\n unicast_peer {{ 172.20.0.82 }}"),
    );
    let s = strict_warning(&w, "t.conf:8:2:", "vrrp_strict");
    assert!(s.contains("unicast_peer"), "{s}");
    assert_eq!(i.unicast_peers.len(), 1);
    let (_, w) = load("", &format!("{VIP}\n unicast_peer {{ 172.20.0.82 }}"));
    no_strict_warning(&w);
}

#[test]
fn ipv6_moves_a_version_2_instance_to_version_3() {
    let body = " version 2\n virtual_ipaddress { fe80::83/64 }";
    let (i, w) = load("vrrp_strict", body);
    let s = strict_warning(&w, "t.conf:7:2:", "vrrp_strict");
    assert!(s.contains("version 2"), "{s}");
    assert_eq!(i.version(), Version::V3);
    // keepalived leaves a non-strict instance on the version it was given.
    let (i, w) = load("", body);
    no_strict_warning(&w);
    assert_eq!(i.version(), Version::V2);
}

#[test]
fn the_first_ipv6_vip_should_be_link_local() {
    let body = " virtual_ipaddress { 2001:db8::83/64 }";
    let (i, w) = load("vrrp_strict", body);
    let s = strict_warning(&w, "t.conf:7:2:", "vrrp_strict");
    assert!(
        s.contains("link-local") && s.contains("2001:db8::83"),
        "{s}"
    );
    assert_eq!(i.virtual_ipaddresses.len(), 1);
    let (_, w) = load("", body);
    no_strict_warning(&w);
    // Unicast adverts are not sent from a link-local address anyway.
    let (_, w) = load(
        "vrrp_strict",
        &format!("{body}\n unicast_peer {{ 2001:db8::82 }}"),
    );
    assert!(
        !w.iter().any(|w| w.message.contains("link-local")),
        "{w:#?}"
    );
    let (_, w) = load(
        "vrrp_strict",
        " virtual_ipaddress { fe80::83/64 2001:db8::83/64 }",
    );
    no_strict_warning(&w);
}

#[test]
fn state_master_goes_with_priority_255_only() {
    let (i, w) = load(
        "vrrp_strict",
        &format!(" state MASTER\n priority 100\n{VIP}"),
    );
    let s = strict_warning(&w, "t.conf:7:2:", "vrrp_strict");
    assert!(s.contains("state MASTER"), "{s}");
    assert_eq!(i.initial_state, InitialState::Backup);
    assert_eq!(i.priority, 100);
    let (i, w) = load(
        "vrrp_strict",
        &format!(" state BACKUP\n priority 255\n{VIP}"),
    );
    strict_warning(&w, "t.conf:7:2:", "vrrp_strict");
    assert_eq!(i.initial_state, InitialState::Master);
    // Without strict mode, the state stays as given.
    let (i, w) = load("", &format!(" state MASTER\n priority 100\n{VIP}"));
    no_strict_warning(&w);
    assert_eq!(i.initial_state, InitialState::Master);
}

#[test]
fn an_unset_priority_or_state_follows_the_other() {
    // keepalived: `state MASTER` alone is the address owner, and priority
    // 255 alone starts as Master; strict mode has nothing to correct.
    for global in ["", "vrrp_strict"] {
        let (i, w) = load(global, &format!(" state MASTER\n{VIP}"));
        no_strict_warning(&w);
        assert_eq!((i.initial_state, i.priority), (InitialState::Master, 255));
        let (i, _) = load(global, &format!(" priority 255\n{VIP}"));
        assert_eq!((i.initial_state, i.priority), (InitialState::Master, 255));
        let (i, _) = load(global, VIP);
        assert_eq!((i.initial_state, i.priority), (InitialState::Backup, 100));
    }
}

#[test]
fn authentication_is_ignored() {
    let body = format!("{VIP}\n authentication {{\n  auth_type PASS\n  auth_pass secret\n }}");
    let (i, w) = load("vrrp_strict", &body);
    let s = strict_warning(&w, "t.conf:8:2:", "vrrp_strict");
    assert!(s.contains("authentication"), "{s}");
    assert_eq!(i.authentication, None);
    let (i, w) = load("", &body);
    no_strict_warning(&w);
    assert!(i.authentication.is_some());
}

#[test]
fn preempt_delay_is_reset() {
    let body = format!("{VIP}\n preempt_delay 5");
    let (i, w) = load("vrrp_strict", &body);
    let s = strict_warning(&w, "t.conf:8:2:", "vrrp_strict");
    assert!(s.contains("preempt_delay"), "{s}");
    assert_eq!(i.preempt_delay, Duration::ZERO);
    let (i, _) = load("", &body);
    assert_eq!(i.preempt_delay, Duration::from_secs(5));
}

#[test]
fn nopreempt_is_left_alone() {
    let (i, w) = load("vrrp_strict", &format!("{VIP}\n nopreempt"));
    no_strict_warning(&w);
    assert!(i.nopreempt);
}

#[test]
fn accept_mode_is_off_for_vrrp_version_2_below_255() {
    let (i, w) = load("vrrp_strict", &format!("{VIP}\n accept"));
    let s = strict_warning(&w, "t.conf:8:2:", "vrrp_strict");
    assert!(s.contains("accept") && s.contains("RFC 3768"), "{s}");
    assert!(!i.accept);
    // Version 3 has an accept mode; the address owner accepts anyway.
    let (i, w) = load("vrrp_strict", &format!("{VIP}\n version 3\n accept"));
    no_strict_warning(&w);
    assert!(i.accept);
    let (i, w) = load("vrrp_strict", &format!("{VIP}\n priority 255\n accept"));
    no_strict_warning(&w);
    assert!(i.accept);
    // Unset: on for the owner, off otherwise.
    assert!(
        load("vrrp_strict", &format!("{VIP}\n priority 255"))
            .0
            .accept
    );
    assert!(!load("vrrp_strict", VIP).0.accept);
    assert!(load("", VIP).0.accept);
}

#[test]
fn vmac_xmit_base_is_ignored() {
    let body = format!("{VIP}\n use_vmac\n vmac_xmit_base");
    let (i, w) = load("vrrp_strict", &body);
    let s = strict_warning(&w, "t.conf:9:2:", "vrrp_strict");
    assert!(s.contains("vmac_xmit_base"), "{s}");
    assert!(!i.vmac_xmit_base);
    let (i, _) = load("", &body);
    assert!(i.vmac_xmit_base);
}

/// Every strict-mode warning, as text.
fn strict_warnings(w: &[Warning]) -> Vec<String> {
    w.iter()
        .map(|w| w.to_string())
        .filter(|w| w.contains("strict mode"))
        .collect()
}

#[test]
fn lower_priority_garps_are_reset() {
    let body = format!("{VIP}\n garp_lower_prio_repeat 3\n garp_lower_prio_delay 2");
    let (i, w) = load("vrrp_strict", &body);
    let s = strict_warnings(&w);
    assert_eq!(s.len(), 2, "{s:#?}");
    assert!(s[0].starts_with("t.conf:8:2:") && s[0].contains("garp_lower_prio_repeat"));
    assert!(s[1].starts_with("t.conf:9:2:") && s[1].contains("garp_lower_prio_delay"));
    assert_eq!(i.garp_lower_prio_repeat, 0);
    assert_eq!(i.garp_lower_prio_delay, Duration::ZERO);
    // Zero is what strict mode wants: nothing to say.
    let (_, w) = load(
        "vrrp_strict",
        &format!("{VIP}\n garp_lower_prio_repeat 0\n garp_lower_prio_delay 0"),
    );
    no_strict_warning(&w);
    // The global values are not used in strict mode, silently (keepalived
    // only reports an instance's own value).
    let g = "vrrp_strict\n vrrp_garp_lower_prio_repeat 3\n vrrp_garp_lower_prio_delay 2";
    let (i, w) = load(g, VIP);
    no_strict_warning(&w);
    assert_eq!(i.garp_lower_prio_repeat, 0);
    assert_eq!(i.garp_lower_prio_delay, Duration::ZERO);
    let (i, _) = load("", &body);
    assert_eq!(i.garp_lower_prio_repeat, 3);
    assert_eq!(i.garp_lower_prio_delay, Duration::from_secs(2));
}

#[test]
fn a_master_answers_no_lower_and_warns_no_higher_priority() {
    let body = format!("{VIP}\n lower_prio_no_advert false\n higher_prio_send_advert true");
    let (i, w) = load("vrrp_strict", &body);
    let s = strict_warnings(&w);
    assert_eq!(s.len(), 2, "{s:#?}");
    assert!(s[0].starts_with("t.conf:8:2:") && s[0].contains("lower_prio_no_advert"));
    assert!(s[1].starts_with("t.conf:9:2:") && s[1].contains("higher_prio_send_advert"));
    assert!(i.lower_prio_no_advert);
    assert!(!i.higher_prio_send_advert);
    let g = "vrrp_strict\n vrrp_lower_prio_no_advert false\n vrrp_higher_prio_send_advert true";
    let (i, w) = load(g, VIP);
    no_strict_warning(&w);
    assert!(i.lower_prio_no_advert);
    assert!(!i.higher_prio_send_advert);
    let (i, _) = load("", &body);
    assert!(!i.lower_prio_no_advert);
    assert!(i.higher_prio_send_advert);
}

#[test]
fn strict_mode_on_in_an_instance_without_vrrp_strict() {
    let (i, w) = load("", &format!(" strict_mode on\n{VIP}\n preempt_delay 5"));
    let s = strict_warning(&w, "t.conf:9:2:", "`strict_mode`");
    assert!(!s.contains("vrrp_strict"), "{s}");
    assert!(i.strict);
    assert_eq!(i.preempt_delay, Duration::ZERO);
    assert!(!i.accept);
    assert!(i.lower_prio_no_advert);
    // Bare `strict_mode` and `yes` are on too.
    for on in ["strict_mode", "strict_mode yes", "strict_mode true"] {
        assert!(load("", &format!(" {on}\n{VIP}")).0.strict, "{on}");
    }
    // Only this instance.
    let two = format!(
        "{}vrrp_instance W {{\n interface eth0\n virtual_router_id 2\n{VIP}\n}}\n",
        text("", &format!(" strict_mode\n{VIP}"))
    );
    let (c, _) = ok(&two);
    assert!(c.vrrp_instances[0].strict);
    assert!(!c.vrrp_instances[1].strict);
    assert!(c.vrrp_instances[1].accept);
}

#[test]
fn strict_mode_off_in_an_instance_under_vrrp_strict() {
    let (i, w) = load(
        "vrrp_strict",
        &format!(" strict_mode off\n{VIP}\n preempt_delay 5\n accept"),
    );
    no_strict_warning(&w);
    assert!(!i.strict);
    assert_eq!(i.preempt_delay, Duration::from_secs(5));
    assert!(i.accept);
    assert!(!i.lower_prio_no_advert);
    assert_eq!(i.garp_lower_prio_repeat, 5);
    // An instance without it still follows vrrp_strict.
    assert!(load("vrrp_strict", VIP).0.strict);
    assert!(!load("", VIP).0.strict);
}

#[test]
fn a_bad_strict_mode_value_is_refused_where_it_is() {
    let e = refused(&text("", &format!(" strict_mode maybe\n{VIP}")));
    let s = e[0].to_string();
    assert!(
        s.starts_with("t.conf:7:14:") && s.contains("strict_mode"),
        "{s}"
    );
}
