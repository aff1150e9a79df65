//! From a validated keepalived configuration to lvs-director's typed
//! [`DirectorConfig`] (pure): `DirectorConfig::try_from(&config)`.
//!
//! A VRRP instance without `mcast_src_ip`/`unicast_src_ip` gets
//! [`SourceAddress::Interface`]: its router's primary address is a
//! placeholder of the right family until lvs-director's driver looks it up.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lvs_director::{
    Check, DirectorConfig, IpvsSetup, Notify, NotifyFifo, NotifyFifos, Probe, RealServer, Routing,
    Script, SourceAddress, SyncDaemonConfig, TrackInterface, TrackScript, TrackedScript, Vip,
    VirtualServer, Vmac, VrrpInstance,
};
use lvs_healthcheck::checker::dns::DnsCheck;
use lvs_healthcheck::checker::exec::ExecCheck;
use lvs_healthcheck::checker::http::{ClientIdentity, HttpCheck, TlsOptions};
use lvs_healthcheck::checker::ping::PingCheck;
use lvs_healthcheck::checker::smtp::SmtpCheck;
use lvs_healthcheck::checker::tcp::TcpCheck;
use lvs_healthcheck::checker::tcp_half_open::TcpHalfOpenCheck;
use lvs_healthcheck::checker::udp::{ReplyMatch, UdpCheck};
use lvs_healthcheck::{ConnectOptions, KeepalivedCheck, KeepalivedTiming};
use lvs_ipvs::{Destination, SyncDaemon, SyncState, Timeouts};

use crate::{self as config, CheckKind, Config, DnsQueryType};

mod ipvs;
mod vrrp;

pub use vrrp::ToDirectorError;

impl TryFrom<&Config> for DirectorConfig {
    type Error = ToDirectorError;

    /// The typed configuration `cfg` describes.
    fn try_from(cfg: &Config) -> Result<DirectorConfig, ToDirectorError> {
        director_config(cfg)
    }
}

fn director_config(cfg: &Config) -> Result<DirectorConfig, ToDirectorError> {
    let mut out = DirectorConfig::new();
    out.name = cfg.global.router_id.clone();
    let vmac_names = vrrp::vmac_names(&cfg.vrrp_instances);
    for (inst, vmac_name) in cfg.vrrp_instances.iter().zip(vmac_names) {
        let mut i = instance(inst, &cfg.global)?;
        if let Some(name) = vmac_name {
            i = i.with_vmac(Vmac::new(&name).with_xmit_base(inst.vmac_xmit_base));
        }
        out.instances.push(i);
    }
    out.virtual_servers = cfg
        .virtual_servers
        .iter()
        .map(|vs| virtual_server(cfg, vs))
        .collect();
    if let Some(id) = &cfg.ssl_identity {
        present_client_certificate(&mut out, id);
    }
    out.track_scripts = cfg.vrrp_scripts.iter().filter_map(track_script).collect();
    out.track_files = cfg.track_files.iter().map(track_file).collect();
    out.track_processes = cfg.track_processes.iter().map(track_process).collect();
    vrrp::sync_groups(cfg, &mut out);
    let g = &cfg.global;
    out.sync_daemon = sync_daemon(cfg);
    out.script_security = g.enable_script_security;
    let t = &g.lvs_timeouts;
    let mut setup = IpvsSetup::default();
    setup.flush = g.lvs_flush;
    setup.timeouts = (t.tcp.is_some() || t.tcpfin.is_some() || t.udp.is_some()).then(|| {
        Timeouts::new(
            t.tcp.unwrap_or_default(),
            t.tcpfin.unwrap_or_default(),
            t.udp.unwrap_or_default(),
        )
    });
    setup.expire_nodest_conn = !g.lvs_keep_expire_nodest_conn;
    out.ipvs_setup = setup;
    let mut fifos = NotifyFifos::default();
    fifos.all = notify_fifo(&g.notify_fifo);
    fifos.vrrp = notify_fifo(&g.vrrp_notify_fifo);
    fifos.lvs = notify_fifo(&g.lvs_notify_fifo);
    out.notify_fifos = fifos;
    out.vrrp_startup_delay = g.vrrp_startup_delay;
    out.reconcile_interval = g.lvs_reconcile_interval;
    out.net_namespace = g.net_namespace.clone();
    let mut statics = Routing::new(cfg.static_routes.clone(), cfg.static_rules.clone());
    statics.addresses = cfg
        .static_ipaddresses
        .iter()
        .map(|v| {
            let mut x = Vip::new(v.addr).with_prefix(v.prefix_len);
            x.interface = v.dev.clone();
            x.label = v.label.clone();
            x.no_track = v.no_track;
            x
        })
        .collect();
    out.static_routing = statics;
    if let Some(b) = &cfg.route_announce {
        out.route_announce = Some(b.announce.clone());
        out.ipvs_setup.sloppy_tcp = b.sloppy_tcp;
        if let Some(sd) = &b.sync_daemon {
            out.sync_daemon = Some(SyncDaemonConfig::both(sync_daemon_of(sd, 0)));
        }
    }
    Ok(out)
}

