//! Syntax and semantics of the keepalived configuration parser: one-line
//! blocks, argv scripts, addresses, timers and defaults, and each kind of
//! error with its position.

mod common;
use common::ok;

use std::net::IpAddr;
use std::time::Duration;

use lvs_ipvs::{ForwardMethod, Protocol, Scheduler};
use lvs_keepalived_conf::{
    self as config, Authentication, CheckKind, ConfigError, DnsQueryType, ErrorKind, Script,
    VirtualServerAddr,
};
use lvs_vrrp::{AdvertInterval, Centiseconds, Version};

fn errs(text: &str) -> Vec<ConfigError> {
    common::refused(text)
}

/// (line, column, rendered message) of each error.
fn positions(text: &str) -> Vec<(u32, u32, String)> {
    errs(text)
        .iter()
        .map(|e| {
            let l = e.location.as_ref().expect("location");
            (l.line, l.column, e.to_string())
        })
        .collect()
}

const VI: &str = "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 7\n  virtual_ipaddress { 10.0.0.1/24 }\n";

#[test]
fn one_line_tcp_check_keeps_every_keyword() {
    let (cfg, _) = ok("virtual_server 10.0.0.1 80 {\n\
         real_server 10.0.0.2 80 {\n\
           TCP_CHECK { connect_timeout 3 retry 1 delay_before_retry 2 }\n\
         }\n\
         }\n");
    let c = &cfg.virtual_servers[0].real_servers[0].checks[0];
    assert_eq!(c.common.connect_timeout, Duration::from_secs(3));
    assert_eq!(c.common.retry, 1);
    assert_eq!(c.common.delay_before_retry, Duration::from_secs(2));
}

#[test]
fn whole_config_on_one_line() {
    let (cfg, _) = ok(
        "global_defs { router_id X } vrrp_instance V { interface e virtual_router_id 3 priority 50 \
         virtual_ipaddress { 10.0.0.9/32 } } virtual_server 10.0.0.9 53 { protocol UDP lb_algo sh \
         real_server 10.0.0.2 53 { weight 3 UDP_CHECK { connect_timeout 1 } } }",
    );
    assert_eq!(cfg.global.router_id.as_deref(), Some("X"));
    assert_eq!(cfg.vrrp_instances[0].priority, 50);
    assert_eq!(cfg.virtual_servers[0].real_servers[0].weight, 3);
}

#[test]
fn check_defaults_follow_keepalived_per_type() {
    let (cfg, warnings) = ok(
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n\
         TCP_CHECK { }\n UDP_CHECK { }\n DNS_CHECK { type A name example.org }\n\
         HTTP_GET { url { path / } }\n MISC_CHECK { misc_path /bin/true }\n } }\n",
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    let vs = &cfg.virtual_servers[0];
    assert_eq!(vs.delay_loop, Duration::from_secs(60));
    assert_eq!(vs.scheduler, Scheduler::WeightedLeastConnection);
    assert_eq!(vs.forwarding, ForwardMethod::Masquerade);
    let checks = &vs.real_servers[0].checks;
    let retry: Vec<u32> = checks.iter().map(|c| c.common.retry).collect();
    assert_eq!(retry, vec![1, 1, 3, 1, 0]);
    let dbr: Vec<u64> = checks
        .iter()
        .map(|c| c.common.delay_before_retry.as_secs())
        .collect();
    assert_eq!(dbr, vec![1, 1, 60, 3, 1]);
    assert!(
        checks
            .iter()
            .all(|c| c.common.connect_timeout == Duration::from_secs(5))
    );
    let CheckKind::Http(h) = &checks[3].kind else {
        panic!()
    };
    assert_eq!(h.urls[0].status_codes, vec![(200, 299)]);
    let CheckKind::Dns(d) = &checks[2].kind else {
        panic!()
    };
    assert_eq!(
        (d.query_type, d.name.as_str()),
        (DnsQueryType::A, "example.org")
    );
}

#[test]
fn timers_inherit_from_virtual_then_real_server() {
    let (cfg, _) = ok(
        "virtual_server 10.0.0.1 80 {\n delay_loop 0.5\n connect_timeout 2\n retry 4\n\
         real_server 10.0.0.2 80 { retry 2 TCP_CHECK { } TCP_CHECK { retry 9 } }\n\
         real_server 10.0.0.3 80 { TCP_CHECK { delay_loop 7 } }\n}\n",
    );
    let vs = &cfg.virtual_servers[0];
    let a = &vs.real_servers[0].checks;
    assert_eq!(a[0].common.retry, 2);
    assert_eq!(a[1].common.retry, 9);
    assert_eq!(a[0].common.connect_timeout, Duration::from_secs(2));
    assert_eq!(a[0].common.delay_loop, Duration::from_millis(500));
    let b = &vs.real_servers[1].checks[0];
    assert_eq!(b.common.retry, 4);
    assert_eq!(b.common.delay_loop, Duration::from_secs(7));
}

#[test]
fn dns_check_without_type_and_name_warns() {
    let (cfg, warnings) = ok("virtual_server 10.0.0.1 53 {\n protocol UDP\n\
         real_server 10.0.0.2 53 {\n  DNS_CHECK {\n   connect_timeout 2\n  }\n }\n}\n");
    let CheckKind::Dns(d) = &cfg.virtual_servers[0].real_servers[0].checks[0].kind else {
        panic!()
    };
    assert_eq!((d.query_type, d.name.as_str()), (DnsQueryType::Soa, "."));
    assert_eq!(warnings.len(), 1);
    let w = warnings[0].to_string();
    assert!(
        w.starts_with("t.conf:4:3: warning: DNS_CHECK without `type` and `name`"),
        "{w}"
    );
    assert!(w.contains("dnsmasq"), "{w}");
}

