//! ipvsadm's command line: commands, options, and which go together.
//!
//! The grammar is ipvsadm 1.31's (popt): clustered short options (`-Ln`),
//! option arguments attached or separate (`-t1.2.3.4:80`, `-t 1.2.3.4:80`),
//! `--long` and `--long=value`, `-p` with an optional timeout, and the three
//! positional values of `--set`. Unlike ipvsadm, the command letter need not
//! come first. Every mistake is an [`ArgError`] naming what is wrong.

use lvs_ipvs::{
    Destination, Family, ForwardMethod, Persistence, PersistenceMask, Protocol, SchedFlags,
    Scheduler, Service, ServiceKey, SyncDaemon, SyncState, Timeouts, TunnelFlags, TunnelType,
};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// Longest timeout ipvsadm accepts (31 days), in seconds.
const MAX_TIMEOUT: u32 = 86400 * 31;
/// Persistence timeout when `-p` has no value, in seconds (libipvs's
/// `IPVS_SVC_PERSISTENT_TIMEOUT`, 6 minutes).
const DEFAULT_PERSISTENCE: u64 = 360;
/// Multicast interface when `--start-daemon` names none.
const DEFAULT_MCAST_IFN: &str = "eth0";

/// A command-line mistake; ipvsadm exits with status 2 for these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ArgError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ArgError> {
    Err(ArgError(msg.into()))
}

/// How listings are printed (ipvsadm's `FMT_*` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Format {
    /// `-n`: numeric addresses and ports.
    pub numeric: bool,
    /// `-S`: as ipvsadm commands.
    pub rule: bool,
    /// `--stats`.
    pub stats: bool,
    /// `--rate`.
    pub rate: bool,
    /// `--thresholds`.
    pub thresholds: bool,
    /// `--persistent-conn`.
    pub persistent_conn: bool,
    /// `--nosort`: kernel order.
    pub nosort: bool,
    /// `--exact`: counters without K/M/G/T units.
    pub exact: bool,
    /// `--tun-info`.
    pub tun_info: bool,
}

/// What `-L` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListWhat {
    /// Every service.
    All,
    /// One service.
    Service(ServiceKey),
    /// `-c`: the connection table.
    Connections,
    /// `--timeout`.
    Timeout,
    /// `--daemon`.
    Daemon,
}

/// One parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `-A`.
    AddService(Service),
    /// `-E`.
    EditService(Service),
    /// `-D`.
    DeleteService(ServiceKey),
    /// `-a`.
    AddServer(ServiceKey, Destination),
    /// `-e`.
    EditServer(ServiceKey, Destination),
    /// `-d`.
    DeleteServer(ServiceKey, SocketAddr),
    /// `-C`.
    Flush,
    /// `-Z`, for one service or all.
    Zero(Option<ServiceKey>),
    /// `-L` / `-l`.
    List(ListWhat, Format),
    /// `-S`.
    Save(Format),
    /// `-R`: commands from standard input.
    Restore,
    /// `--set tcp tcpfin udp`.
    SetTimeouts(Timeouts),
    /// `--start-daemon`.
    StartDaemon(SyncDaemon),
    /// `--stop-daemon`.
    StopDaemon(SyncState),
    /// `-h`.
    Help,
    /// `-v`.
    Version,
}

/// The command letters, in ipvsadm's table order (also its names in errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Add,
    Edit,
    Del,
    Flush,
    List,
    AddDest,
    DelDest,
    EditDest,
    Timeout,
    StartDaemon,
    StopDaemon,
    Restore,
    Save,
    Zero,
}

impl Cmd {
    fn name(self) -> &'static str {
        match self {
            Cmd::Add => "add-service",
            Cmd::Edit => "edit-service",
            Cmd::Del => "delete-service",
            Cmd::Flush => "flush",
            Cmd::List => "list",
            Cmd::AddDest => "add-server",
            Cmd::DelDest => "delete-server",
            Cmd::EditDest => "edit-server",
            Cmd::Timeout => "set",
            Cmd::StartDaemon => "start-daemon",
            Cmd::StopDaemon => "stop-daemon",
            Cmd::Restore => "restore",
            Cmd::Save => "save",
            Cmd::Zero => "zero",
        }
    }
}

/// Options that take part in the command/option compatibility check, in
/// ipvsadm's order (which decides which error is reported first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    Numeric,
    Connection,
    Service,
    Scheduler,
    Persistent,
    Netmask,
    Server,
    Forward,
    Weight,
    UThreshold,
    LThreshold,
    Mcast,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    SyncId,
    Exact,
    OnePacket,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
}

const ALL_OPTS: [Opt; 34] = [
    Opt::Numeric,
    Opt::Connection,
    Opt::Service,
    Opt::Scheduler,
    Opt::Persistent,
    Opt::Netmask,
    Opt::Server,
    Opt::Forward,
    Opt::Weight,
    Opt::UThreshold,
    Opt::LThreshold,
    Opt::Mcast,
    Opt::Timeout,
    Opt::Daemon,
    Opt::Stats,
    Opt::Rate,
    Opt::Thresholds,
    Opt::PersistentConn,
    Opt::NoSort,
    Opt::SyncId,
    Opt::Exact,
    Opt::OnePacket,
    Opt::Pe,
    Opt::SchedFlags,
    Opt::McastGroup,
    Opt::McastPort,
    Opt::McastTtl,
    Opt::SyncMaxlen,
    Opt::TunInfo,
    Opt::TunType,
    Opt::TunPort,
    Opt::TunNocsum,
    Opt::TunCsum,
    Opt::TunRemcsum,
];

impl Opt {
    fn name(self) -> &'static str {
        match self {
            Opt::Numeric => "numeric",
            Opt::Connection => "connection",
            Opt::Service => "service-address",
            Opt::Scheduler => "scheduler",
            Opt::Persistent => "persistent",
            Opt::Netmask => "netmask",
            Opt::Server => "real-server",
            Opt::Forward => "forwarding-method",
            Opt::Weight => "weight",
            Opt::UThreshold => "u-threshold",
            Opt::LThreshold => "l-threshold",
            Opt::Mcast => "mcast-interface",
            Opt::Timeout => "timeout",
            Opt::Daemon => "daemon",
            Opt::Stats => "stats",
            Opt::Rate => "rate",
            Opt::Thresholds => "thresholds",
            Opt::PersistentConn => "persistent-conn",
            Opt::NoSort => "nosort",
            Opt::SyncId => "syncid",
            Opt::Exact => "exact",
            Opt::OnePacket => "ops",
            Opt::Pe => "pe",
            Opt::SchedFlags => "sched-flags",
            Opt::McastGroup => "mcast-group",
            Opt::McastPort => "mcast-port",
            Opt::McastTtl => "mcast-ttl",
            Opt::SyncMaxlen => "sync-maxlen",
            Opt::TunInfo => "tun-info",
            Opt::TunType => "tun-type",
            Opt::TunPort => "tun-port",
            Opt::TunNocsum => "tun-nocsum",
            Opt::TunCsum => "tun-csum",
            Opt::TunRemcsum => "tun-remcsum",
        }
    }
}