/// keepalived's SSL context is global: every SSL_GET presents its
/// certificate.
fn present_client_certificate(out: &mut DirectorConfig, id: &ClientIdentity) {
    let probes = out
        .virtual_servers
        .iter_mut()
        .flat_map(|vs| vs.real_servers.iter_mut())
        .flat_map(|rs| rs.probes.iter_mut());
    for p in probes {
        if let Check::Http(HttpCheck { tls: Some(t), .. }) = &mut p.check {
            t.client_identity = Some(id.clone());
        }
    }
}

/// A `vrrp_script` as lvs-director's tracked script (keepalived's timing:
/// first run at once, `timeout` defaulting to `interval`).
fn track_script(s: &config::VrrpScript) -> Option<TrackScript> {
    let argv = Script::new(s.script.argv.iter().cloned())?.with_run_as(s.script.run_as);
    let mut t = TrackScript::new(&s.name, argv)
        .with_interval(s.interval)
        .with_rise(s.rise)
        .with_fall(s.fall)
        .with_weight(s.weight)
        .with_reverse(s.reverse)
        .with_init_fail(s.init_fail);
    t.timeout_after = s.timeout;
    Some(t)
}

/// A `track_file` as lvs-director's tracked file.
fn track_file(f: &config::TrackFile) -> lvs_director::TrackFile {
    let mut t = lvs_director::TrackFile::new(&f.name, f.path.clone())
        .with_weight(f.weight)
        .with_reverse(f.reverse);
    if let Some((value, overwrite)) = f.init {
        t = t.with_init(lvs_director::InitFile::new(value).with_overwrite(overwrite));
    }
    t
}

/// A `vrrp_track_process` as lvs-director's tracked process.
fn track_process(p: &config::TrackProcess) -> lvs_director::TrackProcess {
    use lvs_director::{ParamMatch, ProcessMatch};
    let mut m = ProcessMatch::new(&p.process[0]);
    m.params = p.process[1..].to_vec();
    m.full_command = p.full_command;
    m.param_match = match p.param_match {
        None => ParamMatch::Any,
        Some(config::ParamMatch::Partial) => ParamMatch::Partial,
        Some(config::ParamMatch::Initial) => ParamMatch::Initial,
        Some(_) => ParamMatch::Exact,
    };
    lvs_director::TrackProcess::new(&p.name, m)
        .with_weight(p.weight)
        .with_reverse(p.reverse)
        .with_quorum(p.quorum, p.quorum_max.unwrap_or(u32::MAX))
        .with_fork_delay(p.fork_delay)
        .with_terminate_delay(p.terminate_delay)
}

/// A FIFO with its path (a script alone was warned about and runs nothing).
fn notify_fifo(f: &config::NotifyFifo) -> Option<NotifyFifo> {
    let mut out = NotifyFifo::new(f.path.as_deref()?);
    out.script = script(&f.script);
    out.readable_by_all = f.for_other_user;
    Some(out)
}

fn script(s: &Option<config::Script>) -> Option<Script> {
    s.as_ref()
        .and_then(|s| Script::new(s.argv.iter().cloned()).map(|x| x.with_run_as(s.run_as)))
}

