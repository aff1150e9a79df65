//! The health checkers of a real server (`TCP_CHECK`, `UDP_CHECK`, `DNS_CHECK`,
//! `HTTP_GET` and `SSL_GET` with their `url`s, `SMTP_CHECK`, `PING_CHECK`,
//! `MISC_CHECK`, and `FILE_CHECK`, which follows a `track_file`).

use std::time::Duration;

use crate::error::{ConfigError, ErrorKind};
use crate::lexer::TokenKind;
use crate::model::*;
use crate::parser::Node;
use crate::values::*;

use super::{Builder, Timers, nodes};

impl Builder<'_> {
    /// One checker of a real server; `host` is the real (or else virtual)
    /// server's `virtualhost`, the default for HTTP_GET.
    pub(super) fn check(
        &mut self,
        n: &Node,
        parent: &Timers,
        vs: &VirtualServer,
        host: Option<&String>,
    ) -> Option<Check> {
        let kw = n.keyword();
        if !matches!(
            kw,
            "TCP_CHECK"
                | "UDP_CHECK"
                | "DNS_CHECK"
                | "HTTP_GET"
                | "SSL_GET"
                | "SMTP_CHECK"
                | "PING_CHECK"
                | "MISC_CHECK"
        ) {
            return None;
        }
        let mut t = Timers::default();
        let mut common = CheckCommon {
            connect_ip: None,
            connect_port: None,
            bind_to: None,
            bind_if: None,
            connect_timeout: Duration::ZERO,
            retry: 0,
            delay_before_retry: Duration::ZERO,
            warmup: Duration::ZERO,
            delay_loop: Duration::ZERO,
            alpha: false,
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
            virtualhost: None,
            tls: kw == "SSL_GET",
            enable_sni: false,
        };
        let mut smtp = SmtpCheck {
            helo_name: lvs_healthcheck::checker::smtp::DEFAULT_HELO.to_string(),
            hosts: Vec::new(),
        };
        let mut misc = MiscCheck {
            argv: Vec::new(),
            timeout: None,
            dynamic: false,
            run_as: self.script_user,
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
                "bind_if" => common.bind_if = Self::string(c),
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
                "virtualhost" => http.virtualhost = Self::string(c),
                "enable_sni" => http.enable_sni = true,
                "helo_name" => {
                    if let Some(name) = Self::string(c) {
                        smtp.helo_name = name;
                    }
                }
                "host" => {
                    self.warn(
                        c.loc(),
                        "the SMTP_CHECK `host` block is deprecated by keepalived (write one \
                         SMTP_CHECK per address); each host is checked and all must pass",
                    );
                    let host = self.smtp_host(c, &mut t);
                    smtp.hosts.push(host);
                }
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
                "user" => misc.run_as = self.run_as(c).or(misc.run_as),
                "lvs_half_open" => half_open = true,
                _ => self.unhandled(c),
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
            "HTTP_GET" | "SSL_GET" => Duration::from_secs(3),
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
            "HTTP_GET" | "SSL_GET" => {
                if http.urls.is_empty() {
                    self.error(
                        n.loc(),
                        ErrorKind::MissingRequired {
                            block: kw.into(),
                            keyword: "url".into(),
                            detail: Some("e.g. `url { path / status_code 200 }`".into()),
                        },
                    );
                    return None;
                }
                if http.virtualhost.is_none() {
                    http.virtualhost = host.cloned();
                }
                CheckKind::Http(http)
            }
            "SMTP_CHECK" => CheckKind::Smtp(smtp),
            "PING_CHECK" => CheckKind::Ping,
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

    /// A `FILE_CHECK { track_file NAME; weight N [reverse|noreverse] }`;
    /// whether NAME is defined is checked once every block is read
    /// ([`check_file_check_refs`](Self::check_file_check_refs)).
    pub(super) fn file_check(&mut self, n: &Node) -> Option<FileCheck> {
        let mut track_file = None;
        let mut weight = None;
        for c in nodes(n) {
            match c.keyword() {
                "track_file" => track_file = Self::string(c),
                "weight" => {
                    let t = c.args.first()?;
                    let max = i64::from(i32::MAX);
                    let Some(w) =
                        parse_int(t.text(), -max, max).and_then(|w| i32::try_from(w).ok())
                    else {
                        self.invalid("weight", t, "an integer from -2147483647 to 2147483647");
                        continue;
                    };
                    let reverse = match c.args.get(1).map(|a| a.text()) {
                        None | Some("noreverse") => false,
                        Some("reverse") => true,
                        Some(_) => {
                            self.invalid("weight", &c.args[1], "`reverse` or `noreverse`");
                            continue;
                        }
                    };
                    weight = Some((w, reverse));
                }
                // Warned by the parser: keepalived 2.2.7 ignores it too.
                "dynamic" => {}
                _ => self.unhandled(c),
            }
        }
        let Some(track_file) = track_file else {
            self.error(
                n.loc(),
                ErrorKind::MissingRequired {
                    block: "FILE_CHECK".into(),
                    keyword: "track_file".into(),
                    detail: Some("the name of a `track_file NAME { file PATH }` block".into()),
                },
            );
            return None;
        };
        Some(FileCheck { track_file, weight })
    }

    /// Every `FILE_CHECK`'s `track_file` names a defined `track_file`
    /// block (an error at the `track_file` line otherwise).
    pub(super) fn check_file_check_refs(&mut self, top: &[Node], defined: &[&str]) {
        for vs in top.iter().filter(|n| n.keyword() == "virtual_server") {
            for rs in nodes(vs).iter().filter(|n| n.keyword() == "real_server") {
                for fc in nodes(rs).iter().filter(|n| n.keyword() == "FILE_CHECK") {
                    for t in nodes(fc).iter().filter(|n| n.keyword() == "track_file") {
                        let Some(name) = t.args.first() else { continue };
                        if defined.contains(&name.text()) {
                            continue;
                        }
                        let mut e = ConfigError::new(
                            &name.location,
                            ErrorKind::Invalid {
                                message: format!(
                                    "FILE_CHECK follows track_file `{}`, which is not defined",
                                    name.text()
                                ),
                            },
                        );
                        if let Some(s) =
                            crate::suggest::suggest(name.text(), defined.iter().copied())
                        {
                            e = e.note(None, format!("did you mean `{s}`?"));
                        }
                        self.errors.push(e);
                    }
                }
            }
        }
    }

    /// An SMTP_CHECK `host { }`: its connection options; timers go to the checker.
    fn smtp_host(&mut self, n: &Node, t: &mut Timers) -> SmtpHost {
        let mut h = SmtpHost::default();
        for c in nodes(n) {
            let first = c.args.first();
            match c.keyword() {
                // Per host in keepalived (part of the connection options).
                "connect_timeout" => h.connect_timeout = self.secs(c),
                "connect_ip" => h.connect_ip = first.and_then(|a| self.ip("connect_ip", a)),
                "connect_port" => h.connect_port = first.and_then(|a| self.port("connect_port", a)),
                "bindto" => h.bind_to = first.and_then(|a| self.ip("bindto", a)),
                "bind_if" => h.bind_if = Self::string(c),
                _ if self.timers_kw(c, t) => {}
                _ => self.unhandled(c),
            }
        }
        h
    }

    pub(super) fn url(&mut self, n: &Node) -> Option<HttpUrl> {
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
                _ => self.unhandled(c),
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