/// How an option relates to a command.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    Required,
    Illegal,
    /// At most one option marked so.
    Exclusive,
    Optional,
}

/// ipvsadm's command/option compatibility: what each command accepts.
fn rule(cmd: Cmd, opt: Opt) -> Rule {
    use Opt::*;
    use Rule::*;
    let tunnel_opts = matches!(opt, TunType | TunPort | TunNocsum | TunCsum | TunRemcsum);
    match cmd {
        Cmd::Add | Cmd::Edit => match opt {
            Service => Required,
            Scheduler | Persistent | Netmask | OnePacket | Pe | SchedFlags => Optional,
            _ => Illegal,
        },
        Cmd::Del => match opt {
            Service => Required,
            _ => Illegal,
        },
        Cmd::List => match opt {
            Connection | Service | Timeout | Daemon => Exclusive,
            Numeric | Stats | Rate | Thresholds | PersistentConn | NoSort | SyncId | Exact
            | TunInfo => Optional,
            _ => Illegal,
        },
        Cmd::AddDest | Cmd::EditDest => match opt {
            Service | Server => Required,
            Forward | Weight | UThreshold | LThreshold => Optional,
            _ if tunnel_opts => Optional,
            _ => Illegal,
        },
        Cmd::DelDest => match opt {
            Service | Server => Required,
            _ => Illegal,
        },
        Cmd::StartDaemon => match opt {
            Mcast | SyncId | McastGroup | McastPort | McastTtl | SyncMaxlen => Optional,
            _ => Illegal,
        },
        Cmd::StopDaemon => match opt {
            SyncId => Optional,
            _ => Illegal,
        },
        Cmd::Save => match opt {
            Numeric => Optional,
            _ => Illegal,
        },
        Cmd::Zero => match opt {
            Service => Optional,
            _ => Illegal,
        },
        Cmd::Flush | Cmd::Timeout | Cmd::Restore => Illegal,
    }
}

/// Everything the options said, before the command is assembled.
#[derive(Default)]
struct Raw {
    cmd: Option<Cmd>,
    daemon_state: Option<SyncState>,
    seen: Vec<Opt>,
    format: Format,
    protocol: Option<Protocol>,
    service_arg: Option<String>,
    fwmark: Option<u32>,
    ipv6: bool,
    scheduler: Option<String>,
    persistent: Option<Option<String>>,
    netmask: Option<String>,
    server: Option<String>,
    forward: Option<char>,
    weight: Option<u32>,
    u_threshold: Option<u32>,
    l_threshold: Option<u32>,
    mcast_ifn: Option<String>,
    syncid: Option<u32>,
    one_packet: bool,
    pe: Option<String>,
    sched_flags: Option<String>,
    mcast_group: Option<IpAddr>,
    mcast_port: Option<u16>,
    mcast_ttl: Option<u8>,
    sync_maxlen: Option<u16>,
    tun_type: Option<TunnelType>,
    tun_port: Option<u16>,
    tun_flag: Option<TunnelFlags>,
    positional: Vec<String>,
    help: bool,
    version: bool,
}

impl Raw {
    fn set_command(&mut self, cmd: Cmd) -> Result<(), ArgError> {
        if self.cmd.is_some() {
            return err("multiple commands specified");
        }
        self.cmd = Some(cmd);
        Ok(())
    }
    fn set_option(&mut self, opt: Opt) -> Result<(), ArgError> {
        if self.seen.contains(&opt) {
            return err(format!("multiple '{}' options specified", opt.name()));
        }
        self.seen.push(opt);
        Ok(())
    }
    fn has(&self, opt: Opt) -> bool {
        self.seen.contains(&opt)
    }
}

/// Whether an option takes a value: never, always, or optionally (`-p`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arity {
    None,
    One,
    Optional,
}

