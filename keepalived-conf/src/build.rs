//! From the statement tree to the typed model: value checks, defaults,
//! inheritance of checker timers, and cross-references (duplicate VRIDs, ...).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::error::{ConfigError, ErrorKind, Location, Warning};
use crate::lexer::{Token, TokenKind};
use crate::model::*;
use crate::parser::{Body, Node};
use crate::suggest::suggest;
use crate::values::*;

/// Upper bound for timers, in seconds (a day is plenty; keeps arithmetic sane).
const MAX_TIMER_SECS: u64 = 86_400;

pub(crate) struct Builder<'a> {
    pub errors: &'a mut Vec<ConfigError>,
    pub warnings: &'a mut Vec<Warning>,
}

/// Checker timers that may be set on the virtual server, real server or checker.
#[derive(Clone, Default)]
struct Timers {
    connect_timeout: Option<Duration>,
    retry: Option<u32>,
    delay_before_retry: Option<Duration>,
    warmup: Option<Duration>,
    delay_loop: Option<Duration>,
    alpha: Option<bool>,
}

impl Timers {
    fn over(&self, parent: &Timers) -> Timers {
        Timers {
            connect_timeout: self.connect_timeout.or(parent.connect_timeout),
            retry: self.retry.or(parent.retry),
            delay_before_retry: self.delay_before_retry.or(parent.delay_before_retry),
            warmup: self.warmup.or(parent.warmup),
            delay_loop: self.delay_loop.or(parent.delay_loop),
            alpha: self.alpha.or(parent.alpha),
        }
    }
}

fn nodes(n: &Node) -> &[Node] {
    match &n.body {
        Some(Body::Nodes(v)) => v,
        _ => &[],
    }
}

fn items(n: &Node) -> &[Vec<Token>] {
    match &n.body {
        Some(Body::Items(v)) => v,
        _ => &[],
    }
}