#[test]
fn vrrp_instance_keywords() {
    let (cfg, _) = ok(r#"
global_defs { vrrp_version 3 vrrp_garp_master_delay 1 }
vrrp_instance VI_1 {
    state MASTER
    interface ens18
    virtual_router_id 51
    priority 150
    advert_int 0.25
    nopreempt
    preempt_delay 2.5
    unicast_src_ip 172.20.0.81
    unicast_peer {
        172.20.0.82
        172.20.0.84 min_ttl 1
    }
    track_interface {
        eth1
        eth2 weight -20
    }
    virtual_ipaddress {
        172.20.0.83/24 dev ens18 label ens18:1
        172.20.0.90
    }
    virtual_ipaddress_excluded { 172.20.0.91/32 }
    notify_master "/usr/local/bin/notify.sh MASTER 'VI 1'" root
    notify_backup /usr/local/bin/backup.sh
    garp_master_repeat 2
    garp_master_refresh 30
    lvs_sync_daemon_interface ens19
}
"#);
    let v = &cfg.vrrp_instances[0];
    assert_eq!(v.version(), Version::V3);
    assert_eq!(
        v.advert_int,
        AdvertInterval::V3(Centiseconds::new(25).unwrap())
    );
    assert!(v.nopreempt);
    assert_eq!(v.preempt_delay, Duration::from_millis(2500));
    assert_eq!(v.source_ip, Some("172.20.0.81".parse::<IpAddr>().unwrap()));
    assert_eq!(v.unicast_peers.len(), 2);
    assert_eq!(v.track_interfaces.len(), 2);
    assert_eq!(v.track_interfaces[1].weight, -20);
    assert_eq!(v.virtual_ipaddresses.len(), 2);
    assert_eq!(v.virtual_ipaddresses[0].dev.as_deref(), Some("ens18"));
    assert_eq!(v.virtual_ipaddresses[0].label.as_deref(), Some("ens18:1"));
    assert_eq!(v.virtual_ipaddresses[1].prefix_len, 32);
    assert_eq!(v.virtual_ipaddresses_excluded.len(), 1);
    let mut as_root = Script::new(["/usr/local/bin/notify.sh", "MASTER", "VI 1"]);
    as_root.run_as = Some(lvs_director::RunAs { uid: 0, gid: 0 });
    assert_eq!(v.notify_master, Some(as_root));
    assert_eq!(v.notify_backup.as_ref().map(|s| s.argv.len()), Some(1));
    assert_eq!(v.garp_master_delay, Duration::from_secs(1));
    assert_eq!(v.garp_master_repeat, 2);
    assert_eq!(v.garp_master_refresh, Some(Duration::from_secs(30)));
    assert_eq!(v.lvs_sync_daemon_interface.as_deref(), Some("ens19"));
}

#[test]
fn virtual_server_keywords() {
    let (cfg, warnings) = ok(r#"
virtual_server fwmark 12 {
    lvs_sched wrr
    lvs_method TUN
    persistence_timeout
    persistence_granularity 255.255.255.0
    quorum 2
    sorry_server 10.0.0.99 8080
    inhibit_on_failure
    alpha
    ha_suspend
    virtualhost www.example.org
    smtp_alert
    real_server 10.0.0.2 80 {
        weight 5
        inhibit_on_failure off
        notify_up "/bin/logger up"
        HTTP_GET {
            url { path /health digest 9b3a0c85a887a256d6939da88aabd8cd status_code 200 300-399 }
            connect_port 8080
            bindto 10.0.0.1
        }
    }
    real_server 10.0.0.3 {
        MISC_CHECK { misc_path "/usr/bin/check 'a b'" misc_timeout 3 misc_dynamic }
    }
}
"#);
    // smtp_alert ignored by name; keepalived's corrections for fwmark
    // services (sorry_server port, ha_suspend cleared) said out loud.
    let w: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 4, "{w:#?}");
    assert!(
        w[0].starts_with("t.conf:8:18: warning: sorry_server port 8080 is ignored"),
        "{}",
        w[0]
    );
    assert!(
        w[1].starts_with(
            "t.conf:11:5: warning: `ha_suspend` has no effect on a fwmark virtual server"
        ),
        "{}",
        w[1]
    );
    assert!(
        w[2].starts_with(
            "t.conf:13:5: warning: `smtp_alert` is accepted for compatibility and ignored"
        ),
        "{}",
        w[2]
    );
    assert!(
        w[3].starts_with("t.conf:14:5: warning: real_server port 80 is ignored"),
        "{}",
        w[3]
    );
    let vs = &cfg.virtual_servers[0];
    assert_eq!(vs.addr, VirtualServerAddr::Fwmark(12));
    assert_eq!(vs.scheduler, Scheduler::WeightedRoundRobin);
    assert_eq!(vs.forwarding, ForwardMethod::IPIP);
    assert_eq!(vs.persistence_timeout, Some(Duration::from_secs(360)));
    assert_eq!(vs.quorum, 2);
    assert_eq!(vs.sorry_server, Some("10.0.0.99:0".parse().unwrap()));
    assert!(vs.alpha);
    let a = &vs.real_servers[0];
    assert_eq!(a.weight, 5);
    assert!(!a.inhibit_on_failure);
    assert_eq!(
        a.notify_up.as_ref().unwrap().argv,
        vec!["/bin/logger", "up"]
    );
    let CheckKind::Http(h) = &a.checks[0].kind else {
        panic!()
    };
    assert_eq!(h.urls[0].status_codes, vec![(200, 200), (300, 399)]);
    assert_eq!(h.virtualhost.as_deref(), Some("www.example.org"));
    assert_eq!(a.checks[0].common.connect_port, Some(8080));
    let b = &vs.real_servers[1];
    assert!(b.inhibit_on_failure);
    assert_eq!(b.addr.port(), 0);
    let CheckKind::Misc(m) = &b.checks[0].kind else {
        panic!()
    };
    assert_eq!(m.argv, vec!["/usr/bin/check", "a b"]);
    assert_eq!(m.timeout, Some(Duration::from_secs(3)));
    assert!(m.dynamic);
}

#[test]
fn unknown_keyword_inside_block_suggests_from_that_block() {
    let p = positions(&format!("{VI}  prioirty 100\n}}\n"));
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].0, p[0].1), (5, 3));
    assert!(
        p[0].2.ends_with(
            "unknown keyword `prioirty` in a `vrrp_instance` block (did you mean `priority`?)"
        ),
        "{}",
        p[0].2
    );
}

