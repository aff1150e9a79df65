//! Which keywords each block accepts, how many values each takes, and which
//! open a block. This table drives the parser: it is what lets a one-line
//! block be split into statements, and what unknown words are compared
//! against for suggestions.

/// A kind of block (its contents follow one grammar).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ctx {
    Root,
    GlobalDefs,
    VrrpInstance,
    Authentication,
    VrrpSyncGroup,
    VirtualServer,
    RealServer,
    TcpCheck,
    UdpCheck,
    DnsCheck,
    HttpGet,
    Url,
    MiscCheck,
    /// A block whose lines are list entries, not keywords
    /// (`virtual_ipaddress`, `unicast_peer`, ...).
    List,
}

impl Ctx {
    /// "at the top level", "in a `vrrp_instance` block", ...
    pub fn describe(self) -> String {
        match self.opener() {
            Some(o) => format!("in a `{o}` block"),
            None => "at the top level".to_string(),
        }
    }

    /// The keyword that opens this kind of block.
    pub fn opener(self) -> Option<&'static str> {
        Some(match self {
            Ctx::Root => return None,
            Ctx::GlobalDefs => "global_defs",
            Ctx::VrrpInstance => "vrrp_instance",
            Ctx::Authentication => "authentication",
            Ctx::VrrpSyncGroup => "vrrp_sync_group",
            Ctx::VirtualServer => "virtual_server",
            Ctx::RealServer => "real_server",
            Ctx::TcpCheck => "TCP_CHECK",
            Ctx::UdpCheck => "UDP_CHECK",
            Ctx::DnsCheck => "DNS_CHECK",
            Ctx::HttpGet => "HTTP_GET",
            Ctx::Url => "url",
            Ctx::MiscCheck => "MISC_CHECK",
            Ctx::List => return None,
        })
    }

    pub fn keywords(self) -> &'static [Kw] {
        match self {
            Ctx::Root => ROOT,
            Ctx::GlobalDefs => GLOBAL_DEFS,
            Ctx::VrrpInstance => VRRP_INSTANCE,
            Ctx::Authentication => AUTHENTICATION,
            Ctx::VrrpSyncGroup => VRRP_SYNC_GROUP,
            Ctx::VirtualServer => VIRTUAL_SERVER,
            Ctx::RealServer => REAL_SERVER,
            Ctx::TcpCheck | Ctx::UdpCheck | Ctx::DnsCheck => match self {
                Ctx::TcpCheck => TCP_CHECK,
                Ctx::UdpCheck => UDP_CHECK,
                _ => DNS_CHECK,
            },
            Ctx::HttpGet => HTTP_GET,
            Ctx::Url => URL,
            Ctx::MiscCheck => MISC_CHECK,
            Ctx::List => &[],
        }
    }

    pub fn lookup(self, word: &str) -> Option<&'static Kw> {
        self.keywords().iter().find(|k| k.name == word)
    }
}

/// Every context, for "belongs inside" hints.
pub(crate) const ALL_CTX: &[Ctx] = &[
    Ctx::Root,
    Ctx::GlobalDefs,
    Ctx::VrrpInstance,
    Ctx::Authentication,
    Ctx::VrrpSyncGroup,
    Ctx::VirtualServer,
    Ctx::RealServer,
    Ctx::TcpCheck,
    Ctx::UdpCheck,
    Ctx::DnsCheck,
    Ctx::HttpGet,
    Ctx::Url,
    Ctx::MiscCheck,
];

/// keepalived keywords director recognises but refuses rather than ignore:
/// applying a configuration without them would not mean what it says.
pub(crate) const UNSUPPORTED: &[&str] = &[
    "vrrp_script",
    "track_script",
    "track_file",
    "track_process",
    "track_bfd",
    "vrrp_track_file",
    "vrrp_track_process",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "virtual_routes",
    "virtual_rules",
    "SSL",
    "SSL_GET",
    "SMTP_CHECK",
    "PING_CHECK",
    "BFD_CHECK",
    "FILE_CHECK",
    "bfd_instance",
    "garp_group",
    "net_namespace",
    "persistence_engine",
    "regex",
    "mcast_dst_ip",
    "virtual_server_group",
];

/// One keyword: its name, how many values it takes, and the block it opens.
#[derive(Debug)]
pub(crate) struct Kw {
    pub name: &'static str,
    pub min: u8,
    /// `None`: any number (up to the end of the line).
    pub max: Option<u8>,
    pub block: Option<Ctx>,
}

const fn kw(name: &'static str, min: u8, max: u8) -> Kw {
    Kw {
        name,
        min,
        max: Some(max),
        block: None,
    }
}

const fn var(name: &'static str, min: u8) -> Kw {
    Kw {
        name,
        min,
        max: None,
        block: None,
    }
}

