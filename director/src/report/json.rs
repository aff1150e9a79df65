//! [`Snapshot::to_json`]: the status view as one JSON object, for scripts
//! (`director status --json`). Written by hand: a few fields, and no serde
//! in the tree of the director's libraries for one flat object.

use std::fmt::Write as _;

use lvs_ipvs::{ForwardMethod, Stats};

use super::Snapshot;

/// `s` as a JSON string literal, quotes included, escaped as RFC 8259
/// requires.
fn string(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", u32::from(c));
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn opt_string(s: Option<&str>) -> String {
    s.map_or_else(|| "null".to_string(), string)
}

fn array<T>(items: &[T], each: impl Fn(&T) -> String) -> String {
    let parts: Vec<String> = items.iter().map(each).collect();
    format!("[{}]", parts.join(","))
}

fn forward(f: ForwardMethod) -> &'static str {
    match f {
        ForwardMethod::Masquerade => "masq",
        ForwardMethod::DirectRoute => "route",
        ForwardMethod::Tunnel { .. } => "tunnel",
        ForwardMethod::Local => "local",
    }
}

fn stats(s: &Stats) -> String {
    format!(
        "{{\"conns\":{},\"in_pkts\":{},\"out_pkts\":{},\"in_bytes\":{},\"out_bytes\":{}}}",
        s.conns, s.in_pkts, s.out_pkts, s.in_bytes, s.out_bytes
    )
}

