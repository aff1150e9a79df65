//! The live view a `status` command prints ([`render`]), the same as one
//! JSON object for scripts ([`Snapshot::to_json`]) and (feature `metrics`)
//! the OpenMetrics text a metrics endpoint serves (prometheus-client), all
//! rendered from one [`Snapshot`] of a [`Report`] (pure).
//!
//! Besides its own `lvs_director_*` and `lvs_ipvs_*` families, the metrics
//! text carries the names of the two exporters existing dashboards use, so
//! they keep working when keepalived is replaced (a dashboard for ours is
//! `examples/grafana/lvs-director.json`):
//!
//! | served name | labels | from |
//! |---|---|---|
//! | `keepalived_up` | | always 1 |
//! | `keepalived_vrrp_state` | `iname`, `intf`, `vrid`, `ip_address` (one per VIP) | state: INIT 0, BACKUP 1, MASTER 2, FAULT 3 |
//! | `keepalived_packet_length_errors_total` | `iname`, `intf`, `vrid`, `state` | drops `length` + `truncated` |
//! | `keepalived_advertisements_interval_errors_total` | same | drops `interval_mismatch` + `zero_interval` |
//! | `keepalived_ip_ttl_errors_total` | same | drops `hop_limit` |
//! | `keepalived_invalid_type_received_total` | same | drops `malformed` |
//! | `keepalived_address_list_errors_total` | same | drops `address_mismatch` |
//! | `keepalived_authentication_mismatch_total` | same | drops `auth_type` |
//! | `keepalived_authentication_failure_total` | same | drops `auth_data` |
//! | `node_ipvs_{connections,incoming_packets,outgoing_packets,incoming_bytes,outgoing_bytes}_total` | | sums over every service |
//! | `node_ipvs_backend_{connections_active,connections_inactive,weight}` | `local_address`, `local_port`, `remote_address`, `remote_port`, `proto`, `local_mark` | per destination |
//!
//! keepalived-exporter's `keepalived_advertisements_{received,sent}_total`,
//! `keepalived_{become,release}_master_total`,
//! `keepalived_priority_zero_{received,sent}_total`,
//! `keepalived_gratuitous_arp_delay_total` and the script families have no
//! counterpart yet: the director does not count those events.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use lvs_ipvs::VirtualServerEntry;
#[cfg(feature = "metrics")]
use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

use crate::status::Report;

#[cfg(feature = "metrics")]
mod exporter_names;
mod json;

/// One VRRP instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceView {
    /// Instance name.
    pub name: String,
    /// Interface.
    pub interface: String,
    /// VRID.
    pub vrid: u8,
    /// `Master`, `Backup`, `Fault` or `Initialize`.
    pub state: String,
    /// Configured priority.
    pub priority: u8,
    /// Priority after tracked interfaces.
    pub effective_priority: u8,
    /// The master last heard (or ourselves).
    pub master: Option<IpAddr>,
    /// The virtual addresses.
    pub vips: Vec<String>,
    /// Why the last transition happened.
    pub last_reason: String,
    /// Adverts dropped by the receive checks, by reason.
    pub drops: lvs_vrrp::DropCounts,
}

/// One probe of a real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckView {
    /// What it checks.
    pub description: String,
    /// Passing.
    pub up: bool,
    /// The last failure reason.
    pub last_failure: Option<String>,
}

/// One VIP of the route announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncementView {
    /// The VIP.
    pub vip: IpAddr,
    /// Its route is announced.
    pub announced: bool,
    /// Why not, when it is not.
    pub held_back: Option<String>,
}

/// One real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServerView {
    /// Its virtual server (`TCP 172.20.0.83:80`, or for a group
    /// `group VSG_1: TCP 10.0.0.1:80, FWM 7`).
    pub virtual_server: String,
    /// Its address.
    pub addr: SocketAddr,
    /// All checks pass.
    pub up: bool,
    /// In the IPVS table (possibly at weight 0 under inhibit_on_failure).
    pub weight: Option<u32>,
    /// Its checks.
    pub checks: Vec<CheckView>,
}

/// Everything the director shows about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `router_id`.
    pub router_id: String,
    /// Process id.
    pub pid: u32,
    /// The configuration file.
    pub config_file: String,
    /// VRRP instances.
    pub instances: Vec<InstanceView>,
    /// Real servers.
    pub real_servers: Vec<RealServerView>,
    /// The kernel's IPVS table, `None` when the config has no virtual server.
    pub ipvs: Option<Result<Vec<VirtualServerEntry>, String>>,
    /// Ghost addresses found on the VRRP interfaces, each with its fix.
    pub ghosts: Vec<String>,
    /// The VIPs announced as routes (`lvs_route_announce`).
    pub announcements: Vec<AnnouncementView>,
    /// A drain has been started.
    pub draining: bool,
    /// IPVS operations that put back a table changed behind the director's back.
    pub ipvs_repaired: u64,
}

