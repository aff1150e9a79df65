//! The live view `director status` prints and the Prometheus text the
//! `--metrics` endpoint serves, both rendered from one [`Snapshot`] (pure).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use lvs_ipvs::VirtualServerEntry;

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

/// One real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServerView {
    /// Its virtual server (`TCP 172.20.0.83:80`).
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
}

fn fwd(f: lvs_ipvs::ForwardMethod) -> &'static str {
    match f {
        lvs_ipvs::ForwardMethod::Masquerade => "Masq",
        lvs_ipvs::ForwardMethod::DirectRoute => "Route",
        lvs_ipvs::ForwardMethod::Tunnel { .. } => "Tunnel",
        lvs_ipvs::ForwardMethod::Local => "Local",
    }
}

fn key_text(k: &lvs_ipvs::ServiceKey) -> String {
    match k {
        lvs_ipvs::ServiceKey::Addr { protocol, addr } => {
            let p = match protocol {
                lvs_ipvs::Protocol::Tcp => "TCP",
                lvs_ipvs::Protocol::Udp => "UDP",
                lvs_ipvs::Protocol::Sctp => "SCTP",
            };
            format!("{p}  {addr}")
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

/// A metric: name suffix, help text, and how to read it.
type Metric<T> = (&'static str, &'static str, fn(&T) -> u64);

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The Prometheus text exposition (format 0.0.4) of a snapshot.
pub fn metrics(s: &Snapshot) -> String {
    let mut o = String::new();
    o.push_str("# HELP lvs_director_vrrp_state VRRP state of an instance (1 for the current state).\n# TYPE lvs_director_vrrp_state gauge\n");
    for i in &s.instances {
        for st in ["Initialize", "Backup", "Master", "Fault"] {
            let _ = writeln!(
                o,
                "lvs_director_vrrp_state{{instance=\"{}\",state=\"{}\"}} {}",
                label(&i.name),
                st.to_lowercase(),
                u8::from(i.state == st)
            );
        }
    }
    o.push_str("# HELP lvs_director_vrrp_priority Effective VRRP priority.\n# TYPE lvs_director_vrrp_priority gauge\n");
    for i in &s.instances {
        let _ = writeln!(
            o,
            "lvs_director_vrrp_priority{{instance=\"{}\"}} {}",
            label(&i.name),
            i.effective_priority
        );
    }
    let _ = writeln!(
        o,
        "# HELP lvs_director_ghost_addresses Ghost addresses on the VRRP interfaces.\n# TYPE lvs_director_ghost_addresses gauge\nlvs_director_ghost_addresses {}",
        s.ghosts.len()
    );
    o.push_str("# HELP lvs_director_realserver_up Whether every check of a real server passes.\n# TYPE lvs_director_realserver_up gauge\n");
    for r in &s.real_servers {
        let _ = writeln!(
            o,
            "lvs_director_realserver_up{{virtual_server=\"{}\",real_server=\"{}\"}} {}",
            label(&r.virtual_server),
            r.addr,
            u8::from(r.up)
        );
    }
    o.push_str("# HELP lvs_director_check_up Whether one check passes.\n# TYPE lvs_director_check_up gauge\n");
    for r in &s.real_servers {
        for c in &r.checks {
            let _ = writeln!(
                o,
                "lvs_director_check_up{{virtual_server=\"{}\",real_server=\"{}\",check=\"{}\"}} {}",
                label(&r.virtual_server),
                r.addr,
                label(&c.description),
                u8::from(c.up)
            );
        }
    }
    if let Some(Ok(table)) = &s.ipvs {
        let counters: [Metric<lvs_ipvs::Stats>; 5] = [
            ("connections_total", "Connections scheduled.", |s| s.conns),
            ("in_packets_total", "Incoming packets.", |s| s.in_pkts),
            ("out_packets_total", "Outgoing packets.", |s| s.out_pkts),
            ("in_bytes_total", "Incoming bytes.", |s| s.in_bytes),
            ("out_bytes_total", "Outgoing bytes.", |s| s.out_bytes),
        ];
        for (name, help, get) in counters {
            let _ = writeln!(
                o,
                "# HELP lvs_ipvs_service_{name} {help}\n# TYPE lvs_ipvs_service_{name} counter"
            );
            for vs in table {
                let _ = writeln!(
                    o,
                    "lvs_ipvs_service_{name}{{service=\"{}\"}} {}",
                    label(&key_text(&vs.service.service.key).replace("  ", " ")),
                    get(&vs.service.stats)
                );
            }
            let _ = writeln!(
                o,
                "# HELP lvs_ipvs_destination_{name} {help}\n# TYPE lvs_ipvs_destination_{name} counter"
            );
            for vs in table {
                for d in &vs.destinations {
                    let _ = writeln!(
                        o,
                        "lvs_ipvs_destination_{name}{{service=\"{}\",destination=\"{}\"}} {}",
                        label(&key_text(&vs.service.service.key).replace("  ", " ")),
                        d.dest.addr,
                        get(&d.stats)
                    );
                }
            }
        }
        let gauges: [Metric<lvs_ipvs::DestinationEntry>; 3] = [
            ("active_connections", "Active connections.", |d| {
                d.active_conns.into()
            }),
            ("inactive_connections", "Inactive connections.", |d| {
                d.inactive_conns.into()
            }),
            ("weight", "Weight in the table.", |d| d.dest.weight.into()),
        ];
        for (name, help, get) in gauges {
            let _ = writeln!(
                o,
                "# HELP lvs_ipvs_destination_{name} {help}\n# TYPE lvs_ipvs_destination_{name} gauge"
            );
            for vs in table {
                let svc = label(&key_text(&vs.service.service.key).replace("  ", " "));
                for d in &vs.destinations {
                    let _ = writeln!(
                        o,
                        "lvs_ipvs_destination_{name}{{service=\"{svc}\",destination=\"{}\"}} {}",
                        d.dest.addr,
                        get(d)
                    );
                }
            }
        }
    }
    o
}
