//! `lvs_route_announce`, the lvs extension for active-active directors:
//! its values, its cross-checks (each at its place in the file) and its
//! mapping to lvs-director's `RouteAnnounce`, sync daemon and sloppy TCP.

use std::time::Duration;

use lvs_director::DirectorConfig;
use lvs_ipvs::SyncState;

mod common;
use common::{ok, refused};

const SERVICE: &str = "virtual_server 203.0.113.10 80 {
  lb_algo mh
  mh-fallback
  protocol TCP
  real_server 10.0.9.11 80 { inhibit_on_failure\n TCP_CHECK { } }
}
";

#[test]
fn the_block_maps_to_route_announce_sloppy_tcp_and_a_two_way_sync_daemon() {
    let text = format!(
        "{SERVICE}lvs_route_announce {{
  table 200
  protocol 100
  vips {{
    203.0.113.10
  }}
  drain_timeout 30
  drain_on_sigterm
  sloppy_tcp
  sync_daemon eth1 id 7
}}
"
    );
    let (cfg, warnings) = ok(&text);
    assert!(warnings.is_empty(), "{warnings:?}");
    let d = DirectorConfig::try_from(&cfg).expect("converts");
    d.validate().expect("valid");
    let a = d.route_announce.as_ref().expect("announce");
    assert_eq!((a.table, a.protocol), (200, 100));
    assert_eq!(
        a.vips,
        ["203.0.113.10".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(a.drain_timeout, Duration::from_secs(30));
    assert!(a.drain_on_sigterm);
    assert!(d.ipvs_setup.sloppy_tcp);
    let sd = d.sync_daemon.as_ref().expect("sync daemon");
    assert_eq!(sd.instance, None, "master and backup both");
    assert_eq!(
        (sd.daemon.interface.as_str(), sd.daemon.sync_id),
        ("eth1", 7)
    );
    assert_eq!(sd.daemon.state, SyncState::Master);
}

#[test]
fn defaults_are_table_198_protocol_99_every_virtual_server() {
    let (cfg, _) = ok(&format!("{SERVICE}lvs_route_announce {{\n}}\n"));
    let d = DirectorConfig::try_from(&cfg).expect("converts");
    let a = d.route_announce.as_ref().expect("announce");
    assert_eq!((a.table, a.protocol, a.drain_on_sigterm), (198, 99, false));
    assert_eq!(
        a.vips_of(&d),
        ["203.0.113.10".parse::<std::net::IpAddr>().unwrap()]
    );
    assert!(!d.ipvs_setup.sloppy_tcp);
    assert!(d.sync_daemon.is_none());
}

#[test]
fn bad_values_are_refused_at_their_place() {
    // The block opens on the line after the service; its statement is on the next.
    let block = SERVICE.lines().count() + 1;
    let cases = [
        ("table 254", block + 1, 9, "routing table of its own"),
        (
            "protocol 4",
            block + 1,
            12,
            "route protocol number of its own",
        ),
        (
            "vips {\n 203.0.113.99\n}",
            block + 2,
            2,
            "address of no virtual_server",
        ),
        ("sync_daemon eth1 VI_1", block, 1, "names no vrrp_instance"),
        ("tabel 198", block + 1, 3, "tabel"),
    ];
    for (line, row, col, why) in cases {
        let at = format!("t.conf:{row}:{col}:");
        let text = format!("{SERVICE}lvs_route_announce {{\n  {line}\n}}\n");
        let errors = refused(&text);
        assert!(
            errors
                .iter()
                .any(|e| e.to_string().starts_with(&at) && e.to_string().contains(why)),
            "{line}: {errors:?}"
        );
    }
}

#[test]
fn an_announced_vip_that_is_also_a_vrrp_address_is_refused() {
    let text = format!(
        "vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 1
  priority 100
  virtual_ipaddress {{
    203.0.113.10
  }}
}}
{SERVICE}lvs_route_announce {{
}}
"
    );
    let errors = refused(&text);
    assert!(
        errors
            .iter()
            .any(|e| e.to_string().starts_with("t.conf:16:1:")
                && e.to_string().contains("must not be an interface address")),
        "{errors:?}"
    );
}

#[test]
fn what_breaks_behind_ecmp_is_warned() {
    let text = "virtual_server 203.0.113.10 80 {
  lb_algo rr
  protocol TCP
  real_server 10.0.9.11 80 { TCP_CHECK { } }
}
virtual_server 203.0.113.10 443 {
  lb_algo mh
  protocol TCP
  real_server 10.0.9.11 443 { inhibit_on_failure\n TCP_CHECK { } }
}
lvs_route_announce {
}
";
    let (_, warnings) = ok(text);
    let w: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        w.iter()
            .any(|w| w.starts_with("t.conf:1:1:") && w.contains("lb_algo rr")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.starts_with("t.conf:1:1:") && w.contains("inhibit_on_failure")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.starts_with("t.conf:6:1:") && w.contains("without `mh-fallback`")),
        "{w:?}"
    );
    assert_eq!(w.len(), 3, "{w:?}");
}