#[test]
fn misplaced_keyword_names_its_home() {
    let p = positions(&format!("{VI}  delay_loop 3\n}}\n"));
    assert_eq!((p[0].0, p[0].1), (5, 3));
    assert!(p[0].2.contains("`delay_loop` is not allowed in a `vrrp_instance` block: it belongs inside a `virtual_server`"), "{}", p[0].2);
}

#[test]
fn unclosed_block_names_where_it_opened() {
    let p = positions(
        "global_defs {\n router_id a\n}\nvirtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n  }\n",
    );
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].0, p[0].1), (4, 1));
    assert!(
        p[0].2.contains("block `virtual_server` is never closed"),
        "{}",
        p[0].2
    );
}

#[test]
fn stray_close_brace_points_at_the_block_it_may_belong_to() {
    let e = errs("global_defs {\n router_id a\n}\n}\n");
    assert_eq!(e.len(), 1);
    let l = e[0].location.as_ref().unwrap();
    assert_eq!((l.line, l.column), (4, 1));
    assert!(matches!(e[0].kind, ErrorKind::UnexpectedCloseBrace));
    assert_eq!(e[0].notes[0].location.as_ref().unwrap().line, 3);
}

#[test]
fn bad_values_name_the_offending_token() {
    let p = positions(&format!(
        "{VI}  priority 300\n  advert_int 0.5\n  state LEADER\n  virtual_ipaddress {{ 10.0.0.300/24 }}\n}}\n"
    ));
    let msgs: Vec<_> = p.iter().map(|(l, c, m)| (*l, *c, m.as_str())).collect();
    assert_eq!(msgs.len(), 4, "{msgs:#?}");
    assert_eq!((msgs[0].0, msgs[0].1), (5, 12));
    assert!(
        msgs[0]
            .2
            .contains("invalid value `300` for `priority`: expected an integer from 1 to 255")
    );
    assert_eq!((msgs[1].0, msgs[1].1), (6, 14));
    assert!(
        msgs[1].2.contains("needs `version 3`") || msgs[1].2.contains("version 3"),
        "{}",
        msgs[1].2
    );
    assert_eq!((msgs[2].0, msgs[2].1), (7, 9));
    assert_eq!((msgs[3].0, msgs[3].1), (8, 23));
}

#[test]
fn bad_virtual_server_values() {
    let p = positions(
        "virtual_server 10.0.0.1 99999 {\n}\nvirtual_server 10.0.0.2 80 {\n lb_algo rrr\n lb_kind DSR\n protocol ICMP\n delay_loop -1\n}\n",
    );
    let at: Vec<(u32, u32)> = p.iter().map(|(l, c, _)| (*l, *c)).collect();
    assert_eq!(
        at,
        vec![(1, 25), (4, 10), (5, 10), (6, 11), (7, 13)],
        "{p:#?}"
    );
    assert!(p[1].2.contains("(did you mean `rr`?)"), "{}", p[1].2);
}

#[test]
fn missing_required_and_missing_values() {
    let p = positions(
        "vrrp_instance A {\n virtual_router_id 1\n}\nvrrp_instance B {\n interface e\n priority\n}\n",
    );
    assert_eq!(p.len(), 3, "{p:#?}");
    assert!(
        p[0].2
            .starts_with("t.conf:1:1: error: vrrp_instance `A` has no `interface`"),
        "{}",
        p[0].2
    );
    assert!(
        p[1].2
            .starts_with("t.conf:4:1: error: vrrp_instance `B` has no `virtual_router_id`"),
        "{}",
        p[1].2
    );
    assert!(
        p[2].2
            .starts_with("t.conf:6:2: error: `priority` expects 1 value"),
        "{}",
        p[2].2
    );
}

#[test]
fn too_many_values() {
    let p = positions(&format!("{VI}  priority 100 200\n}}\n"));
    assert_eq!(p.len(), 1);
    assert!(
        p[0].2
            .starts_with("t.conf:5:16: error: unexpected `200` after the value of `priority`"),
        "{}",
        p[0].2
    );
}

#[test]
fn duplicate_vrid_on_same_interface() {
    let text =
        format!("{VI}}}\nvrrp_instance VI_2 {{\n interface eth0\n virtual_router_id 7\n}}\n");
    let e = errs(&text);
    assert_eq!(e.len(), 1);
    let s = e[0].to_string();
    assert!(
        s.starts_with("t.conf:6:1: error: duplicate virtual_router_id 7 on interface `eth0`"),
        "{s}"
    );
    assert!(
        s.contains("t.conf:1:1: note: the other instance is defined here"),
        "{s}"
    );
    // Same VRID on another interface is fine.
    ok(&format!(
        "{VI}}}\nvrrp_instance VI_2 {{\n interface eth1\n virtual_router_id 7\n}}\n"
    ));
}

#[test]
fn duplicate_virtual_and_real_servers() {
    let e = errs(
        "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 { }\n real_server 10.0.0.2 80 { }\n}\n\
                  virtual_server 10.0.0.1 80 {\n real_server 10.0.0.9 80 { }\n}\n",
    );
    let s: Vec<String> = e.iter().map(|e| e.to_string()).collect();
    assert_eq!(s.len(), 2, "{s:#?}");
    assert!(
        s[0].starts_with("t.conf:3:2: error: duplicate real_server 10.0.0.2:80"),
        "{}",
        s[0]
    );
    assert!(
        s[1].starts_with("t.conf:5:1: error: duplicate virtual_server UDP 10.0.0.1:80"),
        "{}",
        s[1]
    );
}

#[test]
fn unsupported_keywords_are_refused_not_ignored() {
    let p = positions("bfd_instance b { neighbor_ip 192.0.2.1 }\n");
    assert_eq!(p.len(), 1);
    assert!(
        p[0].2
            .contains("`bfd_instance` is keepalived syntax that director does not support")
    );
}