impl Snapshot {
    /// The view of `report`, for the process `pid` running `config_file`.
    pub fn new(report: &Report, pid: u32, config_file: &str) -> Snapshot {
        let st = &report.status;
        let instances = st
            .instances
            .iter()
            .map(|i| InstanceView {
                name: i.name.clone(),
                interface: i.interface.clone(),
                vrid: i.vrid,
                state: format!("{:?}", i.state),
                priority: i.priority,
                effective_priority: i.effective_priority,
                master: i.master,
                vips: i.vips.iter().map(|(a, l)| format!("{a}/{l}")).collect(),
                last_reason: i
                    .last_reason
                    .as_ref()
                    .map_or_else(|| "not started".to_string(), |r| format!("{r:?}")),
                drops: i.drops.clone(),
            })
            .collect();
        let real_servers = st
            .services
            .iter()
            .flat_map(|s| {
                let key = |k: &lvs_ipvs::ServiceKey| key_text(k).replace("  ", " ");
                // A group names itself and every member it holds.
                let vs = match &s.group {
                    None => key(&s.key),
                    Some(name) => format!(
                        "group {name}: {}",
                        s.members.iter().map(key).collect::<Vec<_>>().join(", ")
                    ),
                };
                s.real_servers.iter().map(move |r| RealServerView {
                    virtual_server: vs.clone(),
                    addr: r.addr,
                    up: r.up,
                    weight: r.weight,
                    checks: r
                        .probes
                        .iter()
                        .map(|p| CheckView {
                            description: p.description.clone(),
                            up: p.up,
                            last_failure: p.last_failure.as_ref().map(|f| f.to_string()),
                        })
                        .collect(),
                })
            })
            .collect();
        Snapshot {
            router_id: st.name.clone().unwrap_or_else(|| "director".into()),
            pid,
            config_file: config_file.to_string(),
            instances,
            real_servers,
            ipvs: report.ipvs.clone(),
            ghosts: report.ghosts.clone(),
            announcements: st
                .announcements
                .iter()
                .map(|a| AnnouncementView {
                    vip: a.vip,
                    announced: a.announced,
                    held_back: a.held_back.map(|w| w.to_string()),
                })
                .collect(),
            draining: st.draining,
            ipvs_repaired: st.ipvs_repaired,
        }
    }
}

fn fwd(f: lvs_ipvs::ForwardMethod) -> &'static str {
    match f {
        lvs_ipvs::ForwardMethod::Masquerade => "Masq",
        lvs_ipvs::ForwardMethod::DirectRoute => "Route",
        lvs_ipvs::ForwardMethod::Tunnel { .. } => "Tunnel",
        lvs_ipvs::ForwardMethod::Local => "Local",
    }
}

/// As `ipvsadm -L` and `/proc/net/ip_vs` name it.
fn protocol_name(p: lvs_ipvs::Protocol) -> &'static str {
    match p {
        lvs_ipvs::Protocol::Tcp => "TCP",
        lvs_ipvs::Protocol::Udp => "UDP",
        lvs_ipvs::Protocol::Sctp => "SCTP",
    }
}

fn key_text(k: &lvs_ipvs::ServiceKey) -> String {
    match k {
        lvs_ipvs::ServiceKey::Addr { protocol, addr } => {
            format!("{}  {addr}", protocol_name(*protocol))
        }
        lvs_ipvs::ServiceKey::Fwmark { mark, .. } => format!("FWM  {mark}"),
    }
}