const fn blk(name: &'static str, min: u8, max: u8, ctx: Ctx) -> Kw {
    Kw {
        name,
        min,
        max: Some(max),
        block: Some(ctx),
    }
}

const ROOT: &[Kw] = &[
    blk("global_defs", 0, 0, Ctx::GlobalDefs),
    blk("vrrp_instance", 1, 1, Ctx::VrrpInstance),
    blk("vrrp_sync_group", 1, 1, Ctx::VrrpSyncGroup),
    blk("virtual_server", 1, 2, Ctx::VirtualServer),
];

const GLOBAL_DEFS: &[Kw] = &[
    kw("router_id", 1, 1),
    blk("notification_email", 0, 0, Ctx::List),
    kw("notification_email_from", 1, 1),
    kw("smtp_server", 1, 2),
    kw("smtp_helo_name", 1, 1),
    kw("smtp_connect_timeout", 1, 1),
    kw("smtp_alert", 0, 1),
    kw("smtp_alert_vrrp", 0, 1),
    kw("smtp_alert_checker", 0, 1),
    kw("no_email_faults", 0, 0),
    kw("script_user", 1, 2),
    kw("enable_script_security", 0, 0),
    kw("vrrp_version", 1, 1),
    kw("vrrp_garp_master_delay", 1, 1),
    kw("vrrp_garp_master_repeat", 1, 1),
    kw("vrrp_garp_master_refresh", 1, 1),
    kw("vrrp_garp_master_refresh_repeat", 1, 1),
    kw("vrrp_garp_interval", 1, 1),
    kw("vrrp_gna_interval", 1, 1),
    kw("vrrp_min_garp", 0, 1),
    kw("vrrp_mcast_group4", 1, 1),
    kw("vrrp_mcast_group6", 1, 1),
    kw("vrrp_strict", 0, 0),
    kw("vrrp_skip_check_adv_addr", 0, 1),
    kw("default_interface", 1, 1),
    var("lvs_sync_daemon", 1),
    kw("lvs_timeouts", 2, 6),
    kw("lvs_flush", 0, 0),
    kw("lvs_keep_expire_nodest_conn", 0, 0),
    kw("checker_log_all_failures", 0, 1),
    kw("max_auto_priority", 0, 1),
    kw("vrrp_priority", 1, 1),
    kw("checker_priority", 1, 1),
    kw("vrrp_rt_priority", 1, 1),
    kw("checker_rt_priority", 1, 1),
    kw("vrrp_no_swap", 0, 0),
    kw("checker_no_swap", 0, 0),
];

const VRRP_INSTANCE: &[Kw] = &[
    kw("state", 1, 1),
    kw("interface", 1, 1),
    kw("virtual_router_id", 1, 1),
    kw("priority", 1, 1),
    kw("advert_int", 1, 1),
    kw("version", 1, 1),
    blk("virtual_ipaddress", 0, 0, Ctx::List),
    blk("virtual_ipaddress_excluded", 0, 0, Ctx::List),
    kw("nopreempt", 0, 0),
    kw("preempt", 0, 0),
    kw("preempt_delay", 1, 1),
    kw("unicast_src_ip", 1, 1),
    kw("mcast_src_ip", 1, 1),
    blk("unicast_peer", 0, 0, Ctx::List),
    blk("track_interface", 0, 0, Ctx::List),
    blk("authentication", 0, 0, Ctx::Authentication),
    var("notify_master", 1),
    var("notify_backup", 1),
    var("notify_fault", 1),
    var("notify_stop", 1),
    var("notify", 1),
    kw("garp_master_delay", 1, 1),
    kw("garp_master_repeat", 1, 1),
    kw("garp_master_refresh", 1, 1),
    kw("garp_master_refresh_repeat", 1, 1),
    kw("accept", 0, 0),
    kw("no_accept", 0, 0),
    kw("use_vmac", 0, 1),
    kw("vmac_xmit_base", 0, 0),
    kw("lvs_sync_daemon_interface", 1, 1),
    kw("dont_track_primary", 0, 0),
    kw("smtp_alert", 0, 1),
    kw("debug", 0, 1),
];

const AUTHENTICATION: &[Kw] = &[kw("auth_type", 1, 1), kw("auth_pass", 1, 1)];

const VRRP_SYNC_GROUP: &[Kw] = &[
    blk("group", 0, 0, Ctx::List),
    var("notify_master", 1),
    var("notify_backup", 1),
    var("notify_fault", 1),
    var("notify_stop", 1),
    var("notify", 1),
    kw("smtp_alert", 0, 1),
];