#[test]
fn errors_are_collected_and_each_reported_once() {
    let text = "vrp_instance A {\n}\nvirtual_server 10.0.0.1 80 {\n delai_loop 3\n real_server 10.0.0.2 80 {\n  TCP_CHECK { conect_timeout 3 }\n }\n}\nglobal_def {\n}\n";
    let p = positions(text);
    let at: Vec<(u32, u32)> = p.iter().map(|(l, c, _)| (*l, *c)).collect();
    assert_eq!(at, vec![(1, 1), (4, 2), (6, 15), (9, 1)], "{p:#?}");
    assert!(p[1].2.contains("did you mean `delay_loop`"));
    assert!(p[2].2.contains("did you mean `connect_timeout`"));
    assert!(p[3].2.contains("did you mean `global_defs`"));
}

#[test]
fn comments_and_quotes() {
    let (cfg, _) = ok(
        "! keepalived style\nglobal_defs { # comment { not a brace\n router_id \"node 1\" ! trailing\n}\n",
    );
    assert_eq!(cfg.global.router_id.as_deref(), Some("node 1"));
    let p = positions("global_defs {\n router_id \"unterminated\n}\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].0, p[0].1), (2, 12));
}

#[test]
fn script_with_extra_unquoted_words_is_refused() {
    let p = positions(&format!("{VI}  notify_master /bin/x.sh a b c\n}}\n"));
    assert_eq!(p.len(), 1);
    assert!(
        p[0].2.starts_with("t.conf:5:31: error: unexpected `c`"),
        "{}",
        p[0].2
    );
}

#[test]
fn global_defs_keywords() {
    let (cfg, warnings) = ok(
        "global_defs {\n router_id R\n script_user nobody nogroup\n enable_script_security\n\
         notification_email { a@b.c d@e.f }\n lvs_sync_daemon ens19 VI_1 id 5 port 8849\n\
         lvs_timeouts tcp 900 udp 30\n vrrp_garp_master_refresh 60\n}\n{VI}}\n"
            .replace("{VI}", VI)
            .as_str(),
    );
    let g = &cfg.global;
    // Accepted, and each said to be ignored, at its line.
    let w: Vec<(u32, &str)> = warnings
        .iter()
        .map(|w| (w.location.as_ref().unwrap().line, w.message.as_str()))
        .collect();
    // script_user is implemented: resolved to ids.
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(
        g.script_user,
        Some(lvs_director::RunAs {
            uid: 65534,
            gid: 65534
        })
    );
    // enable_script_security is implemented: director checks the scripts.
    assert!(g.enable_script_security);
    assert!(
        w[0].0 == 5
            && w[0]
                .1
                .ends_with("ignored by director: director sends no mail"),
        "{w:?}"
    );
    let s = g.lvs_sync_daemon.as_ref().unwrap();
    assert_eq!(
        (
            s.interface.as_str(),
            s.vrrp_instance.as_deref(),
            s.sync_id,
            s.port
        ),
        ("ens19", Some("VI_1"), Some(5), Some(8849))
    );
    assert_eq!(g.lvs_timeouts.tcp, Some(Duration::from_secs(900)));
    assert_eq!(g.lvs_timeouts.udp, Some(Duration::from_secs(30)));
    assert_eq!(g.vrrp_garp_master_refresh, Some(Duration::from_secs(60)));
}

#[test]
fn a_value_set_twice_warns_and_the_last_wins() {
    let (cfg, warnings) = ok(&format!("{VI}  priority 50\n  priority 60\n}}\n"));
    assert_eq!(cfg.vrrp_instances[0].priority, 60);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = warnings[0].to_string();
    assert!(
        w.starts_with("t.conf:6:3: warning: `priority` is set again; this later value wins"),
        "{w}"
    );
    assert!(
        w.contains("t.conf:5:3: note: earlier value, ignored"),
        "{w}"
    );
}

#[test]
fn conditional_lines_and_parameters_are_preprocessed() {
    // `$ID` is replaced only when whitespace or the line's end follows it.
    let text = "$ID=a\nglobal_defs {\n @main router_id main_$IDx\n @^main router_id other\n}\n";
    let main = config::LoadOptions::new().with_config_id("main");
    let (cfg, _) = config::parse_str_with("t.conf", text, &main).unwrap();
    assert_eq!(cfg.global.router_id.as_deref(), Some("main_$IDx"));
    let text = "$ID=a\nglobal_defs {\n @main router_id main_${ID}\n @^main router_id other\n}\n";
    let (cfg, _) = config::parse_str_with("t.conf", text, &main).unwrap();
    assert_eq!(cfg.global.router_id.as_deref(), Some("main_a"));
    let other = config::LoadOptions::new().with_config_id("n2");
    let (cfg, _) = config::parse_str_with("t.conf", text, &other).unwrap();
    assert_eq!(cfg.global.router_id.as_deref(), Some("other"));
    // A parameter never defined, where a keyword belongs, is named.
    let p = positions("global_defs {\n $UNDEFINED\n}\n");
    assert_eq!(
        p[0].2,
        "t.conf:2:2: error: preprocessor: `$UNDEFINED` is not a defined parameter"
    );
}

#[test]
fn keepalived_corrections_are_applied_with_warnings() {
    let (cfg, warnings) = ok(
        "virtual_server 10.0.0.1 80 {\n lb_kind DR\n quorum 5\n delay_loop 3\n ops\n\
         real_server 10.0.0.2 8080 { weight 2 }\n}\n\
         virtual_server 10.0.0.1 0 {\n protocol TCP\n real_server 10.0.0.3 { }\n}\n\
         virtual_server 10.0.0.1 81 {\n protocol TCP\n}\n",
    );
    let w: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
    let vs = &cfg.virtual_servers[0];
    // No protocol: UDP, as keepalived 2.2.7 does ("no protocol set - defaulting to UDP").
    assert_eq!(vs.protocol, Protocol::Udp);
    assert!(
        w.iter().any(|w| w
            .starts_with("t.conf:1:1: warning: virtual_server UDP 10.0.0.1:80 has no `protocol`")),
        "{w:#?}"
    );
    // DR keeps the destination port: 8080 becomes 80.
    assert_eq!(vs.real_servers[0].addr.port(), 80);
    assert!(
        w.iter()
            .any(|w| w.starts_with("t.conf:6:1: warning: real_server port 8080 differs")),
        "{w:#?}"
    );
    assert_eq!(vs.quorum, 2);
    assert!(vs.scheduler_flags.ops, "ops stays with UDP");
    // Port 0 forces persistence.
    let vs0 = &cfg.virtual_servers[1];
    assert_eq!(vs0.persistence_timeout, Some(Duration::from_secs(360)));
    assert_eq!(vs0.real_servers[0].addr.port(), 0);
    // No real server: dropped.
    assert_eq!(cfg.virtual_servers.len(), 2);
    assert!(
        w.iter().any(|w| w.contains("has no real_server: ignored")),
        "{w:#?}"
    );
}

#[test]
fn missing_close_brace_is_pointed_at() {
    // TCP_CHECK of the first real_server is not closed, so the next
    // `real_server` lands inside the first one.
    let text = "virtual_server 10.0.0.1 80 {\n protocol TCP\n\
                real_server 10.0.0.2 80 {\n  TCP_CHECK {\n   connect_timeout 3\n }\n\
                real_server 10.0.0.3 80 {\n }\n}\n";
    let e = errs(text);
    let s: Vec<String> = e.iter().map(|e| e.to_string()).collect();
    assert_eq!(s.len(), 2, "{s:#?}");
    // At the end, the virtual_server is left open (reported at its opening)...
    assert!(
        s[0].starts_with("t.conf:1:1: error: block `virtual_server` is never closed"),
        "{s:#?}"
    );
    // ...and the cause is pointed at.
    assert!(
        s[1].starts_with(
            "t.conf:7:1: error: `real_server` is not allowed in a `real_server` block: \
             it belongs inside a `virtual_server` block"
        ),
        "{s:#?}"
    );
    assert!(
        s[1].contains(
            "t.conf:3:1: note: the `real_server` block opened here is still open; is a `}` missing before line 7?"
        ),
        "{s:#?}"
    );
}

#[test]
fn vip_families_must_not_mix_and_v3_has_no_authentication() {
    let p = positions(
        "vrrp_instance V {\n interface e\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1\n  fe80::1\n }\n}\n",
    );
    assert_eq!(p.len(), 1);
    assert!(
        p[0].2.starts_with(
            "t.conf:1:1: error: vrrp_instance `V`: virtual_ipaddress mixes IPv4 and IPv6"
        ),
        "{}",
        p[0].2
    );
    let auth = "  authentication { auth_type PASS auth_pass secret }\n}\n";
    let (cfg, w) = ok(&format!("{VI}  version 3\n{auth}"));
    assert_eq!(cfg.vrrp_instances[0].authentication, None);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].message
            .contains("`authentication` does not exist in VRRP version 3"),
        "{w:?}"
    );
    let (cfg, w) = ok(&format!("{VI}{auth}"));
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        cfg.vrrp_instances[0].authentication,
        Some(Authentication::Pass("secret".into()))
    );
}

