//! `virtual_server` and its `real_server`s, with keepalived's port and quorum
//! corrections; `virtual_server_group` and `virtual_server group NAME`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::error::{ConfigError, ErrorKind, Location};
use crate::lexer::Token;
use crate::model::*;
use crate::parser::Node;
use crate::suggest::suggest;
use crate::values::*;

use lvs_ipvs::{ForwardMethod, Protocol, Scheduler};

use super::{Builder, Timers, items, nodes};

/// Most services one `virtual_server_group` line may stand for: a typo such
/// as `10.0.0.1-10.0.255.1` must not make a million IPVS services.
const MAX_RANGE: u128 = 65_536;

impl Builder<'_> {
    // ---- virtual servers ----

    pub(super) fn virtual_server(
        &mut self,
        n: &Node,
        groups: &[VirtualServerGroup],
    ) -> Option<VirtualServer> {
        let first = n.args.first()?;
        let mut group: Option<&VirtualServerGroup> = None;
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
                if !self.value_form("", "virtual_server group", &first.location) {
                    return None;
                }
                let Some(t) = n.args.get(1) else {
                    self.error(
                        n.loc(),
                        ErrorKind::MissingArgument {
                            keyword: "virtual_server group".into(),
                            expected: "the name of a virtual_server_group".into(),
                        },
                    );
                    return None;
                };
                let Some(g) = groups.iter().find(|g| g.name == t.text()) else {
                    let hint = suggest(t.text(), groups.iter().map(|g| g.name.as_str()))
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    self.error(
                        &t.location,
                        ErrorKind::Invalid {
                            message: format!(
                                "virtual_server group `{}`: no virtual_server_group of that name \
                                 is defined{hint}",
                                t.text()
                            ),
                        },
                    );
                    return None;
                };
                group = Some(g);
                // The group's first member stands for it where one address is needed.
                g.members().next()?.addr()
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
            group: group.map(|g| g.name.clone()),
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
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            omega: false,
            ha_suspend: false,
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
                "hysteresis" => vs.hysteresis = self.u32v(c).unwrap_or(vs.hysteresis),
                "quorum_up" => vs.quorum_up = self.script(c),
                "quorum_down" => vs.quorum_down = self.script(c),
                "omega" => vs.omega = true,
                "ha_suspend" => {
                    if matches!(vs.addr, VirtualServerAddr::Fwmark(_)) {
                        self.warn(
                            c.loc(),
                            "`ha_suspend` has no effect on a fwmark virtual server \
                             (it has no address to wait for); cleared, as keepalived does",
                        );
                    } else {
                        vs.ha_suspend = true;
                    }
                }
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
        // A group's members have ports of their own: its real servers keep
        // the port they are given (0, the packet's port, when omitted).
        let vs_port = match (group, vs.addr) {
            (Some(_), _) | (None, VirtualServerAddr::Fwmark(_)) => 0,
            (None, VirtualServerAddr::Socket(s)) => s.port(),
        };
        let by_address = match group {
            Some(g) => g
                .entries
                .iter()
                .any(|e| matches!(e, GroupEntry::Addresses { .. })),
            None => matches!(vs.addr, VirtualServerAddr::Socket(_)),
        };
        let any_port = match group {
            Some(g) => g
                .entries
                .iter()
                .any(|e| matches!(e, GroupEntry::Addresses { port: 0, .. })),
            None => by_address && vs_port == 0,
        };
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
        if any_port && vs.persistence_timeout.is_none() {
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
                    &vs,
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
        if let Some(g) = group {
            self.group_families(g, &vs, n);
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
            file_checks: Vec::new(),
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
                "FILE_CHECK" => rs.file_checks.extend(self.file_check(c)),
                _ => self.unhandled(c),
            }
        }
        let port = self.resolve_port(given, rs.forwarding, vs, n.loc(), "real_server");
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
    /// warning), and fwmark services use port 0. A group's members differ
    /// in port, so its servers keep the port given (0 when omitted).
    pub(super) fn resolve_port(
        &mut self,
        given: Option<u16>,
        fwd: ForwardMethod,
        vs: &VirtualServer,
        loc: &Location,
        what: &str,
    ) -> u16 {
        let given = given.filter(|p| *p != 0);
        if vs.group.is_some() {
            return given.unwrap_or(0);
        }
        match (vs.addr, fwd) {
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

impl Builder<'_> {
    // ---- virtual server groups ----

    /// `virtual_server_group NAME { IP [PORT] | RANGE [PORT] | fwmark N [inet|inet6] ... }`.
    pub(super) fn virtual_server_group(&mut self, n: &Node) -> Option<VirtualServerGroup> {
        let name = n.args.first()?.text().to_string();
        let mut entries: Vec<(GroupEntry, &Token)> = Vec::new();
        let mut seen: std::collections::HashSet<SocketAddr> = std::collections::HashSet::new();
        let mut marks: Vec<GroupMember> = Vec::new();
        for line in items(n) {
            let Some(first) = line.first() else { continue };
            let entry = if first.text() == "fwmark" {
                self.group_fwmark(line)
            } else {
                self.group_addresses(line)
            };
            let Some(entry) = entry else { continue };
            // Two lines standing for one service would be one IPVS service.
            let clash = entry.members().find(|m| match *m {
                GroupMember::Socket(s) => seen.contains(&s),
                GroupMember::Fwmark { .. } => marks.iter().any(|o| same_member(*o, *m)),
            });
            if let Some(m) = clash {
                self.error(
                    &first.location,
                    ErrorKind::Duplicate {
                        what: format!("member {} in virtual_server_group `{name}`", member_text(m)),
                    },
                );
                continue;
            }
            for m in entry.members() {
                match m {
                    GroupMember::Socket(s) => {
                        seen.insert(s);
                    }
                    GroupMember::Fwmark { .. } => marks.push(m),
                }
            }
            entries.push((entry, first));
        }
        let (v4, v6) = families(entries.iter().map(|(e, _)| e));
        if v4 && v6 {
            // keepalived needs every fwmark's family said when both are present.
            for (e, t) in &entries {
                if let GroupEntry::Fwmark { ipv6: None, mark } = e {
                    self.error(
                        &t.location,
                        ErrorKind::Invalid {
                            message: format!(
                                "fwmark {mark} in virtual_server_group `{name}`, which holds IPv4 \
                                 and IPv6 addresses: write `fwmark {mark} inet` or `inet6`"
                            ),
                        },
                    );
                }
            }
        }
        if items(n).is_empty() {
            self.error(
                n.loc(),
                ErrorKind::Invalid {
                    message: format!("virtual_server_group `{name}` has no entries"),
                },
            );
            return None;
        }
        // Kept even when every line was refused (each already reported), so
        // its users are not reported again as naming an unknown group.
        Some(VirtualServerGroup {
            name,
            entries: entries.into_iter().map(|(e, _)| e).collect(),
        })
    }

    fn group_fwmark(&mut self, line: &[Token]) -> Option<GroupEntry> {
        const KW: &str = "virtual_server_group fwmark";
        let Some(t) = line.get(1) else {
            self.error(
                &line[0].location,
                ErrorKind::MissingArgument {
                    keyword: KW.into(),
                    expected: "a mark number".into(),
                },
            );
            return None;
        };
        let mark = parse_int(t.text(), 1, i64::from(u32::MAX)).and_then(|v| u32::try_from(v).ok());
        if mark.is_none() {
            self.invalid(KW, t, "a mark from 1 to 4294967295");
        }
        let ipv6 = match line.get(2).map(|t| (t, t.text())) {
            None => None,
            Some((_, "inet")) => Some(false),
            Some((_, "inet6")) => Some(true),
            Some((t, _)) => {
                self.invalid(KW, t, "`inet` or `inet6`");
                return None;
            }
        };
        if let Some(t) = line.get(3) {
            self.invalid(KW, t, "the end of the line (`fwmark N [inet|inet6]`)");
            return None;
        }
        Some(GroupEntry::Fwmark { mark: mark?, ipv6 })
    }

    fn group_addresses(&mut self, line: &[Token]) -> Option<GroupEntry> {
        const KW: &str = "virtual_server_group";
        let t = &line[0];
        let (first, last) = match parse_range(t.text()) {
            Ok(r) => r,
            Err(why) => {
                self.invalid(KW, t, &why);
                return None;
            }
        };
        let port = match line.get(1) {
            Some(p) => self.port(KW, p)?,
            None => 0,
        };
        if let Some(x) = line.get(2) {
            self.invalid(KW, x, "the end of the line (`ADDRESS[-END] [PORT]`)");
            return None;
        }
        Some(GroupEntry::Addresses { first, last, port })
    }

    /// A service two virtual servers would both hold (a group member that
    /// is also a plain virtual server, or in two groups used with one
    /// protocol): refused where the second is defined. Identical keys are
    /// already refused as duplicates.
    pub(super) fn shared_members(
        &mut self,
        vss: &[VirtualServer],
        locs: &[Location],
        groups: &[VirtualServerGroup],
    ) {
        #[derive(PartialEq, Eq, Hash)]
        enum Svc {
            Addr(Protocol, SocketAddr),
            Mark(u32),
        }
        let members = |vs: &VirtualServer| -> Vec<GroupMember> {
            match vs
                .group
                .as_ref()
                .and_then(|n| groups.iter().find(|g| &g.name == n))
            {
                Some(g) => g.members().collect(),
                None => vec![match vs.addr {
                    VirtualServerAddr::Socket(s) => GroupMember::Socket(s),
                    VirtualServerAddr::Fwmark(mark) => GroupMember::Fwmark { mark, ipv6: None },
                }],
            }
        };
        if vss.iter().all(|v| v.group.is_none()) {
            return;
        }
        let mut owner: std::collections::HashMap<Svc, usize> = std::collections::HashMap::new();
        for (i, vs) in vss.iter().enumerate() {
            for m in members(vs) {
                let key = match m {
                    GroupMember::Socket(s) => Svc::Addr(vs.protocol, s),
                    GroupMember::Fwmark { mark, .. } => Svc::Mark(mark),
                };
                match owner.get(&key) {
                    Some(&j) if j != i => {
                        self.errors.push(
                            ConfigError::new(
                                &locs[i],
                                ErrorKind::Duplicate {
                                    what: format!(
                                        "service {} in virtual_server {} and virtual_server {}",
                                        member_text(m),
                                        vs_text(&vss[j]),
                                        vs_text(vs)
                                    ),
                                },
                            )
                            .note(Some(&locs[j]), "the other virtual_server is defined here"),
                        );
                        break;
                    }
                    Some(_) => {}
                    None => {
                        owner.insert(key, i);
                    }
                }
            }
        }
    }

    /// keepalived's family rule for a virtual server using a group: its
    /// real and sorry servers are of the group's address family, unless
    /// they are tunnelled (the one case where a group may mix families).
    fn group_families(&mut self, g: &VirtualServerGroup, vs: &VirtualServer, n: &Node) {
        let (v4, v6) = g.families();
        let tunnelled = |f: ForwardMethod| matches!(f, ForwardMethod::Tunnel { .. });
        let servers = vs
            .real_servers
            .iter()
            .map(|r| (r.addr, r.forwarding, "real_server"))
            .chain(
                vs.sorry_server
                    .map(|s| (s, vs.sorry_server_forwarding, "sorry_server")),
            );
        for (addr, fwd, what) in servers {
            let other = if addr.is_ipv4() { v6 } else { v4 };
            if other && !tunnelled(fwd) {
                self.error(
                    n.loc(),
                    ErrorKind::Invalid {
                        message: format!(
                            "virtual_server group `{}`: {what} {addr} is not of the family of \
                             every address of the group (mixing IPv4 and IPv6 needs TUN)",
                            g.name
                        ),
                    },
                );
            }
        }
    }
}

/// Both families present among the entries' addresses.
fn families<'a>(entries: impl Iterator<Item = &'a GroupEntry>) -> (bool, bool) {
    let mut out = (false, false);
    for e in entries {
        if let GroupEntry::Addresses { first, .. } = e {
            if first.is_ipv4() {
                out.0 = true;
            } else {
                out.1 = true;
            }
        }
    }
    out
}

/// One service in IPVS terms: fwmarks of unstated family count as equal.
fn same_member(a: GroupMember, b: GroupMember) -> bool {
    match (a, b) {
        (GroupMember::Fwmark { mark: x, ipv6: fx }, GroupMember::Fwmark { mark: y, ipv6: fy }) => {
            x == y && (fx == fy || fx.is_none() || fy.is_none())
        }
        _ => a == b,
    }
}

fn vs_text(vs: &VirtualServer) -> String {
    match &vs.group {
        Some(g) => format!("group {g}"),
        None => vs.key().to_string(),
    }
}

fn member_text(m: GroupMember) -> String {
    match m {
        GroupMember::Socket(s) => s.to_string(),
        GroupMember::Fwmark { mark, .. } => format!("fwmark {mark}"),
    }
}

/// `A.B.C.D`, `A.B.C.D-E` (last octet, decimal, up to 255), `X::Y-Z` (last
/// hextet, hex, up to ffff) or `FIRST-LAST` (two full addresses of one
/// family): the first and last address, inclusive. The error says what
/// was expected.
pub(crate) fn parse_range(text: &str) -> Result<(IpAddr, IpAddr), String> {
    const FORMS: &str = "an address, or a range such as `10.0.0.2-10`, `ae00::2-9` or \
                         `10.0.0.250-10.0.1.10`";
    if text.contains('/') {
        return Err(format!(
            "{FORMS} (a prefix range `ADDR/LEN` is not implemented)"
        ));
    }
    let (start, end) = match text.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (text, None),
    };
    let first: IpAddr = start.parse().map_err(|_| FORMS.to_string())?;
    let Some(end) = end else {
        return Ok((first, first));
    };
    let last = if let Ok(full) = end.parse::<IpAddr>() {
        if full.is_ipv4() != first.is_ipv4() {
            return Err("a range whose two ends are of one family".into());
        }
        full
    } else {
        match first {
            IpAddr::V4(a) => {
                let n: u32 = end.parse().map_err(|_| FORMS.to_string())?;
                let Ok(octet) = u8::try_from(n) else {
                    return Err(format!(
                        "a range whose end is a last octet from 0 to 255 (not {n})"
                    ));
                };
                let mut o = a.octets();
                o[3] = octet;
                IpAddr::V4(Ipv4Addr::from(o))
            }
            IpAddr::V6(a) => {
                let hextet = u16::from_str_radix(end, 16).map_err(|_| {
                    format!("{FORMS} (an IPv6 range ends in a last hextet, hex, up to ffff)")
                })?;
                let mut s = a.segments();
                s[7] = hextet;
                IpAddr::V6(Ipv6Addr::from(s))
            }
        }
    };
    let num = |ip: IpAddr| match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    if num(last) < num(first) {
        return Err(format!(
            "a range whose end is not below its start ({last} is below {first})"
        ));
    }
    if num(last) - num(first) >= MAX_RANGE {
        return Err(format!("a range of at most {MAX_RANGE} addresses"));
    }
    Ok((first, last))
}

/// The schedulers `lb_algo` accepts: the kernel's, and `twos` (weighted random
/// twos choice, Linux 6.x), which lvs-ipvs names `Scheduler::Other("twos")`.
fn scheduler_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Scheduler::ALL.iter().map(Scheduler::name).collect();
    names.push("twos");
    names
}
