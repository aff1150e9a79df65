//! `virtual_server` and its `real_server`s, with keepalived's port and quorum corrections.

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::{ConfigError, ErrorKind, Location};
use crate::lexer::Token;
use crate::model::*;
use crate::parser::Node;
use crate::suggest::suggest;
use crate::values::*;

use lvs_ipvs::{ForwardMethod, Protocol, Scheduler};

use super::{Builder, Timers, nodes};

impl Builder<'_> {
    // ---- virtual servers ----

    pub(super) fn virtual_server(&mut self, n: &Node) -> Option<VirtualServer> {
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
                self.value_form("", "virtual_server group", &first.location);
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
            scheduler: Scheduler::WeightedLeastConnection,
            scheduler_flags: SchedulerFlags::default(),
            forwarding: ForwardMethod::Masquerade,
            persistence_timeout: None,
            persistence_granularity: None,
            quorum: 1,
            sorry_server: None,
            sorry_server_forwarding: ForwardMethod::Masquerade,
            alpha: false,
            virtualhost: None,
            ip_family: None,
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
                        let names = scheduler_names();
                        match names.iter().find(|n| n.eq_ignore_ascii_case(t.text())) {
                            Some(name) => vs.scheduler = Scheduler::from(*name),
                            None => {
                                let s = suggest(t.text(), names.iter().copied())
                                    .map(|s| format!(" (did you mean `{s}`?)"))
                                    .unwrap_or_default();
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
                "sorry_server" => {
                    if let Some(t) = c.args.first() {
                        sorry_port = Some((t, c.args.get(1)));
                    }
                }
                "sorry_server_lvs_method" => sorry_fwd = self.forwarding(c),
                "inhibit_on_failure" => inhibit = self.flag(c).unwrap_or(inhibit),
                "virtualhost" => vs.virtualhost = Self::string(c),
                "ip_family" => {
                    if let Some(t) = c.args.first() {
                        match (t.text(), vs.addr) {
                            ("inet", VirtualServerAddr::Socket(a)) if a.is_ipv6() => {
                                self.invalid("ip_family", t, "inet6, the family of the address")
                            }
                            ("inet6", VirtualServerAddr::Socket(a)) if a.is_ipv4() => {
                                self.invalid("ip_family", t, "inet, the family of the address")
                            }
                            ("inet", _) => vs.ip_family = Some(lvs_ipvs::Family::Inet),
                            ("inet6", _) => vs.ip_family = Some(lvs_ipvs::Family::Inet6),
                            _ => self.invalid("ip_family", t, "inet or inet6"),
                        }
                    }
                }
                "ops" => vs.scheduler_flags.ops = true,
                "flag-1" => vs.scheduler_flags.flag_1 = true,
                "flag-2" => vs.scheduler_flags.flag_2 = true,
                "flag-3" => vs.scheduler_flags.flag_3 = true,
                "sh-port" => vs.scheduler_flags.sh_port = true,
                "sh-fallback" => vs.scheduler_flags.sh_fallback = true,
                "mh-port" => vs.scheduler_flags.mh_port = true,
                "mh-fallback" => vs.scheduler_flags.mh_fallback = true,
                "real_server" => {}
                _ => self.unhandled(c),
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
        // Returned even when invalid (the whole config is refused anyway) so
        // that duplicates of it are still reported.
        Some(vs)
    }

    pub(super) fn real_server(
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
            && !matches!(vs.forwarding, ForwardMethod::Tunnel { .. })
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
        let mut virtualhost = None;
        for c in nodes(n) {
            if self.timers_kw(c, &mut timers) {
                continue;
            }
            match c.keyword() {
                "virtualhost" => virtualhost = Self::string(c),
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
                "TCP_CHECK" | "UDP_CHECK" | "DNS_CHECK" | "HTTP_GET" | "SSL_GET" | "SMTP_CHECK"
                | "PING_CHECK" | "MISC_CHECK" => {}
                _ => self.unhandled(c),
            }
        }
        let port = self.resolve_port(given, rs.forwarding, vs.addr, n.loc(), "real_server");
        rs.addr.set_port(port);
        let timers = timers.over(vs_timers);
        rs.alpha = timers.alpha.unwrap_or(rs.alpha);
        for c in nodes(n) {
            let host = virtualhost.as_ref().or(vs.virtualhost.as_ref());
            if let Some(check) = self.check(c, &timers, vs, host) {
                rs.checks.push(check);
            }
        }
        Some(rs)
    }

    /// The port a real (or sorry) server is programmed with, as keepalived
    /// decides it: omitted means the virtual server's; DR and TUN cannot
    /// change the destination port, so a different one is replaced (with a
    /// warning), and fwmark services use port 0.
    pub(super) fn resolve_port(
        &mut self,
        given: Option<u16>,
        fwd: ForwardMethod,
        vs_addr: VirtualServerAddr,
        loc: &Location,
        what: &str,
    ) -> u16 {
        let given = given.filter(|p| *p != 0);
        match (vs_addr, fwd) {
            (VirtualServerAddr::Socket(s), ForwardMethod::Masquerade) => given.unwrap_or(s.port()),
            (VirtualServerAddr::Fwmark(_), ForwardMethod::Masquerade) => given.unwrap_or(0),
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
}

/// The schedulers `lb_algo` accepts: the kernel's, and `twos` (weighted random
/// twos choice, Linux 6.x), which lvs-ipvs names `Scheduler::Other("twos")`.
fn scheduler_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Scheduler::ALL.iter().map(Scheduler::name).collect();
    names.push("twos");
    names
}
