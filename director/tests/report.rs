//! Rendering of the status view and of the metrics text from a snapshot.

use std::net::SocketAddr;

use lvs_director::report::{self as status, CheckView, InstanceView, RealServerView, Snapshot};
use lvs_ipvs::{
    Destination, DestinationEntry, ForwardMethod, Scheduler, Service, ServiceEntry, ServiceKey,
    Stats, VirtualServerEntry,
};
use lvs_vrrp::{AdvertInterval, DropCounts, RecvMeta, Router, Seconds};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn snapshot() -> Snapshot {
    let dest = |a: &str, w, active, conns| DestinationEntry {
        dest: Destination::new(sa(a), ForwardMethod::DirectRoute).with_weight(w),
        active_conns: active,
        inactive_conns: 0,
        persistent_conns: 0,
        stats: Stats {
            conns,
            ..Stats::default()
        },
        stats64: true,
    };
    Snapshot {
        router_id: "NODE01".into(),
        pid: 42,
        config_file: "node01.conf".into(),
        instances: vec![InstanceView {
            name: "VI_1".into(),
            interface: "ens18".into(),
            vrid: 1,
            state: "Master".into(),
            priority: 100,
            effective_priority: 100,
            master: Some("172.20.0.81".parse().unwrap()),
            vips: vec!["172.20.0.83/24".into()],
            last_reason: "Startup".into(),
            drops: DropCounts::default(),
        }],
        real_servers: vec![
            RealServerView {
                virtual_server: "TCP 172.20.0.83:80".into(),
                addr: sa("172.20.0.85:80"),
                up: true,
                weight: Some(1),
                checks: vec![CheckView {
                    description: "TCP_CHECK 172.20.0.85:80".into(),
                    up: true,
                    last_failure: None,
                }],
            },
            RealServerView {
                virtual_server: "TCP 172.20.0.83:80".into(),
                addr: sa("172.20.0.86:80"),
                up: false,
                weight: None,
                checks: vec![CheckView {
                    description: "TCP_CHECK 172.20.0.86:80".into(),
                    up: false,
                    last_failure: Some("connection refused".into()),
                }],
            },
        ],
        ipvs: Some(Ok(vec![VirtualServerEntry {
            service: ServiceEntry {
                service: Service::new(ServiceKey::tcp(sa("172.20.0.83:80")), Scheduler::RoundRobin),
                stats: Stats {
                    conns: 12,
                    ..Stats::default()
                },
                stats64: true,
                raw_flags: 2,
            },
            destinations: vec![dest("172.20.0.85:80", 1, 3, 12)],
        }])),
        ghosts: Vec::new(),
        announcements: Vec::new(),
        draining: false,
        ipvs_repaired: 3,
    }
}

#[test]
fn status_shows_vrrp_checks_and_table() {
    let text = status::render(&snapshot());
    let expected = "\
director NODE01 (pid 42, config node01.conf)

VRRP
  VI_1 vrid 1 on ens18: MASTER priority 100/100 master 172.20.0.81 vips [172.20.0.83/24] (Startup)

Real servers
  TCP 172.20.0.83:80 -> 172.20.0.85:80 UP weight 1
      TCP_CHECK 172.20.0.85:80 up
  TCP 172.20.0.83:80 -> 172.20.0.86:80 DOWN not in table
      TCP_CHECK 172.20.0.86:80 down (last failure: connection refused)

IPVS
  Prot LocalAddress:Port Scheduler Flags
    -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
  TCP  172.20.0.83:80 rr
    -> 172.20.0.85:80               Route   1      3          0
";
    assert_eq!(text, expected);
}

#[test]
fn ghosts_are_listed_when_found() {
    let mut s = snapshot();
    assert!(!status::render(&s).contains("Ghost"));
    s.ghosts = vec!["dynamic (DHCP) address 172.20.0.97/24 on ens18: fix with `ip addr del 172.20.0.97/24 dev ens18`; stop the DHCP client".into()];
    let text = status::render(&s);
    assert!(
        text.contains("\nGhost addresses\n  dynamic (DHCP) address 172.20.0.97/24 on ens18: fix with `ip addr del 172.20.0.97/24 dev ens18`"),
        "{text}"
    );
    assert!(
        status::metrics(&s)
            .lines()
            .any(|l| l == "lvs_director_ghost_addresses 1")
    );
}

