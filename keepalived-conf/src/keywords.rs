//! The keyword table: which keywords each block accepts, how many values
//! each takes, which open a block, and what director does with each
//! ([`Support`]). This one table drives the parser (it is what lets a
//! one-line block be split into statements, and what unknown words are
//! compared against for suggestions) and the "not supported" decision,
//! which one function alone turns into an error or a warning.

use crate::error::{ConfigError, ErrorKind, Location, Warning};

/// What director does with a keyword (or with one form of a keyword's value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Support {
    /// Parsed into the model and acted on.
    Implemented,
    /// Recognised and refused with this reason: running without it would
    /// not do what the configuration says, so the configuration is not loaded.
    Refused(&'static str),
    /// Accepted with a warning naming it: it does not change what director
    /// does (mail, SNMP, logging detail, ...); the text says why.
    Warned(&'static str),
}

impl Support {
    /// `implemented`, `refused` or `warned`.
    pub fn label(self) -> &'static str {
        match self {
            Support::Implemented => "implemented",
            Support::Refused(_) => "refused",
            Support::Warned(_) => "warned",
        }
    }

    /// The reason given for a refusal or a warning.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Support::Implemented => None,
            Support::Refused(r) | Support::Warned(r) => Some(r),
        }
    }
}

/// Every keyword this crate knows, as `(block, keyword, support)`: `block` is
/// the keyword that opens the enclosing block (`""` for the top level), in the
/// order of the table. Value forms decided on their own (`auth_type AH`,
/// `virtual_server group`, the options of `virtual_ipaddress` entries, ...)
/// are listed under the block they appear in (`"*"`: wherever a script is
/// given, e.g. `notify_master CMD USER`).
///
/// ```
/// use lvs_keepalived_conf::keywords::{self, Support};
///
/// let inhibit = keywords::all()
///     .find(|(block, kw, _)| *block == "virtual_server" && *kw == "sorry_server_inhibit")
///     .unwrap();
/// assert!(matches!(inhibit.2, Support::Refused(_)));
/// ```
pub fn all() -> impl Iterator<Item = (&'static str, &'static str, Support)> {
    ALL_CTX
        .iter()
        .flat_map(|c| {
            let block = c.opener().unwrap_or("");
            c.keywords().iter().map(move |k| (block, k.name, k.support))
        })
        .chain(VALUE_FORMS.iter().copied())
        .chain(route_forms())
}

/// The options of route and rule entries, as `(block, option, support)`
/// for each of the blocks that take them.
fn route_forms() -> impl Iterator<Item = (&'static str, &'static str, Support)> {
    let routes = ["virtual_routes", "static_routes"]
        .into_iter()
        .flat_map(|b| ROUTE_OPTIONS.iter().map(move |(f, s)| (b, *f, *s)));
    let rules = ["virtual_rules", "static_rules"]
        .into_iter()
        .flat_map(|b| RULE_OPTIONS.iter().map(move |(f, s)| (b, *f, *s)));
    routes.chain(rules)
}

/// Whether `form` is an option the table lists for route / rule block `block`.
pub(crate) fn route_form_known(block: &str, form: &str) -> bool {
    route_forms().any(|(b, f, _)| b == block && f == form)
}

/// The one place a keyword's [`Support`] becomes a diagnostic: an
/// [`ErrorKind::Unsupported`] error or a warning, at `loc`. Returns whether
/// the keyword is implemented (and so is to be built).
pub(crate) fn decide(
    support: Support,
    what: &str,
    loc: &Location,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<Warning>,
) -> bool {
    match support {
        Support::Implemented => true,
        Support::Refused(reason) => {
            errors.push(ConfigError::new(
                loc,
                ErrorKind::Unsupported {
                    keyword: what.to_string(),
                    reason: reason.to_string(),
                },
            ));
            false
        }
        Support::Warned(reason) => {
            warnings.push(Warning::new(
                loc,
                format!("`{what}` is accepted for compatibility and ignored by director: {reason}"),
            ));
            false
        }
    }
}

/// Keywords of which keepalived keeps the first value, not the last (its
/// notify FIFOs); their builder warns about a second one.
pub(crate) fn first_value_wins(word: &str) -> bool {
    matches!(
        word,
        "notify_fifo"
            | "notify_fifo_script"
            | "vrrp_notify_fifo"
            | "vrrp_notify_fifo_script"
            | "lvs_notify_fifo"
            | "lvs_notify_fifo_script"
    )
}

/// The support of a value form listed in [`VALUE_FORMS`] (or among the
/// route and rule options).
pub(crate) fn value_form(block: &str, form: &str) -> Support {
    VALUE_FORMS
        .iter()
        .copied()
        .chain(route_forms())
        .find(|(b, f, _)| *b == block && *f == form)
        .map_or(Support::Implemented, |(_, _, s)| s)
}

/// A keyword refused in some block, if `word` is one: such a keyword is
/// refused wherever it is written (not reported as misplaced).
pub(crate) fn refused_anywhere(word: &str) -> Option<Support> {
    ALL_CTX
        .iter()
        .filter_map(|c| c.lookup(word))
        .map(|k| k.support)
        .find(|s| matches!(s, Support::Refused(_)))
}

/// Every context, for "belongs inside" hints.
pub(crate) const ALL_CTX: &[Ctx] = &[
    Ctx::Root,
    Ctx::GlobalDefs,
    Ctx::VrrpInstance,
    Ctx::Authentication,
    Ctx::VirtualServer,
    Ctx::RealServer,
    Ctx::TcpCheck,
    Ctx::UdpCheck,
    Ctx::DnsCheck,
    Ctx::HttpGet,
    Ctx::SslGet,
    Ctx::Url,
    Ctx::SmtpCheck,
    Ctx::SmtpHost,
    Ctx::PingCheck,
    Ctx::MiscCheck,
    Ctx::FileCheck,
    Ctx::VrrpScript,
    Ctx::TrackFile,
    Ctx::TrackProcess,
    Ctx::SyncGroup,
    Ctx::Ssl,
    Ctx::RouteAnnounce,
];

/// One keyword: its name, how many values it takes, the block it opens, and
/// what director does with it. Refused keywords are skipped with their line
/// and block, so their arity does not matter.
#[derive(Debug)]
pub(crate) struct Kw {
    pub name: &'static str,
    pub min: u8,
    /// `None`: any number (up to the end of the line).
    pub max: Option<u8>,
    pub block: Option<Ctx>,
    pub support: Support,
}

impl Kw {
    const fn warned(mut self, reason: &'static str) -> Kw {
        self.support = Support::Warned(reason);
        self
    }
}

