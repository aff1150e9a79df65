//! `virtual_routes` / `static_routes`, `virtual_rules` / `static_rules` and
//! `static_ipaddress`: one entry per line, `ip route` / `ip rule` syntax,
//! into lvs-director's `Route`, `Rule` and the model's `VirtualIp`. An
//! option the keyword table refuses is an error at its place; an unknown
//! word is an invalid value with a suggestion.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lvs_director::{Route, RouteKind, RouteScope, Rule};
use lvs_ipvs::Family;

use crate::error::ErrorKind;
use crate::keywords;
use crate::lexer::Token;
use crate::model::VirtualIp;
use crate::parser::Node;
use crate::suggest::suggest;
use crate::values::{parse_int, parse_prefix};

use super::{Builder, items};

/// A table by number or by one of the names every system has.
fn parse_table(s: &str) -> Option<u32> {
    match s {
        "main" => Some(254),
        "local" => Some(255),
        "default" => Some(253),
        _ => parse_u32(s),
    }
}

fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn parse_scope(s: &str) -> Option<RouteScope> {
    Some(match s {
        "global" | "universe" | "0" => RouteScope::Global,
        "site" | "200" => RouteScope::Site,
        "link" | "253" => RouteScope::Link,
        "host" | "254" => RouteScope::Host,
        "nowhere" | "255" => RouteScope::Nowhere,
        _ => return None,
    })
}

/// The protocol numbers of `/etc/iproute2/rt_protos` every system has, or a number.
fn parse_proto(s: &str) -> Option<u8> {
    Some(match s {
        "redirect" => 1,
        "kernel" => 2,
        "boot" => 3,
        "static" => 4,
        "ra" => 9,
        "zebra" => 11,
        "bird" => 12,
        "dhcp" => 16,
        "keepalived" => 18,
        "babel" => 42,
        "bgp" => 186,
        "isis" => 187,
        "ospf" => 188,
        "rip" => 189,
        "eigrp" => 192,
        _ => return parse_int(s, 0, 255).and_then(|v| u8::try_from(v).ok()),
    })
}

/// `default` / `all` / `any`, or `ADDR[/LEN]`; `None` for "every address".
fn parse_net(s: &str) -> Option<Option<(IpAddr, u8)>> {
    match s {
        "default" | "all" | "any" => Some(None),
        _ => parse_prefix(s).map(Some),
    }
}

fn unspecified(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }
}