/// The text `director status` prints.
pub fn render(s: &Snapshot) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "director {} (pid {}, config {})",
        s.router_id, s.pid, s.config_file
    );
    let _ = writeln!(o, "\nVRRP");
    if s.instances.is_empty() {
        let _ = writeln!(o, "  (no vrrp_instance)");
    }
    for i in &s.instances {
        let _ = writeln!(
            o,
            "  {} vrid {} on {}: {} priority {}/{} master {} vips [{}] ({})",
            i.name,
            i.vrid,
            i.interface,
            i.state.to_uppercase(),
            i.effective_priority,
            i.priority,
            i.master.map_or("-".to_string(), |m| m.to_string()),
            i.vips.join(", "),
            i.last_reason
        );
        if i.drops.total() > 0 {
            let by_reason: Vec<String> = i
                .drops
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            let _ = writeln!(o, "      dropped adverts: {}", by_reason.join(", "));
        }
    }
    let _ = writeln!(o, "\nReal servers");
    if s.real_servers.is_empty() {
        let _ = writeln!(o, "  (no virtual_server)");
    }
    for r in &s.real_servers {
        let _ = writeln!(
            o,
            "  {} -> {} {} {}",
            r.virtual_server,
            r.addr,
            if r.up { "UP" } else { "DOWN" },
            match r.weight {
                Some(w) => format!("weight {w}"),
                None => "not in table".to_string(),
            }
        );
        for c in &r.checks {
            let _ = writeln!(
                o,
                "      {} {}{}",
                c.description,
                if c.up { "up" } else { "down" },
                c.last_failure
                    .as_ref()
                    .map_or(String::new(), |f| format!(" (last failure: {f})"))
            );
        }
    }
    if !s.announcements.is_empty() {
        let draining = if s.draining { " (draining)" } else { "" };
        let _ = writeln!(o, "\nRoute announcement{draining}");
        for a in &s.announcements {
            let state = match (&a.held_back, a.announced) {
                (_, true) => "announced".to_string(),
                (Some(why), false) => format!("withdrawn ({why})"),
                (None, false) => "withdrawn".to_string(),
            };
            let _ = writeln!(o, "  {} {state}", a.vip);
        }
    }
    if !s.ghosts.is_empty() {
        let _ = writeln!(o, "\nGhost addresses");
        for g in &s.ghosts {
            let _ = writeln!(o, "  {g}");
        }
    }
    match &s.ipvs {
        None => {}
        Some(Err(e)) => {
            let _ = writeln!(o, "\nIPVS: cannot read the table: {e}");
        }
        Some(Ok(table)) => {
            let _ = writeln!(o, "\nIPVS");
            let _ = writeln!(
                o,
                "  Prot LocalAddress:Port Scheduler Flags\n    -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"
            );
            for vs in table {
                let svc = &vs.service.service;
                let mut line = format!("  {} {}", key_text(&svc.key), svc.scheduler);
                if let Some(p) = svc.persistence {
                    let _ = write!(line, " persistent {}", p.timeout.as_secs());
                }
                let _ = writeln!(o, "{line}");
                for d in &vs.destinations {
                    let _ = writeln!(
                        o,
                        "    -> {:<28} {:<7} {:<6} {:<10} {}",
                        d.dest.addr.to_string(),
                        fwd(d.dest.forward),
                        d.dest.weight,
                        d.active_conns,
                        d.inactive_conns
                    );
                }
            }
        }
    }
    o
}

#[cfg(feature = "metrics")]
/// A metric: name suffix, help text, and how to read it.
type Metric<T, V> = (&'static str, &'static str, fn(&T) -> V);

