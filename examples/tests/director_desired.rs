//! Config → desired IPVS table, with failed servers and inhibit_on_failure.

use std::net::SocketAddr;
use std::time::Duration;

use lvs_examples::director::desired::{self, HealthMap, RealServerHealth};
use lvs_ipvs::{ForwardMethod, PersistenceMask, Scheduler, ServiceKey};
use lvs_keepalived_conf::{self as config, Config};

fn lab() -> Config {
    config::load(concat!(env!("CARGO_MANIFEST_DIR"), "/lab/node01.conf"))
        .expect("node01.conf is valid")
        .0
}

fn parse(text: &str) -> Config {
    config::parse_str("t.conf", text).expect("valid").0
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn down(cfg: &Config, vs: usize, rs: &str) -> HealthMap {
    let mut h = HealthMap::new();
    h.insert(
        (cfg.virtual_servers[vs].key(), sa(rs)),
        RealServerHealth {
            up: false,
            dynamic_weight: None,
        },
    );
    h
}

#[test]
fn lab_config_maps_to_the_seed_table() {
    let cfg = lab();
    let t = desired::table(&cfg, &HealthMap::new());
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].service.key, ServiceKey::tcp(sa("172.20.0.83:80")));
    assert_eq!(t[0].service.scheduler, Scheduler::RoundRobin);
    assert_eq!(t[0].service.persistence, None);
    let d: Vec<_> = t[0]
        .destinations
        .iter()
        .map(|d| (d.addr, d.forward, d.weight))
        .collect();
    assert_eq!(
        d,
        vec![
            (sa("172.20.0.85:80"), ForwardMethod::DirectRoute, 1),
            (sa("172.20.0.86:80"), ForwardMethod::DirectRoute, 1),
        ]
    );
    assert_eq!(t[1].service.key, ServiceKey::udp(sa("172.20.0.83:53")));
    assert_eq!(t[1].service.scheduler, Scheduler::SourceHashing);
    assert_eq!(t[1].destinations.len(), 2);
}

#[test]
fn a_failed_server_is_removed() {
    let cfg = lab();
    let t = desired::table(&cfg, &down(&cfg, 0, "172.20.0.86:80"));
    let addrs: Vec<_> = t[0].destinations.iter().map(|d| d.addr).collect();
    assert_eq!(addrs, vec![sa("172.20.0.85:80")]);
    // The other service is untouched.
    assert_eq!(t[1].destinations.len(), 2);
}

#[test]
fn inhibit_on_failure_keeps_the_server_at_weight_zero() {
    let cfg = parse(
        "virtual_server 10.0.0.1 80 { lb_algo wrr lb_kind NAT protocol TCP
           real_server 10.0.1.1 80 { weight 5 inhibit_on_failure TCP_CHECK { connect_timeout 1 } }
           real_server 10.0.1.2 80 { weight 3 TCP_CHECK { connect_timeout 1 } }
         }",
    );
    let mut h = down(&cfg, 0, "10.0.1.1:80");
    h.insert(
        (cfg.virtual_servers[0].key(), sa("10.0.1.2:80")),
        RealServerHealth {
            up: false,
            dynamic_weight: None,
        },
    );
    let t = desired::table(&cfg, &h);
    let d: Vec<_> = t[0]
        .destinations
        .iter()
        .map(|d| (d.addr, d.forward, d.weight))
        .collect();
    assert_eq!(d, vec![(sa("10.0.1.1:80"), ForwardMethod::Masquerade, 0)]);
    // Healthy again: configured weights.
    let t = desired::table(&cfg, &HealthMap::new());
    let w: Vec<_> = t[0].destinations.iter().map(|d| d.weight).collect();
    assert_eq!(w, vec![5, 3]);
    assert_eq!(t[0].service.scheduler, Scheduler::WeightedRoundRobin);
}

#[test]
fn persistence_and_granularity_map_to_the_service() {
    let cfg = parse(
        "virtual_server 10.0.0.1 443 { lb_algo lc lb_kind TUN protocol TCP
           persistence_timeout 600 persistence_granularity 255.255.255.0
           real_server 10.0.1.1 443 { }
         }",
    );
    let t = desired::table(&cfg, &HealthMap::new());
    let p = t[0].service.persistence.expect("persistent");
    assert_eq!(p.timeout, Duration::from_secs(600));
    assert_eq!(
        p.mask,
        PersistenceMask::V4("255.255.255.0".parse().unwrap())
    );
    assert_eq!(t[0].service.scheduler, Scheduler::LeastConnection);
    assert_eq!(t[0].destinations[0].forward, ForwardMethod::IPIP);
}

#[test]
fn sorry_server_joins_when_every_server_is_down() {
    let cfg = parse(
        "virtual_server 10.0.0.1 80 { lb_algo rr lb_kind DR protocol TCP
           sorry_server 10.0.9.9 80
           real_server 10.0.1.1 80 { TCP_CHECK { } }
         }",
    );
    let t = desired::table(&cfg, &down(&cfg, 0, "10.0.1.1:80"));
    let addrs: Vec<_> = t[0].destinations.iter().map(|d| d.addr).collect();
    assert_eq!(addrs, vec![sa("10.0.9.9:80")]);
    let t = desired::table(&cfg, &HealthMap::new());
    let addrs: Vec<_> = t[0].destinations.iter().map(|d| d.addr).collect();
    assert_eq!(addrs, vec![sa("10.0.1.1:80")]);
}

#[test]
fn dynamic_weight_replaces_the_configured_one() {
    let cfg = lab();
    let mut h = HealthMap::new();
    h.insert(
        (cfg.virtual_servers[0].key(), sa("172.20.0.85:80")),
        RealServerHealth {
            up: true,
            dynamic_weight: Some(7),
        },
    );
    let t = desired::table(&cfg, &h);
    assert_eq!(t[0].destinations[0].weight, 7);
    assert_eq!(t[0].destinations[1].weight, 1);
}

#[test]
fn expire_nodest_conn_can_be_left_alone_from_the_config() {
    let cfg = parse("global_defs { lvs_keep_expire_nodest_conn }\n");
    assert!(cfg.global.lvs_keep_expire_nodest_conn);
    assert!(!lab().global.lvs_keep_expire_nodest_conn);
}