/// Long option names and their short letter (or a private tag).
const LONG: &[(&str, char, Arity, &str)] = &[
    ("add-service", 'A', Arity::None, "Add a virtual service"),
    ("edit-service", 'E', Arity::None, "Edit a virtual service"),
    (
        "delete-service",
        'D',
        Arity::None,
        "Delete a virtual service",
    ),
    ("clear", 'C', Arity::None, "Clear the whole table"),
    (
        "list",
        'L',
        Arity::None,
        "List the table (or one virtual service)",
    ),
    (
        "zero",
        'Z',
        Arity::None,
        "Zero the counters of a service or of all services",
    ),
    (
        "add-server",
        'a',
        Arity::None,
        "Add a real server to a virtual service",
    ),
    ("edit-server", 'e', Arity::None, "Edit a real server"),
    ("delete-server", 'd', Arity::None, "Delete a real server"),
    (
        "set",
        '\u{80}',
        Arity::None,
        "Set the tcp, tcpfin and udp connection timeouts (three values, seconds)",
    ),
    ("help", 'h', Arity::None, "Print the usage"),
    ("version", 'v', Arity::None, "Print the version"),
    (
        "restore",
        'R',
        Arity::None,
        "Read commands from standard input",
    ),
    (
        "save",
        'S',
        Arity::None,
        "Print the table as ipvsadm commands",
    ),
    (
        "start-daemon",
        '\u{81}',
        Arity::One,
        "Start the connection synchronisation daemon (master or backup)",
    ),
    (
        "stop-daemon",
        '\u{82}',
        Arity::One,
        "Stop the connection synchronisation daemon (master or backup)",
    ),
    (
        "tcp-service",
        't',
        Arity::One,
        "TCP virtual service host[:port] or [ipv6]:port",
    ),
    (
        "udp-service",
        'u',
        Arity::One,
        "UDP virtual service host[:port] or [ipv6]:port",
    ),
    (
        "sctp-service",
        '\u{83}',
        Arity::One,
        "SCTP virtual service host[:port] or [ipv6]:port",
    ),
    (
        "fwmark-service",
        'f',
        Arity::One,
        "Firewall-mark virtual service",
    ),
    (
        "scheduler",
        's',
        Arity::One,
        "Scheduling algorithm (default wlc)",
    ),
    (
        "persistent",
        'p',
        Arity::Optional,
        "Persistent service, with an optional timeout in seconds (default 360)",
    ),
    ("netmask", 'M', Arity::One, "Persistence granularity mask"),
    (
        "real-server",
        'r',
        Arity::One,
        "Real server host[:port] or [ipv6]:port",
    ),
    (
        "masquerading",
        'm',
        Arity::None,
        "Forward by masquerading (NAT)",
    ),
    ("ipip", 'i', Arity::None, "Forward by IP-in-IP tunnelling"),
    (
        "gatewaying",
        'g',
        Arity::None,
        "Forward by direct routing (the default)",
    ),
    ("weight", 'w', Arity::One, "Capacity of the real server"),
    (
        "u-threshold",
        'x',
        Arity::One,
        "Upper connection threshold of the real server",
    ),
    (
        "l-threshold",
        'y',
        Arity::One,
        "Lower connection threshold of the real server",
    ),
    ("numeric", 'n', Arity::None, "Numeric addresses and ports"),
    ("connection", 'c', Arity::None, "List the connection table"),
    (
        "mcast-interface",
        '\u{84}',
        Arity::One,
        "Multicast interface of the synchronisation daemon",
    ),
    ("syncid", '\u{85}', Arity::One, "Synchronisation daemon id"),
    (
        "timeout",
        '\u{86}',
        Arity::None,
        "List the tcp, tcpfin and udp timeouts",
    ),
    (
        "daemon",
        '\u{87}',
        Arity::None,
        "List the synchronisation daemon's state",
    ),
    ("stats", '\u{88}', Arity::None, "List with statistics"),
    ("rate", '\u{89}', Arity::None, "List with rates"),
    ("thresholds", '\u{8a}', Arity::None, "List with thresholds"),
    (
        "persistent-conn",
        '\u{8b}',
        Arity::None,
        "List with persistent connections",
    ),
    (
        "nosort",
        '\u{8c}',
        Arity::None,
        "List in the kernel's order",
    ),
    ("sort", '\u{8d}', Arity::None, "List sorted (the default)"),
    ("exact", 'X', Arity::None, "Counters without K/M/G/T units"),
    (
        "ipv6",
        '6',
        Arity::None,
        "The firewall-mark service is IPv6",
    ),
    ("ops", 'o', Arity::None, "One-packet scheduling (UDP)"),
    ("pe", '\u{8e}', Arity::One, "Persistence engine (sip)"),
    (
        "sched-flags",
        'b',
        Arity::One,
        "Scheduler flags (sh-fallback, sh-port, mh-fallback, mh-port, flag-1..3)",
    ),
    (
        "mcast-group",
        '\u{8f}',
        Arity::One,
        "Multicast group of the synchronisation daemon",
    ),
    (
        "mcast-port",
        '\u{90}',
        Arity::One,
        "Multicast port of the synchronisation daemon",
    ),
    (
        "mcast-ttl",
        '\u{91}',
        Arity::One,
        "Multicast TTL of the synchronisation daemon",
    ),
    (
        "sync-maxlen",
        '\u{92}',
        Arity::One,
        "Largest synchronisation message, in bytes",
    ),
    (
        "tun-info",
        '\u{93}',
        Arity::None,
        "List with tunnel information",
    ),
    (
        "tun-type",
        '\u{94}',
        Arity::One,
        "Tunnel type (ipip, gue, gre)",
    ),
    (
        "tun-port",
        '\u{95}',
        Arity::One,
        "Tunnel destination port (gue)",
    ),
    (
        "tun-nocsum",
        '\u{96}',
        Arity::None,
        "Tunnel without checksums",
    ),
    ("tun-csum", '\u{97}', Arity::None, "Tunnel with checksums"),
    (
        "tun-remcsum",
        '\u{98}',
        Arity::None,
        "Tunnel with remote checksum offload",
    ),
];

/// The arity of a short letter (`l` is `-L`'s twin and has no long name).
fn short_arity(c: char) -> Option<Arity> {
    if c == 'l' {
        return Some(Arity::None);
    }
    LONG.iter()
        .find(|(_, s, _, _)| *s == c && c.is_ascii())
        .map(|(_, _, a, _)| *a)
}

/// Whether an option is followed by a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Takes {
    /// A flag.
    Nothing,
    /// Always one value.
    Value,
    /// An optional value (`-p [timeout]`).
    OptionalValue,
}

/// One option as documented: `--long`, its short letter, what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OptionDoc {
    /// The long name, without `--`.
    pub long: &'static str,
    /// The short letter, if it has one (`-L` also answers to `-l`).
    pub short: Option<char>,
    /// Whether a value follows.
    pub takes: Takes,
    /// One line on what it does.
    pub help: &'static str,
}

/// Every option the parser accepts, in ipvsadm's table order.
pub fn options() -> impl Iterator<Item = OptionDoc> {
    LONG.iter().map(|&(long, tag, arity, help)| OptionDoc {
        long,
        short: Some(tag).filter(char::is_ascii),
        takes: match arity {
            Arity::None => Takes::Nothing,
            Arity::One => Takes::Value,
            Arity::Optional => Takes::OptionalValue,
        },
        help,
    })
}

/// Parses a command line (without the program name).
pub fn parse(args: &[String]) -> Result<Command, ArgError> {
    let mut raw = Raw::default();
    let mut i = 0;
    let mut only_positional = false;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if only_positional || arg == "-" || !arg.starts_with('-') {
            raw.positional.push(arg.clone());
            continue;
        }
        if arg == "--" {
            only_positional = true;
            continue;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let Some(&(_, tag, arity, _)) = LONG.iter().find(|(n, _, _, _)| *n == name) else {
                return err(format!("unknown option `--{name}'"));
            };
            let value = match arity {
                Arity::None => {
                    if inline.is_some() {
                        return err(format!("option `--{name}' takes no value"));
                    }
                    None
                }
                Arity::One => match inline {
                    Some(v) => Some(v),
                    None => match args.get(i) {
                        Some(v) => {
                            i += 1;
                            Some(v.clone())
                        }
                        None => return err(format!("option `--{name}' needs a value")),
                    },
                },
                Arity::Optional => match inline {
                    Some(v) => Some(v),
                    None => match args.get(i) {
                        Some(v) if !v.starts_with('-') => {
                            i += 1;
                            Some(v.clone())
                        }
                        _ => None,
                    },
                },
            };
            apply(&mut raw, tag, value)?;
            continue;
        }
        // A cluster of short options: `-Ln`, `-t10.0.0.1:80`, `-p300`.
        let cluster: Vec<char> = arg.chars().skip(1).collect();
        let mut k = 0;
        while k < cluster.len() {
            let c = cluster[k];
            k += 1;
            let Some(arity) = short_arity(c) else {
                return err(format!("unknown option `-{c}'"));
            };
            let rest: String = cluster[k..].iter().collect();
            let value = match arity {
                Arity::None => None,
                Arity::One | Arity::Optional if !rest.is_empty() => {
                    k = cluster.len();
                    Some(rest)
                }
                Arity::One => match args.get(i) {
                    Some(v) => {
                        i += 1;
                        Some(v.clone())
                    }
                    None => return err(format!("option `-{c}' needs a value")),
                },
                Arity::Optional => match args.get(i) {
                    Some(v) if !v.starts_with('-') => {
                        i += 1;
                        Some(v.clone())
                    }
                    _ => None,
                },
            };
            apply(&mut raw, c, value)?;
        }
    }
    build(raw)
}

/// The value of an option that always has one.
fn need(value: Option<String>) -> String {
    value.unwrap_or_default()
}