const fn kw(name: &'static str, min: u8, max: u8) -> Kw {
    Kw {
        name,
        min,
        max: Some(max),
        block: None,
        support: Support::Implemented,
    }
}

const fn var(name: &'static str, min: u8) -> Kw {
    Kw {
        name,
        min,
        max: None,
        block: None,
        support: Support::Implemented,
    }
}

const fn blk(name: &'static str, min: u8, max: u8, ctx: Ctx) -> Kw {
    Kw {
        name,
        min,
        max: Some(max),
        block: Some(ctx),
        support: Support::Implemented,
    }
}

const fn refused(name: &'static str, reason: &'static str) -> Kw {
    Kw {
        name,
        min: 0,
        max: None,
        block: None,
        support: Support::Refused(reason),
    }
}

const MAIL: &str = "director sends no mail";
const SNMP: &str = "director has no SNMP agent";
const LOGGING: &str = "it only changes what is logged";
const TRACKING: &str = "tracking BFD is not implemented, so priorities would not follow it";
const CHECKER: &str = "this checker is not implemented";
const REFRESH: &str = "each refresh sends a full garp_master_repeat burst";
const OBSOLETE: &str = "obsolete: keepalived 2.x accepts it and does nothing with it either";
const DYNAMIC_IFACES: &str = "director watches links through rtnetlink anyway; an instance's interface must exist when it starts";
const PROC_NAMES: &str = "director is one process; process names are only labels";
const NO_BFD: &str = "director runs no BFD process";
const AFFINITY: &str = "director does not pin itself to CPUs; scheduling priority comes from vrrp_rt_priority / vrrp_priority";
const RTTIME: &str = "director sets no RLIMIT_RTTIME (its real-time threads never busy-loop)";
const BUFFERS: &str = "director sizes its own socket buffers";
const FIREWALL: &str =
    "names and priorities of keepalived's own firewall tables; director uses its own nft tables";
const DBUS: &str =
    "director has no D-Bus interface; its control socket and metrics serve that purpose";
const NO_DUMPS: &str = "director writes no configuration copies or .data dump files";
const HOOK_SCRIPTS: &str = "start-up and shutdown scripts are not implemented: run them from the service manager (ExecStartPre= / ExecStopPost=)";
const SCHEDULED_RELOAD: &str =
    "scheduled reloads are not implemented: send SIGHUP when the new configuration is to apply";
const NOT_YET: &str = "not implemented, so director would not do what it asks";
const UNICAST_SRC: &str =
    "director always accepts unicast adverts only from the configured unicast_peer addresses";
const DOWN_TIMER: &str =
    "Master_Down_Interval is always 3 advert intervals plus Skew_Time, as RFC 5798 says";

/// Keywords and forms seen in field configurations that keepalived takes
/// without complaint and that do not change what the configuration means:
/// accepted with a warning naming them (the rest of the table refuses
/// anything that would). `(block, example, why)`; each example is parsed
/// by this crate's tests and must give exactly one warning naming it.
pub const LENIENT: &[(&str, &str, &str)] = &[
    ("virtual_server", "nat_mask 255.255.255.0", OBSOLETE),
    ("global_defs", "dynamic_interfaces", DYNAMIC_IFACES),
    (
        "global_defs",
        "enable_script_security 0",
        "keepalived ignores the value and enables script security; so does director",
    ),
    (
        "global_defs",
        "vrrp_garp_master_refresh",
        "without a value there is no periodic refresh, as when it is absent",
    ),
    (
        "TCP_CHECK",
        "nb_get_retry 3",
        "the old name of `retry`, taken as `retry` (no warning: implemented)",
    ),
];

/// A kind of block (its contents follow one grammar).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ctx {
    Root,
    GlobalDefs,
    VrrpInstance,
    Authentication,
    VirtualServer,
    RealServer,
    TcpCheck,
    UdpCheck,
    DnsCheck,
    HttpGet,
    SslGet,
    Url,
    SmtpCheck,
    /// `host` in `SMTP_CHECK` (deprecated by keepalived, still accepted).
    SmtpHost,
    PingCheck,
    MiscCheck,
    /// `FILE_CHECK`: a real server's checker fed by a `track_file`.
    FileCheck,
    VrrpScript,
    /// `track_file` (or its old name `vrrp_track_file`).
    TrackFile,
    TrackProcess,
    /// `vrrp_sync_group`: its keywords, or (the newer syntax) the member
    /// names themselves, one bare word each.
    SyncGroup,
    /// The global `SSL` block (SSL_GET's client certificate).
    Ssl,
    /// `lvs_route_announce` (an lvs extension).
    RouteAnnounce,
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
            Ctx::Ssl => "SSL",
            Ctx::RouteAnnounce => "lvs_route_announce",
            Ctx::VirtualServer => "virtual_server",
            Ctx::RealServer => "real_server",
            Ctx::TcpCheck => "TCP_CHECK",
            Ctx::UdpCheck => "UDP_CHECK",
            Ctx::DnsCheck => "DNS_CHECK",
            Ctx::HttpGet => "HTTP_GET",
            Ctx::SslGet => "SSL_GET",
            Ctx::Url => "url",
            Ctx::SmtpCheck => "SMTP_CHECK",
            Ctx::SmtpHost => "host",
            Ctx::PingCheck => "PING_CHECK",
            Ctx::MiscCheck => "MISC_CHECK",
            Ctx::FileCheck => "FILE_CHECK",
            Ctx::VrrpScript => "vrrp_script",
            Ctx::TrackFile => "track_file",
            Ctx::TrackProcess => "vrrp_track_process",
            Ctx::SyncGroup => "vrrp_sync_group",
            Ctx::List => return None,
        })
    }

    pub fn keywords(self) -> &'static [Kw] {
        match self {
            Ctx::Root => ROOT,
            Ctx::GlobalDefs => GLOBAL_DEFS,
            Ctx::VrrpInstance => VRRP_INSTANCE,
            Ctx::Authentication => AUTHENTICATION,
            Ctx::Ssl => SSL,
            Ctx::RouteAnnounce => ROUTE_ANNOUNCE,
            Ctx::VirtualServer => VIRTUAL_SERVER,
            Ctx::RealServer => REAL_SERVER,
            Ctx::TcpCheck | Ctx::UdpCheck | Ctx::DnsCheck => match self {
                Ctx::TcpCheck => TCP_CHECK,
                Ctx::UdpCheck => UDP_CHECK,
                _ => DNS_CHECK,
            },
            Ctx::HttpGet => HTTP_GET,
            Ctx::SslGet => SSL_GET,
            Ctx::Url => URL,
            Ctx::SmtpCheck => SMTP_CHECK,
            Ctx::SmtpHost => SMTP_HOST,
            Ctx::PingCheck => PING_CHECK,
            Ctx::MiscCheck => MISC_CHECK,
            Ctx::FileCheck => FILE_CHECK,
            Ctx::VrrpScript => VRRP_SCRIPT,
            Ctx::TrackFile => TRACK_FILE,
            Ctx::TrackProcess => TRACK_PROCESS,
            Ctx::SyncGroup => SYNC_GROUP,
            Ctx::List => &[],
        }
    }

    pub fn lookup(self, word: &str) -> Option<&'static Kw> {
        self.keywords().iter().find(|k| k.name == word)
    }
}