fn instance(
    inst: &config::VrrpInstance,
    g: &config::GlobalDefs,
) -> Result<VrrpInstance, ToDirectorError> {
    // The source address is looked up from the interface when the driver
    // starts the instance; a placeholder of the right family until then.
    let v6 = inst
        .virtual_ipaddresses
        .first()
        .is_some_and(|v| v.addr.is_ipv6());
    let placeholder = if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    let router = vrrp::router_config(inst, g, inst.source_ip.unwrap_or(placeholder))?;
    let mut out = VrrpInstance::new(&inst.name, &inst.interface, router);
    out.source = inst
        .source_ip
        .map_or(SourceAddress::Interface, SourceAddress::Fixed);
    let vip = |v: &config::VirtualIp, advertised: bool| {
        let mut x = Vip::new(v.addr).with_prefix(v.prefix_len);
        x.interface = v.dev.clone();
        x.label = v.label.clone();
        x.advertised = advertised;
        x.no_track = v.no_track;
        x
    };
    out.vips = inst
        .virtual_ipaddresses
        .iter()
        .map(|v| vip(v, true))
        .chain(
            inst.virtual_ipaddresses_excluded
                .iter()
                .map(|v| vip(v, false)),
        )
        .collect();
    out.track_interfaces = inst
        .track_interfaces
        .iter()
        .map(|t| {
            let mut x = TrackInterface::new(&t.interface);
            x.weight = t.weight;
            x.reverse = t.reverse;
            x
        })
        .collect();
    out.track_scripts = inst
        .track_scripts
        .iter()
        .map(|t| {
            let mut x = TrackedScript::new(&t.script);
            x.weight = t.weight;
            x.reverse = t.reverse;
            x
        })
        .collect();
    out.track_files = inst
        .track_files
        .iter()
        .map(|t| {
            let mut x = lvs_director::TrackedFile::new(&t.name);
            x.weight = t.weight;
            x.reverse = t.reverse;
            x
        })
        .collect();
    out.track_processes = inst
        .track_processes
        .iter()
        .map(|t| {
            let mut x = lvs_director::TrackedProcess::new(&t.name);
            x.weight = t.weight;
            x.reverse = t.reverse;
            x
        })
        .collect();
    out.track_link = !inst.dont_track_primary;
    out.routes = inst.virtual_routes.clone();
    out.rules = inst.virtual_rules.clone();
    let mut notify = Notify::default();
    notify.master = script(&inst.notify_master);
    notify.backup = script(&inst.notify_backup);
    notify.fault = script(&inst.notify_fault);
    notify.stop = script(&inst.notify_stop);
    notify.any = script(&inst.notify);
    out.notify = notify;
    Ok(out)
}

fn sync_daemon(cfg: &Config) -> Option<SyncDaemonConfig> {
    if let Some(sd) = &cfg.global.lvs_sync_daemon {
        let name = sd
            .vrrp_instance
            .clone()
            .or_else(|| cfg.vrrp_instances.first().map(|i| i.name.clone()))?;
        let vrid = cfg.vrrp_instance(&name).map_or(0, |i| i.virtual_router_id);
        return Some(SyncDaemonConfig::new(sync_daemon_of(sd, vrid), &name));
    }
    cfg.vrrp_instances.iter().find_map(|i| {
        i.lvs_sync_daemon_interface.as_ref().map(|iface| {
            SyncDaemonConfig::new(
                SyncDaemon::new(SyncState::Master, iface, u32::from(i.virtual_router_id)),
                &i.name,
            )
        })
    })
}

/// The kernel daemon's settings of `lvs_sync_daemon` (its sync id, or `vrid`).
fn sync_daemon_of(sd: &config::LvsSyncDaemon, vrid: u8) -> SyncDaemon {
    let mut d = SyncDaemon::new(
        SyncState::Master,
        &sd.interface,
        u32::from(sd.sync_id.unwrap_or(vrid)),
    );
    d.max_len = sd.maxlen;
    d.port = sd.port;
    d.ttl = sd.ttl;
    d.group = sd.group;
    d
}