#[test]
fn udp_check_with_short_timeout_and_no_reply_warns() {
    let base = "virtual_server 10.0.0.1 53 {\n protocol UDP\n real_server 10.0.0.2 53 {\n  UDP_CHECK { X }\n }\n}\n";
    let (_, w) = ok(&base.replace("X", "connect_timeout 3"));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].to_string().starts_with(
        "t.conf:4:3: warning: UDP_CHECK without `require_reply` counts silence as success"
    ));
    let (_, w) = ok(&base.replace("X", "connect_timeout 4"));
    assert!(w.is_empty(), "{w:?}");
    let (_, w) = ok(&base.replace("X", "connect_timeout 1 require_reply"));
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn vrrp_multicast_groups_must_be_multicast() {
    let (c, _) =
        ok("global_defs {\n  vrrp_mcast_group4 224.0.0.99\n  vrrp_mcast_group6 ff02::99\n}\n");
    assert_eq!(c.global.vrrp_mcast_group4.to_string(), "224.0.0.99");
    assert_eq!(c.global.vrrp_mcast_group6.to_string(), "ff02::99");
    let p = positions(
        "global_defs {\n  vrrp_mcast_group4 10.0.0.1\n  vrrp_mcast_group6 2001:db8::1\n}\n",
    );
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!((p[0].0, p[0].1), (2, 21), "{p:?}");
    assert!(p[0].2.contains("an IPv4 multicast address"), "{p:?}");
    assert_eq!((p[1].0, p[1].1), (3, 21), "{p:?}");
    assert!(p[1].2.contains("an IPv6 multicast address"), "{p:?}");
}

#[test]
fn process_scheduling_keywords_take_the_stronger_of_vrrp_and_checker() {
    let (c, _) = ok("global_defs {
  vrrp_rt_priority 20
  checker_rt_priority 10
  vrrp_priority -5
  checker_priority -10
  vrrp_no_swap
}\n");
    assert_eq!(c.global.rt_priority, Some(20));
    assert_eq!(c.global.nice, Some(-10));
    assert!(c.global.no_swap);
    let (c, _) = ok("global_defs {\n  router_id x\n}\n");
    assert_eq!(
        (c.global.rt_priority, c.global.nice, c.global.no_swap),
        (None, None, false)
    );
    let p = positions("global_defs {\n  vrrp_rt_priority 100\n  vrrp_priority 20\n}\n");
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!((p[0].0, p[0].1), (2, 20), "{p:?}");
    assert!(p[0].2.contains("from 1 to 99"), "{p:?}");
    assert_eq!(p[1].0, 3, "{p:?}");
    assert!(p[1].2.contains("from -20 to 19"), "{p:?}");
}