const ROOT: &[Kw] = &[
    blk("global_defs", 0, 0, Ctx::GlobalDefs),
    blk("vrrp_instance", 1, 1, Ctx::VrrpInstance),
    blk("virtual_server", 1, 2, Ctx::VirtualServer),
    blk("vrrp_sync_group", 1, 1, Ctx::SyncGroup),
    blk("vrrp_script", 1, 1, Ctx::VrrpScript),
    blk("track_file", 1, 1, Ctx::TrackFile),
    blk("vrrp_track_file", 1, 1, Ctx::TrackFile),
    blk("vrrp_track_process", 1, 1, Ctx::TrackProcess),
    refused("bfd_instance", TRACKING),
    kw("linkbeat_interfaces", 0, 0)
        .warned("director follows every interface's link and carrier through rtnetlink"),
    refused("track_group", TRACK_GROUP),
    refused(
        "interface_up_down_delays",
        "interface up/down debouncing is not implemented: a link change acts at once",
    ),
    blk("static_ipaddress", 0, 0, Ctx::List),
    blk("static_routes", 0, 0, Ctx::List),
    blk("static_rules", 0, 0, Ctx::List),
    refused(
        "garp_group",
        "per-interface gratuitous ARP groups are not implemented",
    ),
    blk("virtual_server_group", 1, 1, Ctx::List),
    blk("SSL", 0, 0, Ctx::Ssl),
    blk("lvs_route_announce", 0, 0, Ctx::RouteAnnounce),
];

/// `lvs_route_announce`, an lvs extension (not a keepalived keyword).
const ROUTE_ANNOUNCE: &[Kw] = &[
    kw("table", 1, 1),
    kw("protocol", 1, 1),
    blk("vips", 0, 0, Ctx::List),
    kw("drain_timeout", 1, 1),
    kw("drain_on_sigterm", 0, 0),
    kw("sloppy_tcp", 0, 0),
    var("sync_daemon", 1),
];