impl Builder<'_> {
    fn error(&mut self, loc: &Location, kind: ErrorKind) {
        self.errors.push(ConfigError::new(loc, kind));
    }

    fn warn(&mut self, loc: &Location, msg: impl Into<String>) {
        self.warnings.push(Warning::new(loc, msg));
    }

    fn invalid(&mut self, keyword: &str, tok: &Token, expected: &str) {
        self.error(
            &tok.location,
            ErrorKind::InvalidValue {
                keyword: keyword.to_string(),
                value: tok.text().to_string(),
                expected: expected.to_string(),
            },
        );
    }

    // ---- single values ----

    fn int(&mut self, n: &Node, min: i64, max: i64) -> Option<i64> {
        let t = n.args.first()?;
        let v = parse_int(t.text(), min, max);
        if v.is_none() {
            self.invalid(n.keyword(), t, &format!("an integer from {min} to {max}"));
        }
        v
    }

    fn u32v(&mut self, n: &Node) -> Option<u32> {
        self.int(n, 0, i64::from(u32::MAX))
            .and_then(|v| u32::try_from(v).ok())
    }

    fn secs(&mut self, n: &Node) -> Option<Duration> {
        let t = n.args.first()?;
        let v = parse_seconds(t.text(), MAX_TIMER_SECS);
        if v.is_none() {
            self.invalid(
                n.keyword(),
                t,
                &format!("seconds from 0 to {MAX_TIMER_SECS}, e.g. `3` or `0.5`"),
            );
        }
        v
    }

    /// A flag that may carry an explicit boolean: absent value means true.
    fn flag(&mut self, n: &Node) -> Option<bool> {
        match n.args.first() {
            None => Some(true),
            Some(t) => {
                let v = parse_bool(t.text());
                if v.is_none() {
                    self.invalid(n.keyword(), t, "on/off, true/false or yes/no");
                }
                v
            }
        }
    }

    fn ip(&mut self, keyword: &str, t: &Token) -> Option<IpAddr> {
        let v = t.text().parse().ok();
        if v.is_none() {
            self.invalid(keyword, t, "an IPv4 or IPv6 address");
        }
        v
    }

    fn port(&mut self, keyword: &str, t: &Token) -> Option<u16> {
        let v = parse_int(t.text(), 0, 65535).and_then(|v| u16::try_from(v).ok());
        if v.is_none() {
            self.invalid(keyword, t, "a port number from 0 to 65535");
        }
        v
    }

    fn string(n: &Node) -> Option<String> {
        n.args.first().map(|t| t.text().to_string())
    }

    fn forwarding(&mut self, n: &Node) -> Option<ForwardingMethod> {
        let t = n.args.first()?;
        match t.text().to_ascii_uppercase().as_str() {
            "NAT" => Some(ForwardingMethod::Nat),
            "DR" => Some(ForwardingMethod::Dr),
            "TUN" => Some(ForwardingMethod::Tun),
            _ => {
                self.invalid(n.keyword(), t, "NAT, DR or TUN");
                None
            }
        }
    }

    /// `CMD [USER [GROUP]]`: a quoted CMD is split into argv without a shell.
    fn script(&mut self, n: &Node) -> Option<Script> {
        let first = n.args.first()?;
        let argv = match &first.kind {
            TokenKind::Quoted(s) => match split_words(s) {
                Ok(w) => w,
                Err(why) => {
                    self.invalid(n.keyword(), first, &format!("a command line ({why})"));
                    return None;
                }
            },
            _ => vec![first.text().to_string()],
        };
        if argv.is_empty() {
            self.invalid(n.keyword(), first, "a non-empty command");
            return None;
        }
        if let Some(extra) = n.args.get(3) {
            self.error(
                &extra.location,
                ErrorKind::TooManyArguments {
                    keyword: n.keyword().to_string(),
                    token: extra.text().to_string(),
                },
            );
            self.warnings.push(Warning {
                location: Some(first.location.clone()),
                message: "to pass arguments to a script, quote the whole command line".into(),
                notes: Vec::new(),
            });
            return None;
        }
        Some(Script {
            argv,
            user: n.args.get(1).map(|t| t.text().to_string()),
            group: n.args.get(2).map(|t| t.text().to_string()),
        })
    }

    fn timers_kw(&mut self, n: &Node, t: &mut Timers) -> bool {
        match n.keyword() {
            "connect_timeout" => t.connect_timeout = self.secs(n).or(t.connect_timeout),
            "retry" | "nb_get_retry" => t.retry = self.u32v(n).or(t.retry),
            "delay_before_retry" => t.delay_before_retry = self.secs(n).or(t.delay_before_retry),
            "warmup" => t.warmup = self.secs(n).or(t.warmup),
            "delay_loop" => t.delay_loop = self.secs(n).or(t.delay_loop),
            "alpha" => t.alpha = self.flag(n).or(t.alpha),
            _ => return false,
        }
        true
    }

    fn ignored(&mut self, n: &Node) {
        self.warn(
            n.loc(),
            format!(
                "`{}` is accepted for compatibility and ignored by director",
                n.keyword()
            ),
        );
    }

    // ---- top level ----

    pub fn build(&mut self, top: &[Node]) -> Config {
        let mut global = GlobalDefs::default();
        for n in top.iter().filter(|n| n.keyword() == "global_defs") {
            self.global_defs(n, &mut global);
        }
        let mut vrrp_instances: Vec<VrrpInstance> = Vec::new();
        let mut vrrp_locs: Vec<Location> = Vec::new();
        let mut vrrp_sync_groups = Vec::new();
        let mut virtual_servers: Vec<VirtualServer> = Vec::new();
        let mut vs_locs: Vec<Location> = Vec::new();
        for n in top {
            match n.keyword() {
                "vrrp_instance" => {
                    if let Some(v) = self.vrrp_instance(n, &global) {
                        if let Some(i) = vrrp_instances.iter().position(|o| o.name == v.name) {
                            self.errors.push(
                                ConfigError::new(
                                    n.loc(),
                                    ErrorKind::Duplicate {
                                        what: format!("vrrp_instance name `{}`", v.name),
                                    },
                                )
                                .note(Some(&vrrp_locs[i]), "first defined here"),
                            );
                        } else if let Some(i) = vrrp_instances.iter().position(|o| {
                            o.interface == v.interface
                                && o.virtual_router_id == v.virtual_router_id
                                && family(o) == family(&v)
                        }) {
                            self.errors.push(
                                ConfigError::new(
                                    n.loc(),
                                    ErrorKind::Duplicate {
                                        what: format!(
                                            "virtual_router_id {} on interface `{}` (instances `{}` and `{}`)",
                                            v.virtual_router_id, v.interface, vrrp_instances[i].name, v.name
                                        ),
                                    },
                                )
                                .note(Some(&vrrp_locs[i]), "the other instance is defined here"),
                            );
                        } else {
                            vrrp_instances.push(v);
                            vrrp_locs.push(n.loc().clone());
                        }
                    }
                }
                "vrrp_sync_group" => {
                    if let Some(g) = self.sync_group(n) {
                        vrrp_sync_groups.push((g, n.loc().clone()));
                    }
                }
                "virtual_server" => {
                    if let Some(v) = self.virtual_server(n) {
                        if let Some(i) = virtual_servers.iter().position(|o| o.key() == v.key()) {
                            self.errors.push(
                                ConfigError::new(
                                    n.loc(),
                                    ErrorKind::Duplicate {
                                        what: format!("virtual_server {}", v.key()),
                                    },
                                )
                                .note(Some(&vs_locs[i]), "first defined here"),
                            );
                        } else {
                            virtual_servers.push(v);
                            vs_locs.push(n.loc().clone());
                        }
                    }
                }
                _ => {}
            }
        }
        let names: Vec<&str> = vrrp_instances.iter().map(|v| v.name.as_str()).collect();
        for (g, loc) in &vrrp_sync_groups {
            for m in &g.instances {
                if !names.contains(&m.as_str()) {
                    let suggestion = suggest(m, names.iter().copied())
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    self.error(
                        loc,
                        ErrorKind::Invalid {
                            message: format!(
                                "vrrp_sync_group `{}` names vrrp_instance `{m}`, which is not defined{suggestion}",
                                g.name
                            ),
                        },
                    );
                }
            }
        }
        if let Some(inst) = global
            .lvs_sync_daemon
            .as_ref()
            .and_then(|s| s.vrrp_instance.as_ref())
            && !names.contains(&inst.as_str())
            && let Some(n) = top.iter().find(|n| n.keyword() == "global_defs")
        {
            self.error(
                n.loc(),
                ErrorKind::Invalid {
                    message: format!(
                        "lvs_sync_daemon names vrrp_instance `{inst}`, which is not defined"
                    ),
                },
            );
        }
        Config {
            global,
            vrrp_instances,
            vrrp_sync_groups: vrrp_sync_groups.into_iter().map(|(g, _)| g).collect(),
            virtual_servers,
        }
    }

    fn global_defs(&mut self, n: &Node, g: &mut GlobalDefs) {
        for c in nodes(n) {
            match c.keyword() {
                "router_id" => g.router_id = Self::string(c),
                "notification_email" => {
                    g.notification_email = items(c)
                        .iter()
                        .flatten()
                        .map(|t| t.text().to_string())
                        .collect()
                }
                "notification_email_from" => g.notification_email_from = Self::string(c),
                "smtp_server" => {
                    g.smtp_server = Some(
                        c.args
                            .iter()
                            .map(|t| t.text())
                            .collect::<Vec<_>>()
                            .join(" "),
                    )
                }
                "script_user" => {
                    g.script_user = Self::string(c).map(|user| ScriptUser {
                        user,
                        group: c.args.get(1).map(|t| t.text().to_string()),
                    })
                }
                "enable_script_security" => g.enable_script_security = true,
                "vrrp_version" => {
                    if let Some(v) = self.version(c) {
                        g.vrrp_version = v
                    }
                }
                "vrrp_garp_master_delay" => {
                    g.vrrp_garp_master_delay = self.secs(c).unwrap_or(g.vrrp_garp_master_delay)
                }
                "vrrp_garp_master_repeat" => {
                    g.vrrp_garp_master_repeat = self.u32v(c).unwrap_or(g.vrrp_garp_master_repeat)
                }
                "vrrp_garp_master_refresh" => {
                    g.vrrp_garp_master_refresh = self.secs(c).filter(|d| !d.is_zero())
                }
                "vrrp_garp_master_refresh_repeat" => {
                    g.vrrp_garp_master_refresh_repeat =
                        self.u32v(c).unwrap_or(g.vrrp_garp_master_refresh_repeat)
                }
                "vrrp_garp_interval" => {
                    g.vrrp_garp_interval = self.secs(c).unwrap_or(g.vrrp_garp_interval)
                }
                "vrrp_mcast_group4" => {
                    if let Some(t) = c.args.first() {
                        match t.text().parse::<std::net::Ipv4Addr>() {
                            Ok(a) if a.is_multicast() => g.vrrp_mcast_group4 = a,
                            _ => self.invalid(c.keyword(), t, "an IPv4 multicast address"),
                        }
                    }
                }
                "vrrp_mcast_group6" => {
                    if let Some(t) = c.args.first() {
                        match t.text().parse::<std::net::Ipv6Addr>() {
                            Ok(a) if a.is_multicast() => g.vrrp_mcast_group6 = a,
                            _ => self.invalid(c.keyword(), t, "an IPv6 multicast address"),
                        }
                    }
                }
                "vrrp_strict" => g.vrrp_strict = true,
                "lvs_sync_daemon" => g.lvs_sync_daemon = self.lvs_sync_daemon(c),
                "lvs_timeouts" => self.lvs_timeouts(c, &mut g.lvs_timeouts),
                "lvs_flush" => g.lvs_flush = true,
                "lvs_keep_expire_nodest_conn" => g.lvs_keep_expire_nodest_conn = true,
                "vrrp_rt_priority" | "checker_rt_priority" => {
                    if let Some(p) = self.int(c, 1, 99) {
                        let p = p as u8;
                        g.rt_priority = Some(g.rt_priority.map_or(p, |q| q.max(p)));
                    }
                }
                "vrrp_priority" | "checker_priority" => {
                    if let Some(n) = self.int(c, -20, 19) {
                        let n = n as i8;
                        g.nice = Some(g.nice.map_or(n, |m| m.min(n)));
                    }
                }
                "vrrp_no_swap" | "checker_no_swap" => g.no_swap = true,
                "vrrp_min_garp" => {
                    if self.flag(c) == Some(true) {
                        g.vrrp_garp_master_repeat = 1;
                        g.vrrp_garp_master_delay = Duration::ZERO;
                    }
                }
                _ => self.ignored(c),
            }
        }
    }

    fn version(&mut self, n: &Node) -> Option<VrrpVersion> {
        let t = n.args.first()?;
        match t.text() {
            "2" => Some(VrrpVersion::V2),
            "3" => Some(VrrpVersion::V3),
            _ => {
                self.invalid(n.keyword(), t, "2 or 3");
                None
            }
        }
    }

    fn lvs_sync_daemon(&mut self, n: &Node) -> Option<LvsSyncDaemon> {
        let mut args = n.args.iter();
        let mut d = LvsSyncDaemon {
            interface: args.next()?.text().to_string(),
            vrrp_instance: None,
            sync_id: None,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        };
        while let Some(t) = args.next() {
            let opt = t.text();
            let value_of = |args: &mut std::slice::Iter<'_, Token>| args.next().cloned();
            match opt {
                "inst" | "id" | "maxlen" | "port" | "ttl" | "group" => {
                    let Some(v) = value_of(&mut args) else {
                        self.error(
                            &t.location,
                            ErrorKind::MissingArgument {
                                keyword: format!("lvs_sync_daemon {opt}"),
                                expected: "a value".into(),
                            },
                        );
                        return None;
                    };
                    let num = |max: i64| parse_int(v.text(), 1, max);
                    let bad = match opt {
                        "inst" => {
                            d.vrrp_instance = Some(v.text().to_string());
                            None
                        }
                        "id" => match parse_int(v.text(), 0, 255) {
                            Some(x) => {
                                d.sync_id = u8::try_from(x).ok();
                                None
                            }
                            None => Some("an integer from 0 to 255"),
                        },
                        "maxlen" => match num(65507) {
                            Some(x) => {
                                d.maxlen = u16::try_from(x).ok();
                                None
                            }
                            None => Some("an integer from 1 to 65507"),
                        },
                        "port" => match num(65535) {
                            Some(x) => {
                                d.port = u16::try_from(x).ok();
                                None
                            }
                            None => Some("a port from 1 to 65535"),
                        },
                        "ttl" => match num(255) {
                            Some(x) => {
                                d.ttl = u8::try_from(x).ok();
                                None
                            }
                            None => Some("an integer from 1 to 255"),
                        },
                        _ => match v.text().parse() {
                            Ok(a) => {
                                d.group = Some(a);
                                None
                            }
                            Err(_) => Some("a multicast address"),
                        },
                    };
                    if let Some(expected) = bad {
                        self.invalid(&format!("lvs_sync_daemon {opt}"), &v, expected);
                    }
                }
                // The instance name may be given without `inst` (old syntax).
                _ if d.vrrp_instance.is_none() => d.vrrp_instance = Some(opt.to_string()),
                _ => self.invalid(
                    "lvs_sync_daemon",
                    t,
                    "one of inst, id, maxlen, port, ttl, group",
                ),
            }
        }
        Some(d)
    }

    fn lvs_timeouts(&mut self, n: &Node, out: &mut LvsTimeouts) {
        for pair in n.args.chunks(2) {
            let [k, v] = pair else {
                self.invalid(n.keyword(), &pair[0], "pairs such as `tcp 900 udp 300`");
                return;
            };
            let Some(d) = parse_seconds(v.text(), 86_400 * 31).filter(|d| d.subsec_nanos() == 0)
            else {
                self.invalid(n.keyword(), v, "whole seconds");
                continue;
            };
            match k.text() {
                "tcp" => out.tcp = Some(d),
                "tcpfin" => out.tcpfin = Some(d),
                "udp" => out.udp = Some(d),
                _ => self.invalid(n.keyword(), k, "tcp, tcpfin or udp"),
            }
        }
    }

    // ---- VRRP ----

    fn vrrp_instance(&mut self, n: &Node, g: &GlobalDefs) -> Option<VrrpInstance> {
        let name = n.args.first()?.text().to_string();
        let mut state = InitialState::Backup;
        let mut interface = None;
        let mut vrid = None;
        let mut priority = 100u8;
        let mut advert: Option<&Token> = None;
        let mut version = None;
        let mut vips = Vec::new();
        let mut vips_ex = Vec::new();
        let mut nopreempt = false;
        let mut preempt_delay = Duration::ZERO;
        let mut source_ip = None;
        let mut peers = Vec::new();
        let mut tracks = Vec::new();
        let mut auth = None;
        let (mut nm, mut nb, mut nf, mut ns, mut nall) = (None, None, None, None, None);
        let mut garp_delay = g.vrrp_garp_master_delay;
        let mut garp_repeat = g.vrrp_garp_master_repeat;
        let mut garp_refresh = g.vrrp_garp_master_refresh;
        let mut garp_refresh_repeat = g.vrrp_garp_master_refresh_repeat;
        let mut accept = !g.vrrp_strict;
        let mut use_vmac = None;
        let mut sync_if = None;
        let mut dont_track_primary = false;
        let errors_before = self.errors.len();
        for c in nodes(n) {
            match c.keyword() {
                "state" => {
                    if let Some(t) = c.args.first() {
                        match t.text().to_ascii_uppercase().as_str() {
                            "MASTER" => state = InitialState::Master,
                            "BACKUP" => state = InitialState::Backup,
                            _ => self.invalid("state", t, "MASTER or BACKUP"),
                        }
                    }
                }
                "interface" => interface = Self::string(c),
                "virtual_router_id" => {
                    vrid = self.int(c, 1, 255).and_then(|v| u8::try_from(v).ok())
                }
                "priority" => {
                    priority = self
                        .int(c, 1, 255)
                        .and_then(|v| u8::try_from(v).ok())
                        .unwrap_or(priority)
                }
                "advert_int" => advert = c.args.first(),
                "version" => version = self.version(c).or(version),
                "virtual_ipaddress" => vips.extend(self.vips(c)),
                "virtual_ipaddress_excluded" => vips_ex.extend(self.vips(c)),
                "nopreempt" => nopreempt = true,
                "preempt" => nopreempt = false,
                "preempt_delay" => {
                    if let Some(t) = c.args.first() {
                        match parse_seconds(t.text(), 1000) {
                            Some(d) => preempt_delay = d,
                            None => self.invalid("preempt_delay", t, "seconds from 0 to 1000"),
                        }
                    }
                }
                "unicast_src_ip" | "mcast_src_ip" => {
                    if let Some(t) = c.args.first() {
                        source_ip = self.ip(c.keyword(), t).or(source_ip);
                    }
                }
                "unicast_peer" => peers.extend(self.unicast_peers(c)),
                "track_interface" => tracks.extend(self.track_interfaces(c)),
                "authentication" => auth = self.authentication(c),
                "notify_master" => nm = self.script(c),
                "notify_backup" => nb = self.script(c),
                "notify_fault" => nf = self.script(c),
                "notify_stop" => ns = self.script(c),
                "notify" => nall = self.script(c),
                "garp_master_delay" => garp_delay = self.secs(c).unwrap_or(garp_delay),
                "garp_master_repeat" => garp_repeat = self.u32v(c).unwrap_or(garp_repeat),
                "garp_master_refresh" => garp_refresh = self.secs(c).filter(|d| !d.is_zero()),
                "garp_master_refresh_repeat" => {
                    garp_refresh_repeat = self.u32v(c).unwrap_or(garp_refresh_repeat)
                }
                "accept" => accept = true,
                "no_accept" => accept = false,
                "use_vmac" => use_vmac = Some(Self::string(c)),
                "lvs_sync_daemon_interface" => sync_if = Self::string(c),
                "dont_track_primary" => dont_track_primary = true,
                _ => self.ignored(c),
            }
        }
        let block = format!("vrrp_instance `{name}`");
        let Some(interface) = interface else {
            self.error(
                n.loc(),
                ErrorKind::MissingRequired {
                    block,
                    keyword: "interface".into(),
                    detail: None,
                },
            );
            return None;
        };
        let Some(vrid) = vrid else {
            if self.errors.len() == errors_before {
                self.error(
                    n.loc(),
                    ErrorKind::MissingRequired {
                        block,
                        keyword: "virtual_router_id".into(),
                        detail: Some("1 to 255, the same on every router of the group".into()),
                    },
                );
            }
            return None;
        };
        let version = version.unwrap_or(
            if vips.first().is_some_and(|v: &VirtualIp| v.addr.is_ipv6()) {
                VrrpVersion::V3
            } else {
                g.vrrp_version
            },
        );
        let advert_int = match advert {
            None => Centiseconds(100),
            Some(t) => match self.advert_int(t, version) {
                Some(a) => a,
                None => Centiseconds(100),
            },
        };
        if vips
            .iter()
            .any(|v| v.addr.is_ipv4() != vips[0].addr.is_ipv4())
        {
            self.error(
                n.loc(),
                ErrorKind::Invalid {
                    message: format!(
                        "{block}: virtual_ipaddress mixes IPv4 and IPv6 (adverts carry one family; \
                         put the other family in virtual_ipaddress_excluded)"
                    ),
                },
            );
        }
        if version == VrrpVersion::V3 && auth.is_some() {
            self.warn(
                n.loc(),
                format!(
                    "{block}: `authentication` does not exist in VRRP version 3 and is ignored"
                ),
            );
            auth = None;
        }
        if vips.is_empty() {
            self.warn(n.loc(), format!("{block} has no virtual_ipaddress"));
        }
        if nopreempt && state == InitialState::Master {
            self.warn(
                n.loc(),
                format!(
                    "{block}: `nopreempt` has no effect with `state MASTER` (use `state BACKUP`)"
                ),
            );
        }
        // Returned even when invalid (the whole config is refused anyway) so
        // that duplicates of it are still reported.
        Some(VrrpInstance {
            use_vmac: use_vmac
                .map(|name: Option<String>| name.unwrap_or_else(|| format!("vrrp.{vrid}"))),
            name,
            initial_state: state,
            interface,
            virtual_router_id: vrid,
            priority,
            advert_int,
            version,
            virtual_ipaddresses: vips,
            virtual_ipaddresses_excluded: vips_ex,
            nopreempt,
            preempt_delay,
            source_ip,
            unicast_peers: peers,
            track_interfaces: tracks,
            authentication: auth,
            notify_master: nm,
            notify_backup: nb,
            notify_fault: nf,
            notify_stop: ns,
            notify: nall,
            garp_master_delay: garp_delay,
            garp_master_repeat: garp_repeat,
            garp_master_refresh: garp_refresh,
            garp_master_refresh_repeat: garp_refresh_repeat,
            accept,
            lvs_sync_daemon_interface: sync_if,
            dont_track_primary,
        })
    }

    fn advert_int(&mut self, t: &Token, version: VrrpVersion) -> Option<Centiseconds> {
        let Some(d) = parse_seconds(t.text(), 255) else {
            self.invalid(
                "advert_int",
                t,
                "seconds, e.g. `1` (or `0.5` with VRRP version 3)",
            );
            return None;
        };
        let micros = d.as_micros();
        match version {
            VrrpVersion::V2 => {
                if micros % 1_000_000 != 0 || d.is_zero() {
                    self.invalid(
                        "advert_int",
                        t,
                        "whole seconds from 1 to 255 with VRRP version 2 (fractions need `version 3`)",
                    );
                    return None;
                }
                u16::try_from(micros / 10_000).ok().map(Centiseconds)
            }
            VrrpVersion::V3 => {
                if micros % 10_000 != 0 || d.is_zero() || micros > 40_950_000 {
                    self.invalid(
                        "advert_int",
                        t,
                        "0.01 to 40.95 seconds in steps of 0.01 with VRRP version 3",
                    );
                    return None;
                }
                u16::try_from(micros / 10_000).ok().map(Centiseconds)
            }
        }
    }

    fn vips(&mut self, n: &Node) -> Vec<VirtualIp> {
        const WITH_VALUE: &[&str] = &[
            "brd",
            "dev",
            "scope",
            "label",
            "peer",
            "preferred_lft",
            "track_group",
        ];
        const FLAGS: &[&str] = &[
            "no_track",
            "home",
            "-nodad",
            "nodad",
            "mngtmpaddr",
            "noprefixroute",
            "autojoin",
            "use_vmac",
        ];
        let mut out = Vec::new();
        for line in items(n) {
            let mut i = 0;
            while i < line.len() {
                let t = &line[i];
                let Some((addr, prefix_len)) = parse_prefix(t.text()) else {
                    self.invalid(n.keyword(), t, "an address such as `172.20.0.83/24`");
                    break;
                };
                let mut vip = VirtualIp {
                    addr,
                    prefix_len,
                    broadcast: None,
                    dev: None,
                    scope: None,
                    label: None,
                    no_track: false,
                };
                i += 1;
                while i < line.len() && parse_prefix(line[i].text()).is_none() {
                    let opt = &line[i];
                    let o = opt.text();
                    if WITH_VALUE.contains(&o) {
                        let Some(v) = line.get(i + 1) else {
                            self.error(
                                &opt.location,
                                ErrorKind::MissingArgument {
                                    keyword: o.to_string(),
                                    expected: "a value".into(),
                                },
                            );
                            break;
                        };
                        match o {
                            "brd" => vip.broadcast = self.ip("brd", v),
                            "dev" => vip.dev = Some(v.text().to_string()),
                            "scope" => {
                                if ["global", "site", "link", "host", "nowhere"].contains(&v.text())
                                {
                                    vip.scope = Some(v.text().to_string())
                                } else {
                                    self.invalid("scope", v, "global, site, link, host or nowhere")
                                }
                            }
                            "label" => vip.label = Some(v.text().to_string()),
                            _ => self.warn(&opt.location, format!("`{o}` is ignored by director")),
                        }
                        i += 2;
                    } else if FLAGS.contains(&o) {
                        if o == "no_track" {
                            vip.no_track = true;
                        } else {
                            self.warn(&opt.location, format!("`{o}` is ignored by director"));
                        }
                        i += 1;
                    } else {
                        let s = suggest(o, WITH_VALUE.iter().chain(FLAGS).copied())
                            .map(|s| format!(" (did you mean `{s}`?)"))
                            .unwrap_or_default();
                        self.invalid(
                            n.keyword(),
                            opt,
                            &format!("an address option such as dev, label, brd, scope{s}"),
                        );
                        i += 1;
                    }
                }
                out.push(vip);
            }
        }
        out
    }

    fn unicast_peers(&mut self, n: &Node) -> Vec<IpAddr> {
        let mut out = Vec::new();
        for line in items(n) {
            let mut i = 0;
            while i < line.len() {
                let t = &line[i];
                match t.text() {
                    "min_ttl" | "max_ttl" => {
                        self.warn(
                            &t.location,
                            format!("`{}` is ignored by director", t.text()),
                        );
                        i += 2;
                    }
                    _ => {
                        if let Some(a) = self.ip("unicast_peer", t) {
                            out.push(a);
                        }
                        i += 1;
                    }
                }
            }
        }
        out
    }

    fn track_interfaces(&mut self, n: &Node) -> Vec<TrackInterface> {
        let mut out: Vec<TrackInterface> = Vec::new();
        for line in items(n) {
            let mut i = 0;
            while i < line.len() {
                let t = &line[i];
                match t.text() {
                    "weight" => {
                        let Some(last) = out.last_mut() else {
                            self.invalid("track_interface", t, "an interface name before `weight`");
                            break;
                        };
                        match line.get(i + 1).and_then(|v| parse_int(v.text(), -253, 253)) {
                            Some(w) => last.weight = i16::try_from(w).unwrap_or(0),
                            None => {
                                let bad = line.get(i + 1).unwrap_or(t);
                                self.invalid(
                                    "track_interface weight",
                                    bad,
                                    "an integer from -253 to 253",
                                );
                            }
                        }
                        i += 2;
                    }
                    "reverse" | "noreverse" => {
                        if let Some(last) = out.last_mut() {
                            last.reverse = t.text() == "reverse";
                        }
                        i += 1;
                    }
                    name => {
                        out.push(TrackInterface {
                            interface: name.to_string(),
                            weight: 0,
                            reverse: false,
                        });
                        i += 1;
                    }
                }
            }
        }
        out
    }

    fn authentication(&mut self, n: &Node) -> Option<Authentication> {
        let mut kind: Option<&Token> = None;
        let mut pass = None;
        for c in nodes(n) {
            match c.keyword() {
                "auth_type" => kind = c.args.first(),
                "auth_pass" => pass = Self::string(c),
                _ => {}
            }
        }
        let pass = pass.unwrap_or_default();
        match kind.map(|t| (t, t.text().to_ascii_uppercase())) {
            None => {
                self.error(
                    n.loc(),
                    ErrorKind::MissingRequired {
                        block: "authentication".into(),
                        keyword: "auth_type".into(),
                        detail: Some("PASS or AH".into()),
                    },
                );
                None
            }
            Some((_, k)) if k == "PASS" => {
                if pass.len() > 8 {
                    self.warn(
                        n.loc(),
                        "auth_pass is longer than 8 characters; only the first 8 are used",
                    );
                }
                Some(Authentication::Pass(pass))
            }
            Some((_, k)) if k == "AH" => Some(Authentication::Ah(pass)),
            Some((t, _)) => {
                self.invalid("auth_type", t, "PASS or AH");
                None
            }
        }
    }

    fn sync_group(&mut self, n: &Node) -> Option<VrrpSyncGroup> {
        let name = n.args.first()?.text().to_string();
        let mut g = VrrpSyncGroup {
            name,
            instances: Vec::new(),
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify: None,
        };
        for c in nodes(n) {
            match c.keyword() {
                "group" => g
                    .instances
                    .extend(items(c).iter().flatten().map(|t| t.text().to_string())),
                "notify_master" => g.notify_master = self.script(c),
                "notify_backup" => g.notify_backup = self.script(c),
                "notify_fault" => g.notify_fault = self.script(c),
                "notify" => g.notify = self.script(c),
                _ => self.ignored(c),
            }
        }
        Some(g)
    }

    // ---- virtual servers ----

    fn virtual_server(&mut self, n: &Node) -> Option<VirtualServer> {
        let first = n.args.first()?;
        let addr = match first.text() {
            "fwmark" => {
                let Some(t) = n.args.get(1) else {
                    self.error(
                        n.loc(),
                        ErrorKind::MissingArgument {
                            keyword: "virtual_server fwmark".into(),
                            expected: "a mark number".into(),
                        },
                    );
                    return None;
                };
                let m =
                    parse_int(t.text(), 1, i64::from(u32::MAX)).and_then(|v| u32::try_from(v).ok());
                if m.is_none() {
                    self.invalid("virtual_server fwmark", t, "a mark from 1 to 4294967295");
                }
                VirtualServerAddr::Fwmark(m?)
            }
            "group" => {
                self.error(
                    &first.location,
                    ErrorKind::Unsupported {
                        keyword: "virtual_server group".into(),
                    },
                );
                return None;
            }
            _ => {
                let ip = self.ip("virtual_server", first);
                let port = match n.args.get(1) {
                    Some(t) => self.port("virtual_server", t),
                    None => Some(0),
                };
                VirtualServerAddr::Socket(SocketAddr::new(ip?, port?))
            }
        };
        let mut vs = VirtualServer {
            addr,
            protocol: Protocol::Udp,
            delay_loop: Duration::from_secs(60),
            scheduler: Scheduler::Wlc,
            scheduler_flags: SchedulerFlags::default(),
            forwarding: ForwardingMethod::Nat,
            persistence_timeout: None,
            persistence_granularity: None,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            sorry_server: None,
            sorry_server_inhibit: false,
            sorry_server_forwarding: ForwardingMethod::Nat,
            alpha: false,
            omega: false,
            ha_suspend: false,
            virtualhost: None,
            real_servers: Vec::new(),
        };
        let mut timers = Timers::default();
        let mut inhibit = false;
        let mut protocol_set = false;
        let mut sorry_fwd = None;
        let mut sorry_port: Option<(&Token, Option<&Token>)> = None;
        for c in nodes(n) {
            if self.timers_kw(c, &mut timers) {
                continue;
            }
            match c.keyword() {
                "lb_algo" | "lvs_sched" => {
                    if let Some(t) = c.args.first() {
                        match Scheduler::ALL
                            .iter()
                            .find(|(_, n)| n.eq_ignore_ascii_case(t.text()))
                        {
                            Some((s, _)) => vs.scheduler = *s,
                            None => {
                                let s = suggest(t.text(), Scheduler::ALL.iter().map(|(_, n)| *n))
                                    .map(|s| format!(" (did you mean `{s}`?)"))
                                    .unwrap_or_default();
                                let names: Vec<&str> =
                                    Scheduler::ALL.iter().map(|(_, n)| *n).collect();
                                self.invalid(
                                    c.keyword(),
                                    t,
                                    &format!("one of {}{s}", names.join(", ")),
                                );
                            }
                        }
                    }
                }
                "lb_kind" | "lvs_method" => {
                    vs.forwarding = self.forwarding(c).unwrap_or(vs.forwarding)
                }
                "protocol" => {
                    protocol_set = true;
                    if let Some(t) = c.args.first() {
                        match t.text().to_ascii_uppercase().as_str() {
                            "TCP" => vs.protocol = Protocol::Tcp,
                            "UDP" => vs.protocol = Protocol::Udp,
                            "SCTP" => vs.protocol = Protocol::Sctp,
                            _ => self.invalid("protocol", t, "TCP, UDP or SCTP"),
                        }
                    }
                }
                "persistence_timeout" => {
                    vs.persistence_timeout = if c.args.is_empty() {
                        Some(Duration::from_secs(360))
                    } else {
                        self.int(c, 1, 31 * 86_400)
                            .and_then(|v| u64::try_from(v).ok())
                            .map(Duration::from_secs)
                    }
                }
                "persistence_granularity" => {
                    if let Some(t) = c.args.first() {
                        vs.persistence_granularity = self.ip(c.keyword(), t);
                    }
                }
                "quorum" => vs.quorum = self.u32v(c).unwrap_or(vs.quorum),
                "hysteresis" => vs.hysteresis = self.u32v(c).unwrap_or(vs.hysteresis),
                "quorum_up" => vs.quorum_up = self.script(c),
                "quorum_down" => vs.quorum_down = self.script(c),
                "sorry_server" => {
                    if let Some(t) = c.args.first() {
                        sorry_port = Some((t, c.args.get(1)));
                    }
                }
                "sorry_server_inhibit" => vs.sorry_server_inhibit = self.flag(c).unwrap_or(true),
                "sorry_server_lvs_method" => sorry_fwd = self.forwarding(c),
                "inhibit_on_failure" => inhibit = self.flag(c).unwrap_or(inhibit),
                "omega" => vs.omega = self.flag(c).unwrap_or(vs.omega),
                "ha_suspend" => vs.ha_suspend = true,
                "virtualhost" => vs.virtualhost = Self::string(c),
                "ops" => vs.scheduler_flags.ops = true,
                "flag-1" => vs.scheduler_flags.flag_1 = true,
                "flag-2" => vs.scheduler_flags.flag_2 = true,
                "flag-3" => vs.scheduler_flags.flag_3 = true,
                "sh-port" => vs.scheduler_flags.sh_port = true,
                "sh-fallback" => vs.scheduler_flags.sh_fallback = true,
                "mh-port" => vs.scheduler_flags.mh_port = true,
                "mh-fallback" => vs.scheduler_flags.mh_fallback = true,
                "real_server" => {}
                _ => self.ignored(c),
            }
        }
        let vs_port = match vs.addr {
            VirtualServerAddr::Socket(s) => s.port(),
            VirtualServerAddr::Fwmark(_) => 0,
        };
        let by_address = matches!(vs.addr, VirtualServerAddr::Socket(_));
        // keepalived's own corrections, kept for compatibility but said out loud.
        if by_address && !protocol_set {
            self.warn(
                n.loc(),
                format!(
                    "virtual_server {} has no `protocol`: keepalived then uses UDP (not TCP), \
                     and so does director; write `protocol TCP` or `protocol UDP`",
                    vs.key()
                ),
            );
        }
        if by_address && vs_port == 0 && vs.persistence_timeout.is_none() {
            self.warn(
                n.loc(),
                "port 0 is only valid for a persistent service: persistence_timeout 360 is set, \
                 as keepalived does",
            );
            vs.persistence_timeout = Some(Duration::from_secs(360));
        }
        if by_address && vs.scheduler_flags.ops && vs.protocol != Protocol::Udp {
            self.warn(
                n.loc(),
                "`ops` (one-packet scheduling) needs UDP: cleared, as keepalived does",
            );
            vs.scheduler_flags.ops = false;
        }
        if !by_address && vs.ha_suspend {
            self.warn(
                n.loc(),
                "`ha_suspend` cannot be used with fwmark: cleared, as keepalived does",
            );
            vs.ha_suspend = false;
        }
        vs.sorry_server_forwarding = sorry_fwd.unwrap_or(vs.forwarding);
        if let Some((ip_tok, port_tok)) = sorry_port {
            let ip = self.ip("sorry_server", ip_tok);
            let given = match port_tok {
                Some(p) => self.port("sorry_server", p).map(Some),
                None => Some(None),
            };
            if let (Some(ip), Some(given)) = (ip, given) {
                let port = self.resolve_port(
                    given,
                    vs.sorry_server_forwarding,
                    vs.addr,
                    &ip_tok.location,
                    "sorry_server",
                );
                vs.sorry_server = Some(SocketAddr::new(ip, port));
            }
        }
        vs.delay_loop = timers.delay_loop.unwrap_or(vs.delay_loop);
        vs.alpha = timers.alpha.unwrap_or(false);
        timers.delay_loop = Some(vs.delay_loop);
        timers.alpha = Some(vs.alpha);
        let mut rs_locs: Vec<Location> = Vec::new();
        for c in nodes(n).iter().filter(|c| c.keyword() == "real_server") {
            if let Some(rs) = self.real_server(c, &vs, vs_port, &timers, inhibit) {
                if let Some(i) = vs.real_servers.iter().position(|o| o.addr == rs.addr) {
                    self.errors.push(
                        ConfigError::new(
                            c.loc(),
                            ErrorKind::Duplicate {
                                what: format!(
                                    "real_server {} in virtual_server {}",
                                    rs.addr,
                                    vs.key()
                                ),
                            },
                        )
                        .note(Some(&rs_locs[i]), "first defined here"),
                    );
                } else {
                    vs.real_servers.push(rs);
                    rs_locs.push(c.loc().clone());
                }
            }
        }
        if vs.real_servers.is_empty() {
            self.warn(
                n.loc(),
                format!(
                    "virtual_server {} has no real_server: ignored, as keepalived does",
                    vs.key()
                ),
            );
            return None;
        }
        let weight_sum: u64 = vs
            .real_servers
            .iter()
            .map(|r| u64::try_from(r.weight).unwrap_or(0))
            .sum();
        if u64::from(vs.quorum) > weight_sum {
            self.warn(
                n.loc(),
                format!(
                    "quorum {} exceeds the total weight {weight_sum} of the real servers: \
                     lowered to {weight_sum}, as keepalived does",
                    vs.quorum
                ),
            );
            vs.quorum = u32::try_from(weight_sum).unwrap_or(u32::MAX);
        }
        if vs.hysteresis >= vs.quorum && vs.hysteresis > 0 {
            let h = vs.quorum.saturating_sub(1);
            self.warn(
                n.loc(),
                format!(
                    "hysteresis {} >= quorum {}: lowered to {h}, as keepalived does",
                    vs.hysteresis, vs.quorum
                ),
            );
            vs.hysteresis = h;
        }
        // Returned even when invalid (the whole config is refused anyway) so
        // that duplicates of it are still reported.
        Some(vs)
    }

    fn real_server(
        &mut self,
        n: &Node,
        vs: &VirtualServer,
        vs_port: u16,
        vs_timers: &Timers,
        vs_inhibit: bool,
    ) -> Option<RealServer> {
        let ip = self.ip("real_server", n.args.first()?);
        let given = match n.args.get(1) {
            Some(t) => self.port("real_server", t).map(Some),
            None => Some(None),
        };
        let (ip, given) = (ip?, given?);
        if let VirtualServerAddr::Socket(s) = vs.addr
            && s.is_ipv4() != ip.is_ipv4()
            && vs.forwarding != ForwardingMethod::Tun
        {
            self.invalid(
                "real_server",
                &n.args[0],
                "an address of the virtual server's family (mixing IPv4 and IPv6 needs TUN)",
            );
        }
        let mut rs = RealServer {
            addr: SocketAddr::new(ip, vs_port),
            weight: 1,
            forwarding: vs.forwarding,
            inhibit_on_failure: vs_inhibit,
            notify_up: None,
            notify_down: None,
            upper_threshold: None,
            lower_threshold: None,
            alpha: vs.alpha,
            checks: Vec::new(),
        };
        let mut timers = Timers::default();
        for c in nodes(n) {
            if self.timers_kw(c, &mut timers) {
                continue;
            }
            match c.keyword() {
                "weight" => {
                    rs.weight = self
                        .int(c, 0, 65535)
                        .and_then(|v| i32::try_from(v).ok())
                        .unwrap_or(rs.weight)
                }
                "inhibit_on_failure" => {
                    rs.inhibit_on_failure = self.flag(c).unwrap_or(rs.inhibit_on_failure)
                }
                "notify_up" => rs.notify_up = self.script(c),
                "notify_down" => rs.notify_down = self.script(c),
                "lvs_method" => rs.forwarding = self.forwarding(c).unwrap_or(rs.forwarding),
                "uthreshold" => rs.upper_threshold = self.u32v(c),
                "lthreshold" => rs.lower_threshold = self.u32v(c),
                "TCP_CHECK" | "UDP_CHECK" | "DNS_CHECK" | "HTTP_GET" | "MISC_CHECK" => {}
                _ => self.ignored(c),
            }
        }
        let port = self.resolve_port(given, rs.forwarding, vs.addr, n.loc(), "real_server");
        rs.addr.set_port(port);
        let timers = timers.over(vs_timers);
        rs.alpha = timers.alpha.unwrap_or(rs.alpha);
        for c in nodes(n) {
            if let Some(check) = self.check(c, &timers, vs) {
                rs.checks.push(check);
            }
        }
        Some(rs)
    }

    /// The port a real (or sorry) server is programmed with, as keepalived
    /// decides it: omitted means the virtual server's; DR and TUN cannot
    /// change the destination port, so a different one is replaced (with a
    /// warning), and fwmark services use port 0.
    fn resolve_port(
        &mut self,
        given: Option<u16>,
        fwd: ForwardingMethod,
        vs_addr: VirtualServerAddr,
        loc: &Location,
        what: &str,
    ) -> u16 {
        let given = given.filter(|p| *p != 0);
        match (vs_addr, fwd) {
            (VirtualServerAddr::Socket(s), ForwardingMethod::Nat) => given.unwrap_or(s.port()),
            (VirtualServerAddr::Fwmark(_), ForwardingMethod::Nat) => given.unwrap_or(0),
            (VirtualServerAddr::Fwmark(_), _) => {
                if let Some(p) = given {
                    self.warn(
                        loc,
                        format!(
                            "{what} port {p} is ignored: a fwmark service with DR/TUN forwards \
                             to port 0, as keepalived does"
                        ),
                    );
                }
                0
            }
            (VirtualServerAddr::Socket(s), _) => match given {
                Some(p) if p != s.port() => {
                    self.warn(
                        loc,
                        format!(
                            "{what} port {p} differs from the virtual server's port {}: DR/TUN \
                             cannot change the destination port, so {} is used, as keepalived does",
                            s.port(),
                            s.port()
                        ),
                    );
                    s.port()
                }
                _ => s.port(),
            },
        }
    }

    fn check(&mut self, n: &Node, parent: &Timers, vs: &VirtualServer) -> Option<Check> {
        let kw = n.keyword();
        if !matches!(
            kw,
            "TCP_CHECK" | "UDP_CHECK" | "DNS_CHECK" | "HTTP_GET" | "MISC_CHECK"
        ) {
            return None;
        }
        let mut t = Timers::default();
        let mut common = CheckCommon {
            connect_ip: None,
            connect_port: None,
            bind_to: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            connect_timeout: Duration::ZERO,
            retry: 0,
            delay_before_retry: Duration::ZERO,
            warmup: Duration::ZERO,
            delay_loop: Duration::ZERO,
            alpha: false,
            log_all_failures: false,
        };
        let mut udp = UdpCheck {
            payload: None,
            require_reply: None,
            min_reply_length: 0,
            max_reply_length: 255,
        };
        let mut half_open = false;
        let mut dns_type: Option<DnsQueryType> = None;
        let mut dns_name: Option<String> = None;
        let mut http = HttpCheck {
            urls: Vec::new(),
            http_protocol: "1.0".into(),
            virtualhost: None,
            fast_recovery: false,
        };
        let mut misc = MiscCheck {
            argv: Vec::new(),
            timeout: None,
            dynamic: false,
            user: None,
        };
        for c in nodes(n) {
            if self.timers_kw(c, &mut t) {
                continue;
            }
            let first = c.args.first();
            match c.keyword() {
                "connect_ip" => common.connect_ip = first.and_then(|a| self.ip("connect_ip", a)),
                "connect_port" => {
                    common.connect_port = first.and_then(|a| self.port("connect_port", a))
                }
                "bindto" => common.bind_to = first.and_then(|a| self.ip("bindto", a)),
                "bind_port" => common.bind_port = first.and_then(|a| self.port("bind_port", a)),
                "bind_if" => common.bind_if = Self::string(c),
                "fwmark" => common.fwmark = self.u32v(c),
                "log_all_failures" => common.log_all_failures = self.flag(c).unwrap_or(false),
                "payload" => {
                    udp.payload = match parse_hex_nibbles(c.args.iter().map(|a| a.text()), false) {
                        Some(nib) => Some(
                            nib.chunks(2)
                                .map(|p| (p[0].unwrap_or(0) << 4) | p[1].unwrap_or(0))
                                .collect(),
                        ),
                        None => {
                            self.invalid("payload", &c.args[0], "hexadecimal digits");
                            None
                        }
                    }
                }
                "require_reply" => {
                    udp.require_reply =
                        match parse_hex_nibbles(c.args.iter().map(|a| a.text()), true) {
                            Some(nib) => Some(nib),
                            None => {
                                self.invalid(
                                    "require_reply",
                                    &c.args[0],
                                    "hexadecimal digits or X",
                                );
                                None
                            }
                        }
                }
                "min_reply_length" => udp.min_reply_length = self.u32v(c).unwrap_or(0),
                "max_reply_length" => udp.max_reply_length = self.u32v(c).unwrap_or(255),
                "type" => {
                    if let Some(a) = first {
                        dns_type = match a.text().to_ascii_uppercase().as_str() {
                            "A" => Some(DnsQueryType::A),
                            "NS" => Some(DnsQueryType::Ns),
                            "CNAME" => Some(DnsQueryType::Cname),
                            "SOA" => Some(DnsQueryType::Soa),
                            "MX" => Some(DnsQueryType::Mx),
                            "TXT" => Some(DnsQueryType::Txt),
                            "AAAA" => Some(DnsQueryType::Aaaa),
                            _ => {
                                self.invalid("type", a, "A, NS, CNAME, SOA, MX, TXT or AAAA");
                                None
                            }
                        }
                    }
                }
                "name" => dns_name = Self::string(c),
                "url" => {
                    if let Some(u) = self.url(c) {
                        http.urls.push(u)
                    }
                }
                "http_protocol" => {
                    if let Some(a) = first {
                        if ["1.0", "1.0C", "1.0c", "1.1"].contains(&a.text()) {
                            http.http_protocol = a.text().to_ascii_uppercase();
                        } else {
                            self.invalid("http_protocol", a, "1.0, 1.0C or 1.1");
                        }
                    }
                }
                "fast_recovery" => http.fast_recovery = self.flag(c).unwrap_or(false),
                "virtualhost" => http.virtualhost = Self::string(c),
                "misc_path" => {
                    misc.argv = match first.map(|a| &a.kind) {
                        Some(TokenKind::Quoted(s)) if c.args.len() == 1 => match split_words(s) {
                            Ok(w) => w,
                            Err(why) => {
                                self.invalid(
                                    "misc_path",
                                    &c.args[0],
                                    &format!("a command line ({why})"),
                                );
                                Vec::new()
                            }
                        },
                        _ => c.args.iter().map(|a| a.text().to_string()).collect(),
                    }
                }
                "misc_timeout" => misc.timeout = self.secs(c),
                "misc_dynamic" => misc.dynamic = true,
                "lvs_half_open" => half_open = true,
                "user" => {
                    misc.user = Self::string(c).map(|user| ScriptUser {
                        user,
                        group: c.args.get(1).map(|a| a.text().to_string()),
                    })
                }
                _ => self.ignored(c),
            }
        }
        let t = t.over(parent);
        common.delay_loop = t.delay_loop.unwrap_or(vs.delay_loop);
        common.connect_timeout = t.connect_timeout.unwrap_or(Duration::from_secs(5));
        common.retry = t.retry.unwrap_or(match kw {
            "DNS_CHECK" => 3,
            "MISC_CHECK" => 0,
            _ => 1,
        });
        common.delay_before_retry = t.delay_before_retry.unwrap_or(match kw {
            "DNS_CHECK" => common.delay_loop,
            "HTTP_GET" => Duration::from_secs(3),
            _ => Duration::from_secs(1),
        });
        common.warmup = t.warmup.unwrap_or(common.delay_loop);
        common.alpha = t.alpha.unwrap_or(false);
        let kind = match kw {
            "TCP_CHECK" if half_open => CheckKind::TcpHalfOpen,
            "TCP_CHECK" => CheckKind::Tcp,
            "UDP_CHECK" => {
                // Without require_reply, silence counts as success: only an ICMP
                // error fails the check, and for a host that is down that error
                // comes from ARP giving up (about 3 s on Linux).
                if udp.require_reply.is_none() && common.connect_timeout < Duration::from_secs(4) {
                    self.warn(
                        n.loc(),
                        format!(
                            "UDP_CHECK without `require_reply` counts silence as success, so a real \
                             server whose host is down is only noticed when ARP fails (about 3 s); \
                             with connect_timeout {:?} it may stay in the pool (keepalived's manual \
                             advises at least 4 s, or use `require_reply` or DNS_CHECK)",
                            common.connect_timeout
                        ),
                    );
                }
                CheckKind::Udp(udp)
            }
            "DNS_CHECK" => {
                match (dns_type, &dns_name) {
                    (None, None) => self.warn(
                        n.loc(),
                        "DNS_CHECK without `type` and `name` queries `.` SOA, as keepalived does; \
                         forwarders such as dnsmasq refuse that query, which marks every server down \
                         and empties the pool (set e.g. `type A` and `name` to a name the server answers)",
                    ),
                    (None, Some(_)) => self.warn(
                        n.loc(),
                        "DNS_CHECK without `type` sends an SOA query, which forwarders such as dnsmasq \
                         may refuse (set e.g. `type A`)",
                    ),
                    (Some(_), None) => self.warn(
                        n.loc(),
                        "DNS_CHECK without `name` queries the root `.`, which forwarders such as dnsmasq \
                         may refuse (set `name` to a name the server answers)",
                    ),
                    _ => {}
                }
                CheckKind::Dns(DnsCheck {
                    query_type: dns_type.unwrap_or(DnsQueryType::Soa),
                    name: dns_name.unwrap_or_else(|| ".".into()),
                })
            }
            "HTTP_GET" => {
                if http.urls.is_empty() {
                    self.error(
                        n.loc(),
                        ErrorKind::MissingRequired {
                            block: "HTTP_GET".into(),
                            keyword: "url".into(),
                            detail: Some("e.g. `url { path / status_code 200 }`".into()),
                        },
                    );
                    return None;
                }
                if http.virtualhost.is_none() {
                    http.virtualhost = vs.virtualhost.clone();
                }
                CheckKind::Http(http)
            }
            _ => {
                if misc.argv.is_empty() {
                    self.error(
                        n.loc(),
                        ErrorKind::MissingRequired {
                            block: "MISC_CHECK".into(),
                            keyword: "misc_path".into(),
                            detail: None,
                        },
                    );
                    return None;
                }
                CheckKind::Misc(misc)
            }
        };
        Some(Check { common, kind })
    }

    fn url(&mut self, n: &Node) -> Option<HttpUrl> {
        let mut u = HttpUrl {
            path: String::new(),
            digest: None,
            status_codes: Vec::new(),
            virtualhost: None,
        };
        let mut has_path = false;
        for c in nodes(n) {
            match c.keyword() {
                "path" => {
                    has_path = true;
                    u.path = Self::string(c).unwrap_or_default();
                }
                "digest" => {
                    if let Some(t) = c.args.first() {
                        if t.text().len() == 32 && t.text().bytes().all(|b| b.is_ascii_hexdigit()) {
                            u.digest = Some(t.text().to_ascii_lowercase());
                        } else {
                            self.invalid(
                                "digest",
                                t,
                                "32 hexadecimal digits (an MD5 from genhash)",
                            );
                        }
                    }
                }
                "status_code" => {
                    for t in &c.args {
                        let range = match t.text().split_once('-') {
                            Some((a, b)) => parse_int(a, 100, 599).zip(parse_int(b, 100, 599)),
                            None => parse_int(t.text(), 100, 599).map(|v| (v, v)),
                        };
                        match range.and_then(|(a, b)| {
                            Some((u16::try_from(a).ok()?, u16::try_from(b).ok()?))
                        }) {
                            Some((a, b)) if a <= b => u.status_codes.push((a, b)),
                            _ => self.invalid(
                                "status_code",
                                t,
                                "a code or range from 100 to 599, e.g. `200-299`",
                            ),
                        }
                    }
                }
                "virtualhost" => u.virtualhost = Self::string(c),
                _ => {}
            }
        }
        if !has_path {
            self.error(
                n.loc(),
                ErrorKind::MissingRequired {
                    block: "url".into(),
                    keyword: "path".into(),
                    detail: None,
                },
            );
            return None;
        }
        if u.status_codes.is_empty() && u.digest.is_none() {
            u.status_codes.push((200, 299));
        }
        Some(u)
    }
}

fn family(v: &VrrpInstance) -> bool {
    v.virtual_ipaddresses
        .first()
        .is_none_or(|a| a.addr.is_ipv4())
}
