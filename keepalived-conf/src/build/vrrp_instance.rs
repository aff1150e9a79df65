//! `vrrp_instance`: addresses, peers, tracking, authentication.

use std::net::IpAddr;
use std::time::Duration;

use crate::error::ErrorKind;
use crate::lexer::Token;
use crate::model::*;
use crate::parser::Node;
use crate::suggest::suggest;
use crate::values::*;

use lvs_vrrp::{AdvertInterval, Centiseconds, Seconds, Version};

use super::{Builder, items, nodes};

impl Builder<'_> {
    // ---- VRRP ----

    /// The instance, and where each of its `track_script` entries is.
    pub(super) fn vrrp_instance(
        &mut self,
        n: &Node,
        g: &GlobalDefs,
    ) -> Option<(VrrpInstance, super::TrackLocs)> {
        let name = n.args.first()?.text().to_string();
        // keepalived derives an unset `state` from the priority and an
        // unset `priority` from the state.
        let mut state: Option<(InitialState, &Node)> = None;
        let mut interface = None;
        let mut vrid = None;
        let mut priority: Option<u8> = None;
        let mut advert: Option<&Token> = None;
        let mut version: Option<(Version, &Node)> = None;
        let mut vips = Vec::new();
        let mut vips_ex = Vec::new();
        let mut nopreempt = false;
        let mut preempt_delay: (Duration, Option<&Node>) = (Duration::ZERO, None);
        let mut source_ip = None;
        let mut peers = Vec::new();
        let mut tracks = Vec::new();
        let mut scripts: Vec<(TrackScript, crate::error::Location)> = Vec::new();
        let mut files: Vec<(TrackRef, crate::error::Location)> = Vec::new();
        let mut procs: Vec<(TrackRef, crate::error::Location)> = Vec::new();
        let mut auth: Option<(Authentication, &Node)> = None;
        let (mut nm, mut nb, mut nf, mut ns, mut nall) = (None, None, None, None, None);
        let mut garp_delay = g.vrrp_garp_master_delay;
        let mut garp_repeat = g.vrrp_garp_master_repeat;
        let mut garp_refresh = g.vrrp_garp_master_refresh;
        let mut accept: Option<(bool, &Node)> = None;
        // keepalived: the instance's value, else (unless strict) the
        // global one, else the gratuitous ARP defaults. Strict mode
        // resets the instance's own value (with a warning) and ignores the
        // global one.
        let mut lower_delay: Option<(Duration, &Node)> = None;
        let mut lower_repeat: Option<(u32, &Node)> = None;
        let mut lower_no_advert: Option<(bool, &Node)> = None;
        let mut higher_send: Option<(bool, &Node)> = None;
        let mut strict_mode: Option<bool> = None;
        let mut sync_if = None;
        let mut dont_track_primary = false;
        let mut skip_check_adv_addr = g.vrrp_skip_check_adv_addr;
        let mut garp_extra_if = g.vrrp_garp_extra_if;
        let mut virtual_routes = Vec::new();
        let mut virtual_rules = Vec::new();
        let mut use_vmac: Option<Option<String>> = None;
        let mut vmac_xmit_base = None;
        let (mut vips_at, mut peers_at): (Option<&Node>, Option<&Node>) = (None, None);
        let errors_before = self.errors.len();
        for c in nodes(n) {
            match c.keyword() {
                "state" => {
                    if let Some(t) = c.args.first() {
                        match t.text().to_ascii_uppercase().as_str() {
                            "MASTER" => state = Some((InitialState::Master, c)),
                            "BACKUP" => state = Some((InitialState::Backup, c)),
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
                        .or(priority)
                }
                "advert_int" => advert = c.args.first(),
                "version" => version = self.version(c).map(|v| (v, c)).or(version),
                "virtual_ipaddress" => {
                    vips_at = vips_at.or(Some(c));
                    vips.extend(self.vips(c))
                }
                "virtual_ipaddress_excluded" => vips_ex.extend(self.vips(c)),
                "nopreempt" => nopreempt = true,
                "preempt" => nopreempt = false,
                "preempt_delay" => {
                    if let Some(t) = c.args.first() {
                        match parse_seconds(t.text(), 1000) {
                            Some(d) => preempt_delay = (d, Some(c)),
                            None => self.invalid("preempt_delay", t, "seconds from 0 to 1000"),
                        }
                    }
                }
                "unicast_src_ip" | "mcast_src_ip" => {
                    if let Some(t) = c.args.first() {
                        source_ip = self.ip(c.keyword(), t).or(source_ip);
                    }
                }
                "unicast_peer" => {
                    peers_at = peers_at.or(Some(c));
                    peers.extend(self.unicast_peers(c))
                }
                "track_interface" => tracks.extend(self.track_interfaces(c)),
                "track_script" => {
                    for (t, loc) in self.track_scripts(c) {
                        if scripts.iter().any(|(o, _)| o.script == t.script) {
                            self.error(
                                &loc,
                                ErrorKind::Duplicate {
                                    what: format!("track_script `{}`", t.script),
                                },
                            );
                        } else {
                            scripts.push((t, loc));
                        }
                    }
                }
                "track_file" => {
                    files.extend(self.track_refs(c, "track_file", super::track_file::WEIGHT))
                }
                "track_process" => {
                    procs.extend(self.track_refs(c, "track_process", super::track_file::WEIGHT))
                }
                "authentication" => auth = self.authentication(c).map(|a| (a, c)),
                "notify_master" => nm = self.script(c),
                "notify_backup" => nb = self.script(c),
                "notify_fault" => nf = self.script(c),
                "notify_stop" => ns = self.script(c),
                "notify" => nall = self.script(c),
                "garp_master_delay" => garp_delay = self.secs(c).unwrap_or(garp_delay),
                "garp_master_repeat" => garp_repeat = self.u32v(c).unwrap_or(garp_repeat),
                "garp_master_refresh" => garp_refresh = self.secs(c).filter(|d| !d.is_zero()),
                "garp_lower_prio_delay" => {
                    lower_delay = self.secs(c).map(|v| (v, c)).or(lower_delay)
                }
                "garp_lower_prio_repeat" => {
                    lower_repeat = self.u32v(c).map(|v| (v, c)).or(lower_repeat)
                }
                "lower_prio_no_advert" => {
                    lower_no_advert = self.flag(c).map(|v| (v, c)).or(lower_no_advert)
                }
                "higher_prio_send_advert" => {
                    higher_send = self.flag(c).map(|v| (v, c)).or(higher_send)
                }
                "strict_mode" => strict_mode = self.flag(c).or(strict_mode),
                "accept" => accept = Some((true, c)),
                "no_accept" => accept = Some((false, c)),
                "lvs_sync_daemon_interface" => sync_if = Self::string(c),
                "dont_track_primary" => dont_track_primary = true,
                "garp_extra_if" => garp_extra_if = self.garp_extra_if(c).or(garp_extra_if),
                "skip_check_adv_addr" => {
                    skip_check_adv_addr = self.flag(c).unwrap_or(skip_check_adv_addr)
                }
                "virtual_routes" => virtual_routes.extend(self.routes(c)),
                "virtual_rules" => virtual_rules.extend(self.rules(c)),
                "use_vmac" => use_vmac = Some(self.use_vmac(c)),
                "vmac_xmit_base" => vmac_xmit_base = Some(c.loc().clone()),
                _ => self.unhandled(c),
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
        let strict = strict_mode.unwrap_or(g.vrrp_strict);
        // Which setting made the instance strict, for the messages.
        let by = if strict_mode.is_some() {
            "`strict_mode`"
        } else {
            "`vrrp_strict`"
        };
        let ipv6 = vips.first().is_some_and(|v: &VirtualIp| v.addr.is_ipv6());
        let version = match version {
            Some((Version::V2, c)) if ipv6 && strict => {
                self.strict_reset(
                    c.loc(),
                    &block,
                    by,
                    "IPv6 needs VRRP version 3, so `version 2` is ignored",
                );
                Version::V3
            }
            Some((v, _)) => v,
            None if ipv6 => Version::V3,
            None => g.vrrp_version,
        };
        let advert_int = advert
            .and_then(|t| self.advert_int(t, version))
            .unwrap_or_else(|| default_advert_int(version));
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
        // keepalived's order: priority from state, state from priority
        // (strict mode insists on MASTER exactly at 255), then the rest.
        let priority = priority.unwrap_or(match state {
            Some((InitialState::Master, _)) => 255,
            _ => 100,
        });
        let owner = priority == 255;
        let owner_state = if owner {
            InitialState::Master
        } else {
            InitialState::Backup
        };
        let state = match state {
            None => owner_state,
            Some((s, c)) if strict && s != owner_state => {
                let what = if owner {
                    "priority 255 (the address owner) starts as MASTER, not as `state BACKUP`"
                } else {
                    "`state MASTER` needs priority 255 (the address owner), so it starts as BACKUP"
                };
                self.strict_reset(c.loc(), &block, by, what);
                owner_state
            }
            Some((s, _)) => s,
        };
        let auth = match auth {
            Some((_, c)) if strict => {
                self.strict_reset(c.loc(), &block, by, "`authentication` is ignored");
                None
            }
            Some(_) if version == Version::V3 => {
                self.warn(
                    n.loc(),
                    format!(
                        "{block}: `authentication` does not exist in VRRP version 3 and is ignored"
                    ),
                );
                None
            }
            a => a.map(|(a, _)| a),
        };
        if vips.is_empty() {
            if strict || version == Version::V3 {
                let why = if strict {
                    format!("in strict mode ({by})")
                } else {
                    "with VRRP version 3".to_string()
                };
                self.error(
                    n.loc(),
                    ErrorKind::MissingRequired {
                        block: block.clone(),
                        keyword: "virtual_ipaddress".into(),
                        detail: Some(format!("keepalived requires at least one {why}")),
                    },
                );
            } else {
                self.warn(n.loc(), format!("{block} has no virtual_ipaddress"));
            }
        }
        if strict && let Some(c) = peers_at {
            // keepalived 2.2.7 checks for unicast before it has noted the
            // peers, so it runs them; later releases refuse them.
            self.warn(
                c.loc(),
                format!(
                    "{block}: strict mode ({by}) does not allow `unicast_peer` by keepalived's \
                     manual, but keepalived 2.2.7 runs them, and so does director \
                     (later keepalived releases refuse the configuration)"
                ),
            );
        }
        if strict
            && peers.is_empty()
            && let Some(IpAddr::V6(a)) = vips.first().map(|v| v.addr)
            && a.segments()[0] & 0xffc0 != 0xfe80
        {
            self.warn(
                vips_at.map_or(n.loc(), |c| c.loc()),
                format!(
                    "{block}: in strict mode ({by}) the first IPv6 virtual_ipaddress must be \
                     link-local (RFC 5798 §5.2.9); `{a}` is not (keepalived says so and goes on)"
                ),
            );
        }
        if nopreempt && state == InitialState::Master {
            self.warn(
                n.loc(),
                format!(
                    "{block}: `nopreempt` has no effect with `state MASTER` (use `state BACKUP`)"
                ),
            );
        }
        let preempt_delay = match preempt_delay {
            (d, Some(c)) if strict && !d.is_zero() => {
                self.strict_reset(c.loc(), &block, by, "`preempt_delay` is reset to 0");
                Duration::ZERO
            }
            (d, _) => d,
        };
        let accept = match accept {
            None => owner || !strict,
            Some((true, c)) if strict && !owner && version == Version::V2 => {
                self.strict_reset(
                    c.loc(),
                    &block,
                    by,
                    "`accept` below priority 255 does not comply with RFC 3768 (VRRP version 2) \
                     and is turned off",
                );
                false
            }
            Some((a, _)) => a,
        };
        let lower_delay = match lower_delay {
            Some((d, c)) if strict && !d.is_zero() => {
                self.strict_reset(c.loc(), &block, by, "`garp_lower_prio_delay` is reset to 0");
                Duration::ZERO
            }
            Some((d, _)) => d,
            None if strict => Duration::ZERO,
            None => g
                .vrrp_garp_lower_prio_delay
                .unwrap_or(g.vrrp_garp_master_delay),
        };
        let lower_repeat = match lower_repeat {
            Some((r, c)) if strict && r != 0 => {
                self.strict_reset(
                    c.loc(),
                    &block,
                    by,
                    "`garp_lower_prio_repeat` is reset to 0",
                );
                0
            }
            Some((r, _)) => r,
            None if strict => 0,
            None => g
                .vrrp_garp_lower_prio_repeat
                .unwrap_or(g.vrrp_garp_master_repeat),
        };
        let lower_no_advert = match lower_no_advert {
            Some((false, c)) if strict => {
                self.strict_reset(c.loc(), &block, by, "`lower_prio_no_advert` is turned on");
                true
            }
            Some((v, _)) => v,
            None => strict || g.vrrp_lower_prio_no_advert.unwrap_or(false),
        };
        let higher_send = match higher_send {
            Some((true, c)) if strict => {
                self.strict_reset(
                    c.loc(),
                    &block,
                    by,
                    "`higher_prio_send_advert` is turned off",
                );
                false
            }
            Some((v, _)) => v,
            None => !strict && g.vrrp_higher_prio_send_advert.unwrap_or(false),
        };
        let vmac_xmit_base = match (&use_vmac, vmac_xmit_base) {
            (None, Some(loc)) => {
                // keepalived reports it and goes on without it.
                self.warn(
                    &loc,
                    format!(
                        "{block}: `vmac_xmit_base` only applies with `use_vmac` and is ignored"
                    ),
                );
                false
            }
            (Some(_), Some(loc)) if strict => {
                self.strict_reset(&loc, &block, by, "`vmac_xmit_base` is ignored");
                false
            }
            (Some(_), Some(_)) => true,
            (_, None) => false,
        };
        // Returned even when invalid (the whole config is refused anyway) so
        // that duplicates of it are still reported.
        let (track_scripts, script_locs): (Vec<_>, Vec<_>) = scripts.into_iter().unzip();
        let (track_files, file_locs): (Vec<_>, Vec<_>) = files.into_iter().unzip();
        let (track_processes, proc_locs): (Vec<_>, Vec<_>) = procs.into_iter().unzip();
        Some((
            VrrpInstance {
                name,
                initial_state: state,
                interface,
                virtual_router_id: vrid,
                priority,
                advert_int,
                virtual_ipaddresses: vips,
                virtual_ipaddresses_excluded: vips_ex,
                nopreempt,
                preempt_delay,
                source_ip,
                unicast_peers: peers,
                track_interfaces: tracks,
                track_scripts,
                track_files,
                track_processes,
                authentication: auth,
                notify_master: nm,
                notify_backup: nb,
                notify_fault: nf,
                notify_stop: ns,
                notify: nall,
                garp_master_delay: garp_delay,
                garp_master_repeat: garp_repeat,
                garp_master_refresh: garp_refresh,
                garp_lower_prio_delay: lower_delay,
                garp_lower_prio_repeat: lower_repeat,
                lower_prio_no_advert: lower_no_advert,
                higher_prio_send_advert: higher_send,
                accept,
                strict,
                lvs_sync_daemon_interface: sync_if,
                dont_track_primary,
                skip_check_adv_addr,
                garp_extra_if,
                virtual_routes,
                virtual_rules,
                vmac_xmit_base,
                use_vmac,
            },
            super::TrackLocs {
                scripts: script_locs,
                files: file_locs,
                procs: proc_locs,
            },
        ))
    }

    /// A setting strict mode overrides, as keepalived does (it reports
    /// the setting and goes on with the override).
    fn strict_reset(&mut self, loc: &crate::error::Location, block: &str, by: &str, what: &str) {
        self.warn(
            loc,
            format!("{block}: {what} in strict mode ({by}), as keepalived does"),
        );
    }

    /// `use_vmac [NAME]`: the macvlan's name if given. keepalived also
    /// takes a MAC address (a word with ':'), refused by the table.
    fn use_vmac(&mut self, n: &Node) -> Option<String> {
        let mut name = None;
        for t in &n.args {
            let text = t.text();
            if text.contains(':') {
                self.value_form("vrrp_instance", "use_vmac MAC", &t.location);
            } else if text.is_empty()
                || text.len() > 15
                || text.contains('/')
                || text.chars().any(char::is_whitespace)
            {
                self.invalid("use_vmac", t, "an interface name of 1 to 15 characters");
            } else if name.is_some() {
                self.invalid("use_vmac", t, "one interface name");
            } else {
                name = Some(text.to_string());
            }
        }
        name
    }

    pub(super) fn advert_int(&mut self, t: &Token, version: Version) -> Option<AdvertInterval> {
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
            Version::V2 => {
                if micros % 1_000_000 != 0 || d.is_zero() {
                    self.invalid(
                        "advert_int",
                        t,
                        "whole seconds from 1 to 255 with VRRP version 2 (fractions need `version 3`)",
                    );
                    return None;
                }
                u8::try_from(micros / 1_000_000)
                    .ok()
                    .map(|s| AdvertInterval::V2(Seconds(s)))
            }
            Version::V3 => {
                if micros % 10_000 != 0 || d.is_zero() || micros > 40_950_000 {
                    self.invalid(
                        "advert_int",
                        t,
                        "0.01 to 40.95 seconds in steps of 0.01 with VRRP version 3",
                    );
                    return None;
                }
                u16::try_from(micros / 10_000)
                    .ok()
                    .and_then(|cs| Centiseconds::new(cs).ok())
                    .map(AdvertInterval::V3)
            }
        }
    }

    pub(super) fn vips(&mut self, n: &Node) -> Vec<VirtualIp> {
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
                let mut vip = VirtualIp::new(addr, prefix_len);
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
                        if self.value_form("virtual_ipaddress", o, &opt.location) {
                            match o {
                                "dev" => vip.dev = Some(v.text().to_string()),
                                "label" => vip.label = Some(v.text().to_string()),
                                _ => self.invalid(n.keyword(), opt, "a supported address option"),
                            }
                        }
                        i += 2;
                    } else if FLAGS.contains(&o) {
                        // Only `no_track` is implemented; the table says why
                        // each other one is harmless.
                        self.value_form("virtual_ipaddress", o, &opt.location);
                        vip.no_track |= o == "no_track";
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

    pub(super) fn unicast_peers(&mut self, n: &Node) -> Vec<IpAddr> {
        let mut out = Vec::new();
        for line in items(n) {
            let mut i = 0;
            while i < line.len() {
                let t = &line[i];
                match t.text() {
                    "min_ttl" | "max_ttl" => {
                        self.value_form("unicast_peer", t.text(), &t.location);
                        match line.get(i + 1).map(|v| (v, v.text().parse::<u8>())) {
                            Some((_, Ok(255))) => {}
                            Some((v, Ok(_))) if t.text() == "max_ttl" => self.invalid(
                                "max_ttl",
                                v,
                                "255: director accepts adverts only with TTL 255 (RFC 5798)",
                            ),
                            Some((_, Ok(_))) => {}
                            Some((v, Err(_))) => self.invalid(t.text(), v, "a TTL from 0 to 255"),
                            None => self.invalid(t.text(), t, "a TTL after it"),
                        }
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

    pub(super) fn track_interfaces(&mut self, n: &Node) -> Vec<TrackInterface> {
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
                        out.push(TrackInterface::new(name));
                        i += 1;
                    }
                }
            }
        }
        out
    }

    pub(super) fn authentication(&mut self, n: &Node) -> Option<Authentication> {
        let mut kind: Option<&Token> = None;
        let mut pass = None;
        for c in nodes(n) {
            match c.keyword() {
                "auth_type" => kind = c.args.first(),
                "auth_pass" => pass = Self::string(c),
                _ => self.unhandled(c),
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
            Some((t, k)) if k == "AH" => {
                self.value_form("authentication", "auth_type AH", &t.location);
                None
            }
            Some((t, _)) => {
                self.invalid("auth_type", t, "PASS or AH");
                None
            }
        }
    }
}

pub(super) fn family(v: &VrrpInstance) -> bool {
    v.virtual_ipaddresses
        .first()
        .is_none_or(|a| a.addr.is_ipv4())
}
