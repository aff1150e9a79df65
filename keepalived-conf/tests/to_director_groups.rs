//! `virtual_server_group` and `virtual_server group NAME`: parsing, the
//! refusals (with their file:line:col), and the conversion to one director
//! virtual server over every member; keepalived's two shipped samples.

mod common;
use common::ok;

use std::net::SocketAddr;

use lvs_director::DirectorConfig;
use lvs_ipvs::{Family, ServiceKey};
use lvs_keepalived_conf::{self as config, GroupEntry};

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

/// Each error as `line:col: message`.
fn errs(text: &str) -> Vec<String> {
    common::refused(text)
        .iter()
        .map(|e| {
            let l = e.location.as_ref().expect("location");
            format!("{}:{}: {}", l.line, l.column, e)
        })
        .collect()
}

const RS: &str = "    real_server 10.1.0.11 80 { TCP_CHECK { connect_timeout 3 } }
    real_server 10.1.0.12 80 { TCP_CHECK { connect_timeout 3 } }";

fn with_group(group: &str) -> String {
    format!(
        "virtual_server_group G {{\n{group}\n}}\nvirtual_server group G {{\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n{RS}\n}}\n"
    )
}

#[test]
fn a_range_and_a_fwmark_become_one_virtual_server_over_every_member() {
    let (cfg, _) = ok(&with_group("    10.0.0.1-3 80\n    fwmark 7"));
    let g = cfg.virtual_server_group("G").expect("group");
    assert_eq!(
        g.entries[0],
        GroupEntry::Addresses {
            first: "10.0.0.1".parse().expect("ip"),
            last: "10.0.0.3".parse().expect("ip"),
            port: 80
        }
    );
    assert_eq!(cfg.virtual_servers[0].group.as_deref(), Some("G"));
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    typed.validate().expect("valid");
    assert_eq!(typed.virtual_servers.len(), 1);
    let vs = &typed.virtual_servers[0];
    let keys: Vec<ServiceKey> = vs.member_keys().collect();
    assert_eq!(
        keys,
        vec![
            ServiceKey::tcp(sa("10.0.0.1:80")),
            ServiceKey::tcp(sa("10.0.0.2:80")),
            ServiceKey::tcp(sa("10.0.0.3:80")),
            ServiceKey::fwmark(Family::Inet, 7),
        ]
    );
    // One set of real servers, each with its one probe, for every member.
    assert_eq!(vs.real_servers.len(), 2);
    assert!(vs.real_servers.iter().all(|r| r.probes.len() == 1));
    assert_eq!(vs.group.as_ref().map(|g| g.name.as_str()), Some("G"));
    for s in vs.member_services() {
        assert_eq!(s.scheduler, vs.service.scheduler);
    }
    // Real servers keep their own port (the fwmark member's too).
    assert_eq!(vs.real_servers[0].destination.addr, sa("10.1.0.11:80"));
}

#[test]
fn ipv6_ranges_use_the_last_hextet_and_fwmarks_the_groups_family() {
    let text = "virtual_server_group G6 {\n    ae00::2-b 80\n    ae00::1 80\n    fwmark 9\n}\n\
                virtual_server group G6 {\n    protocol TCP\n    lb_kind NAT\n    real_server ae00::10 80 { }\n}\n";
    let (cfg, _) = ok(text);
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    let keys: Vec<ServiceKey> = typed.virtual_servers[0].member_keys().collect();
    assert_eq!(keys.len(), 10 + 1 + 1);
    assert_eq!(keys[9], ServiceKey::tcp(sa("[ae00::b]:80")));
    assert_eq!(keys[11], ServiceKey::fwmark(Family::Inet6, 9));
}

#[test]
fn entries_without_port_make_the_service_persistent_as_keepalived_does() {
    let (cfg, warnings) = ok(&with_group("    10.0.0.1\n    10.0.0.2 443"));
    assert!(
        warnings
            .iter()
            .any(|w| w.to_string().contains("persistence_timeout 360")),
        "{warnings:?}"
    );
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    let keys: Vec<ServiceKey> = typed.virtual_servers[0].member_keys().collect();
    assert_eq!(keys[0], ServiceKey::tcp(sa("10.0.0.1:0")));
    assert!(typed.virtual_servers[0].service.persistence.is_some());
}