#[test]
fn lvs_half_open_turns_a_tcp_check_half_open_and_belongs_only_there() {
    let rs = |check: &str| {
        format!(
            "virtual_server 10.0.0.1 80 {{\n  real_server 10.0.0.2 80 {{\n    {check}\n  }}\n}}\n"
        )
    };
    let (cfg, _) = ok(&rs("TCP_CHECK { connect_timeout 3 lvs_half_open }"));
    let c = &cfg.virtual_servers[0].real_servers[0].checks[0];
    assert_eq!(c.kind, CheckKind::TcpHalfOpen);
    assert_eq!(c.common.connect_timeout, Duration::from_secs(3));
    let (cfg, _) = ok(&rs("TCP_CHECK { connect_timeout 3 }"));
    assert_eq!(
        cfg.virtual_servers[0].real_servers[0].checks[0].kind,
        CheckKind::Tcp
    );
    // A flag takes no value; other checks do not know it.
    let p = positions(&rs("TCP_CHECK {\n lvs_half_open yes\n }"));
    assert_eq!((p.len(), p[0].0), (1, 4), "{p:?}");
    assert!(p[0].2.contains("unexpected `yes`"), "{}", p[0].2);
    let p = positions(&rs("UDP_CHECK {\n lvs_half_open\n }"));
    assert_eq!((p.len(), p[0].0), (1, 4), "{p:?}");
    assert!(
        p[0].2.contains(
            "`lvs_half_open` is not allowed in a `UDP_CHECK` block: it belongs inside a `TCP_CHECK`"
        ),
        "{}",
        p[0].2
    );
}

#[test]
fn the_model_speaks_the_libraries_types() {
    // lvs-ipvs's Scheduler / ForwardMethod / Protocol and lvs-vrrp's Version /
    // AdvertInterval come out of the parser directly: nothing to map back.
    let (cfg, _) = ok("global_defs { vrrp_version 2 }\n\
         vrrp_instance V { interface e virtual_router_id 1 advert_int 100 virtual_ipaddress { 10.0.0.1 } }\n\
         vrrp_instance W { interface e virtual_router_id 2 version 3 advert_int 0.05 virtual_ipaddress { 10.0.0.2 } }\n\
         virtual_server 10.0.0.1 80 { protocol SCTP lb_algo twos lb_kind TUN real_server 10.0.0.2 80 { } }\n\
         virtual_server 10.0.0.1 81 { protocol TCP lb_algo MH real_server 10.0.0.2 81 { lvs_method DR } }\n");
    // VRRPv2 counts whole seconds beyond what a VRRPv3 field can hold.
    assert_eq!(
        cfg.vrrp_instances[0].advert_int,
        AdvertInterval::V2(lvs_vrrp::Seconds(100))
    );
    assert_eq!(cfg.vrrp_instances[0].version(), Version::V2);
    assert_eq!(
        cfg.vrrp_instances[1].advert_int,
        AdvertInterval::V3(Centiseconds::new(5).unwrap())
    );
    assert_eq!(cfg.vrrp_instances[1].version(), Version::V3);
    let a = &cfg.virtual_servers[0];
    assert_eq!(a.protocol, Protocol::Sctp);
    assert_eq!(a.scheduler, Scheduler::Other("twos".into()));
    assert_eq!(a.forwarding, ForwardMethod::IPIP);
    assert_eq!(a.real_servers[0].forwarding, ForwardMethod::IPIP);
    let b = &cfg.virtual_servers[1];
    assert_eq!(b.scheduler, Scheduler::Maglev);
    assert_eq!(b.forwarding, ForwardMethod::Masquerade);
    assert_eq!(b.real_servers[0].forwarding, ForwardMethod::DirectRoute);
}

#[test]
fn keywords_that_would_change_behaviour_are_refused_with_why_and_where() {
    let vs = |kw: &str| {
        format!(
            "virtual_server 10.0.0.1 80 {{\n protocol TCP\n quorum 1\n {kw}\n real_server 10.0.0.2 80 {{ }}\n}}\n"
        )
    };
    for (kw, why) in [
        ("sorry_server_inhibit", "instead of keeping it at weight 0"),
        ("persistence_engine sip", "persistence engines"),
    ] {
        let p = positions(&vs(kw));
        assert_eq!(p.len(), 1, "{kw}: {p:?}");
        let name = kw.split(' ').next().unwrap();
        assert!(
            p[0].2.starts_with(&format!(
                "t.conf:4:2: error: `{name}` is keepalived syntax that director does not support: "
            )),
            "{}",
            p[0].2
        );
        assert!(p[0].2.contains(why), "{}", p[0].2);
    }
    // Value forms are decided by the same table.
    let p = positions(&format!(
        "{VI}  authentication {{\n    auth_type AH\n  }}\n  use_vmac 02:11:22:33:44:55\n}}\n"
    ));
    let got: Vec<(u32, u32, bool)> = p
        .iter()
        .map(|(l, c, m)| (*l, *c, m.contains("does not support")))
        .collect();
    assert_eq!(got, vec![(6, 15, true), (8, 12, true)], "{p:#?}");
    assert!(p[0].2.contains("`auth_type AH`"), "{}", p[0].2);
    let p = positions(
        "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  TCP_CHECK { fwmark 3 }\n }\n}\n",
    );
    assert_eq!((p.len(), p[0].0, p[0].1), (1, 3, 15), "{p:?}");
}

#[test]
fn vip_options_are_decided_by_the_table() {
    let (cfg, w) = ok(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  \
         10.0.0.1/24 dev eth1 label eth1:v brd 10.0.0.255 no_track\n }\n}\n",
    );
    let v = &cfg.vrrp_instances[0].virtual_ipaddresses[0];
    assert_eq!(
        (v.dev.as_deref(), v.label.as_deref()),
        (Some("eth1"), Some("eth1:v"))
    );
    let w: Vec<String> = w.iter().map(|w| w.to_string()).collect();
    assert!(v.no_track, "no_track is carried to the model");
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(
        w[0].starts_with("t.conf:5:37: warning: `brd` is accepted"),
        "{w:?}"
    );
    let p = positions(&format!(
        "{VI}  virtual_ipaddress {{ 10.0.0.2 scope host }}\n}}\n"
    ));
    assert_eq!((p.len(), p[0].0), (1, 5), "{p:?}");
    assert!(
        p[0].2
            .contains("`scope` is keepalived syntax that director does not support")
    );
}