const GLOBAL_DEFS: &[Kw] = &[
    kw("router_id", 1, 1),
    blk("notification_email", 0, 0, Ctx::List).warned(MAIL),
    kw("notification_email_from", 1, 1).warned(MAIL),
    kw("smtp_server", 1, 2).warned(MAIL),
    kw("smtp_helo_name", 1, 1).warned(MAIL),
    kw("smtp_connect_timeout", 1, 1).warned(MAIL),
    kw("smtp_alert", 0, 1).warned(MAIL),
    kw("smtp_alert_vrrp", 0, 1).warned(MAIL),
    kw("smtp_alert_checker", 0, 1).warned(MAIL),
    kw("no_email_faults", 0, 0).warned(MAIL),
    kw("script_user", 1, 2),
    // A value is ignored, as keepalived ignores it (LENIENT).
    kw("enable_script_security", 0, 1),
    kw("vrrp_version", 1, 1),
    kw("vrrp_garp_master_delay", 1, 1),
    kw("vrrp_garp_master_repeat", 1, 1),
    // Without a value: no refresh, with a warning (LENIENT).
    kw("vrrp_garp_master_refresh", 0, 1),
    kw("vrrp_garp_lower_prio_delay", 1, 1),
    kw("vrrp_garp_lower_prio_repeat", 1, 1),
    kw("vrrp_lower_prio_no_advert", 0, 1),
    kw("vrrp_higher_prio_send_advert", 0, 1),
    kw("vrrp_startup_delay", 1, 1),
    var("dynamic_interfaces", 0).warned(DYNAMIC_IFACES),
    kw("vrrp_garp_master_refresh_repeat", 1, 1).warned(REFRESH),
    kw("vrrp_garp_interval", 1, 1),
    kw("vrrp_gna_interval", 1, 1)
        .warned("unsolicited neighbour advertisements are paced by vrrp_garp_interval"),
    kw("vrrp_min_garp", 0, 1),
    kw("vrrp_mcast_group4", 1, 1),
    kw("vrrp_mcast_group6", 1, 1),
    kw("vrrp_strict", 0, 0),
    kw("vrrp_skip_check_adv_addr", 0, 1),
    kw("default_interface", 1, 1).warned("every vrrp_instance names its `interface`"),
    var("lvs_sync_daemon", 1),
    kw("lvs_timeouts", 2, 6),
    kw("lvs_flush", 0, 0),
    kw("lvs_keep_expire_nodest_conn", 0, 0),
    kw("lvs_reconcile_interval", 1, 1),
    kw("checker_log_all_failures", 0, 1).warned(LOGGING),
    kw("max_auto_priority", 0, 1)
        .warned("real-time scheduling is set only by vrrp_rt_priority / checker_rt_priority"),
    kw("vrrp_priority", 1, 1),
    kw("checker_priority", 1, 1),
    kw("vrrp_rt_priority", 1, 1),
    kw("checker_rt_priority", 1, 1),
    kw("vrrp_no_swap", 0, 0),
    kw("checker_no_swap", 0, 0),
    kw("notify_fifo", 1, 3),
    var("notify_fifo_script", 1),
    kw("vrrp_notify_fifo", 1, 3),
    var("vrrp_notify_fifo_script", 1),
    kw("lvs_notify_fifo", 1, 3),
    var("lvs_notify_fifo_script", 1),
    kw("net_namespace", 1, 1),
    kw("tmp_config_directory", 1, 1).warned(NO_DUMPS),
    kw("config_save_dir", 1, 1).warned(NO_DUMPS),
    kw("data_use_instance", 0, 1).warned(NO_DUMPS),
    kw("process_names", 0, 0).warned(PROC_NAMES),
    kw("process_name", 1, 1).warned(PROC_NAMES),
    kw("vrrp_process_name", 1, 1).warned(PROC_NAMES),
    kw("checker_process_name", 1, 1).warned(PROC_NAMES),
    kw("bfd_process_name", 1, 1).warned(NO_BFD),
    refused("startup_script", HOOK_SCRIPTS),
    refused("startup_script_timeout", HOOK_SCRIPTS),
    refused("shutdown_script", HOOK_SCRIPTS),
    refused("shutdown_script_timeout", HOOK_SCRIPTS),
    refused(
        "lvs_flush_on_stop",
        "flushing IPVS at stop is not implemented; director removes only what it added",
    ),
    refused("vrrp_down_timer_adverts", DOWN_TIMER),
    kw("vrrp_garp_extra_if", 1, 2),
    kw("nftables", 0, 1).warned(FIREWALL),
    kw("nftables_priority", 1, 1).warned(FIREWALL),
    kw("nftables_counters", 0, 0).warned(FIREWALL),
    kw("nftables_ifindex", 0, 0).warned(FIREWALL),
    kw("nftables_ipvs", 0, 1).warned(FIREWALL),
    kw("nftables_ipvs_priority", 1, 1).warned(FIREWALL),
    kw("nftables_ipvs_start_fwmark", 1, 1).warned(FIREWALL),
    kw("vrrp_iptables", 0, 2).warned(FIREWALL),
    kw("vrrp_ipsets", 0, 5).warned(FIREWALL),
    kw("disable_local_igmp", 0, 0)
        .warned("director moves a VMAC's IGMP/MLD reports to its base interface instead"),
    kw("vrrp_check_unicast_src", 0, 0).warned(UNICAST_SRC),
    refused("vrrp_notify_priority_changes", NOT_YET),
    kw("min_auto_priority_delay", 1, 1)
        .warned("real-time scheduling is set only by vrrp_rt_priority / checker_rt_priority"),
    kw("bfd_priority", 1, 1).warned(NO_BFD),
    kw("bfd_no_swap", 0, 0).warned(NO_BFD),
    var("bfd_cpu_affinity", 1).warned(NO_BFD),
    kw("bfd_rt_priority", 1, 1).warned(NO_BFD),
    kw("bfd_rlimit_rttime", 1, 1).warned(NO_BFD),
    var("vrrp_cpu_affinity", 1).warned(AFFINITY),
    var("checker_cpu_affinity", 1).warned(AFFINITY),
    kw("vrrp_rlimit_rttime", 1, 1).warned(RTTIME),
    kw("checker_rlimit_rttime", 1, 1).warned(RTTIME),
    kw("snmp_socket", 1, 1).warned(SNMP),
    kw("enable_snmp_vrrp", 0, 0).warned(SNMP),
    kw("enable_snmp_keepalived", 0, 0).warned(SNMP),
    kw("enable_snmp_checker", 0, 0).warned(SNMP),
    kw("enable_snmp_rfc", 0, 0).warned(SNMP),
    kw("enable_snmp_rfcv2", 0, 0).warned(SNMP),
    kw("enable_snmp_rfcv3", 0, 0).warned(SNMP),
    kw("enable_traps", 0, 0).warned(SNMP),
    kw("enable_dbus", 0, 0).warned(DBUS),
    kw("dbus_service_name", 1, 1).warned(DBUS),
    refused("fifo_write_vrrp_states_on_reload", NOT_YET),
    kw("vrrp_netlink_cmd_rcv_bufs", 1, 1).warned(BUFFERS),
    kw("vrrp_netlink_cmd_rcv_bufs_force", 0, 1).warned(BUFFERS),
    kw("vrrp_netlink_monitor_rcv_bufs", 1, 1).warned(BUFFERS),
    kw("vrrp_netlink_monitor_rcv_bufs_force", 0, 1).warned(BUFFERS),
    kw("lvs_netlink_cmd_rcv_bufs", 1, 1).warned(BUFFERS),
    kw("lvs_netlink_cmd_rcv_bufs_force", 0, 1).warned(BUFFERS),
    kw("lvs_netlink_monitor_rcv_bufs", 1, 1).warned(BUFFERS),
    kw("lvs_netlink_monitor_rcv_bufs_force", 0, 1).warned(BUFFERS),
    kw("process_monitor_rcv_bufs", 1, 1).warned(BUFFERS),
    kw("process_monitor_rcv_bufs_force", 0, 1).warned(BUFFERS),
    kw("vrrp_rx_bufs_policy", 1, 1).warned(BUFFERS),
    kw("vrrp_rx_bufs_multiplier", 1, 1).warned(BUFFERS),
    refused("rs_init_notifies", NOT_YET),
    kw("no_checker_emails", 0, 0).warned(MAIL),
    kw("umask", 1, 1).warned(
        "the files director makes have fixed modes (FIFOs 0600 unless readable by all is asked)",
    ),
    kw("log_unknown_vrids", 0, 0).warned(LOGGING),
    refused(
        "vmac_prefix",
        "VMACs are named as keepalived names them by default (vrrp.VRID); give a name to use_vmac instead",
    ),
    refused(
        "vmac_addr_prefix",
        "VMACs are named as keepalived names them by default (vrrp.VRID); give a name to use_vmac instead",
    ),
    refused("random_seed", NOT_YET),
    kw("reload_check_config", 0, 1)
        .warned("director always validates a new configuration before it applies anything; errors go to its log"),
    kw("include_check", 0, 4)
        .warned("director's include rules are fixed: a pattern that matches no file is an error"),
    refused("reload_time_file", SCHEDULED_RELOAD),
    refused("reload_repeat", SCHEDULED_RELOAD),
    refused("reload_file", SCHEDULED_RELOAD),
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
    kw("garp_lower_prio_delay", 1, 1),
    kw("garp_lower_prio_repeat", 1, 1),
    kw("lower_prio_no_advert", 0, 1),
    kw("higher_prio_send_advert", 0, 1),
    kw("garp_master_refresh_repeat", 1, 1).warned(REFRESH),
    kw("accept", 0, 0),
    kw("no_accept", 0, 0),
    kw("use_vmac", 0, 2),
    kw("vmac_xmit_base", 0, 0),
    kw("lvs_sync_daemon_interface", 1, 1),
    kw("dont_track_primary", 0, 0),
    kw("smtp_alert", 0, 1).warned(MAIL),
    kw("debug", 0, 1).warned(LOGGING),
    blk("track_script", 0, 0, Ctx::List),
    blk("track_file", 0, 0, Ctx::List),
    blk("track_process", 0, 0, Ctx::List),
    refused("track_bfd", TRACKING),
    blk("virtual_routes", 0, 0, Ctx::List),
    blk("virtual_rules", 0, 0, Ctx::List),
    refused(
        "mcast_dst_ip",
        "per-instance multicast groups are not implemented (use vrrp_mcast_group4/6)",
    ),
    kw("skip_check_adv_addr", 0, 1),
    kw("strict_mode", 0, 1),
    kw("check_unicast_src", 0, 0).warned(UNICAST_SRC),
    refused("track_src_ip", NOT_YET),
    refused("unicast_fault_no_peer", NOT_YET),
    refused(
        "unicast_ttl",
        "adverts are always sent with TTL 255, which RFC 5798 requires receivers to check",
    ),
    refused("old_unicast_checksum", NOT_YET),
    refused("down_timer_adverts", DOWN_TIMER),
    refused(
        "notify_deleted",
        "director does not tell notify scripts about instances deleted by a reload",
    ),
    refused("notify_priority_changes", NOT_YET),
    refused("notify_master_rx_lower_pri", NOT_YET),
    refused("promote_secondaries", NOT_YET),
    kw("kernel_rx_buf_size", 0, 1).warned(BUFFERS),
    kw("linkbeat_use_polling", 0, 0)
        .warned("director follows every interface's link and carrier through rtnetlink"),
    refused("use_vmac_addr", NOT_YET),
    refused(
        "use_ipvlan",
        "ipvlan interfaces are not implemented (use_vmac is)",
    ),
    refused("native_ipv6", NOT_YET),
    kw("garp_extra_if", 1, 2),
];