#[test]
fn bad_groups_are_refused_with_their_position() {
    let e = errs(&with_group("    10.0.0.9-2 80"));
    assert!(e[0].starts_with("2:5:") && e[0].contains("below"), "{e:?}");
    let e = errs(&with_group("    10.0.0.250-300 80"));
    assert!(
        e[0].starts_with("2:5:") && e[0].contains("0 to 255"),
        "{e:?}"
    );
    let e = errs(&with_group("    10.0.0.1 80\n    ae00::1 80"));
    assert!(
        e.iter()
            .any(|e| e.contains("mixing IPv4 and IPv6 needs TUN")),
        "{e:?}"
    );
    let e = errs(&with_group("    10.0.0.1-3 80\n    10.0.0.2 80"));
    assert!(
        e[0].starts_with("3:5:") && e[0].contains("duplicate member 10.0.0.2:80"),
        "{e:?}"
    );
    let e = errs(&with_group("    10.0.0.1 80 81"));
    assert!(e[0].starts_with("2:17:"), "{e:?}");
    let e = errs(&with_group("    fwmark 0"));
    assert!(e[0].starts_with("2:12:"), "{e:?}");
    let e = errs(&with_group("    10.0.0.0/29 80"));
    assert!(e[0].contains("not implemented"), "{e:?}");
    let e = errs(&with_group("    10.0.0.1-10.0.0.1 80\n    fwmark 3 inet7"));
    assert!(e[0].starts_with("3:14:") && e[0].contains("inet6"), "{e:?}");
    // A group nobody defined: the name's position, with a suggestion.
    let e = errs(&format!(
        "virtual_server_group WEB {{\n 10.0.0.1 80\n}}\nvirtual_server group WEBB {{\n protocol TCP\n{RS}\n}}\n"
    ));
    assert!(
        e[0].starts_with("4:22:") && e[0].contains("`WEBB`") && e[0].contains("did you mean `WEB`"),
        "{e:?}"
    );
    // Mixed families need every fwmark's family stated.
    let e = errs(&format!(
        "virtual_server_group M {{\n 10.0.0.1 80\n ae00::1 80\n fwmark 4\n}}\n\
         virtual_server group M {{\n protocol TCP\n lb_kind TUN\n{RS}\n}}\n"
    ));
    assert!(
        e.iter()
            .any(|e| e.starts_with("4:2:") && e.contains("inet6")),
        "{e:?}"
    );
}

#[test]
fn a_member_held_by_two_virtual_servers_is_refused() {
    let text = format!(
        "virtual_server_group G {{\n 10.0.0.1-3 80\n}}\n\
         virtual_server group G {{\n protocol TCP\n{RS}\n}}\n\
         virtual_server 10.0.0.2 80 {{\n protocol TCP\n{RS}\n}}\n"
    );
    let e = errs(&text);
    assert!(
        e[0].starts_with("9:1:") && e[0].contains("10.0.0.2:80"),
        "{e:?}"
    );
    // The same group with another protocol is another set of services.
    let text = format!(
        "virtual_server_group G {{\n 10.0.0.1-3 80\n}}\n\
         virtual_server group G {{\n protocol TCP\n{RS}\n}}\n\
         virtual_server group G {{\n protocol UDP\n{RS}\n}}\n"
    );
    let (cfg, _) = ok(&text);
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    typed.validate().expect("valid");
    assert_eq!(typed.virtual_servers.len(), 2);
}

/// keepalived's shipped samples that use groups (Debian's keepalived 2.2.7
/// installs them): everything about the group converts; what else they
/// use and director lacks is listed and must be the only refusal.
#[test]
fn keepalived_samples_with_groups_convert() {
    let dir = "/usr/share/doc/keepalived/samples";
    let vsg = format!("{dir}/keepalived.conf.virtual_server_group");
    let (cfg, _) = config::load(&vsg).unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    typed.validate().expect("valid");
    let vs = &typed.virtual_servers[0];
    // 10.0.0.1 8080, 10.0.0.2 80, 192.168.200.1 1358, .3-10 80, fwmark 1, 2.
    assert_eq!(vs.member_keys().count(), 3 + 8 + 2);
    assert_eq!(vs.real_servers.len(), 2);
    assert_eq!(
        vs.real_servers[0].destination.addr,
        sa("192.168.200.1:1358")
    );
    assert!(
        vs.member_keys()
            .any(|k| k == ServiceKey::fwmark(Family::Inet, 2))
    );
    assert!(
        vs.member_keys()
            .any(|k| k == ServiceKey::tcp(sa("192.168.200.10:80")))
    );

    // The IPv6 sample defines a group (its `virtual_server group` line is
    // commented out) and checks with SMTP_CHECK: it loads whole.
    let v6 = format!("{dir}/keepalived.conf.IPv6");
    let (cfg, _) = config::load(&v6).expect("the IPv6 sample loads");
    DirectorConfig::try_from(&cfg).expect("and converts");
    let g = cfg.virtual_server_group("IPv6_group").expect("group");
    assert_eq!(g.members().count(), 8 + 1);
}

#[test]
fn a_changed_group_shows_in_the_diff() {
    let (a, _) = ok(&with_group("    10.0.0.1-3 80"));
    let (b, _) = ok(&with_group("    10.0.0.1-4 80"));
    assert!(config::diff(&a, &a).is_empty());
    let d = config::diff(&a, &b);
    assert_eq!(d.virtual_servers.len(), 1);
    assert!(d.virtual_servers[0].service_changed);
}