#[test]
fn http_get_takes_the_real_servers_virtualhost_first() {
    let (cfg, w) = ok(
        "virtual_server 10.0.0.1 80 {\n protocol TCP\n virtualhost vs.example\n\
         real_server 10.0.0.2 80 {\n  virtualhost rs.example\n  HTTP_GET { url { path / } }\n }\n\
         real_server 10.0.0.3 80 {\n  HTTP_GET { url { path / } }\n }\n}\n",
    );
    assert!(w.is_empty(), "{w:?}");
    let host = |i: usize| match &cfg.virtual_servers[0].real_servers[i].checks[0].kind {
        CheckKind::Http(h) => h.virtualhost.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(host(0).as_deref(), Some("rs.example"));
    assert_eq!(host(1).as_deref(), Some("vs.example"));
}

#[test]
fn the_keyword_table_is_public() {
    use lvs_keepalived_conf::keywords::{self, Support};
    let find = |block: &str, kw: &str| {
        keywords::all()
            .find(|(b, k, _)| *b == block && *k == kw)
            .map(|(_, _, s)| s)
    };
    assert_eq!(
        find("vrrp_instance", "priority"),
        Some(Support::Implemented)
    );
    assert_eq!(
        find("virtual_server", "hysteresis"),
        Some(Support::Implemented)
    );
    assert_eq!(find("virtual_server", "omega"), Some(Support::Implemented));
    assert!(matches!(
        find("virtual_server", "sorry_server_inhibit"),
        Some(Support::Refused(_))
    ));
    assert!(matches!(
        find("global_defs", "smtp_alert"),
        Some(Support::Warned(_))
    ));
    assert_eq!(find("", "vrrp_script"), Some(Support::Implemented));
    assert_eq!(find("", "vrrp_track_file"), Some(Support::Implemented));
    assert!(matches!(
        find("", "bfd_instance"),
        Some(Support::Refused(_))
    ));
    assert!(keywords::all().count() > 150);
}

#[test]
fn growing_structs_are_built_by_constructors() {
    // #[non_exhaustive] model structs are built outside the crate through
    // Default and constructors, and compare equal to what the parser makes.
    let (cfg, _) = ok(&format!(
        "{VI}  track_interface {{ eth1 }}\n  notify_master /bin/true\n}}\n"
    ));
    let v = &cfg.vrrp_instances[0];
    assert_eq!(
        v.track_interfaces,
        vec![config::TrackInterface::new("eth1")]
    );
    assert_eq!(
        v.virtual_ipaddresses,
        vec![config::VirtualIp::new("10.0.0.1".parse().unwrap(), 24)]
    );
    assert_eq!(v.notify_master, Some(Script::new(["/bin/true"])));
    let (cfg, _) = ok("global_defs { router_id x }\n");
    let mut want = config::GlobalDefs::default();
    want.router_id = Some("x".into());
    assert_eq!(cfg.global, want);
    assert_eq!(config::Config::default().vrrp_instances.len(), 0);
}

#[test]
fn a_scripts_own_user_is_kept() {
    let (cfg, w) = ok(&format!(
        "{VI}  notify_master /bin/x.sh nobody nogroup\n}}\n"
    ));
    let mut want = Script::new(["/bin/x.sh"]);
    want.run_as = Some(lvs_director::RunAs {
        uid: 65534,
        gid: 65534,
    });
    assert_eq!(cfg.vrrp_instances[0].notify_master, Some(want));
    assert!(w.is_empty(), "{w:?}");
}

// ---- vrrp_script / track_script ----

const SCRIPTED: &str = "vrrp_script chk_api {\n  script \"/usr/bin/curl -sf http://127.0.0.1/healthz\"\n  interval 3\n  timeout 2\n  weight -20\n  rise 2\n  fall 3\n  init_fail\n}\nvrrp_script chk_proc {\n  script /usr/bin/pgrep -x haproxy\n  weight 10 reverse\n}\n";

#[test]
fn vrrp_script_and_track_script_are_parsed() {
    let text = format!(
        "{SCRIPTED}{VI}  priority 100\n  track_script {{\n    chk_api\n    chk_proc weight 5 noreverse\n  }}\n}}\n"
    );
    let (cfg, _) = ok(&text);
    let api = &cfg.vrrp_scripts[0];
    assert_eq!(api.name, "chk_api");
    assert_eq!(
        api.script.argv,
        ["/usr/bin/curl", "-sf", "http://127.0.0.1/healthz"]
    );
    assert_eq!(api.interval, Duration::from_secs(3));
    assert_eq!(api.timeout, Some(Duration::from_secs(2)));
    assert_eq!(
        (api.weight, api.reverse, api.rise, api.fall),
        (-20, false, 2, 3)
    );
    assert!(api.init_fail);
    let proc = &cfg.vrrp_scripts[1];
    assert_eq!(proc.script.argv, ["/usr/bin/pgrep", "-x", "haproxy"]);
    assert_eq!((proc.weight, proc.reverse), (10, true));
    assert_eq!(
        (proc.interval, proc.timeout),
        (Duration::from_secs(1), None)
    );
    let t = &cfg.vrrp_instances[0].track_scripts;
    assert_eq!(t.len(), 2);
    assert_eq!(
        (t[0].script.as_str(), t[0].weight, t[0].reverse),
        ("chk_api", None, None)
    );
    assert_eq!(
        (t[1].script.as_str(), t[1].weight, t[1].reverse),
        ("chk_proc", Some(5), Some(false))
    );
}

#[test]
fn track_script_errors_have_their_place() {
    // An undefined script (keepalived -t complains too), with a suggestion.
    let p = positions(&format!(
        "{SCRIPTED}{VI}  track_script {{\n    chk_apj\n  }}\n}}\n"
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].0, p[0].1), (19, 5), "{}", p[0].2);
    assert!(p[0].2.contains("no vrrp_script defines"), "{}", p[0].2);
    assert!(p[0].2.contains("did you mean `chk_api`"), "{}", p[0].2);
    // A weight out of range, a script without `script`, two of one name.
    let p = positions(&format!(
        "{VI}  track_script {{\n    chk weight 300\n  }}\n}}\n"
    ));
    assert!(p.iter().any(|e| e.2.contains("-253 to 253")), "{p:?}");
    let p = positions("vrrp_script s {\n interval 2\n}\n");
    assert!(p[0].2.contains("`script`"), "{p:?}");
    let p = positions(
        "vrrp_script s {\n script /bin/true\n}\nvrrp_script s {\n script /bin/false\n}\n",
    );
    assert_eq!((p[0].0, p[0].1), (4, 1), "{p:?}");
}