const SYNC_GROUP: &[Kw] = &[
    blk("group", 0, 0, Ctx::List),
    blk("track_interface", 0, 0, Ctx::List),
    blk("track_script", 0, 0, Ctx::List),
    blk("track_file", 0, 0, Ctx::List),
    blk("track_process", 0, 0, Ctx::List),
    refused("track_bfd", TRACKING),
    var("notify_master", 1),
    var("notify_backup", 1),
    var("notify_fault", 1),
    var("notify_stop", 1),
    var("notify", 1),
    refused(
        "notify_deleted",
        "director does not tell notify scripts about instances deleted by a reload",
    ),
    kw("smtp_alert", 0, 1).warned(MAIL),
    kw("global_tracking", 0, 0),
    kw("sync_group_tracking_weight", 0, 0),
];

const VRRP_SCRIPT: &[Kw] = &[
    var("script", 1),
    kw("interval", 1, 1),
    kw("timeout", 1, 1),
    kw("weight", 1, 2),
    kw("rise", 1, 1),
    kw("fall", 1, 1),
    kw("user", 1, 2),
    kw("init_fail", 0, 0),
];

const TRACK_FILE: &[Kw] = &[kw("file", 1, 1), kw("weight", 1, 2), kw("init_file", 0, 2)];

const TRACK_PROCESS: &[Kw] = &[
    var("process", 1),
    kw("param_match", 0, 1),
    kw("weight", 1, 2),
    kw("quorum", 1, 1),
    kw("quorum_max", 1, 1),
    kw("delay", 1, 1),
    kw("terminate_delay", 1, 1),
    kw("fork_delay", 1, 1),
    kw("full_command", 0, 0),
];

const AUTHENTICATION: &[Kw] = &[kw("auth_type", 1, 1), kw("auth_pass", 1, 1)];

const SSL: &[Kw] = &[
    kw("certificate", 1, 1),
    kw("key", 1, 1),
    kw("ca", 1, 1).warned(
        "keepalived loads it but never verifies a real server's certificate; neither does director",
    ),
    refused(
        "password",
        "encrypted private keys are not supported (rustls reads unencrypted PEM keys only); \
         store the key decrypted, readable by root only",
    ),
];

const VIRTUAL_SERVER: &[Kw] = &[
    kw("ip_family", 1, 1),
    kw("nat_mask", 1, 1).warned(OBSOLETE),
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
    refused(
        "sorry_server_inhibit",
        "director removes the sorry server when the quorum is back instead of keeping it at weight 0",
    ),
    kw("sorry_server_lvs_method", 1, 1),
    kw("inhibit_on_failure", 0, 1),
    kw("alpha", 0, 1),
    kw("omega", 0, 0),
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
    kw("smtp_alert", 0, 1).warned(MAIL),
    kw("snmp_name", 1, 1).warned(SNMP),
    blk("real_server", 1, 2, Ctx::RealServer),
    refused(
        "persistence_engine",
        "persistence engines (SIP) are not implemented",
    ),
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
    kw("smtp_alert", 0, 1).warned(MAIL),
    kw("snmp_name", 1, 1).warned(SNMP),
    blk("TCP_CHECK", 0, 0, Ctx::TcpCheck),
    blk("UDP_CHECK", 0, 0, Ctx::UdpCheck),
    blk("DNS_CHECK", 0, 0, Ctx::DnsCheck),
    blk("HTTP_GET", 0, 0, Ctx::HttpGet),
    blk("MISC_CHECK", 0, 0, Ctx::MiscCheck),
    blk("SSL_GET", 0, 0, Ctx::SslGet),
    blk("SMTP_CHECK", 0, 0, Ctx::SmtpCheck),
    blk("PING_CHECK", 0, 0, Ctx::PingCheck),
    refused("BFD_CHECK", CHECKER),
    blk("FILE_CHECK", 0, 0, Ctx::FileCheck),
];