#[test]
fn metrics_are_prometheus_text() {
    let text = status::metrics(&snapshot());
    for line in [
        "lvs_director_vrrp_state{instance=\"VI_1\",state=\"master\"} 1",
        "lvs_director_vrrp_state{instance=\"VI_1\",state=\"backup\"} 0",
        "lvs_director_vrrp_priority{instance=\"VI_1\"} 100",
        "lvs_director_realserver_up{virtual_server=\"TCP 172.20.0.83:80\",real_server=\"172.20.0.86:80\"} 0",
        "lvs_ipvs_service_connections_total{service=\"TCP 172.20.0.83:80\"} 12",
        "lvs_ipvs_destination_connections_total{service=\"TCP 172.20.0.83:80\",destination=\"172.20.0.85:80\"} 12",
        "lvs_ipvs_destination_active_connections{service=\"TCP 172.20.0.83:80\",destination=\"172.20.0.85:80\"} 3",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // Each family's samples follow its own TYPE line, contiguously; an
    // OpenMetrics counter's samples carry the `_total` suffix.
    let mut current = (String::new(), String::new());
    let mut seen = std::collections::HashSet::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let mut words = rest.split(' ');
            current = (
                words.next().unwrap().to_string(),
                words.next().unwrap_or_default().to_string(),
            );
            assert!(
                seen.insert(current.0.clone()),
                "family {} declared twice",
                current.0
            );
        } else if !l.starts_with('#') {
            let name = l.split(['{', ' ']).next().unwrap();
            let want = match current.1.as_str() {
                "counter" => format!("{}_total", current.0),
                _ => current.0.clone(),
            };
            assert_eq!(name, want, "sample {l:?} outside its family");
        }
    }
    assert!(
        text.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF"
    );
}

#[test]
fn metric_label_values_are_escaped() {
    let mut s = snapshot();
    s.real_servers[0].checks[0].description = "MISC_CHECK \"/bin/x\" a\\b\nc".into();
    let text = status::metrics(&s);
    let want = r#"check="MISC_CHECK \"/bin/x\" a\\b\nc"} 1"#;
    assert!(
        text.lines()
            .any(|l| l.starts_with("lvs_director_check_up{") && l.ends_with(want)),
        "missing {want:?} in\n{text}"
    );
}

/// Counters as a router keeps them: `hop_limit` adverts at TTL 64 and
/// `vrid` adverts for VRID 2 fed to a v2 router.
fn drops(hop_limit: usize, vrid: usize) -> DropCounts {
    let me = "172.20.0.81".parse().unwrap();
    let cfg = lvs_vrrp::Config::new(
        1,
        100,
        AdvertInterval::V2(Seconds(1)),
        me,
        vec!["172.20.0.83".parse().unwrap()],
    );
    let mut r = Router::new(cfg).unwrap();
    let now = std::time::Instant::now();
    r.start(now);
    let from = "172.20.0.82".parse().unwrap();
    let group = "224.0.0.18".parse().unwrap();
    let advert = |vrid| {
        lvs_vrrp::Repr {
            vrid,
            priority: 200,
            kind: lvs_vrrp::Kind::V2 {
                interval: Seconds(1),
                auth: lvs_vrrp::Auth::None,
            },
            addresses: lvs_vrrp::Addresses::V4(vec!["172.20.0.83".parse().unwrap()]),
        }
        .to_bytes(lvs_vrrp::ChecksumForm::MessageOnly, &from, &group)
        .unwrap()
    };
    let meta = |ttl| RecvMeta {
        source: from,
        destination: group,
        hop_limit: ttl,
    };
    for _ in 0..hop_limit {
        assert!(r.handle_packet(now, &meta(64), &advert(1)).is_err());
    }
    for _ in 0..vrid {
        assert!(r.handle_packet(now, &meta(255), &advert(2)).is_err());
    }
    r.drops().clone()
}

#[test]
fn dropped_adverts_show_by_reason() {
    let mut s = snapshot();
    s.instances[0].drops = drops(5, 2);
    let text = status::render(&s);
    assert!(
        text.contains("(Startup)\n      dropped adverts: hop_limit 5, vrid 2\n"),
        "{text}"
    );
    let metrics = status::metrics(&s);
    for line in [
        "lvs_director_vrrp_dropped_adverts_total{instance=\"VI_1\",reason=\"hop_limit\"} 5",
        "lvs_director_vrrp_dropped_adverts_total{instance=\"VI_1\",reason=\"vrid\"} 2",
        "lvs_director_vrrp_dropped_adverts_total{instance=\"VI_1\",reason=\"zero_interval\"} 0",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in\n{metrics}"
        );
    }
    // No line at all while nothing was dropped.
    assert!(!status::render(&snapshot()).contains("dropped adverts"));
}