/// Records one option.
fn apply(raw: &mut Raw, tag: char, value: Option<String>) -> Result<(), ArgError> {
    match tag {
        'A' => raw.set_command(Cmd::Add)?,
        'E' => raw.set_command(Cmd::Edit)?,
        'D' => raw.set_command(Cmd::Del)?,
        'a' => raw.set_command(Cmd::AddDest)?,
        'e' => raw.set_command(Cmd::EditDest)?,
        'd' => raw.set_command(Cmd::DelDest)?,
        'C' => raw.set_command(Cmd::Flush)?,
        'L' | 'l' => raw.set_command(Cmd::List)?,
        'Z' => raw.set_command(Cmd::Zero)?,
        'R' => raw.set_command(Cmd::Restore)?,
        'S' => raw.set_command(Cmd::Save)?,
        '\u{80}' => raw.set_command(Cmd::Timeout)?,
        '\u{81}' | '\u{82}' => {
            let start = tag == '\u{81}';
            raw.set_command(if start {
                Cmd::StartDaemon
            } else {
                Cmd::StopDaemon
            })?;
            raw.daemon_state = Some(match need(value).as_str() {
                "master" => SyncState::Master,
                "backup" => SyncState::Backup,
                other => {
                    return err(format!(
                        "illegal {}-daemon parameter `{other}' (expected master or backup)",
                        if start { "start" } else { "stop" }
                    ));
                }
            });
        }
        'h' => raw.help = true,
        'v' => raw.version = true,
        't' | 'u' | '\u{83}' => {
            raw.set_option(Opt::Service)?;
            raw.protocol = Some(match tag {
                't' => Protocol::Tcp,
                'u' => Protocol::Udp,
                _ => Protocol::Sctp,
            });
            raw.service_arg = Some(need(value));
        }
        'f' => {
            raw.set_option(Opt::Service)?;
            let v = need(value);
            match v.parse::<u32>() {
                Ok(m) if m > 0 => raw.fwmark = Some(m),
                _ => return err(format!("invalid fwmark value `{v}' specified")),
            }
        }
        '6' => {
            if raw.fwmark.is_none() {
                return err("-6 used before -f");
            }
            raw.ipv6 = true;
        }
        's' => {
            raw.set_option(Opt::Scheduler)?;
            raw.scheduler = Some(need(value));
        }
        'p' => {
            raw.set_option(Opt::Persistent)?;
            raw.persistent = Some(value);
        }
        'M' => {
            raw.set_option(Opt::Netmask)?;
            raw.netmask = Some(need(value));
        }
        'r' => {
            raw.set_option(Opt::Server)?;
            raw.server = Some(need(value));
        }
        'i' | 'g' | 'm' => {
            raw.set_option(Opt::Forward)?;
            raw.forward = Some(tag);
        }
        'w' => {
            raw.set_option(Opt::Weight)?;
            // Debian raises ipvsadm's 65535 limit to INT_MAX.
            raw.weight = Some(number(&need(value), 0, i32::MAX as u32, "weight")?);
        }
        'x' => {
            raw.set_option(Opt::UThreshold)?;
            raw.u_threshold = Some(number(&need(value), 0, i32::MAX as u32, "u_threshold")?);
        }
        'y' => {
            raw.set_option(Opt::LThreshold)?;
            raw.l_threshold = Some(number(&need(value), 0, i32::MAX as u32, "l_threshold")?);
        }
        'c' => {
            raw.set_option(Opt::Connection)?;
        }
        'n' => {
            raw.set_option(Opt::Numeric)?;
            raw.format.numeric = true;
        }
        '\u{84}' => {
            raw.set_option(Opt::Mcast)?;
            let v = need(value);
            if v.is_empty() || v.len() > 15 {
                return err(format!("illegal mcast-interface `{v}' (1 to 15 bytes)"));
            }
            raw.mcast_ifn = Some(v);
        }
        '\u{85}' => {
            raw.set_option(Opt::SyncId)?;
            raw.syncid = Some(number(&need(value), 0, 255, "syncid")?);
        }
        '\u{86}' => raw.set_option(Opt::Timeout)?,
        '\u{87}' => raw.set_option(Opt::Daemon)?,
        '\u{88}' => {
            raw.set_option(Opt::Stats)?;
            raw.format.stats = true;
        }
        '\u{89}' => {
            raw.set_option(Opt::Rate)?;
            raw.format.rate = true;
        }
        '\u{8a}' => {
            raw.set_option(Opt::Thresholds)?;
            raw.format.thresholds = true;
        }
        '\u{8b}' => {
            raw.set_option(Opt::PersistentConn)?;
            raw.format.persistent_conn = true;
        }
        '\u{8c}' => {
            raw.set_option(Opt::NoSort)?;
            raw.format.nosort = true;
        }
        // Sorting is the default; accepted for compatibility.
        '\u{8d}' => {}
        'X' => {
            raw.set_option(Opt::Exact)?;
            raw.format.exact = true;
        }
        'o' => {
            raw.set_option(Opt::OnePacket)?;
            raw.one_packet = true;
        }
        '\u{8e}' => {
            raw.set_option(Opt::Pe)?;
            let v = need(value);
            if v.is_empty() || v.len() > 16 {
                return err(format!("illegal persistence engine `{v}' (1 to 16 bytes)"));
            }
            raw.pe = Some(v);
        }
        'b' => {
            raw.set_option(Opt::SchedFlags)?;
            raw.sched_flags = Some(need(value));
        }
        '\u{8f}' => {
            raw.set_option(Opt::McastGroup)?;
            let v = need(value);
            let group = if v.contains(':') {
                match v.parse::<std::net::Ipv6Addr>() {
                    Ok(g) if g.is_multicast() => IpAddr::V6(g),
                    _ => return err(format!("invalid IPv6 mcast-group `{v}'")),
                }
            } else {
                match v.parse::<Ipv4Addr>() {
                    Ok(g) if g.is_multicast() => IpAddr::V4(g),
                    _ => return err(format!("invalid IPv4 mcast-group `{v}'")),
                }
            };
            raw.mcast_group = Some(group);
        }
        '\u{90}' => {
            raw.set_option(Opt::McastPort)?;
            raw.mcast_port = Some(number(&need(value), 1, 65535, "mcast-port")? as u16);
        }
        '\u{91}' => {
            raw.set_option(Opt::McastTtl)?;
            raw.mcast_ttl = Some(number(&need(value), 1, 255, "mcast-ttl")? as u8);
        }
        '\u{92}' => {
            raw.set_option(Opt::SyncMaxlen)?;
            raw.sync_maxlen = Some(number(&need(value), 1, 65535 - 20 - 8, "sync-maxlen")? as u16);
        }
        '\u{93}' => {
            raw.set_option(Opt::TunInfo)?;
            raw.format.tun_info = true;
        }
        '\u{94}' => {
            raw.set_option(Opt::TunType)?;
            let v = need(value);
            raw.tun_type = Some(match v.as_str() {
                "ipip" => TunnelType::Ipip,
                "gue" => TunnelType::Gue { port: 0 },
                "gre" => TunnelType::Gre,
                _ => {
                    return err(format!(
                        "illegal tunnel type `{v}' specified (ipip, gue or gre)"
                    ));
                }
            });
        }
        '\u{95}' => {
            raw.set_option(Opt::TunPort)?;
            raw.tun_port = Some(number(&need(value), 1, 65535, "tunnel port")? as u16);
        }
        '\u{96}' => {
            raw.set_option(Opt::TunNocsum)?;
            raw.tun_flag = Some(TunnelFlags::empty());
        }
        '\u{97}' => {
            raw.set_option(Opt::TunCsum)?;
            raw.tun_flag = Some(TunnelFlags::CSUM);
        }
        '\u{98}' => {
            raw.set_option(Opt::TunRemcsum)?;
            raw.tun_flag = Some(TunnelFlags::REMCSUM);
        }
        other => return err(format!("invalid option `{other}'")),
    }
    Ok(())
}