#[cfg(feature = "metrics")]
/// Label sets of the exposed families (field order = label order).
mod labels {
    use prometheus_client::encoding::EncodeLabelSet;

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Instance {
        pub instance: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct InstanceState {
        pub instance: String,
        pub state: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct InstanceReason {
        pub instance: String,
        pub reason: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Vip {
        pub vip: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct RealServer {
        pub virtual_server: String,
        pub real_server: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Check {
        pub virtual_server: String,
        pub real_server: String,
        pub check: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Service {
        pub service: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Destination {
        pub service: String,
        pub destination: String,
    }
}

#[cfg(feature = "metrics")]
/// A label value as the text format wants it: prometheus-client 0.24
/// writes values verbatim, and a MISC_CHECK description may hold quotes.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(feature = "metrics")]
type Gauges<L> = Family<L, Gauge>;
#[cfg(feature = "metrics")]
type Counters<L> = Family<L, Counter>;

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
/// The metrics endpoint's body: OpenMetrics text (which Prometheus scrapes),
/// encoded by prometheus-client from a registry built for this snapshot.
pub fn metrics(s: &Snapshot) -> String {
    let mut reg = Registry::default();
    let vrrp_state = Gauges::<labels::InstanceState>::default();
    let vrrp_priority = Gauges::<labels::Instance>::default();
    let vrrp_dropped = Counters::<labels::InstanceReason>::default();
    let ghosts = Gauge::<i64>::default();
    let rs_up = Gauges::<labels::RealServer>::default();
    let announced = Gauges::<labels::Vip>::default();
    for a in &s.announcements {
        announced
            .get_or_create(&labels::Vip {
                vip: a.vip.to_string(),
            })
            .set(i64::from(a.announced));
    }
    let check_up = Gauges::<labels::Check>::default();
    for i in &s.instances {
        for st in ["Initialize", "Backup", "Master", "Fault"] {
            vrrp_state
                .get_or_create(&labels::InstanceState {
                    instance: escape(&i.name),
                    state: st.to_lowercase(),
                })
                .set(i64::from(i.state == st));
        }
        vrrp_priority
            .get_or_create(&labels::Instance {
                instance: escape(&i.name),
            })
            .set(i64::from(i.effective_priority));
        // Every reason, zeros too, so a rate() sees the first drop.
        for (kind, n) in i.drops.iter() {
            vrrp_dropped
                .get_or_create(&labels::InstanceReason {
                    instance: escape(&i.name),
                    reason: kind.as_str().to_string(),
                })
                .inc_by(n);
        }
    }
    ghosts.set(i64::try_from(s.ghosts.len()).unwrap_or(i64::MAX));
    for r in &s.real_servers {
        rs_up
            .get_or_create(&labels::RealServer {
                virtual_server: escape(&r.virtual_server),
                real_server: r.addr.to_string(),
            })
            .set(i64::from(r.up));
        for c in &r.checks {
            check_up
                .get_or_create(&labels::Check {
                    virtual_server: escape(&r.virtual_server),
                    real_server: r.addr.to_string(),
                    check: escape(&c.description),
                })
                .set(i64::from(c.up));
        }
    }
    reg.register(
        "lvs_director_vrrp_state",
        "VRRP state of an instance (1 for the current state)",
        vrrp_state,
    );
    reg.register(
        "lvs_director_vrrp_priority",
        "Effective VRRP priority",
        vrrp_priority,
    );
    reg.register(
        "lvs_director_vrrp_dropped_adverts",
        "VRRP packets dropped by a receive check, by reason",
        vrrp_dropped,
    );
    let repaired = Counter::<u64>::default();
    repaired.inc_by(s.ipvs_repaired);
    reg.register(
        "lvs_director_ipvs_repaired_operations",
        "IPVS operations that put back a table changed behind the director's back",
        repaired,
    );
    reg.register(
        "lvs_director_ghost_addresses",
        "Ghost addresses on the VRRP interfaces",
        ghosts,
    );
    if !s.announcements.is_empty() {
        reg.register(
            "lvs_director_vip_announced",
            "Whether a VIP's route is announced (lvs_route_announce)",
            announced,
        );
        let draining = Gauge::<i64>::default();
        draining.set(i64::from(s.draining));
        reg.register(
            "lvs_director_draining",
            "Whether the director is draining",
            draining,
        );
    }
    reg.register(
        "lvs_director_realserver_up",
        "Whether every check of a real server passes",
        rs_up,
    );
    reg.register(
        "lvs_director_check_up",
        "Whether one check passes",
        check_up,
    );
    if let Some(Ok(table)) = &s.ipvs {
        register_ipvs(&mut reg, table);
    }
    exporter_names::register(&mut reg, s);
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &reg);
    out
}

#[cfg(feature = "metrics")]
/// IPVS counters (kernel totals, so each scrape's fresh counter is set to
/// the total) and destination gauges.
fn register_ipvs(reg: &mut Registry, table: &[VirtualServerEntry]) {
    let counters: [Metric<lvs_ipvs::Stats, u64>; 5] = [
        ("connections", "Connections scheduled", |s| s.conns),
        ("in_packets", "Incoming packets", |s| s.in_pkts),
        ("out_packets", "Outgoing packets", |s| s.out_pkts),
        ("in_bytes", "Incoming bytes", |s| s.in_bytes),
        ("out_bytes", "Outgoing bytes", |s| s.out_bytes),
    ];
    let service =
        |vs: &VirtualServerEntry| escape(&key_text(&vs.service.service.key).replace("  ", " "));
    for (name, help, get) in counters {
        let per_service = Counters::<labels::Service>::default();
        let per_dest = Counters::<labels::Destination>::default();
        for vs in table {
            per_service
                .get_or_create(&labels::Service {
                    service: service(vs),
                })
                .inc_by(get(&vs.service.stats));
            for d in &vs.destinations {
                per_dest
                    .get_or_create(&labels::Destination {
                        service: service(vs),
                        destination: d.dest.addr.to_string(),
                    })
                    .inc_by(get(&d.stats));
            }
        }
        reg.register(format!("lvs_ipvs_service_{name}"), help, per_service);
        reg.register(format!("lvs_ipvs_destination_{name}"), help, per_dest);
    }
    let gauges: [Metric<lvs_ipvs::DestinationEntry, i64>; 3] = [
        ("active_connections", "Active connections", |d| {
            d.active_conns.into()
        }),
        ("inactive_connections", "Inactive connections", |d| {
            d.inactive_conns.into()
        }),
        ("weight", "Weight in the table", |d| d.dest.weight.into()),
    ];
    for (name, help, get) in gauges {
        let family = Gauges::<labels::Destination>::default();
        for vs in table {
            for d in &vs.destinations {
                family
                    .get_or_create(&labels::Destination {
                        service: service(vs),
                        destination: d.dest.addr.to_string(),
                    })
                    .set(get(d));
            }
        }
        reg.register(format!("lvs_ipvs_destination_{name}"), help, family);
    }
}
