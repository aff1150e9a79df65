//! keepalived config → desired IPVS table, with failed servers and inhibit_on_failure,
//! through the conversion to lvs-director's typed config and its core.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lvs_director::{CheckEvent, Command, Director, DirectorConfig};
use lvs_ipvs::{ForwardMethod, PersistenceMask, Scheduler, ServiceKey};
use lvs_keepalived_conf::{self as config, Config};

fn lab() -> Config {
    config::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/lab/node01.conf"
    ))
    .expect("node01.conf is valid")
    .0
}

fn parse(text: &str) -> Config {
    config::parse_str("t.conf", text).expect("valid").0
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// What the probes of some real servers say (the rest stay as they start).
#[derive(Default)]
struct Verdicts(Vec<(usize, SocketAddr, CheckEvent)>);

impl Verdicts {
    fn down(mut self, vs: usize, rs: &str) -> Self {
        let ev = CheckEvent::Pool {
            in_pool: false,
            reason: None,
        };
        self.0.push((vs, sa(rs), ev));
        self
    }
    fn weight(mut self, vs: usize, rs: &str, w: u32) -> Self {
        self.0.push((vs, sa(rs), CheckEvent::Weight(w)));
        self
    }
}

fn down(_cfg: &Config, vs: usize, rs: &str) -> Verdicts {
    Verdicts::default().down(vs, rs)
}

/// The table the director's core wants for `cfg` after `verdicts`.
fn table(cfg: &Config, verdicts: &Verdicts) -> Vec<lvs_ipvs::VirtualServer> {
    let mut typed = DirectorConfig::try_from(cfg).expect("converts");
    typed.instances.clear();
    let keys: Vec<ServiceKey> = typed
        .virtual_servers
        .iter()
        .map(|v| v.service.key)
        .collect();
    let now = Instant::now();
    let mut d = Director::new(now, typed).expect("valid");
    let mut probes = Vec::new();
    while let Some(c) = d.poll_command() {
        if let Command::AddProbe {
            probe,
            service,
            real_server,
            ..
        } = c
        {
            probes.push((probe, service, real_server));
        }
    }
    for (vs, rs, ev) in &verdicts.0 {
        let mut found = false;
        for (probe, service, real_server) in &probes {
            if *service == keys[*vs] && real_server == rs {
                d.handle_check(now, *probe, ev.clone());
                found = true;
            }
        }
        assert!(found, "{rs} has no probe");
    }
    d.desired_table()
}

#[test]
fn lab_config_maps_to_the_seed_table() {
    let cfg = lab();
    let t = table(&cfg, &Verdicts::default());
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
    let t = table(&cfg, &down(&cfg, 0, "172.20.0.86:80"));
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
    let h = down(&cfg, 0, "10.0.1.1:80").down(0, "10.0.1.2:80");
    let t = table(&cfg, &h);
    let d: Vec<_> = t[0]
        .destinations
        .iter()
        .map(|d| (d.addr, d.forward, d.weight))
        .collect();
    assert_eq!(d, vec![(sa("10.0.1.1:80"), ForwardMethod::Masquerade, 0)]);
    // Healthy again: configured weights.
    let t = table(&cfg, &Verdicts::default());
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
    let t = table(&cfg, &Verdicts::default());
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
    let t = table(&cfg, &down(&cfg, 0, "10.0.1.1:80"));
    let addrs: Vec<_> = t[0].destinations.iter().map(|d| d.addr).collect();
    assert_eq!(addrs, vec![sa("10.0.9.9:80")]);
    let t = table(&cfg, &Verdicts::default());
    let addrs: Vec<_> = t[0].destinations.iter().map(|d| d.addr).collect();
    assert_eq!(addrs, vec![sa("10.0.1.1:80")]);
}

#[test]
fn dynamic_weight_replaces_the_configured_one() {
    let cfg = lab();
    let h = Verdicts::default().weight(0, "172.20.0.85:80", 7);
    let t = table(&cfg, &h);
    assert_eq!(t[0].destinations[0].weight, 7);
    assert_eq!(t[0].destinations[1].weight, 1);
}

#[test]
fn expire_nodest_conn_can_be_left_alone_from_the_config() {
    let cfg = parse("global_defs { lvs_keep_expire_nodest_conn }\n");
    assert!(cfg.global.lvs_keep_expire_nodest_conn);
    assert!(!lab().global.lvs_keep_expire_nodest_conn);
}

#[test]
fn reconcile_interval_reaches_the_director_and_bad_values_are_located() {
    let cfg = parse("global_defs {\n lvs_reconcile_interval 5\n}\n");
    let d = DirectorConfig::try_from(&cfg).expect("converts");
    assert_eq!(d.reconcile_interval, Some(Duration::from_secs(5)));
    assert_eq!(d.reconcile_period(), Duration::from_secs(5));
    let d = DirectorConfig::try_from(&lab()).expect("converts");
    assert_eq!(d.reconcile_period(), Duration::from_secs(60));
    let errs = config::parse_str("t.conf", "global_defs {\n lvs_reconcile_interval soon\n}\n")
        .expect_err("not seconds");
    let text = errs[0].to_string();
    assert!(
        text.starts_with("t.conf:2:") && text.contains("lvs_reconcile_interval"),
        "{text}"
    );
}

/// keepalived's quorum sample: quorum, hysteresis, quorum_up / quorum_down
/// and omega reach lvs-director's virtual server.
#[test]
fn quorum_hysteresis_scripts_and_omega_convert() {
    let text = "virtual_server 10.0.0.1 80 {\n protocol TCP\n quorum 2\n hysteresis 1\n omega\n\
                quorum_up \"/bin/echo up\"\n quorum_down /bin/down.sh\n\
                real_server 10.0.0.2 80 { weight 1 }\n real_server 10.0.0.3 80 { weight 1 }\n}\n";
    let (cfg, warnings) = config::parse_str("q.conf", text).expect("valid");
    assert!(warnings.is_empty(), "{warnings:?}");
    let typed = lvs_director::DirectorConfig::try_from(&cfg).expect("converts");
    let vs = &typed.virtual_servers[0];
    assert_eq!((vs.quorum, vs.hysteresis, vs.omega), (2, 1, true));
    assert_eq!(
        vs.quorum_up.as_ref().map(|s| s.argv.clone()),
        Some(vec!["/bin/echo".to_string(), "up".to_string()])
    );
    assert_eq!(
        vs.quorum_down.as_ref().map(|s| s.argv.clone()),
        Some(vec!["/bin/down.sh".to_string()])
    );
}

#[test]
fn ha_suspend_reaches_the_virtual_server() {
    let t = DirectorConfig::try_from(&config::parse_str("t.conf",
        "virtual_server 10.0.0.1 80 { ha_suspend\n real_server 10.0.0.2 80 { TCP_CHECK { } } }\n\
         virtual_server 10.0.0.1 81 { real_server 10.0.0.2 81 { TCP_CHECK { } } }",
    ).expect("valid").0)
    .expect("converts");
    assert!(t.virtual_servers[0].ha_suspend);
    assert!(!t.virtual_servers[1].ha_suspend);
}