/// A decimal number in `min..=max`, as ipvsadm's `string_to_number`.
fn number(s: &str, min: u32, max: u32, what: &str) -> Result<u32, ArgError> {
    match s.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) && !s.starts_with('+') => Ok(n),
        _ => err(format!(
            "illegal {what} specified: `{s}' (a number from {min} to {max})"
        )),
    }
}

fn timeout_value(s: &str, min: u32) -> Result<u32, ArgError> {
    match s.parse::<u32>() {
        Ok(n) if (min..=MAX_TIMEOUT).contains(&n) && !s.starts_with('+') => Ok(n),
        _ => err(format!(
            "invalid timeout value `{s}' specified (seconds, {min} to {MAX_TIMEOUT})"
        )),
    }
}

/// An address with an optional port, as `-t`/`-u`/`-r` take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrPort {
    /// The address.
    pub ip: IpAddr,
    /// The port, when one was given.
    pub port: Option<u16>,
}

/// Parses `host[:port]`, `[v6]:port` or a bare IPv6 address; ports may be
/// service names (looked up for `protocol`).
pub fn parse_addr_port(s: &str, protocol: Option<Protocol>) -> Option<AddrPort> {
    if s.is_empty() || s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (addr, tail) = rest.split_once(']')?;
        let port = tail.strip_prefix(':')?;
        let ip: std::net::Ipv6Addr = addr.parse().ok()?;
        return Some(AddrPort {
            ip: IpAddr::V6(ip),
            port: Some(parse_port(port, protocol)?),
        });
    }
    if let Ok(ip) = s.parse::<std::net::Ipv6Addr>() {
        return Some(AddrPort {
            ip: IpAddr::V6(ip),
            port: None,
        });
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let ip = match host.parse::<Ipv4Addr>() {
        Ok(ip) => ip,
        Err(_) => resolve_v4(host)?,
    };
    let port = match port {
        Some(p) => Some(parse_port(p, protocol)?),
        None => None,
    };
    Some(AddrPort {
        ip: IpAddr::V4(ip),
        port,
    })
}

