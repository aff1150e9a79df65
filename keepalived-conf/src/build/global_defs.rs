//! `global_defs`: process-wide settings, VRRP defaults and IPVS globals.

use std::time::Duration;

use crate::error::ErrorKind;
use crate::lexer::Token;
use crate::model::*;
use crate::parser::Node;
use crate::values::*;

use lvs_vrrp::Version;

use super::{Builder, nodes};
use crate::keywords;

impl Builder<'_> {
    pub(super) fn global_defs(&mut self, n: &Node, g: &mut GlobalDefs) {
        for c in nodes(n) {
            match c.keyword() {
                k @ ("notify_fifo" | "vrrp_notify_fifo" | "lvs_notify_fifo") => {
                    let fifo = notify_fifo_of(g, k);
                    self.notify_fifo(c, fifo);
                }
                k @ ("notify_fifo_script"
                | "vrrp_notify_fifo_script"
                | "lvs_notify_fifo_script") => {
                    let fifo = notify_fifo_of(g, k.trim_end_matches("_script"));
                    if fifo.script.is_some() {
                        self.warn(
                            c.loc(),
                            format!("`{k}` given twice: the first is used, as keepalived does"),
                        );
                    } else {
                        fifo.script = self.script(c);
                    }
                }
                "router_id" => g.router_id = Self::string(c),
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
                "vrrp_garp_master_refresh" if c.args.is_empty() => self.warn(
                    c.loc(),
                    "`vrrp_garp_master_refresh` has no value: no periodic gratuitous ARP refresh",
                ),
                "vrrp_garp_master_refresh" => {
                    g.vrrp_garp_master_refresh = self.secs(c).filter(|d| !d.is_zero())
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
                "vrrp_garp_lower_prio_delay" => {
                    g.vrrp_garp_lower_prio_delay = self.secs(c).or(g.vrrp_garp_lower_prio_delay)
                }
                "vrrp_garp_lower_prio_repeat" => {
                    g.vrrp_garp_lower_prio_repeat = self.u32v(c).or(g.vrrp_garp_lower_prio_repeat)
                }
                "vrrp_lower_prio_no_advert" => {
                    g.vrrp_lower_prio_no_advert = self.flag(c).or(g.vrrp_lower_prio_no_advert)
                }
                "vrrp_higher_prio_send_advert" => {
                    g.vrrp_higher_prio_send_advert = self.flag(c).or(g.vrrp_higher_prio_send_advert)
                }
                "vrrp_startup_delay" => {
                    g.vrrp_startup_delay = self.secs(c).unwrap_or(g.vrrp_startup_delay)
                }
                "net_namespace" => g.net_namespace = Self::string(c),
                "vrrp_garp_extra_if" => {
                    g.vrrp_garp_extra_if = self.garp_extra_if(c).or(g.vrrp_garp_extra_if)
                }
                "vrrp_skip_check_adv_addr" => {
                    if let Some(on) = self.flag(c) {
                        g.vrrp_skip_check_adv_addr = on;
                    }
                }
                "enable_script_security" => {
                    if let Some(v) = c.args.first() {
                        self.warn(
                            &v.location,
                            format!(
                                "`enable_script_security` takes no value: `{}` is ignored and \
                                 script security is on, as keepalived does",
                                v.text()
                            ),
                        );
                    }
                    g.enable_script_security = true;
                }
                "script_user" => g.script_user = self.run_as(c),
                "lvs_sync_daemon" => g.lvs_sync_daemon = self.lvs_sync_daemon(c),
                "lvs_timeouts" => self.lvs_timeouts(c, &mut g.lvs_timeouts),
                "lvs_flush" => g.lvs_flush = true,
                "lvs_keep_expire_nodest_conn" => g.lvs_keep_expire_nodest_conn = true,
                "lvs_reconcile_interval" => {
                    g.lvs_reconcile_interval = self.secs(c).or(g.lvs_reconcile_interval)
                }
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
                _ => self.unhandled(c),
            }
        }
        self.notify_fifo_checks(n, g);
    }

    /// `*notify_fifo PATH [USER [GROUP]]`.
    fn notify_fifo(&mut self, n: &Node, fifo: &mut NotifyFifo) {
        let Some(path) = n.args.first() else { return };
        if fifo.path.is_some() {
            self.warn(
                n.loc(),
                format!(
                    "`{}` given twice: the first is used, as keepalived does",
                    n.keyword()
                ),
            );
            return;
        }
        if path.text().is_empty() {
            self.invalid(n.keyword(), path, "a path");
            return;
        }
        if let Some(user) = n.args.get(1) {
            fifo.for_other_user = true;
            keywords::decide(
                keywords::value_form("global_defs", "*notify_fifo FIFO USER [GROUP]"),
                &format!("{} FIFO USER [GROUP]", n.keyword()),
                &user.location,
                self.errors,
                self.warnings,
            );
        }
        fifo.path = Some(path.text().to_string());
    }

    /// A script for a FIFO that is not given runs nothing (keepalived
    /// starts it only with its FIFO): said once per FIFO.
    pub(super) fn notify_fifo_checks(&mut self, n: &Node, g: &GlobalDefs) {
        let fifos = [
            ("notify_fifo", &g.notify_fifo),
            ("vrrp_notify_fifo", &g.vrrp_notify_fifo),
            ("lvs_notify_fifo", &g.lvs_notify_fifo),
        ];
        for (k, f) in fifos {
            if f.path.is_none() && f.script.is_some() {
                let loc = nodes(n)
                    .iter()
                    .find(|c| c.keyword() == format!("{k}_script"))
                    .map_or_else(|| n.loc().clone(), |c| c.loc().clone());
                self.warn(
                    &loc,
                    format!("`{k}_script` without `{k}`: there is no FIFO for it to read, so it is not run"),
                );
            }
        }
    }

    pub(super) fn version(&mut self, n: &Node) -> Option<Version> {
        let t = n.args.first()?;
        match t.text() {
            "2" => Some(Version::V2),
            "3" => Some(Version::V3),
            _ => {
                self.invalid(n.keyword(), t, "2 or 3");
                None
            }
        }
    }

    pub(super) fn lvs_sync_daemon(&mut self, n: &Node) -> Option<LvsSyncDaemon> {
        let mut args = n.args.iter();
        let mut d = LvsSyncDaemon::new(args.next()?.text());
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

    pub(super) fn lvs_timeouts(&mut self, n: &Node, out: &mut LvsTimeouts) {
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
}

/// The FIFO `keyword` (`notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo`) sets.
fn notify_fifo_of<'g>(g: &'g mut GlobalDefs, keyword: &str) -> &'g mut NotifyFifo {
    match keyword {
        "vrrp_notify_fifo" => &mut g.vrrp_notify_fifo,
        "lvs_notify_fifo" => &mut g.lvs_notify_fifo,
        _ => &mut g.notify_fifo,
    }
}