impl Builder<'_> {
    /// The value after option `opt` at `line[i]`, or an error.
    fn option_value<'t>(&mut self, line: &'t [Token], i: usize) -> Option<&'t Token> {
        let v = line.get(i + 1);
        if v.is_none() {
            self.error(
                &line[i].location,
                ErrorKind::MissingArgument {
                    keyword: line[i].text().to_string(),
                    expected: "a value".into(),
                },
            );
        }
        v
    }

    /// An option word the builder does not take: refused with the keyword
    /// table's reason when the table knows it, otherwise an invalid value
    /// with a suggestion. The entry is dropped either way.
    fn route_option_refused(&mut self, block: &str, t: &Token, known: &[&str]) {
        let form = t.text();
        if keywords::route_form_known(block, form) {
            if keywords::value_form(block, form) == keywords::Support::Implemented {
                // Known and built, but not here (a second destination, ...).
                self.invalid(block, t, &format!("`{form}` once, in its place"));
            } else {
                self.value_form(block, form, &t.location);
            }
            return;
        }
        let s = suggest(form, known.iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        self.invalid(block, t, &format!("a supported option{s}"));
    }

    /// `virtual_routes` / `static_routes`: one route per line.
    pub(super) fn routes(&mut self, n: &Node) -> Vec<Route> {
        const KNOWN: &[&str] = &[
            "src",
            "to",
            "via",
            "gw",
            "dev",
            "table",
            "metric",
            "preference",
            "priority",
            "scope",
            "proto",
            "protocol",
            "no_track",
            "inet6",
            "blackhole",
            "unreachable",
            "prohibit",
        ];
        let block = n.keyword();
        let mut out = Vec::new();
        'lines: for line in items(n) {
            let Some(first) = line.first() else { continue };
            let mut kind = RouteKind::Unicast;
            let mut dest: Option<Option<(IpAddr, u8)>> = None;
            let mut inet6 = false;
            let mut via = None;
            let mut dev = None;
            let mut src = None;
            let mut table = None;
            let mut metric = None;
            let mut scope = None;
            let mut proto = None;
            let mut no_track = false;
            let mut i = 0;
            while i < line.len() {
                let t = &line[i];
                let word = t.text();
                let mut takes_value = true;
                match word {
                    "blackhole" | "unreachable" | "prohibit" if dest.is_none() => {
                        kind = match word {
                            "blackhole" => RouteKind::Blackhole,
                            "unreachable" => RouteKind::Unreachable,
                            _ => RouteKind::Prohibit,
                        };
                        takes_value = false;
                    }
                    "inet6" => {
                        inet6 = true;
                        takes_value = false;
                    }
                    "no_track" => {
                        no_track = true;
                        takes_value = false;
                    }
                    "to" => {
                        let Some(v) = self.option_value(line, i) else {
                            continue 'lines;
                        };
                        match parse_net(v.text()) {
                            Some(d) => dest = Some(d),
                            None => self.invalid(
                                block,
                                v,
                                "a destination such as `10.0.0.0/8` or `default`",
                            ),
                        }
                    }
                    "via" | "gw" | "src" => {
                        let Some(v) = self.option_value(line, i) else {
                            continue 'lines;
                        };
                        let a = self.ip(word, v);
                        if word == "src" {
                            src = a;
                        } else {
                            via = a;
                        }
                    }
                    "dev" => {
                        let Some(v) = self.option_value(line, i) else {
                            continue 'lines;
                        };
                        dev = Some(v.text().to_string());
                    }
                    "table" => {
                        let Some(v) = self.option_value(line, i) else {
                            continue 'lines;
                        };
                        table = parse_table(v.text());
                        if table.is_none() {
                            self.invalid(
                                "table",
                                v,
                                "a table number, `main`, `local` or `default` (names from rt_tables are not read)",
                            );
                        }
                    }
                    "metric" | "preference" | "priority" => {
                        let Some(v) = self.option_value(line, i) else {
                            continue 'lines;
                        };
                        metric = parse_u32(v.text());
                        if metric.is_none() {
                            self.invalid(word, v, "an integer from 0 to 4294967295");
                        }
                    }
                    "scope" => {
                        let Some(v) = self.option_value(line, i) else {
                            continue 'lines;
                        };
                        scope = parse_scope(v.text());
                        if scope.is_none() {
                            self.invalid("scope", v, "global, site, link, host or nowhere");
                        }
                    }
                    "proto" | "protocol" => {
                        let Some(v) = self.option_value(line, i) else {
                            continue 'lines;
                        };
                        proto = parse_proto(v.text());
                        if proto.is_none() {
                            self.invalid(
                                word,
                                v,
                                "a protocol number from 0 to 255 or a name such as `static`",
                            );
                        }
                    }
                    _ if dest.is_none() && parse_net(word).is_some() => {
                        dest = parse_net(word);
                        takes_value = false;
                    }
                    _ => {
                        // Refused or unknown: the entry is not built.
                        self.route_option_refused(block, t, KNOWN);
                        continue 'lines;
                    }
                }
                i += if takes_value { 2 } else { 1 };
            }
            let Some(dest) = dest else {
                self.invalid(block, first, "a route such as `10.0.0.0/8 via 192.0.2.1`");
                continue;
            };
            let v6 = inet6 || [via, src].iter().flatten().any(IpAddr::is_ipv6);
            let (addr, len) = dest.unwrap_or((unspecified(v6), 0));
            let mut r = Route::new(addr, len).with_kind(kind);
            r.via = via;
            r.dev = dev;
            r.src = src;
            if let Some(t) = table {
                r.table = t;
            }
            r.metric = metric;
            r.scope = scope;
            if let Some(p) = proto {
                r.protocol = p;
            }
            r.no_track = no_track;
            if inet6 && addr.is_ipv4() && dest.is_some() {
                self.invalid(block, first, "an IPv6 destination with `inet6`");
                continue;
            }
            match r.validate() {
                Ok(()) => out.push(r),
                Err(why) => self.error(
                    &first.location,
                    ErrorKind::Invalid {
                        message: format!("{block}: route {r}: {why}"),
                    },
                ),
            }
        }
        out
    }

    /// `virtual_rules` / `static_rules`: one rule per line.
    pub(super) fn rules(&mut self, n: &Node) -> Vec<Rule> {
        const KNOWN: &[&str] = &[
            "from",
            "to",
            "table",
            "lookup",
            "priority",
            "preference",
            "pref",
            "fwmark",
            "iif",
            "oif",
            "no_track",
            "inet6",
        ];
        let block = n.keyword();
        let mut out = Vec::new();
        'lines: for line in items(n) {
            let Some(first) = line.first() else { continue };
            let mut rule = Rule::new(Family::Inet);
            let mut inet6 = false;
            let mut i = 0;
            while i < line.len() {
                let t = &line[i];
                let word = t.text();
                if matches!(word, "inet6" | "no_track") {
                    inet6 |= word == "inet6";
                    rule.no_track |= word == "no_track";
                    i += 1;
                    continue;
                }
                if !KNOWN.contains(&word) {
                    self.route_option_refused(block, t, KNOWN);
                    continue 'lines;
                }
                let Some(v) = self.option_value(line, i) else {
                    continue 'lines;
                };
                let text = v.text();
                let ok = match word {
                    "from" | "to" => match parse_net(text) {
                        Some(net) => {
                            if word == "from" {
                                rule.from = net;
                            } else {
                                rule.to = net;
                            }
                            true
                        }
                        None => false,
                    },
                    "table" | "lookup" => parse_table(text).map(|t| rule.table = t).is_some(),
                    "priority" | "preference" | "pref" => {
                        parse_u32(text).map(|p| rule.priority = Some(p)).is_some()
                    }
                    "fwmark" => {
                        let (mark, mask) = match text.split_once('/') {
                            Some((m, k)) => (m, Some(k)),
                            None => (text, None),
                        };
                        match (parse_u32(mark), mask.map(parse_u32)) {
                            (Some(m), None) => {
                                rule.fwmark = Some(m);
                                true
                            }
                            (Some(m), Some(Some(k))) => {
                                rule.fwmark = Some(m);
                                rule.fwmask = Some(k);
                                true
                            }
                            _ => false,
                        }
                    }
                    "iif" => {
                        rule.iif = Some(text.to_string());
                        true
                    }
                    _ => {
                        rule.oif = Some(text.to_string());
                        true
                    }
                };
                if !ok {
                    let expected = match word {
                        "from" | "to" => "an address such as `10.0.0.0/8`, or `all`",
                        "table" | "lookup" => {
                            "a table number, `main`, `local` or `default` (names from rt_tables are not read)"
                        }
                        "fwmark" => "a mark, or MARK/MASK",
                        _ => "an integer from 0 to 4294967295",
                    };
                    self.invalid(word, v, expected);
                    continue 'lines;
                }
                i += 2;
            }
            let v6 = inet6
                || [rule.from, rule.to]
                    .iter()
                    .flatten()
                    .any(|(a, _)| a.is_ipv6());
            rule.family = if v6 { Family::Inet6 } else { Family::Inet };
            match rule.validate() {
                Ok(()) => out.push(rule),
                Err(why) => self.error(
                    &first.location,
                    ErrorKind::Invalid {
                        message: format!("{block}: rule {rule}: {why}"),
                    },
                ),
            }
        }
        out
    }

    /// `static_ipaddress`: `virtual_ipaddress` entries that must name their `dev`.
    pub(super) fn static_addresses(&mut self, n: &Node) -> Vec<VirtualIp> {
        let mut out = Vec::new();
        for v in self.vips(n) {
            if v.dev.is_some() {
                out.push(v);
                continue;
            }
            let at = items(n)
                .iter()
                .flatten()
                .find(|t| parse_prefix(t.text()) == Some((v.addr, v.prefix_len)))
                .map_or_else(|| n.loc().clone(), |t| t.location.clone());
            self.error(
                &at,
                ErrorKind::Invalid {
                    message: format!(
                        "static_ipaddress {}/{}: `dev` is required (director has no default_interface)",
                        v.addr, v.prefix_len
                    ),
                },
            );
        }
        out
    }
}