const VIRTUAL_SERVER: &[Kw] = &[
    kw("delay_loop", 1, 1),
    kw("lb_algo", 1, 1),
    kw("lvs_sched", 1, 1),
    kw("lb_kind", 1, 1),
    kw("lvs_method", 1, 1),
    kw("protocol", 1, 1),
    kw("persistence_timeout", 0, 1),
    kw("persistence_granularity", 1, 1),
    kw("quorum", 1, 1),
    kw("hysteresis", 1, 1),
    var("quorum_up", 1),
    var("quorum_down", 1),
    kw("sorry_server", 1, 2),
    kw("sorry_server_inhibit", 0, 1),
    kw("sorry_server_lvs_method", 1, 1),
    kw("inhibit_on_failure", 0, 1),
    kw("alpha", 0, 1),
    kw("omega", 0, 1),
    kw("ha_suspend", 0, 0),
    kw("virtualhost", 1, 1),
    kw("connect_timeout", 1, 1),
    kw("retry", 1, 1),
    kw("delay_before_retry", 1, 1),
    kw("warmup", 1, 1),
    kw("ops", 0, 0),
    kw("flag-1", 0, 0),
    kw("flag-2", 0, 0),
    kw("flag-3", 0, 0),
    kw("sh-port", 0, 0),
    kw("sh-fallback", 0, 0),
    kw("mh-port", 0, 0),
    kw("mh-fallback", 0, 0),
    kw("smtp_alert", 0, 1),
    kw("snmp_name", 1, 1),
    blk("real_server", 1, 2, Ctx::RealServer),
];

const REAL_SERVER: &[Kw] = &[
    kw("weight", 1, 1),
    kw("inhibit_on_failure", 0, 1),
    var("notify_up", 1),
    var("notify_down", 1),
    kw("lvs_method", 1, 1),
    kw("connect_timeout", 1, 1),
    kw("retry", 1, 1),
    kw("delay_before_retry", 1, 1),
    kw("warmup", 1, 1),
    kw("delay_loop", 1, 1),
    kw("alpha", 0, 1),
    kw("virtualhost", 1, 1),
    kw("uthreshold", 1, 1),
    kw("lthreshold", 1, 1),
    kw("smtp_alert", 0, 1),
    kw("snmp_name", 1, 1),
    blk("TCP_CHECK", 0, 0, Ctx::TcpCheck),
    blk("UDP_CHECK", 0, 0, Ctx::UdpCheck),
    blk("DNS_CHECK", 0, 0, Ctx::DnsCheck),
    blk("HTTP_GET", 0, 0, Ctx::HttpGet),
    blk("MISC_CHECK", 0, 0, Ctx::MiscCheck),
];

/// Options every connecting checker takes (keepalived's "generic connection options").
macro_rules! common_check {
    ($($extra:expr),* $(,)?) => {
        &[
            kw("connect_ip", 1, 1),
            kw("connect_port", 1, 1),
            kw("bindto", 1, 1),
            kw("bind_port", 1, 1),
            kw("bind_if", 1, 1),
            kw("fwmark", 1, 1),
            kw("connect_timeout", 1, 1),
            kw("retry", 1, 1),
            kw("nb_get_retry", 1, 1),
            kw("delay_before_retry", 1, 1),
            kw("warmup", 1, 1),
            kw("delay_loop", 1, 1),
            kw("alpha", 0, 1),
            kw("log_all_failures", 0, 1),
            $($extra),*
        ]
    };
}

// `lvs_half_open` is ours, not keepalived's (which would refuse it): a SYN
// from a raw socket instead of a full connection.
const TCP_CHECK: &[Kw] = common_check!(kw("lvs_half_open", 0, 0));
const UDP_CHECK: &[Kw] = common_check!(
    var("payload", 1),
    var("require_reply", 0),
    kw("min_reply_length", 1, 1),
    kw("max_reply_length", 1, 1),
);
const DNS_CHECK: &[Kw] = common_check!(kw("type", 1, 1), kw("name", 1, 1));
const HTTP_GET: &[Kw] = common_check!(
    blk("url", 0, 0, Ctx::Url),
    kw("http_protocol", 1, 1),
    kw("fast_recovery", 0, 1),
    kw("virtualhost", 1, 1),
);
const URL: &[Kw] = &[
    kw("path", 1, 1),
    kw("digest", 1, 1),
    var("status_code", 1),
    kw("virtualhost", 1, 1),
];
const MISC_CHECK: &[Kw] = &[
    var("misc_path", 1),
    kw("misc_timeout", 1, 1),
    kw("misc_dynamic", 0, 0),
    kw("user", 1, 2),
    kw("retry", 1, 1),
    kw("delay_before_retry", 1, 1),
    kw("warmup", 1, 1),
    kw("delay_loop", 1, 1),
    kw("alpha", 0, 1),
    kw("log_all_failures", 0, 1),
];