fn virtual_server(cfg: &Config, vs: &config::VirtualServer) -> VirtualServer {
    let group = vs
        .group
        .as_deref()
        .and_then(|n| cfg.virtual_server_group(n));
    let mut out = match group {
        None => VirtualServer::new(ipvs::service(vs)),
        Some(g) => ipvs::group_server(vs, g),
    };
    out.quorum = vs.quorum;
    out.hysteresis = vs.hysteresis;
    out.quorum_up = script(&vs.quorum_up);
    out.quorum_down = script(&vs.quorum_down);
    out.omega = vs.omega;
    out.ha_suspend = vs.ha_suspend;
    out.sorry_server = vs
        .sorry_server
        .map(|s| Destination::new(s, vs.sorry_server_forwarding).with_weight(1));
    for rs in &vs.real_servers {
        let mut d = Destination::new(rs.addr, rs.forwarding)
            .with_weight(u32::try_from(rs.weight).unwrap_or(0));
        d.upper_threshold = rs.upper_threshold.unwrap_or(0);
        d.lower_threshold = rs.lower_threshold.unwrap_or(0);
        let mut r = RealServer::new(d);
        r.inhibit_on_failure = rs.inhibit_on_failure;
        r.notify_up = script(&rs.notify_up);
        r.notify_down = script(&rs.notify_down);
        r.probes = rs.checks.iter().flat_map(|c| probes(rs, c)).collect();
        r.file_checks = rs
            .file_checks
            .iter()
            .map(|f| {
                let c = lvs_director::FileCheck::new(&f.track_file);
                match f.weight {
                    Some((w, reverse)) => c.with_weight(w, reverse),
                    None => c,
                }
            })
            .collect();
        out.real_servers.push(r);
    }
    out
}

fn connect(rs: &config::RealServer, check: &config::Check) -> ConnectOptions {
    let c = &check.common;
    let mut o = ConnectOptions::new(rs.addr);
    o.connect_ip = c.connect_ip;
    o.connect_port = c.connect_port;
    o.bind_addr = c.bind_to;
    o.bind_device = c.bind_if.clone();
    o.connect_timeout = Some(c.connect_timeout);
    o
}

/// The DNS query type number of a `DNS_CHECK type`.
pub fn dns_qtype(t: DnsQueryType) -> u16 {
    match t {
        DnsQueryType::A => 1,
        DnsQueryType::Ns => 2,
        DnsQueryType::Cname => 5,
        DnsQueryType::Soa => 6,
        DnsQueryType::Mx => 15,
        DnsQueryType::Txt => 16,
        DnsQueryType::Aaaa => 28,
    }
}

/// keepalived's `require_reply` nibble pattern (`None` = `X` wildcard) as
/// bytes plus a mask of ignored bits.
pub fn reply_pattern(nibbles: &[Option<u8>]) -> (Vec<u8>, Vec<u8>) {
    let mut pattern = Vec::new();
    let mut mask = Vec::new();
    for pair in nibbles.chunks(2) {
        let hi = pair.first().copied().flatten();
        let lo = pair.get(1).copied().flatten();
        let lo_missing = pair.len() < 2;
        pattern.push((hi.unwrap_or(0) << 4) | lo.unwrap_or(0));
        mask.push(
            (if hi.is_none() { 0xf0 } else { 0 })
                | (if lo.is_none() || lo_missing { 0x0f } else { 0 }),
        );
    }
    (pattern, mask)
}

fn timing(kind: KeepalivedCheck, check: &config::Check) -> KeepalivedTiming {
    let c = &check.common;
    KeepalivedTiming::new(kind)
        .with_delay_loop(c.delay_loop)
        .with_retry(c.retry)
        .with_delay_before_retry(c.delay_before_retry)
        .with_connect_timeout(c.connect_timeout)
        .with_warmup(c.warmup)
        .with_alpha(c.alpha)
}