impl Snapshot {
    /// The whole view as one line of JSON (no trailing newline).
    ///
    /// The object: `router_id`, `pid`, `config_file`, `instances[]`
    /// (`name`, `interface`, `vrid`, `state`, `priority`,
    /// `effective_priority`, `master` or null, `vips[]`, `last_reason`),
    /// `real_servers[]` (`virtual_server`, `addr`, `up`, `weight` or null
    /// when not in the table, `checks[]` with `description`, `up`,
    /// `last_failure` or null), `ghosts[]`, `announcements[]` (`vip`,
    /// `announced`, `held_back` or null), `draining`, `ipvs_repaired` (IPVS
    /// operations that put back a table changed behind the director's
    /// back), and `ipvs`: null without
    /// virtual servers, `{"error": "..."}` when the table could not be
    /// read, else `{"services": [...]}` with each service's `service`,
    /// `scheduler`, `persistence_timeout_s` (or null), kernel `stats`
    /// (`conns`, `in_pkts`, `out_pkts`, `in_bytes`, `out_bytes`) and
    /// `destinations[]` (`addr`, `forward` — `masq`, `route`, `tunnel` or
    /// `local` —, `weight`, `active_conns`, `inactive_conns`, `stats`).
    ///
    /// ```
    /// use lvs_director::report::Snapshot;
    ///
    /// let s = Snapshot {
    ///     router_id: "NODE01".into(),
    ///     pid: 42,
    ///     config_file: "/etc/lvs/node01.conf".into(),
    ///     instances: vec![],
    ///     real_servers: vec![],
    ///     ipvs: None,
    ///     ghosts: vec!["a \"quoted\" ghost".into()],
    ///     announcements: vec![],
    ///     draining: false,
    ///     ipvs_repaired: 0,
    /// };
    /// assert_eq!(
    ///     s.to_json(),
    ///     r#"{"router_id":"NODE01","pid":42,"config_file":"/etc/lvs/node01.conf","instances":[],"real_servers":[],"ghosts":["a \"quoted\" ghost"],"announcements":[],"draining":false,"ipvs_repaired":0,"ipvs":null}"#
    /// );
    /// ```
    pub fn to_json(&self) -> String {
        let s = self;
        let instances = array(&s.instances, |i| {
            format!(
                "{{\"name\":{},\"interface\":{},\"vrid\":{},\"state\":{},\"priority\":{},\"effective_priority\":{},\"master\":{},\"vips\":{},\"last_reason\":{}}}",
                string(&i.name),
                string(&i.interface),
                i.vrid,
                string(&i.state),
                i.priority,
                i.effective_priority,
                opt_string(i.master.map(|m| m.to_string()).as_deref()),
                array(&i.vips, |v| string(v)),
                string(&i.last_reason),
            )
        });
        let real_servers = array(&s.real_servers, |r| {
            let checks = array(&r.checks, |c| {
                format!(
                    "{{\"description\":{},\"up\":{},\"last_failure\":{}}}",
                    string(&c.description),
                    c.up,
                    opt_string(c.last_failure.as_deref())
                )
            });
            format!(
                "{{\"virtual_server\":{},\"addr\":{},\"up\":{},\"weight\":{},\"checks\":{checks}}}",
                string(&r.virtual_server),
                string(&r.addr.to_string()),
                r.up,
                r.weight
                    .map_or_else(|| "null".to_string(), |w| w.to_string()),
            )
        });
        let ipvs = match &s.ipvs {
            None => "null".to_string(),
            Some(Err(e)) => format!("{{\"error\":{}}}", string(e)),
            Some(Ok(table)) => {
                let services = array(table, |vs| {
                    let svc = &vs.service.service;
                    let dests = array(&vs.destinations, |d| {
                        format!(
                            "{{\"addr\":{},\"forward\":\"{}\",\"weight\":{},\"active_conns\":{},\"inactive_conns\":{},\"stats\":{}}}",
                            string(&d.dest.addr.to_string()),
                            forward(d.dest.forward),
                            d.dest.weight,
                            d.active_conns,
                            d.inactive_conns,
                            stats(&d.stats)
                        )
                    });
                    format!(
                        "{{\"service\":{},\"scheduler\":{},\"persistence_timeout_s\":{},\"stats\":{},\"destinations\":{dests}}}",
                        string(&svc.key.to_string()),
                        string(&svc.scheduler.to_string()),
                        svc.persistence.map_or_else(
                            || "null".to_string(),
                            |p| p.timeout.as_secs().to_string()
                        ),
                        stats(&vs.service.stats),
                    )
                });
                format!("{{\"services\":{services}}}")
            }
        };
        let announcements = array(&s.announcements, |a| {
            format!(
                "{{\"vip\":{},\"announced\":{},\"held_back\":{}}}",
                string(&a.vip.to_string()),
                a.announced,
                opt_string(a.held_back.as_deref())
            )
        });
        format!(
            "{{\"router_id\":{},\"pid\":{},\"config_file\":{},\"instances\":{instances},\"real_servers\":{real_servers},\"ghosts\":{},\"announcements\":{announcements},\"draining\":{},\"ipvs_repaired\":{},\"ipvs\":{ipvs}}}",
            string(&s.router_id),
            s.pid,
            string(&s.config_file),
            array(&s.ghosts, |g| string(g)),
            s.draining,
            s.ipvs_repaired,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CheckView, InstanceView, RealServerView};
    use lvs_ipvs::{
        Destination, DestinationEntry, Scheduler, Service, ServiceEntry, ServiceKey,
        VirtualServerEntry,
    };
    use serde_json::{Value, json};

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_controls() {
        let nasty = "MISC_CHECK \"/bin/x\" a\\b\n\t\r\u{1}é";
        assert_eq!(parse(&string(nasty)), Value::String(nasty.into()));
        assert_eq!(string("a\u{1f}b"), "\"a\\u001fb\"");
    }

    fn snapshot() -> Snapshot {
        let key = ServiceKey::tcp("172.20.0.83:80".parse().unwrap());
        let dest = Destination::new(
            "172.20.0.85:80".parse().unwrap(),
            ForwardMethod::DirectRoute,
        );
        let entry = VirtualServerEntry {
            service: ServiceEntry {
                service: Service::new(key, Scheduler::RoundRobin),
                stats: Stats {
                    conns: 12,
                    ..Stats::default()
                },
                stats64: true,
                raw_flags: 0,
            },
            destinations: vec![DestinationEntry {
                dest,
                active_conns: 3,
                inactive_conns: 4,
                persistent_conns: 0,
                stats: Stats::default(),
                stats64: true,
            }],
        };
        Snapshot {
            router_id: "NODE01".into(),
            pid: 42,
            config_file: "/etc/lvs/node01.conf".into(),
            instances: vec![InstanceView {
                name: "VI_1".into(),
                interface: "ens18".into(),
                vrid: 51,
                state: "Master".into(),
                priority: 100,
                effective_priority: 80,
                master: Some("172.20.0.81".parse().unwrap()),
                vips: vec!["172.20.0.83/24".into()],
                last_reason: "Timeout".into(),
                drops: Default::default(),
            }],
            real_servers: vec![RealServerView {
                virtual_server: "TCP 172.20.0.83:80".into(),
                addr: "172.20.0.85:80".parse().unwrap(),
                up: false,
                weight: None,
                checks: vec![CheckView {
                    description: "MISC_CHECK \"check.sh\"".into(),
                    up: false,
                    last_failure: Some("exit status 1".into()),
                }],
            }],
            ipvs: Some(Ok(vec![entry])),
            ghosts: vec![],
            announcements: Vec::new(),
            draining: false,
            ipvs_repaired: 2,
        }
    }

    #[test]
    fn the_status_object_has_every_field() {
        let v = parse(&snapshot().to_json());
        assert_eq!(
            v,
            json!({
                "router_id": "NODE01", "pid": 42, "config_file": "/etc/lvs/node01.conf",
                "instances": [{
                    "name": "VI_1", "interface": "ens18", "vrid": 51, "state": "Master",
                    "priority": 100, "effective_priority": 80, "master": "172.20.0.81",
                    "vips": ["172.20.0.83/24"], "last_reason": "Timeout"
                }],
                "real_servers": [{
                    "virtual_server": "TCP 172.20.0.83:80", "addr": "172.20.0.85:80",
                    "up": false, "weight": null,
                    "checks": [{"description": "MISC_CHECK \"check.sh\"", "up": false,
                                "last_failure": "exit status 1"}]
                }],
                "ghosts": [],
                "announcements": [],
                "draining": false,
                "ipvs_repaired": 2,
                "ipvs": {"services": [{
                    "service": "TCP 172.20.0.83:80", "scheduler": "rr",
                    "persistence_timeout_s": null,
                    "stats": {"conns": 12, "in_pkts": 0, "out_pkts": 0, "in_bytes": 0, "out_bytes": 0},
                    "destinations": [{
                        "addr": "172.20.0.85:80", "forward": "route", "weight": 1,
                        "active_conns": 3, "inactive_conns": 4,
                        "stats": {"conns": 0, "in_pkts": 0, "out_pkts": 0, "in_bytes": 0, "out_bytes": 0}
                    }]
                }]}
            })
        );
        assert!(!snapshot().to_json().contains('\n'), "one line");
    }

    #[test]
    fn ipvs_absent_or_unreadable() {
        let mut s = snapshot();
        s.ipvs = None;
        s.instances[0].master = None;
        s.real_servers[0].weight = Some(0);
        s.ghosts = vec!["dynamic (DHCP) address 172.20.0.97/24 on ens18".into()];
        let v = parse(&s.to_json());
        assert_eq!(v["ipvs"], Value::Null);
        assert_eq!(v["instances"][0]["master"], Value::Null);
        assert_eq!(v["real_servers"][0]["weight"], 0);
        assert_eq!(
            v["ghosts"][0],
            "dynamic (DHCP) address 172.20.0.97/24 on ens18"
        );
        s.ipvs = Some(Err("IPVS is unavailable".into()));
        assert_eq!(
            parse(&s.to_json())["ipvs"],
            json!({"error": "IPVS is unavailable"})
        );
    }
}