#[test]
fn a_group_names_every_member_in_the_status_view() {
    use lvs_director::{Director, DirectorConfig, RealServer, Report, ServiceGroup, VirtualServer};
    let first = ServiceKey::tcp(sa("10.0.0.1:80"));
    let mark = ServiceKey::fwmark(lvs_ipvs::Family::Inet, 7);
    let vs = VirtualServer::new(Service::new(first, Scheduler::RoundRobin))
        .with_group(ServiceGroup::new("VSG_1", vec![mark]))
        .with_real_server(RealServer::new(Destination::new(
            sa("10.1.0.11:80"),
            ForwardMethod::DirectRoute,
        )));
    let d = Director::new(
        std::time::Instant::now(),
        DirectorConfig::new().with_virtual_server(vs),
    )
    .unwrap();
    let st = d.status();
    assert_eq!(st.services[0].members, vec![first, mark]);
    let snap = Snapshot::new(&Report::new(st), 1, "t.conf");
    assert_eq!(
        snap.real_servers.len(),
        1,
        "one real server, not one per member"
    );
    let name = &snap.real_servers[0].virtual_server;
    assert!(
        name.starts_with("group VSG_1: TCP 10.0.0.1:80, FWM"),
        "{name}"
    );
}

#[test]
fn keepalived_exporter_and_node_exporter_names_are_served_too() {
    let mut s = snapshot();
    s.instances[0].drops = drops(2, 1);
    let text = status::metrics(&s);
    for line in [
        "keepalived_up 1",
        // keepalived's numbers: INIT 0, BACKUP 1, MASTER 2, FAULT 3.
        "keepalived_vrrp_state{iname=\"VI_1\",intf=\"ens18\",vrid=\"1\",ip_address=\"172.20.0.83\"} 2",
        "keepalived_ip_ttl_errors_total{iname=\"VI_1\",intf=\"ens18\",vrid=\"1\",state=\"MASTER\"} 2",
        "keepalived_advertisements_interval_errors_total{iname=\"VI_1\",intf=\"ens18\",vrid=\"1\",state=\"MASTER\"} 0",
        "keepalived_authentication_failure_total{iname=\"VI_1\",intf=\"ens18\",vrid=\"1\",state=\"MASTER\"} 0",
        "node_ipvs_connections_total 12",
        "node_ipvs_backend_connections_active{local_address=\"172.20.0.83\",local_port=\"80\",remote_address=\"172.20.0.85\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\"} 3",
        "node_ipvs_backend_weight{local_address=\"172.20.0.83\",local_port=\"80\",remote_address=\"172.20.0.85\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    s.instances[0].state = "Backup".into();
    assert!(
        status::metrics(&s).lines().any(|l| l
            == "keepalived_vrrp_state{iname=\"VI_1\",intf=\"ens18\",vrid=\"1\",ip_address=\"172.20.0.83\"} 1")
    );
}

/// Every metric the shipped Grafana dashboard queries is one the director
/// serves (a renamed family breaks the dashboard, and this test).
#[test]
fn the_grafana_dashboard_queries_only_served_metrics() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/grafana/lvs-director.json"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("dashboard")).expect("JSON");
    let text = status::metrics(&snapshot());
    let served: std::collections::HashSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let mut exprs = Vec::new();
    fn walk<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("expr", serde_json::Value::String(e)) => out.push(e),
                        _ => walk(x, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(&json, &mut exprs);
    assert!(exprs.len() >= 6, "panels with queries: {exprs:?}");
    let mut names = 0;
    for e in &exprs {
        for word in e.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with("lvs_")
                || word.starts_with("keepalived_")
                || word.starts_with("node_ipvs_")
            {
                names += 1;
                assert!(
                    served.contains(word),
                    "dashboard queries {word}, not served:\n{text}"
                );
            }
        }
    }
    assert!(names >= exprs.len(), "every query names a metric");
}

#[test]
fn announced_vips_are_shown_in_text_json_and_metrics() {
    let mut s = snapshot();
    s.announcements = vec![
        status::AnnouncementView {
            vip: "203.0.113.10".parse().unwrap(),
            announced: true,
            held_back: None,
        },
        status::AnnouncementView {
            vip: "203.0.113.11".parse().unwrap(),
            announced: false,
            held_back: Some("quorum not held".into()),
        },
    ];
    s.draining = true;
    let text = status::render(&s);
    assert!(text.contains("Route announcement (draining)"), "{text}");
    assert!(text.contains("  203.0.113.10 announced\n"), "{text}");
    assert!(
        text.contains("  203.0.113.11 withdrawn (quorum not held)\n"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&s.to_json()).expect("json");
    assert_eq!(json["draining"], true);
    assert_eq!(json["announcements"][1]["held_back"], "quorum not held");
    let m = status::metrics(&s);
    assert!(
        m.contains("lvs_director_vip_announced{vip=\"203.0.113.10\"} 1\n"),
        "{m}"
    );
    assert!(
        m.contains("lvs_director_vip_announced{vip=\"203.0.113.11\"} 0\n"),
        "{m}"
    );
    assert!(m.contains("lvs_director_draining 1\n"), "{m}");
}
