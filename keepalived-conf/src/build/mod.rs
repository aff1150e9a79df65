//! From the statement tree to the typed model: value checks, defaults,
//! inheritance of checker timers, and cross-references (duplicate VRIDs, ...).
//! One module per block; this one holds the shared value readers and the top level.

mod checks;
mod global_defs;
mod route_announce;
mod routes;
mod ssl;
mod sync_group;
mod track_file;
mod track_process;
mod virtual_server;
mod vrrp_instance;
mod vrrp_script;

use vrrp_instance::family;

use std::net::IpAddr;
use std::time::Duration;

use crate::error::{ConfigError, ErrorKind, Location, Warning};
use crate::keywords;
use crate::lexer::{Token, TokenKind};
use crate::model::*;
use crate::parser::{Body, Node};
use crate::values::*;
use lvs_ipvs::ForwardMethod;

/// Upper bound for timers, in seconds (a day is plenty; keeps arithmetic sane).
const MAX_TIMER_SECS: u64 = 86_400;

/// Where an instance's tracked entries are written, for errors about them.
pub(super) struct TrackLocs {
    scripts: Vec<Location>,
    files: Vec<Location>,
    procs: Vec<Location>,
}

pub(crate) struct Builder<'a> {
    pub errors: &'a mut Vec<ConfigError>,
    pub warnings: &'a mut Vec<Warning>,
    /// `global_defs`' `script_user`, once read: who a script that names
    /// no user runs as.
    pub script_user: Option<lvs_healthcheck::checker::exec::RunAs>,
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
    /// `[vrrp_]garp_extra_if [all] SECONDS` (seconds up to a day, as
    /// keepalived). Without `all` it concerns only VIP-level VMACs, which
    /// director does not make: warned.
    fn garp_extra_if(&mut self, n: &Node) -> Option<crate::model::GarpExtraIf> {
        let (all, secs) = match n.args.as_slice() {
            [t] => (false, t),
            [a, t] if a.text() == "all" => (true, t),
            [a, _] => {
                self.invalid(n.keyword(), a, "`all` or the interval in seconds");
                return None;
            }
            _ => return None,
        };
        let Some(interval) = parse_seconds(secs.text(), 86_400) else {
            self.invalid(n.keyword(), secs, "seconds from 0 to 86400");
            return None;
        };
        if !all && !interval.is_zero() {
            self.warn(
                n.loc(),
                format!(
                    "`{}` without `all` only refreshes VIP-level VMACs, which director does not \
                     make: it has no effect (add `all` for every interface that sends no adverts)",
                    n.keyword()
                ),
            );
        }
        Some(crate::model::GarpExtraIf { all, interval })
    }

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

    fn forwarding(&mut self, n: &Node) -> Option<ForwardMethod> {
        let t = n.args.first()?;
        match t.text().to_ascii_uppercase().as_str() {
            "NAT" => Some(ForwardMethod::Masquerade),
            "DR" => Some(ForwardMethod::DirectRoute),
            "TUN" => Some(ForwardMethod::IPIP),
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
        let run_as = match n.args.get(1) {
            Some(user) => self.run_as_of(n.keyword(), user, n.args.get(2)),
            None => self.script_user,
        };
        let mut s = Script::new(argv);
        s.run_as = run_as;
        Some(s)
    }

    /// `KEYWORD USER [GROUP]` (`script_user`, a script's `user`).
    fn run_as(&mut self, n: &Node) -> Option<lvs_healthcheck::checker::exec::RunAs> {
        let user = n.args.first()?;
        self.run_as_of(n.keyword(), user, n.args.get(1))
    }

    /// A user (and group, else the user's primary group) by name or
    /// number, resolved to ids now (through NSS, as keepalived does).
    fn run_as_of(
        &mut self,
        keyword: &str,
        user: &Token,
        group: Option<&Token>,
    ) -> Option<lvs_healthcheck::checker::exec::RunAs> {
        use nix::unistd::{Group, User};
        let found = match user.text().parse::<u32>() {
            Ok(uid) => User::from_uid(uid.into()),
            Err(_) => User::from_name(user.text()),
        };
        let Ok(Some(u)) = found else {
            self.invalid(keyword, user, "a user known to this host");
            return None;
        };
        let gid = match group {
            None => u.gid.as_raw(),
            Some(g) => {
                let found = match g.text().parse::<u32>() {
                    Ok(gid) => Group::from_gid(gid.into()),
                    Err(_) => Group::from_name(g.text()),
                };
                match found {
                    Ok(Some(g)) => g.gid.as_raw(),
                    _ => {
                        self.invalid(keyword, g, "a group known to this host");
                        return None;
                    }
                }
            }
        };
        Some(lvs_healthcheck::checker::exec::RunAs {
            uid: u.uid.as_raw(),
            gid,
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

    /// A keyword the table marks implemented that its block's builder does
    /// not handle: a bug here, refused rather than silently dropped (a test
    /// walks the whole table to keep this unreachable).
    fn unhandled(&mut self, n: &Node) {
        self.error(
            n.loc(),
            ErrorKind::Invalid {
                message: format!(
                    "internal error: `{}` is listed as implemented but not built; please report this",
                    n.keyword()
                ),
            },
        );
    }

    /// Applies the keyword table's decision on a value form (`auth_type AH`,
    /// a `virtual_ipaddress` option, ...); returns whether it is implemented.
    fn value_form(&mut self, block: &str, form: &str, loc: &Location) -> bool {
        keywords::decide(
            keywords::value_form(block, form),
            form,
            loc,
            self.errors,
            self.warnings,
        )
    }

    // ---- top level ----

    pub fn build(&mut self, top: &[Node]) -> Config {
        let mut global = GlobalDefs::default();
        for n in top.iter().filter(|n| n.keyword() == "global_defs") {
            self.global_defs(n, &mut global);
        }
        self.script_user = global.script_user;
        let mut vrrp_instances: Vec<VrrpInstance> = Vec::new();
        let mut vrrp_locs: Vec<Location> = Vec::new();
        // Groups first: a virtual_server may name one defined after it.
        let mut groups: Vec<VirtualServerGroup> = Vec::new();
        let mut group_locs: Vec<Location> = Vec::new();
        for n in top.iter().filter(|n| n.keyword() == "virtual_server_group") {
            if let Some(g) = self.virtual_server_group(n) {
                if let Some(i) = groups.iter().position(|o| o.name == g.name) {
                    self.errors.push(
                        ConfigError::new(
                            n.loc(),
                            ErrorKind::Duplicate {
                                what: format!("virtual_server_group `{}`", g.name),
                            },
                        )
                        .note(Some(&group_locs[i]), "first defined here"),
                    );
                } else {
                    groups.push(g);
                    group_locs.push(n.loc().clone());
                }
            }
        }
        let mut virtual_servers: Vec<VirtualServer> = Vec::new();
        let mut vs_locs: Vec<Location> = Vec::new();
        let mut vrrp_scripts: Vec<VrrpScript> = Vec::new();
        let mut script_locs: Vec<Location> = Vec::new();
        // Where each kept instance's tracked entries are.
        let mut track_locs: Vec<TrackLocs> = Vec::new();
        let mut track_files: Vec<TrackFile> = Vec::new();
        let mut file_locs: Vec<Location> = Vec::new();
        let mut track_processes: Vec<TrackProcess> = Vec::new();
        let mut proc_locs: Vec<Location> = Vec::new();
        let mut sync_groups: Vec<SyncGroup> = Vec::new();
        // Per group: where it is defined, where each member is named.
        let mut group_locs: Vec<(Location, Vec<Location>)> = Vec::new();
        let mut static_ipaddresses = Vec::new();
        let mut static_routes = Vec::new();
        let mut static_rules = Vec::new();
        let mut ssl_identity = None;
        let mut route_announce: Option<RouteAnnounceBlock> = None;
        for n in top {
            match n.keyword() {
                "SSL" => ssl_identity = self.ssl(n).or(ssl_identity),
                "lvs_route_announce" => {
                    let b = self.route_announce(n);
                    if let Some(first) = &route_announce {
                        self.errors.push(
                            ConfigError::new(
                                n.loc(),
                                ErrorKind::Duplicate {
                                    what: "lvs_route_announce".into(),
                                },
                            )
                            .note(Some(&first.location), "first given here"),
                        );
                    } else {
                        route_announce = Some(b);
                    }
                }
                "static_ipaddress" => static_ipaddresses.extend(self.static_addresses(n)),
                "static_routes" => static_routes.extend(self.routes(n)),
                "static_rules" => static_rules.extend(self.rules(n)),
                "vrrp_sync_group" => {
                    if let Some((g, locs)) = self.sync_group(n) {
                        if let Some(i) = sync_groups.iter().position(|o| o.name == g.name) {
                            self.errors.push(
                                ConfigError::new(
                                    n.loc(),
                                    ErrorKind::Duplicate {
                                        what: format!("vrrp_sync_group `{}`", g.name),
                                    },
                                )
                                .note(Some(&group_locs[i].0), "first defined here"),
                            );
                        } else {
                            sync_groups.push(g);
                            group_locs.push((n.loc().clone(), locs));
                        }
                    }
                }
                "vrrp_script" => {
                    if let Some(s) = self.vrrp_script(n) {
                        if let Some(i) = vrrp_scripts.iter().position(|o| o.name == s.name) {
                            self.errors.push(
                                ConfigError::new(
                                    n.loc(),
                                    ErrorKind::Duplicate {
                                        what: format!("vrrp_script `{}`", s.name),
                                    },
                                )
                                .note(Some(&script_locs[i]), "first defined here"),
                            );
                        } else {
                            vrrp_scripts.push(s);
                            script_locs.push(n.loc().clone());
                        }
                    }
                }
                "track_file" | "vrrp_track_file" => {
                    if let Some(f) = self.track_file(n) {
                        if let Some(i) = track_files.iter().position(|o| o.name == f.name) {
                            self.errors.push(
                                ConfigError::new(
                                    n.loc(),
                                    ErrorKind::Duplicate {
                                        what: format!("track_file `{}`", f.name),
                                    },
                                )
                                .note(Some(&file_locs[i]), "first defined here"),
                            );
                        } else {
                            track_files.push(f);
                            file_locs.push(n.loc().clone());
                        }
                    }
                }
                "vrrp_track_process" => {
                    if let Some(p) = self.track_process(n) {
                        if let Some(i) = track_processes.iter().position(|o| o.name == p.name) {
                            self.errors.push(
                                ConfigError::new(
                                    n.loc(),
                                    ErrorKind::Duplicate {
                                        what: format!("vrrp_track_process `{}`", p.name),
                                    },
                                )
                                .note(Some(&proc_locs[i]), "first defined here"),
                            );
                        } else {
                            track_processes.push(p);
                            proc_locs.push(n.loc().clone());
                        }
                    }
                }
                "vrrp_instance" => {
                    if let Some((v, locs)) = self.vrrp_instance(n, &global) {
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
                            track_locs.push(locs);
                        }
                    }
                }
                "virtual_server" => {
                    if let Some(v) = self.virtual_server(n, &groups) {
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
                "global_defs" | "virtual_server_group" => {}
                _ => self.unhandled(n),
            }
        }
        self.check_sync_groups(
            &mut sync_groups,
            &group_locs,
            &mut vrrp_instances,
            &vrrp_scripts,
            &track_files,
            &track_processes,
        );
        let script_locs: Vec<Vec<Location>> =
            track_locs.iter().map(|l| l.scripts.clone()).collect();
        self.check_track_scripts(&vrrp_scripts, &vrrp_instances, &script_locs);
        let file_names: Vec<&str> = track_files.iter().map(|f| f.name.as_str()).collect();
        let proc_names: Vec<&str> = track_processes.iter().map(|p| p.name.as_str()).collect();
        self.check_file_check_refs(top, &file_names);
        for (inst, locs) in vrrp_instances.iter().zip(&track_locs) {
            let owner = format!("vrrp_instance `{}`", inst.name);
            self.check_track_refs(
                &owner,
                &inst.track_files,
                &locs.files,
                "track_file",
                &file_names,
            );
            self.check_track_refs(
                &owner,
                &inst.track_processes,
                &locs.procs,
                "vrrp_track_process",
                &proc_names,
            );
        }
        let names: Vec<&str> = vrrp_instances.iter().map(|v| v.name.as_str()).collect();
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
        self.shared_members(&virtual_servers, &vs_locs, &groups);
        if let Some(b) = &route_announce {
            self.check_route_announce(b, &virtual_servers, &groups, &vrrp_instances, &global);
            self.warn_ecmp_data_plane(b, &virtual_servers, &vs_locs);
        }
        Config {
            global,
            vrrp_instances,
            virtual_servers,
            vrrp_scripts,
            track_files,
            track_processes,
            virtual_server_groups: groups,
            sync_groups,
            static_ipaddresses,
            static_routes,
            static_rules,
            ssl_identity,
            route_announce,
        }
    }
}