#[test]
fn weight_notes_for_check_config() {
    let note = |prio: u32, state: &str, weight: &str| -> Vec<String> {
        let text = format!(
            "vrrp_script chk {{\n script /bin/true\n weight {weight}\n}}\n{VI}  state {state}\n  priority {prio}\n  track_script {{\n    chk\n  }}\n}}\n"
        );
        ok(&text)
            .1
            .iter()
            .map(|w| w.message.clone())
            .filter(|m| m.contains("track_script `chk`"))
            .collect()
    };
    // The sign confusion: a bonus on the Master only takes 20 away on failure.
    let w = note(150, "MASTER", "20");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("above 130"), "{}", w[0]);
    // Negative weights on the Master and positive ones on a Backup: silent.
    assert!(note(150, "MASTER", "-60").is_empty());
    assert!(note(100, "BACKUP", "20").is_empty());
    // Clamping eats the weight; the address owner ignores it.
    let w = note(250, "BACKUP", "20");
    assert!(w[0].contains("by 4, not 20"), "{w:?}");
    let w = note(10, "BACKUP", "-50");
    assert!(w[0].contains("by 9, not 50"), "{w:?}");
    let w = note(255, "MASTER", "-20");
    assert!(w[0].contains("address owner"), "{w:?}");
}

/// Every entry of the leniency list parses, with one warning naming the
/// keyword (or none, for the implemented old names), and nothing refused.
#[test]
fn the_leniency_list_is_accepted_with_warnings() {
    for (block, example, why) in config::keywords::LENIENT {
        let text = match *block {
            "global_defs" => format!("global_defs {{\n {example}\n}}\n"),
            "virtual_server" => format!(
                "virtual_server 10.0.0.1 80 {{\n protocol TCP\n {example}\n real_server 10.0.0.2 80 {{ }}\n}}\n"
            ),
            "TCP_CHECK" => format!(
                "virtual_server 10.0.0.1 80 {{\n protocol TCP\n real_server 10.0.0.2 80 {{\n TCP_CHECK {{\n {example}\n }}\n }}\n}}\n"
            ),
            other => panic!("no template for block {other}"),
        };
        let (_, warnings) = config::parse_str("t.conf", &text)
            .unwrap_or_else(|e| panic!("`{example}` refused: {e:?}"));
        let keyword = example.split_whitespace().next().unwrap();
        let named: Vec<_> = warnings
            .iter()
            .map(|w| w.to_string())
            .filter(|w| w.contains(keyword))
            .collect();
        if why.contains("no warning") {
            assert!(warnings.is_empty(), "{example}: {warnings:?}");
        } else {
            assert_eq!(named.len(), 1, "{example}: {warnings:?}");
            assert_eq!(warnings.len(), 1, "{example}: {warnings:?}");
        }
    }
}

#[test]
fn ip_family_sets_a_fwmark_services_family() {
    let fw = |extra: &str| {
        let text = format!(
            "virtual_server fwmark 7 {{\n lb_kind DR\n {extra}\n real_server 10.0.0.2 80 {{ }}\n}}\n"
        );
        let (cfg, _) = config::parse_str("t.conf", &text).unwrap();
        lvs_director::DirectorConfig::try_from(&cfg)
            .unwrap()
            .virtual_servers[0]
            .service
            .key
            .family()
    };
    assert_eq!(fw(""), lvs_ipvs::Family::Inet);
    assert_eq!(fw("ip_family inet6"), lvs_ipvs::Family::Inet6);
    let p = positions("virtual_server 10.0.0.1 80 {\n protocol TCP\n ip_family inet6\n}\n");
    assert!(
        p[0].2
            .starts_with("t.conf:3:12: error: invalid value `inet6` for `ip_family`"),
        "{}",
        p[0].2
    );
}

/// `unicast_peer` TTL ranges: director accepts adverts only with TTL 255,
/// so a range that holds 255 is accepted with a warning saying so, and a
/// `max_ttl` below it — every advert dropped — is refused where it is.
#[test]
fn unicast_peer_ttl_range_must_hold_255() {
    let conf = |opts: &str| {
        format!(
            "vrrp_instance V {{ interface eth0 virtual_router_id 1 unicast_src_ip 172.20.0.81\n  \
             unicast_peer {{\n    172.20.0.82 {opts}\n  }}\n  virtual_ipaddress {{ 172.20.0.83 }} }}"
        )
    };
    let (_, w) = ok(&conf("min_ttl 250 max_ttl 255"));
    assert!(
        w.iter()
            .any(|w| w.to_string().contains("only with TTL 255")),
        "{w:?}"
    );
    let e = common::refused(&conf("min_ttl 1 max_ttl 64"));
    let text = e[0].to_string();
    assert!(
        text.starts_with("t.conf:3:35:") && text.contains("`64`"),
        "{text}"
    );
    let e = common::refused(&conf("min_ttl many"));
    assert!(e[0].to_string().contains("`many`"), "{}", e[0]);
}