/// Options every connecting checker takes (keepalived's "generic connection options").
macro_rules! common_check {
    (port: $port:expr; $($extra:expr),* $(,)?) => {
        &[
            kw("connect_ip", 1, 1),
            $port,
            kw("bindto", 1, 1),
            refused("bind_port", "director does not bind checks to a source port"),
            kw("bind_if", 1, 1),
            refused(
                "fwmark",
                "director does not mark check packets, so they would take the unmarked route",
            ),
            kw("connect_timeout", 1, 1),
            kw("retry", 1, 1),
            kw("nb_get_retry", 1, 1),
            kw("delay_before_retry", 1, 1),
            kw("warmup", 1, 1),
            kw("delay_loop", 1, 1),
            kw("alpha", 0, 1),
            kw("log_all_failures", 0, 1).warned(LOGGING),
            $($extra),*
        ]
    };
    ($($extra:expr),* $(,)?) => {
        common_check!(port: kw("connect_port", 1, 1); $($extra),*)
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
/// The options of HTTP_GET, and of SSL_GET with its own extras.
macro_rules! http_check {
    ($($extra:expr),* $(,)?) => {
        common_check!(
            blk("url", 0, 0, Ctx::Url),
            kw("http_protocol", 1, 1).warned(
                "director's HTTP_GET always sends an HTTP/1.1 request with Host and `Connection: close`",
            ),
            refused(
                "fast_recovery",
                "not implemented: a recovering server is re-checked on the normal schedule",
            ),
            kw("virtualhost", 1, 1),
            $($extra),*
        )
    };
}

const HTTP_GET: &[Kw] = http_check!();
const SSL_GET: &[Kw] = http_check!(kw("enable_sni", 0, 0));
const SMTP_CHECK: &[Kw] = common_check!(kw("helo_name", 1, 1), blk("host", 0, 0, Ctx::SmtpHost));
// Timers written in a `host` block apply to the whole checker, as in keepalived.
const SMTP_HOST: &[Kw] = common_check!();
const PING_CHECK: &[Kw] = common_check!(port: kw("connect_port", 1, 1)
    .warned("a ping has no port (keepalived accepts the option and ignores it too)"););
const URL: &[Kw] = &[
    kw("path", 1, 1),
    kw("digest", 1, 1),
    var("status_code", 1),
    kw("virtualhost", 1, 1),
    refused("regex", "body regular expressions are not implemented"),
    refused(
        "regex_no_match",
        "body regular expressions are not implemented",
    ),
    refused(
        "regex_options",
        "body regular expressions are not implemented",
    ),
    refused(
        "regex_stack",
        "body regular expressions are not implemented",
    ),
    refused(
        "regex_min_offset",
        "body regular expressions are not implemented",
    ),
    refused(
        "regex_max_offset",
        "body regular expressions are not implemented",
    ),
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
    kw("log_all_failures", 0, 1).warned(LOGGING),
];

// keepalived 2.2.7's FILE_CHECK has none of the common checker options.
const FILE_CHECK: &[Kw] = &[
    kw("track_file", 1, 1),
    kw("weight", 1, 2),
    kw("dynamic", 0, 0).warned(
        "keepalived 2.2.7 documents it but installs no handler for it (its parser skips it \
         as unknown): the file's weight already moves the real server's weight",
    ),
];

/// Forms of a keyword's value, and options inside list entries, that are
/// decided on their own; any other form of an implemented keyword is implemented.
const VALUE_FORMS: &[(&str, &str, Support)] = &[
    ("", "virtual_server group", Support::Implemented),
    (
        "vrrp_instance",
        "use_vmac MAC",
        Support::Refused(
            "the macvlan always has the RFC 5798 virtual MAC (00:00:5e:00:01:VRID, IPv6 00:00:5e:00:02:VRID)",
        ),
    ),
    // keepalived's preprocessor (preprocess.rs), applied before parsing.
    ("", "@ID / @^ID", Support::Implemented),
    ("", "$NAME=VALUE / ${NAME}", Support::Implemented),
    ("", "~SEQ / ~SEQx / ~LST", Support::Implemented),
    ("*", "SCRIPT USER [GROUP]", Support::Implemented),
    (
        "global_defs",
        "*notify_fifo FIFO USER [GROUP]",
        Support::Warned(
            "the FIFO is made by director's own user and readable by every user (0644), so that user can read it",
        ),
    ),
    (
        "authentication",
        "auth_type AH",
        Support::Refused("IPsec-AH authentication (RFC 2338) is obsolete and not implemented"),
    ),
    ("virtual_ipaddress", "dev", Support::Implemented),
    ("virtual_ipaddress", "label", Support::Implemented),
    ("virtual_ipaddress", "brd", Support::Warned(VIP_OPTION)),
    (
        "virtual_ipaddress",
        "scope",
        Support::Refused(
            "VIPs are added with global scope, which changes source address selection",
        ),
    ),
    ("virtual_ipaddress", "no_track", Support::Implemented),
    ("virtual_ipaddress", "peer", Support::Warned(VIP_OPTION)),
    (
        "virtual_ipaddress",
        "preferred_lft",
        Support::Warned(VIP_OPTION),
    ),
    (
        "virtual_ipaddress",
        "track_group",
        Support::Warned(VIP_OPTION),
    ),
    ("virtual_ipaddress", "home", Support::Warned(VIP_OPTION)),
    ("virtual_ipaddress", "-nodad", Support::Warned(VIP_OPTION)),
    ("virtual_ipaddress", "nodad", Support::Warned(VIP_OPTION)),
    (
        "virtual_ipaddress",
        "mngtmpaddr",
        Support::Warned(VIP_OPTION),
    ),
    (
        "virtual_ipaddress",
        "noprefixroute",
        Support::Warned(VIP_OPTION),
    ),
    ("virtual_ipaddress", "autojoin", Support::Warned(VIP_OPTION)),
    ("virtual_ipaddress", "use_vmac", Support::Warned(VIP_OPTION)),
    ("unicast_peer", "min_ttl", Support::Warned(PEER_TTL)),
    ("unicast_peer", "max_ttl", Support::Warned(PEER_TTL)),
];

const VIP_OPTION: &str = "the address is added without this option";

const ROUTE_METRICS: &str = "per-route metrics (mtu, window, rtt, ...) are not implemented";
const TRACK_GROUP: &str = "track groups are not implemented";

/// The options of a `virtual_routes` / `static_routes` entry (keepalived's
/// `ip route` syntax): what is built, and what is refused with why.
const ROUTE_OPTIONS: &[(&str, Support)] = &[
    ("to", Support::Implemented),
    ("via", Support::Implemented),
    ("gw", Support::Implemented),
    ("dev", Support::Implemented),
    ("src", Support::Implemented),
    ("table", Support::Implemented),
    ("metric", Support::Implemented),
    ("preference", Support::Implemented),
    ("priority", Support::Implemented),
    ("scope", Support::Implemented),
    ("proto", Support::Implemented),
    ("protocol", Support::Implemented),
    ("blackhole", Support::Implemented),
    ("unreachable", Support::Implemented),
    ("prohibit", Support::Implemented),
    ("inet6", Support::Implemented),
    ("no_track", Support::Implemented),
    (
        "or",
        Support::Refused("multipath routes are not implemented"),
    ),
    (
        "nexthop",
        Support::Refused("multipath routes are not implemented"),
    ),
    (
        "weight",
        Support::Refused("multipath routes are not implemented"),
    ),
    (
        "onlink",
        Support::Refused("the onlink next-hop flag is not implemented"),
    ),
    (
        "append",
        Support::Refused(
            "routes are added before matching ones (prepend); append is not implemented",
        ),
    ),
    ("track_group", Support::Refused(TRACK_GROUP)),
    ("tos", Support::Refused("route TOS is not implemented")),
    ("dsfield", Support::Refused("route TOS is not implemented")),
    (
        "pref",
        Support::Refused("IPv6 router preference is not implemented"),
    ),
    ("vrf", Support::Refused("VRF routes are not implemented")),
    (
        "realms",
        Support::Refused("route realms are not implemented"),
    ),
    (
        "expires",
        Support::Refused("expiring routes are not implemented"),
    ),
    (
        "encap",
        Support::Refused("encapsulated routes are not implemented"),
    ),
    (
        "nhid",
        Support::Refused("next-hop objects are not implemented"),
    ),
    ("mtu", Support::Refused(ROUTE_METRICS)),
    ("hoplimit", Support::Refused(ROUTE_METRICS)),
    ("advmss", Support::Refused(ROUTE_METRICS)),
    ("rtt", Support::Refused(ROUTE_METRICS)),
    ("rttvar", Support::Refused(ROUTE_METRICS)),
    ("reordering", Support::Refused(ROUTE_METRICS)),
    ("window", Support::Refused(ROUTE_METRICS)),
    ("cwnd", Support::Refused(ROUTE_METRICS)),
    ("ssthresh", Support::Refused(ROUTE_METRICS)),
    ("rto_min", Support::Refused(ROUTE_METRICS)),
    ("initcwnd", Support::Refused(ROUTE_METRICS)),
    ("initrwnd", Support::Refused(ROUTE_METRICS)),
    ("features", Support::Refused(ROUTE_METRICS)),
    ("quickack", Support::Refused(ROUTE_METRICS)),
    ("congctl", Support::Refused(ROUTE_METRICS)),
    ("fastopen_no_cookie", Support::Refused(ROUTE_METRICS)),
    (
        "throw",
        Support::Refused(
            "only unicast, blackhole, unreachable and prohibit routes are implemented",
        ),
    ),
    (
        "local",
        Support::Refused(
            "only unicast, blackhole, unreachable and prohibit routes are implemented",
        ),
    ),
    (
        "broadcast",
        Support::Refused(
            "only unicast, blackhole, unreachable and prohibit routes are implemented",
        ),
    ),
    (
        "anycast",
        Support::Refused(
            "only unicast, blackhole, unreachable and prohibit routes are implemented",
        ),
    ),
    (
        "multicast",
        Support::Refused(
            "only unicast, blackhole, unreachable and prohibit routes are implemented",
        ),
    ),
    (
        "nat",
        Support::Refused(
            "only unicast, blackhole, unreachable and prohibit routes are implemented",
        ),
    ),
];

const RULE_ACTION: &str = "only rules that look up a table are implemented";

/// The options of a `virtual_rules` / `static_rules` entry (keepalived's
/// `ip rule` syntax).
const RULE_OPTIONS: &[(&str, Support)] = &[
    ("from", Support::Implemented),
    ("to", Support::Implemented),
    ("table", Support::Implemented),
    ("lookup", Support::Implemented),
    ("priority", Support::Implemented),
    ("preference", Support::Implemented),
    ("pref", Support::Implemented),
    ("fwmark", Support::Implemented),
    ("iif", Support::Implemented),
    ("oif", Support::Implemented),
    ("inet6", Support::Implemented),
    ("no_track", Support::Implemented),
    (
        "not",
        Support::Refused("inverted rules are not implemented"),
    ),
    ("tos", Support::Refused("rule TOS is not implemented")),
    ("dsfield", Support::Refused("rule TOS is not implemented")),
    (
        "realms",
        Support::Refused("rule realms are not implemented"),
    ),
    ("goto", Support::Refused(RULE_ACTION)),
    ("nop", Support::Refused(RULE_ACTION)),
    ("no_op", Support::Refused(RULE_ACTION)),
    ("blackhole", Support::Refused(RULE_ACTION)),
    ("unreachable", Support::Refused(RULE_ACTION)),
    ("prohibit", Support::Refused(RULE_ACTION)),
    (
        "suppress_prefixlength",
        Support::Refused("rule suppressors are not implemented"),
    ),
    (
        "suppress_ifgroup",
        Support::Refused("rule suppressors are not implemented"),
    ),
    (
        "uidrange",
        Support::Refused("UID-range rules are not implemented"),
    ),
    (
        "l3mdev",
        Support::Refused("VRF (l3mdev) rules are not implemented"),
    ),
    (
        "protocol",
        Support::Refused("rule protocols are not implemented"),
    ),
    (
        "ip_proto",
        Support::Refused("port and protocol selectors are not implemented"),
    ),
    (
        "ipproto",
        Support::Refused("port and protocol selectors are not implemented"),
    ),
    (
        "sport",
        Support::Refused("port and protocol selectors are not implemented"),
    ),
    (
        "dport",
        Support::Refused("port and protocol selectors are not implemented"),
    ),
    (
        "tunnel-id",
        Support::Refused("tunnel-id rules are not implemented"),
    ),
    ("track_group", Support::Refused(TRACK_GROUP)),
];
const PEER_TTL: &str = "director accepts adverts only with TTL 255 (RFC 5798 §7.1), which \
    every range with max_ttl 255 contains; a lower max_ttl, which would drop them all, is refused";

/// The keyword table as the markdown table in the crate documentation.
#[cfg(test)]
pub(crate) fn markdown_table() -> String {
    let mut out = String::from("| block | keyword | support | why |\n|---|---|---|---|\n");
    for (block, kw, support) in all() {
        let block = if block.is_empty() {
            "(top level)".to_string()
        } else if block == "*" {
            "(any script)".to_string()
        } else {
            format!("`{block}`")
        };
        out.push_str(&format!(
            "| {block} | `{kw}` | {} | {} |\n",
            support.label(),
            support.reason().unwrap_or("")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration that puts `kw` (with its minimum number of values, and
    /// an empty block if it opens one) inside `ctx`, everything around it valid.
    fn placed(ctx: Ctx, k: &Kw) -> String {
        let mut stmt = k.name.to_string();
        for _ in 0..k.min {
            stmt.push_str(" 1");
        }
        if k.block.is_some() {
            stmt.push_str(" { }");
        }
        let rs = |inner: &str| {
            format!(
                "virtual_server 10.0.0.1 80 {{\n real_server 10.0.0.2 80 {{\n{inner}\n }}\n}}\n"
            )
        };
        let check = |name: &str, inner: &str| rs(&format!("  {name} {{\n{inner}\n  }}"));
        match ctx {
            Ctx::Root => format!("{stmt}\n"),
            Ctx::GlobalDefs => format!("global_defs {{\n{stmt}\n}}\n"),
            Ctx::VrrpInstance => format!("vrrp_instance V {{\n{stmt}\n}}\n"),
            Ctx::Authentication => {
                format!("vrrp_instance V {{\n authentication {{\n{stmt}\n }}\n}}\n")
            }
            Ctx::Ssl => format!("SSL {{\n{stmt}\n}}\n"),
            Ctx::RouteAnnounce => format!(
                "virtual_server 10.0.0.1 80 {{\n real_server 10.0.0.2 80 {{ }}\n}}\nlvs_route_announce {{\n{stmt}\n}}\n"
            ),
            Ctx::VirtualServer => format!(
                "virtual_server 10.0.0.1 80 {{\n{stmt}\n real_server 10.0.0.2 80 {{ }}\n}}\n"
            ),
            Ctx::RealServer => rs(&stmt),
            Ctx::VrrpScript => format!("vrrp_script S {{\n script /bin/true\n{stmt}\n}}\n"),
            Ctx::TrackFile => format!("track_file F {{\n file /tmp/f\n{stmt}\n}}\n"),
            Ctx::TrackProcess => format!("vrrp_track_process P {{\n process p\n{stmt}\n}}\n"),
            Ctx::SyncGroup => format!("vrrp_sync_group G {{\n{stmt}\n}}\n"),
            Ctx::Url => check("HTTP_GET", &format!("   url {{\n{stmt}\n   }}")),
            Ctx::SmtpHost => check("SMTP_CHECK", &format!("   host {{\n{stmt}\n   }}")),
            Ctx::List => unreachable!("lists hold entries, not keywords"),
            other => check(other.opener().unwrap_or("?"), &stmt),
        }
    }

    fn each_keyword(mut f: impl FnMut(Ctx, &Kw, String)) {
        for &ctx in ALL_CTX {
            for k in ctx.keywords() {
                f(ctx, k, placed(ctx, k));
            }
        }
    }

    /// Must-show of issue 12: no keyword keepalived documents is unknown to
    /// the table — each is implemented, refused with why, or warned as
    /// harmless (the crate docs' table). The keywords inside a block that
    /// is refused as a whole are decided by that block.
    #[test]
    fn documented_keywords_are_all_classified() {
        const INSIDE_REFUSED: &[(&str, &[&str])] = &[
            (
                "bfd_instance",
                &[
                    "neighbor_ip",
                    "source_ip",
                    "min_rx",
                    "min_tx",
                    "idle_tx",
                    "multiplier",
                    "passive",
                    "ttl",
                    "max_hops",
                    "vrrp",
                    "checker",
                ],
            ),
            (
                "garp_group",
                &["garp_interval", "gna_interval", "interfaces"],
            ),
        ];
        let known: std::collections::BTreeSet<&str> = all().map(|(_, k, _)| k).collect();
        let inside: std::collections::BTreeSet<&str> = INSIDE_REFUSED
            .iter()
            .inspect(|(block, _)| {
                assert!(
                    matches!(refused_anywhere(block), Some(Support::Refused(_))),
                    "`{block}` is not refused as a whole"
                )
            })
            .flat_map(|(_, ks)| ks.iter().copied())
            .collect();
        let missing: Vec<&str> = include_str!("keepalived-2.2.7-keywords.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter(|k| !known.contains(k) && !inside.contains(k))
            .collect();
        assert!(
            missing.is_empty(),
            "documented by keepalived, unknown here: {missing:?}"
        );
    }

    #[test]
    fn every_implemented_keyword_is_built() {
        // The builders turn an implemented keyword they do not handle into an
        // internal error; no keyword of the table may reach it.
        each_keyword(|_, k, text| {
            if k.support != Support::Implemented {
                return;
            }
            if let Err(errors) = crate::parse_str("t.conf", &text) {
                for e in errors {
                    assert!(
                        !e.to_string().contains("internal error"),
                        "`{}` is not built:\n{text}\n{e}",
                        k.name
                    );
                }
            }
        });
    }

    #[test]
    fn refused_keywords_are_errors_with_their_reason_and_place() {
        each_keyword(|_, k, text| {
            let Support::Refused(reason) = k.support else {
                return;
            };
            let errors = crate::parse_str("t.conf", &text).expect_err(&text);
            let e = errors
                .iter()
                .find(|e| matches!(&e.kind, ErrorKind::Unsupported { keyword, .. } if keyword == k.name))
                .unwrap_or_else(|| panic!("`{}` not refused: {errors:?}", k.name));
            let line = text
                .lines()
                .position(|l| l.split_whitespace().next() == Some(k.name))
                .expect("keyword line")
                + 1;
            let loc = e.location.as_ref().expect("location");
            assert_eq!(loc.line as usize, line, "{e}");
            assert!(e.to_string().ends_with(reason), "{e}");
        });
    }

    #[test]
    fn warned_keywords_are_named_in_a_warning_at_their_place() {
        each_keyword(|_, k, text| {
            let Support::Warned(reason) = k.support else {
                return;
            };
            // Other problems of the surrounding snippet do not matter here.
            let mut errors = Vec::new();
            let mut warnings = Vec::new();
            let file = std::sync::Arc::new(crate::SourceFile {
                path: "t.conf".into(),
                included_from: None,
            });
            let tokens = crate::lexer::lex(&text, &file, &mut errors);
            crate::parser::Parser::new(&tokens, &mut errors, &mut warnings).parse();
            let w = warnings
                .iter()
                .find(|w| w.message.starts_with(&format!("`{}` is accepted", k.name)))
                .unwrap_or_else(|| panic!("`{}` not warned: {warnings:?}", k.name));
            assert!(w.message.ends_with(reason), "{w}");
            let line = text
                .lines()
                .position(|l| l.split_whitespace().next() == Some(k.name))
                .expect("keyword line")
                + 1;
            assert_eq!(w.location.as_ref().map(|l| l.line as usize), Some(line));
        });
    }

    #[test]
    fn the_documented_table_is_the_code_table() {
        let lib = include_str!("lib.rs");
        let begin = "//! <!-- keyword table: begin -->\n";
        let end = "//! <!-- keyword table: end -->\n";
        let (Some(b), Some(e)) = (lib.find(begin), lib.find(end)) else {
            panic!("lib.rs lacks the keyword table markers");
        };
        let documented: String = lib[b + begin.len()..e]
            .lines()
            .map(|l| {
                format!(
                    "{}\n",
                    l.strip_prefix("//! ")
                        .unwrap_or(l.trim_start_matches("//!"))
                )
            })
            .collect();
        let table = markdown_table();
        if documented != table && std::env::var_os("UPDATE_KEYWORD_TABLE").is_some() {
            let rendered: String = table.lines().map(|l| format!("//! {l}\n")).collect();
            let new = format!("{}{rendered}{}", &lib[..b + begin.len()], &lib[e..]);
            std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs"), new)
                .expect("rewrite lib.rs");
            return;
        }
        assert_eq!(
            documented, table,
            "the keyword table in lib.rs is stale; rerun with UPDATE_KEYWORD_TABLE=1"
        );
    }

    #[test]
    fn a_keyword_has_one_entry_per_block() {
        for &ctx in ALL_CTX {
            let names: Vec<&str> = ctx.keywords().iter().map(|k| k.name).collect();
            for (i, n) in names.iter().enumerate() {
                assert!(!names[..i].contains(n), "`{n}` twice {}", ctx.describe());
            }
        }
    }
}