fn resolve_v4(host: &str) -> Option<Ipv4Addr> {
    // Numbers that are not a dotted quad are mistakes, not host names.
    if host.is_empty() || host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    // A fuzzer must not wait on DNS (see the `fuzzing` feature).
    if cfg!(feature = "fuzzing") {
        return None;
    }
    (host, 0)
        .to_socket_addrs()
        .ok()?
        .find_map(|a| match a.ip() {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
}

fn parse_port(p: &str, protocol: Option<Protocol>) -> Option<u16> {
    if let Ok(n) = p.parse::<u16>() {
        return Some(n);
    }
    if p.is_empty() || p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    super::names::service_port(p, protocol?)
}

/// Assembles the command once every option is known.
fn build(raw: Raw) -> Result<Command, ArgError> {
    if raw.help {
        return Ok(Command::Help);
    }
    if raw.version {
        return Ok(Command::Version);
    }
    let Some(cmd) = raw.cmd else {
        return err(
            "no command given (one of -A -E -D -a -e -d -C -L -Z -S -R --set --start-daemon --stop-daemon)",
        );
    };
    check_options(cmd, &raw)?;
    if let (false, Some(p)) = (cmd == Cmd::Timeout, raw.positional.first()) {
        return err(format!("unexpected argument {p}"));
    }
    let key = service_key(&raw)?;
    match cmd {
        Cmd::Add | Cmd::Edit => {
            let svc = service(&raw, key.ok_or_else(missing_service)?)?;
            Ok(if cmd == Cmd::Add {
                Command::AddService(svc)
            } else {
                Command::EditService(svc)
            })
        }
        Cmd::Del => Ok(Command::DeleteService(key.ok_or_else(missing_service)?)),
        Cmd::AddDest | Cmd::EditDest | Cmd::DelDest => {
            let key = key.ok_or_else(missing_service)?;
            let dest = destination(&raw, cmd, &key)?;
            Ok(match cmd {
                Cmd::AddDest => Command::AddServer(key, dest),
                Cmd::EditDest => Command::EditServer(key, dest),
                _ => Command::DeleteServer(key, dest.addr),
            })
        }
        Cmd::Flush => Ok(Command::Flush),
        Cmd::Zero => Ok(Command::Zero(key)),
        Cmd::List => {
            let conflict_a =
                (raw.has(Opt::Connection) || raw.has(Opt::Timeout) || raw.has(Opt::Daemon))
                    && (raw.has(Opt::Stats) || raw.has(Opt::Rate) || raw.has(Opt::Thresholds));
            let conflict_b =
                (raw.has(Opt::Timeout) || raw.has(Opt::Daemon)) && raw.has(Opt::PersistentConn);
            if conflict_a || conflict_b {
                return err("options conflicts in the list command");
            }
            let what = if raw.has(Opt::Connection) {
                ListWhat::Connections
            } else if let Some(k) = key {
                ListWhat::Service(k)
            } else if raw.has(Opt::Timeout) {
                ListWhat::Timeout
            } else if raw.has(Opt::Daemon) {
                ListWhat::Daemon
            } else {
                ListWhat::All
            };
            Ok(Command::List(what, raw.format))
        }
        Cmd::Save => Ok(Command::Save(Format {
            rule: true,
            ..raw.format
        })),
        Cmd::Restore => Ok(Command::Restore),
        Cmd::Timeout => {
            if raw.positional.len() < 3 {
                return err("--set option requires 3 timeout values (tcp tcpfin udp)");
            }
            if let Some(extra) = raw.positional.get(3) {
                return err(format!("unexpected argument {extra}"));
            }
            let secs = |s: &str| timeout_value(s, 0).map(|v| Duration::from_secs(v.into()));
            Ok(Command::SetTimeouts(Timeouts::new(
                secs(&raw.positional[0])?,
                secs(&raw.positional[1])?,
                secs(&raw.positional[2])?,
            )))
        }
        Cmd::StartDaemon => {
            let state = raw.daemon_state.unwrap_or(SyncState::Master);
            let ifn = raw
                .mcast_ifn
                .clone()
                .unwrap_or_else(|| DEFAULT_MCAST_IFN.to_string());
            let mut d = SyncDaemon::new(state, &ifn, raw.syncid.unwrap_or(0));
            d.max_len = raw.sync_maxlen;
            d.group = raw.mcast_group;
            d.port = raw.mcast_port;
            d.ttl = raw.mcast_ttl;
            Ok(Command::StartDaemon(d))
        }
        Cmd::StopDaemon => Ok(Command::StopDaemon(
            raw.daemon_state.unwrap_or(SyncState::Master),
        )),
    }
}

fn missing_service() -> ArgError {
    ArgError("a service (-t, -u, --sctp-service or -f) is needed".into())
}

/// ipvsadm's table check: required, illegal and mutually exclusive options.
fn check_options(cmd: Cmd, raw: &Raw) -> Result<(), ArgError> {
    let mut exclusive: Option<Opt> = None;
    for opt in ALL_OPTS {
        let given = raw.has(opt);
        match (rule(cmd, opt), given) {
            (Rule::Required, false) => {
                return err(format!(
                    "You need to supply the '{}' option for the '{}' command",
                    opt.name(),
                    cmd.name()
                ));
            }
            (Rule::Illegal, true) => {
                return err(format!(
                    "Illegal '{}' option with the '{}' command",
                    opt.name(),
                    cmd.name()
                ));
            }
            (Rule::Exclusive, true) => {
                if let Some(first) = exclusive {
                    return err(format!(
                        "The option '{}' conflicts with the '{}' option in the '{}' command",
                        opt.name(),
                        first.name(),
                        cmd.name()
                    ));
                }
                exclusive = Some(opt);
            }
            _ => {}
        }
    }
    Ok(())
}

/// The service named by `-t`/`-u`/`--sctp-service`/`-f`, with the port it
/// had (`None` when none was written).
fn service_key(raw: &Raw) -> Result<Option<ServiceKey>, ArgError> {
    if let Some(mark) = raw.fwmark {
        let family = if raw.ipv6 {
            Family::Inet6
        } else {
            Family::Inet
        };
        return Ok(Some(ServiceKey::Fwmark { family, mark }));
    }
    let (Some(protocol), Some(arg)) = (raw.protocol, &raw.service_arg) else {
        return Ok(None);
    };
    let Some(ap) = parse_addr_port(arg, Some(protocol)) else {
        return err(format!(
            "illegal virtual server address[:port] specified: `{arg}'"
        ));
    };
    Ok(Some(ServiceKey::Addr {
        protocol,
        addr: SocketAddr::new(ap.ip, ap.port.unwrap_or(0)),
    }))
}

fn service(raw: &Raw, key: ServiceKey) -> Result<Service, ArgError> {
    let family = key.family();
    let sched_name = raw.scheduler.clone().unwrap_or_else(|| "wlc".to_string());
    if sched_name.is_empty() || sched_name.len() > 15 {
        return err(format!("illegal scheduler `{sched_name}' (1 to 15 bytes)"));
    }
    let mut svc = Service::new(key, Scheduler::from(sched_name.as_str()));
    if let ServiceKey::Addr { protocol, addr } = key {
        if addr.port() == 0 && raw.persistent.is_none() {
            return err("Zero port specified for non-persistent service");
        }
        if raw.one_packet && protocol != Protocol::Udp {
            return err("One-Packet Scheduling is only for UDP virtual services");
        }
    }
    svc.one_packet = raw.one_packet;
    svc.pe_name = raw.pe.clone();
    if let Some(timeout) = &raw.persistent {
        let secs = match timeout {
            Some(t) => u64::from(timeout_value(t, 1)?),
            None => DEFAULT_PERSISTENCE,
        };
        let mask = match &raw.netmask {
            None => PersistenceMask::host(family),
            Some(m) => netmask(m, family)?,
        };
        svc.persistence = Some(Persistence {
            timeout: Duration::from_secs(secs),
            mask,
        });
    } else if let Some(m) = &raw.netmask {
        // Accepted (and checked) as ipvsadm does; without -p it has no effect.
        netmask(m, family)?;
    }
    if let Some(flags) = &raw.sched_flags {
        svc.sched_flags = sched_flags(&sched_name, flags)?;
    }
    Ok(svc)
}

fn netmask(m: &str, family: Family) -> Result<PersistenceMask, ArgError> {
    match family {
        Family::Inet => match m.parse::<Ipv4Addr>() {
            Ok(mask) => Ok(PersistenceMask::V4(mask)),
            Err(_) => err(format!(
                "illegal virtual server persistent mask specified: `{m}' (dotted quad, e.g. 255.255.255.0)"
            )),
        },
        Family::Inet6 => match m.parse::<u8>() {
            Ok(p) if (1..=128).contains(&p) => Ok(PersistenceMask::V6Prefix(p)),
            _ => err(format!(
                "illegal ipv6 netmask specified: `{m}' (a prefix length from 1 to 128)"
            )),
        },
    }
}

/// `-b` flags, checked against the scheduler as ipvsadm does.
pub fn sched_flags(sched: &str, arg: &str) -> Result<SchedFlags, ArgError> {
    let mut flags = SchedFlags::empty();
    for flag in arg.split(',').filter(|f| !f.is_empty()) {
        let (bit, needs) = match flag {
            "flag-1" => (SchedFlags::FALLBACK, None),
            "flag-2" => (SchedFlags::PORT, None),
            "flag-3" => (SchedFlags::SCHED3, None),
            "sh-fallback" => (SchedFlags::FALLBACK, Some("sh")),
            "sh-port" => (SchedFlags::PORT, Some("sh")),
            "mh-fallback" => (SchedFlags::FALLBACK, Some("mh")),
            "mh-port" => (SchedFlags::PORT, Some("mh")),
            _ => return err(format!("invalid scheduler flag `{flag}'")),
        };
        if let Some(s) = needs.filter(|s| *s != sched) {
            return err(format!(
                "incompatible scheduler flag `{flag}' (only for the {s} scheduler)"
            ));
        }
        flags |= bit;
    }
    if flags.is_empty() {
        return err(format!("invalid scheduler flag `{arg}'"));
    }
    Ok(flags)
}

fn destination(raw: &Raw, cmd: Cmd, key: &ServiceKey) -> Result<Destination, ArgError> {
    let arg = raw.server.clone().unwrap_or_default();
    let protocol = match key {
        ServiceKey::Addr { protocol, .. } => Some(*protocol),
        ServiceKey::Fwmark { .. } => Some(Protocol::Tcp),
    };
    let Some(ap) = parse_addr_port(&arg, protocol) else {
        return err(format!(
            "illegal real server address[:port] specified: `{arg}'"
        ));
    };
    let svc_port = match key {
        ServiceKey::Addr { addr, .. } => addr.port(),
        ServiceKey::Fwmark { .. } => 0,
    };
    let mut port = ap.port.unwrap_or(svc_port);
    let forward_letter = raw.forward.unwrap_or('g');
    let tunnel = forward_letter == 'i';
    let tunnel_opts = [
        Opt::TunType,
        Opt::TunPort,
        Opt::TunNocsum,
        Opt::TunCsum,
        Opt::TunRemcsum,
    ];
    if cmd != Cmd::DelDest {
        // Direct routing and tunnels cannot change the port.
        if matches!(key, ServiceKey::Addr { .. }) && matches!(forward_letter, 'g' | 'i') {
            port = svc_port;
        }
        let same_family = match key {
            ServiceKey::Addr { addr, .. } => addr.is_ipv4() == ap.ip.is_ipv4(),
            ServiceKey::Fwmark { family, .. } => (*family == Family::Inet) == ap.ip.is_ipv4(),
        };
        if !same_family && !tunnel {
            return err("Different address family is allowed only for tunneling servers");
        }
        if tunnel_opts.iter().any(|o| raw.has(*o)) && !tunnel {
            return err("Tunnel options conflict with forward method");
        }
    }
    let forward = match forward_letter {
        'm' => ForwardMethod::Masquerade,
        'i' => {
            let kind = raw.tun_type.unwrap_or(TunnelType::Ipip);
            let flags = raw.tun_flag.unwrap_or_default();
            tunnel_check(kind, raw)?;
            ForwardMethod::Tunnel {
                kind: match kind {
                    TunnelType::Gue { .. } => TunnelType::Gue {
                        port: raw.tun_port.unwrap_or(0),
                    },
                    k => k,
                },
                flags,
            }
        }
        _ => ForwardMethod::DirectRoute,
    };
    Ok(Destination {
        addr: SocketAddr::new(ap.ip, port),
        forward,
        weight: raw.weight.unwrap_or(1),
        upper_threshold: raw.u_threshold.unwrap_or(0),
        lower_threshold: raw.l_threshold.unwrap_or(0),
    })
}

/// Which tunnel options each encapsulation takes.
fn tunnel_check(kind: TunnelType, raw: &Raw) -> Result<(), ArgError> {
    let name = match kind {
        TunnelType::Ipip => "ipip",
        TunnelType::Gue { .. } => "gue",
        TunnelType::Gre => "gre",
    };
    let allowed: &[Opt] = match kind {
        TunnelType::Ipip => &[],
        TunnelType::Gue { .. } => &[Opt::TunPort, Opt::TunNocsum, Opt::TunCsum, Opt::TunRemcsum],
        TunnelType::Gre => &[Opt::TunNocsum, Opt::TunCsum],
    };
    if matches!(kind, TunnelType::Gue { .. }) && !raw.has(Opt::TunPort) {
        return err("You need to supply the 'tun-port' option for the 'gue' tunnel type");
    }
    let mut checksum: Option<Opt> = None;
    for opt in [Opt::TunPort, Opt::TunNocsum, Opt::TunCsum, Opt::TunRemcsum] {
        if !raw.has(opt) {
            continue;
        }
        if !allowed.contains(&opt) {
            return err(format!(
                "Illegal '{}' option with the '{name}' tunnel type",
                opt.name()
            ));
        }
        if opt != Opt::TunPort {
            if let Some(first) = checksum {
                return err(format!(
                    "The option '{}' conflicts with the '{}' option in the '{name}' tunnel type",
                    opt.name(),
                    first.name()
                ));
            }
            checksum = Some(opt);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Result<Command, ArgError> {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse(&args)
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn add_service_with_options() {
        let c = p("-A -t 10.0.0.1:80 -s rr -p 600 -M 255.255.255.0").unwrap();
        let mut want = Service::new(ServiceKey::tcp(sa("10.0.0.1:80")), Scheduler::RoundRobin);
        want.persistence = Some(Persistence {
            timeout: Duration::from_secs(600),
            mask: PersistenceMask::V4(Ipv4Addr::new(255, 255, 255, 0)),
        });
        assert_eq!(c, Command::AddService(want));
    }

    #[test]
    fn defaults_wlc_and_persistence_360() {
        let Command::AddService(s) = p("-A -u 10.0.0.1:53 -p").unwrap() else {
            panic!()
        };
        assert_eq!(s.scheduler, Scheduler::WeightedLeastConnection);
        let pers = s.persistence.unwrap();
        assert_eq!(pers.timeout, Duration::from_secs(360));
        assert_eq!(pers.mask, PersistenceMask::V4(Ipv4Addr::BROADCAST));
    }

    #[test]
    fn clustered_and_attached_short_options() {
        assert_eq!(
            p("-Ln").unwrap(),
            Command::List(
                ListWhat::All,
                Format {
                    numeric: true,
                    ..Format::default()
                }
            )
        );
        let c = p("-At10.0.0.1:80 -srr").unwrap();
        assert_eq!(
            c,
            Command::AddService(Service::new(
                ServiceKey::tcp(sa("10.0.0.1:80")),
                Scheduler::RoundRobin
            ))
        );
        // Command letter after its options is accepted too.
        assert!(matches!(p("-n -L --stats").unwrap(), Command::List(..)));
    }

    #[test]
    fn long_options_with_equals() {
        let c = p(
            "--add-service --tcp-service=[2001:db8::1]:443 --scheduler=sh -b sh-port,sh-fallback",
        )
        .unwrap();
        let Command::AddService(s) = c else { panic!() };
        assert_eq!(s.key, ServiceKey::tcp(sa("[2001:db8::1]:443")));
        assert_eq!(s.sched_flags, SchedFlags::PORT | SchedFlags::FALLBACK);
    }

    #[test]
    fn real_server_port_follows_service_for_dr_and_tunnel() {
        let Command::AddServer(_, d) = p("-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -g -w 3").unwrap()
        else {
            panic!()
        };
        assert_eq!(d.addr, sa("10.0.0.2:80"));
        assert_eq!(d.weight, 3);
        let Command::AddServer(_, d) = p("-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m").unwrap() else {
            panic!()
        };
        assert_eq!(d.addr, sa("10.0.0.2:8080"));
        assert_eq!(d.forward, ForwardMethod::Masquerade);
        let Command::AddServer(_, d) = p("-a -t 10.0.0.1:80 -r 10.0.0.2 -m -x 10 -y 5").unwrap()
        else {
            panic!()
        };
        assert_eq!(d.addr, sa("10.0.0.2:80"));
        assert_eq!((d.upper_threshold, d.lower_threshold), (10, 5));
    }

    #[test]
    fn gue_tunnel_needs_port_and_one_checksum_option() {
        let Command::AddServer(_, d) =
            p("-a -u 10.0.0.1:53 -r 10.0.0.2 -i --tun-type gue --tun-port 6080 --tun-remcsum")
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            d.forward,
            ForwardMethod::Tunnel {
                kind: TunnelType::Gue { port: 6080 },
                flags: TunnelFlags::REMCSUM
            }
        );
        let e = p("-a -u 10.0.0.1:53 -r 10.0.0.2 -i --tun-type gue").unwrap_err();
        assert!(e.0.contains("tun-port"), "{e}");
        let e = p("-a -u 10.0.0.1:53 -r 10.0.0.2 -i --tun-type gre --tun-remcsum").unwrap_err();
        assert!(e.0.contains("Illegal 'tun-remcsum'"), "{e}");
        let e = p("-a -u 10.0.0.1:53 -r 10.0.0.2 -i --tun-type gre --tun-csum --tun-nocsum")
            .unwrap_err();
        assert!(e.0.contains("conflicts"), "{e}");
        let e = p("-a -u 10.0.0.1:53 -r 10.0.0.2 -g --tun-type gre").unwrap_err();
        assert!(e.0.contains("Tunnel options conflict"), "{e}");
    }

    #[test]
    fn fwmark_ipv6_and_mask() {
        let Command::AddService(s) = p("-A -f 7 -6 -s rr -p 60 -M 64").unwrap() else {
            panic!()
        };
        assert_eq!(s.key, ServiceKey::fwmark(Family::Inet6, 7));
        assert_eq!(s.persistence.unwrap().mask, PersistenceMask::V6Prefix(64));
        assert!(p("-A -6 -f 7").unwrap_err().0.contains("-6 used before -f"));
        assert!(p("-A -f 0").unwrap_err().0.contains("fwmark"));
    }

    #[test]
    fn compatibility_table_errors() {
        assert_eq!(
            p("-A -s rr").unwrap_err().0,
            "You need to supply the 'service-address' option for the 'add-service' command"
        );
        assert_eq!(
            p("-D -t 10.0.0.1:80 -s rr").unwrap_err().0,
            "Illegal 'scheduler' option with the 'delete-service' command"
        );
        assert_eq!(
            p("-L --timeout --daemon").unwrap_err().0,
            "The option 'daemon' conflicts with the 'timeout' option in the 'list' command"
        );
        assert_eq!(
            p("-L --daemon --stats").unwrap_err().0,
            "options conflicts in the list command"
        );
        assert_eq!(p("-L -L").unwrap_err().0, "multiple commands specified");
        assert_eq!(
            p("-L -n -n").unwrap_err().0,
            "multiple 'numeric' options specified"
        );
    }

    #[test]
    fn bad_values_are_specific() {
        assert!(
            p("-A -t 10.0.0.1:80 -p 0")
                .unwrap_err()
                .0
                .contains("timeout")
        );
        assert!(p("-A -t 10.0.0.1").unwrap_err().0.contains("Zero port"));
        assert!(p("-A -t 10.0.0.1:80 -o").unwrap_err().0.contains("UDP"));
        assert!(p("-A -t 300:80").unwrap_err().0.contains("address"));
        assert!(p("-A -t 10.0.0.1:99999").unwrap_err().0.contains("address"));
        assert!(
            p("-a -t 10.0.0.1:80 -r 10.0.0.2 -w -1")
                .unwrap_err()
                .0
                .contains("weight")
        );
        assert!(
            p("-A -t 10.0.0.1:80 -s rr -b sh-port")
                .unwrap_err()
                .0
                .contains("incompatible")
        );
        assert!(
            p("-A -t 10.0.0.1:80 -b bogus")
                .unwrap_err()
                .0
                .contains("bogus")
        );
        assert!(
            p("-a -t 10.0.0.1:80 -r [::1]:80")
                .unwrap_err()
                .0
                .contains("family")
        );
        assert!(
            p("--start-daemon primary")
                .unwrap_err()
                .0
                .contains("master or backup")
        );
        assert!(
            p("--start-daemon master --mcast-group 10.0.0.1")
                .unwrap_err()
                .0
                .contains("mcast-group")
        );
        assert!(p("-L --bogus").unwrap_err().0.contains("--bogus"));
        assert!(p("-L -q").unwrap_err().0.contains("-q"));
        assert!(p("-t 10.0.0.1:80").unwrap_err().0.contains("no command"));
        assert!(
            p("-L extra")
                .unwrap_err()
                .0
                .contains("unexpected argument extra")
        );
        assert!(p("-A -t").unwrap_err().0.contains("needs a value"));
    }

    #[test]
    fn set_timeouts_and_daemons() {
        assert_eq!(
            p("--set 900 120 300").unwrap(),
            Command::SetTimeouts(Timeouts::new(
                Duration::from_secs(900),
                Duration::from_secs(120),
                Duration::from_secs(300)
            ))
        );
        assert!(
            p("--set 900 120")
                .unwrap_err()
                .0
                .contains("3 timeout values")
        );
        let Command::StartDaemon(d) = p(
            "--start-daemon backup --mcast-interface eth1 --syncid 7 --sync-maxlen 1400 --mcast-group 239.1.1.1 --mcast-port 8849 --mcast-ttl 2",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(d.state, SyncState::Backup);
        assert_eq!(d.interface, "eth1");
        assert_eq!(d.sync_id, 7);
        assert_eq!(d.max_len, Some(1400));
        assert_eq!(d.group, Some("239.1.1.1".parse().unwrap()));
        assert_eq!((d.port, d.ttl), (Some(8849), Some(2)));
        let Command::StartDaemon(d) = p("--start-daemon master").unwrap() else {
            panic!()
        };
        assert_eq!(d.interface, "eth0");
        assert_eq!(
            p("--stop-daemon backup").unwrap(),
            Command::StopDaemon(SyncState::Backup)
        );
    }

    #[test]
    fn list_variants() {
        assert_eq!(
            p("-L -n -t 10.0.0.1:80").unwrap(),
            Command::List(
                ListWhat::Service(ServiceKey::tcp(sa("10.0.0.1:80"))),
                Format {
                    numeric: true,
                    ..Format::default()
                }
            )
        );
        assert!(matches!(
            p("-L --timeout").unwrap(),
            Command::List(ListWhat::Timeout, _)
        ));
        assert!(matches!(
            p("-l --daemon").unwrap(),
            Command::List(ListWhat::Daemon, _)
        ));
        assert!(matches!(
            p("-Lnc").unwrap(),
            Command::List(ListWhat::Connections, _)
        ));
        let Command::Save(f) = p("-S -n").unwrap() else {
            panic!()
        };
        assert!(f.rule && f.numeric);
        assert_eq!(p("-Z").unwrap(), Command::Zero(None));
        assert_eq!(p("-C").unwrap(), Command::Flush);
    }

    #[test]
    fn addr_port_forms() {
        let v = |s| parse_addr_port(s, Some(Protocol::Tcp));
        assert_eq!(v("2001:db8::1").unwrap().port, None);
        assert_eq!(v("[2001:db8::1]:80").unwrap().port, Some(80));
        assert_eq!(v("[2001:db8::1]"), None);
        assert_eq!(v("10.0.0.1").unwrap().port, None);
        assert_eq!(v("1234"), None);
        assert_eq!(v(""), None);
    }
}