/// The probes of one checker (HTTP_GET and SSL_GET give one per `url`,
/// SMTP_CHECK one per `host`; the server is up only while all of its probes are).
pub fn probes(rs: &config::RealServer, check: &config::Check) -> Vec<Probe> {
    let o = connect(rs, check);
    let dst = o.destination();
    let mk = |c: Check, kind: KeepalivedCheck, description: String| {
        let mut p = Probe::new(c, timing(kind, check).policy());
        p.description = description;
        p
    };
    match &check.kind {
        CheckKind::Tcp => vec![mk(
            Check::Tcp(TcpCheck::new(o)),
            KeepalivedCheck::Tcp,
            format!("TCP_CHECK {dst}"),
        )],
        CheckKind::TcpHalfOpen => vec![mk(
            Check::TcpHalfOpen(TcpHalfOpenCheck::new(o)),
            KeepalivedCheck::Tcp,
            format!("TCP_CHECK (half-open) {dst}"),
        )],
        CheckKind::Udp(u) => {
            // keepalived's UDP_CHECK: up unless an ICMP error comes back,
            // unless a reply is required (then lengths and pattern apply).
            let reply = u.require_reply.as_ref().map(|nibbles| {
                let (pattern, mask) = reply_pattern(nibbles);
                ReplyMatch::any()
                    .with_min_len(u.min_reply_length as usize)
                    .with_max_len(u.max_reply_length as usize)
                    .with_pattern(pattern)
                    .with_mask(mask)
            });
            let c = UdpCheck::keepalived(o, u.payload.clone().unwrap_or_default(), reply);
            vec![mk(
                Check::Udp(c),
                KeepalivedCheck::Udp,
                format!("UDP_CHECK {dst}"),
            )]
        }
        CheckKind::Dns(d) => {
            let mut c = DnsCheck::new(o, &d.name);
            c.qtype = dns_qtype(d.query_type);
            vec![mk(
                Check::Dns(c),
                KeepalivedCheck::Dns,
                format!("DNS_CHECK {dst} {:?} {}", d.query_type, d.name),
            )]
        }
        CheckKind::Http(h) => h
            .urls
            .iter()
            .map(|u| {
                let mut c = HttpCheck::new(o.clone(), &u.path);
                c.status = u.status_codes.clone();
                c.virtual_host = u.virtualhost.clone().or_else(|| h.virtualhost.clone());
                c.body_md5 = u.digest.as_deref().and_then(HttpCheck::parse_md5_hex);
                let description = if h.tls {
                    c.tls = Some(TlsOptions::new().with_sni(h.enable_sni));
                    format!("SSL_GET https://{dst}{}", u.path)
                } else {
                    format!("HTTP_GET http://{dst}{}", u.path)
                };
                mk(Check::Http(c), KeepalivedCheck::Http, description)
            })
            .collect(),
        CheckKind::Ping => vec![mk(
            Check::Ping(PingCheck::new(o)),
            KeepalivedCheck::Tcp,
            format!("PING_CHECK {}", dst.ip()),
        )],
        CheckKind::Smtp(s) => {
            let hosts = if s.hosts.is_empty() {
                vec![o]
            } else {
                s.hosts
                    .iter()
                    .map(|h| {
                        let mut o = o.clone();
                        o.connect_ip = h.connect_ip.or(o.connect_ip);
                        o.connect_port = h.connect_port.or(o.connect_port);
                        o.bind_addr = h.bind_to.or(o.bind_addr);
                        o.bind_device = h.bind_if.clone().or(o.bind_device);
                        o.connect_timeout = h.connect_timeout.or(o.connect_timeout);
                        o
                    })
                    .collect()
            };
            hosts
                .into_iter()
                .map(|o| {
                    let dst = o.destination();
                    let c = SmtpCheck::new(o).with_helo_name(s.helo_name.clone());
                    mk(
                        Check::Smtp(c),
                        KeepalivedCheck::Tcp,
                        format!("SMTP_CHECK {dst}"),
                    )
                })
                .collect()
        }
        CheckKind::Misc(m) => {
            let args: Vec<&str> = m.argv.iter().skip(1).map(String::as_str).collect();
            let mut c = ExecCheck::new(m.argv.first().map_or("", String::as_str), &args);
            c.dynamic_weight = m.dynamic;
            c.run_as = m.run_as;
            let mut t = timing(KeepalivedCheck::Misc, check);
            t.connect_timeout = Some(m.timeout.unwrap_or(check.common.delay_loop));
            let mut p = Probe::new(Check::Exec(c), t.policy());
            p.description = format!("MISC_CHECK {}", m.argv.join(" "));
            vec![p]
        }
    }
}
