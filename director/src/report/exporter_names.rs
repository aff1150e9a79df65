//! The same facts under the names of the exporters dashboards already use:
//! mehdy/keepalived-exporter's `keepalived_*` for VRRP and node_exporter's
//! `node_ipvs_*` for IPVS, so a Grafana panel built on either keeps
//! working when keepalived is replaced. Only what the director knows is
//! exported; the mapping (and what has no counterpart) is in the crate
//! docs of [`crate::report`].

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use lvs_ipvs::{ServiceKey, VirtualServerEntry};
use lvs_vrrp::DropKind;

use super::{Counters, Gauges, Snapshot, escape};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VrrpVip {
    iname: String,
    intf: String,
    vrid: String,
    ip_address: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Vrrp {
    iname: String,
    intf: String,
    vrid: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Backend {
    local_address: String,
    local_port: String,
    remote_address: String,
    remote_port: String,
    proto: String,
    local_mark: String,
}

/// keepalived's state number and word (INIT 0, BACKUP 1, MASTER 2, FAULT 3).
fn keepalived_state(state: &str) -> (i64, &'static str) {
    match state {
        "Backup" => (1, "BACKUP"),
        "Master" => (2, "MASTER"),
        "Fault" => (3, "FAULT"),
        _ => (0, "INIT"),
    }
}

/// keepalived-exporter's error counters and the receive checks each counts.
const VRRP_ERRORS: [(&str, &str, &[DropKind]); 7] = [
    (
        "keepalived_packet_length_errors",
        "Packet length errors",
        &[DropKind::Length, DropKind::Truncated],
    ),
    (
        "keepalived_advertisements_interval_errors",
        "Advertisement interval errors",
        &[DropKind::IntervalMismatch, DropKind::ZeroInterval],
    ),
    (
        "keepalived_ip_ttl_errors",
        "TTL errors",
        &[DropKind::HopLimit],
    ),
    (
        "keepalived_invalid_type_received",
        "Invalid type errors",
        &[DropKind::Malformed],
    ),
    (
        "keepalived_address_list_errors",
        "Address list errors",
        &[DropKind::AddressMismatch],
    ),
    (
        "keepalived_authentication_mismatch",
        "Authentication mismatch",
        &[DropKind::AuthType],
    ),
    (
        "keepalived_authentication_failure",
        "Authentication failure",
        &[DropKind::AuthData],
    ),
];

/// Adds the keepalived-exporter and node_exporter families to `reg`.
pub(super) fn register(reg: &mut Registry, s: &Snapshot) {
    let up = Gauge::<i64>::default();
    up.set(1);
    reg.register("keepalived_up", "Status", up);
    let state = Gauges::<VrrpVip>::default();
    for i in &s.instances {
        for v in &i.vips {
            let addr = v.split('/').next().unwrap_or(v);
            state
                .get_or_create(&VrrpVip {
                    iname: escape(&i.name),
                    intf: escape(&i.interface),
                    vrid: i.vrid.to_string(),
                    ip_address: addr.to_string(),
                })
                .set(keepalived_state(&i.state).0);
        }
    }
    reg.register("keepalived_vrrp_state", "State of vrrp", state);
    for (name, help, kinds) in VRRP_ERRORS {
        let family = Counters::<Vrrp>::default();
        for i in &s.instances {
            let n: u64 = kinds.iter().map(|k| i.drops.get(*k)).sum();
            family
                .get_or_create(&Vrrp {
                    iname: escape(&i.name),
                    intf: escape(&i.interface),
                    vrid: i.vrid.to_string(),
                    state: keepalived_state(&i.state).1.to_string(),
                })
                .inc_by(n);
        }
        reg.register(name, help, family);
    }
    if let Some(Ok(table)) = &s.ipvs {
        register_ipvs(reg, table);
    }
}

/// node_exporter's IPVS collector: totals over every service, and per
/// destination gauges labelled as `/proc/net/ip_vs` shows them.
fn register_ipvs(reg: &mut Registry, table: &[VirtualServerEntry]) {
    let totals: [super::Metric<lvs_ipvs::Stats, u64>; 5] = [
        (
            "connections",
            "The total number of connections made.",
            |s| s.conns,
        ),
        (
            "incoming_packets",
            "The total number of incoming packets.",
            |s| s.in_pkts,
        ),
        (
            "outgoing_packets",
            "The total number of outgoing packets.",
            |s| s.out_pkts,
        ),
        (
            "incoming_bytes",
            "The total amount of incoming data.",
            |s| s.in_bytes,
        ),
        (
            "outgoing_bytes",
            "The total amount of outgoing data.",
            |s| s.out_bytes,
        ),
    ];
    for (name, help, get) in totals {
        let c = prometheus_client::metrics::counter::Counter::<u64>::default();
        c.inc_by(table.iter().map(|vs| get(&vs.service.stats)).sum());
        reg.register(format!("node_ipvs_{name}"), help, c);
    }
    let gauges: [super::Metric<lvs_ipvs::DestinationEntry, i64>; 3] = [
        (
            "backend_connections_active",
            "The current active connections by local and remote address.",
            |d| d.active_conns.into(),
        ),
        (
            "backend_connections_inactive",
            "The current inactive connections by local and remote address.",
            |d| d.inactive_conns.into(),
        ),
        (
            "backend_weight",
            "The current backend weight by local and remote address.",
            |d| d.dest.weight.into(),
        ),
    ];
    for (name, help, get) in gauges {
        let family = Gauges::<Backend>::default();
        for vs in table {
            let (local_address, local_port, proto, local_mark) = match vs.service.service.key {
                ServiceKey::Addr { protocol, addr } => (
                    addr.ip().to_string(),
                    addr.port().to_string(),
                    super::protocol_name(protocol).to_string(),
                    String::new(),
                ),
                ServiceKey::Fwmark { mark, .. } => {
                    (String::new(), "0".into(), String::new(), mark.to_string())
                }
            };
            for d in &vs.destinations {
                family
                    .get_or_create(&Backend {
                        local_address: local_address.clone(),
                        local_port: local_port.clone(),
                        remote_address: d.dest.addr.ip().to_string(),
                        remote_port: d.dest.addr.port().to_string(),
                        proto: proto.clone(),
                        local_mark: local_mark.clone(),
                    })
                    .set(get(d));
            }
        }
        reg.register(format!("node_ipvs_{name}"), help, family);
    }
}
