//! A whole highly available IPVS director as a library: VRRP instances
//! holding VIPs, health-checked real servers, and the kernel's IPVS table
//! kept in step — what keepalived does, composed from lvs-vrrp,
//! lvs-healthcheck, lvs-ipvs and lvs-arpguard.
//!
//! Two layers, as quinn-proto and quinn:
//! - [`Director`], sans IO: it owns one state per fact (each router, each
//!   probe's verdict, what the kernel was asked to hold) and never reads a
//!   clock, opens a socket or spawns a thread.
//! - With the `tokio` feature, `driver::run` carries out its commands:
//!   VRRP sockets, VIPs and gratuitous ARP through lvs-arpguard, probes on
//!   lvs-healthcheck's runner on a thread of their own, IPVS writes on a
//!   thread of their own, link events from rtnetlink. Signals, pid files,
//!   control sockets and process scheduling belong to the program.
//!
//! For the program around it: [`report`] renders a [`Report`] as the
//! `status` text, as JSON ([`report::Snapshot::to_json`]) and (feature
//! `metrics`) as OpenMetrics; with the `systemd` feature, `systemd::Notifier`
//! speaks systemd's notify protocol (`READY=1`, `STATUS=`, `WATCHDOG=1`)
//! from the program's loop.
//!
//! The typed configuration is [`DirectorConfig`]; the keepalived
//! configuration language converts to it in the `lvs-keepalived-conf` crate.
//!
//! # Driving contract
//!
//! 1. [`Director::new`] with a validated config and `now`.
//! 2. Feed inputs as they happen, each with `now`:
//!    [`handle_vrrp`](Director::handle_vrrp) (a VRRP packet for an
//!    instance), [`handle_check`](Director::handle_check) (a probe's or a
//!    tracked script's verdict), [`handle_link`](Director::handle_link) (an interface's
//!    link/carrier), [`handle_ipvs_result`](Director::handle_ipvs_result)
//!    (how an IPVS command went), [`apply_config`](Director::apply_config)
//!    (a reload: the diff is applied without stopping timers),
//!    [`handle_track_file`](Director::handle_track_file) and
//!    [`handle_process_count`](Director::handle_process_count) (a tracked
//!    file's value, a tracked process's count, after
//!    [`Command::WatchFile`] / [`Command::WatchProcess`]),
//!    [`handle_removed`](Director::handle_removed) (an address, route or
//!    rule deleted behind its back), [`drain`](Director::drain) (a planned
//!    stop under [`RouteAnnounce`]) and
//!    [`handle_traffic`](Director::handle_traffic) (the counters a
//!    [`Command::SampleTraffic`] asked for).
//! 3. At [`poll_timeout`](Director::poll_timeout), call
//!    [`handle_timeout`](Director::handle_timeout).
//! 4. After each call, drain [`poll_command`](Director::poll_command) and
//!    carry out every [`Command`] in order: send adverts, add/remove VIPs,
//!    announce, start/stop probes and tracked scripts
//!    ([`Command::AddTrackScript`]: an exec check under the script's
//!    rise/fall policy), write IPVS deltas
//!    ([`Command::Ipvs`]: one real server going down is one operation) or a
//!    whole table ([`Command::IpvsReconcile`], at start, periodically and
//!    after a failed write, with backoff), add and remove the routes that
//!    announce healthy VIPs ([`Command::AddAnnouncement`]); stop after
//!    [`Command::Drained`].
//!
//! # Example
//!
//! The seed lab's NODE01 on a virtual clock: Master of VRID 1 holding
//! 172.20.0.83, round robin over two checked backends; one backend's
//! probe fails and IPVS gets exactly one delete.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use lvs_director::{CheckEvent, Check, Command, Director, DirectorConfig, Probe, RealServer,
//!                    SourceAddress, VirtualServer, VrrpInstance};
//! use lvs_healthcheck::{ConnectOptions, FailReason, KeepalivedCheck, KeepalivedTiming};
//! use lvs_healthcheck::checker::tcp::TcpCheck;
//! use lvs_ipvs::{Destination, ForwardMethod, Op, Scheduler, Service, ServiceKey};
//! use lvs_vrrp::{AdvertInterval, Seconds};
//!
//! let vip = "172.20.0.83".parse()?;
//! let mut router = lvs_vrrp::Config::new(1, 100, AdvertInterval::V2(Seconds(1)),
//!                                        "172.20.0.81".parse()?, vec![vip]);
//! router.start_as_master = true;
//! let mut node01 = VrrpInstance::new("VI_1", "ens18", router);
//! node01.source = SourceAddress::Fixed("172.20.0.81".parse()?);
//!
//! let policy = KeepalivedTiming::new(KeepalivedCheck::Tcp).policy();
//! let backend = |addr: &str| -> Result<RealServer, std::net::AddrParseError> {
//!     let addr = addr.parse()?;
//!     let check = Check::Tcp(TcpCheck::new(ConnectOptions::new(addr)));
//!     Ok(RealServer::new(Destination::new(addr, ForwardMethod::DirectRoute))
//!         .with_probe(Probe::new(check, policy.clone())))
//! };
//! let http = ServiceKey::tcp("172.20.0.83:80".parse()?);
//! let vs = VirtualServer::new(Service::new(http, Scheduler::RoundRobin))
//!     .with_real_server(backend("172.20.0.85:80")?)
//!     .with_real_server(backend("172.20.0.86:80")?);
//!
//! let mut config = DirectorConfig::new();
//! config.instances.push(node01);
//! config.virtual_servers.push(vs);
//!
//! let now = Instant::now();
//! let mut director = Director::new(now, config)?;
//! let mut probes = Vec::new();
//! while let Some(cmd) = director.poll_command() {
//!     if let Command::AddProbe { probe, real_server, .. } = cmd {
//!         probes.push((probe, real_server));
//!     }
//! }
//! assert_eq!(director.instance_state("VI_1"), Some(lvs_vrrp::State::Master));
//!
//! // WWW2's check fails: one netlink operation, not a table rebuild.
//! let (www2, addr) = probes[1];
//! let later = now + Duration::from_secs(3);
//! director.handle_check(later, www2, CheckEvent::Pool {
//!     in_pool: false,
//!     reason: Some(FailReason::Refused),
//! });
//! let ipvs: Vec<Command> = std::iter::from_fn(|| director.poll_command())
//!     .filter(|c| matches!(c, Command::Ipvs(_)))
//!     .collect();
//! assert_eq!(ipvs, vec![Command::Ipvs(vec![Op::DeleteDestination(http, addr)])]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Coming from the four crates
//!
//! What an embedder composing lvs-vrrp, lvs-arpguard, lvs-healthcheck and
//! lvs-ipvs by hand ran into, and where each stands now:
//!
//! - *lvs-vrrp's `Driver` ended on its interface going down* (a send
//!   failed with `ENETUNREACH`, the VIP stayed): `Driver::watch_link`
//!   follows link and carrier over rtnetlink and raises the `LinkDown`
//!   fault itself; send and receive errors are counted, never fatal; which
//!   errors end `next_action` is documented on the type. This crate's
//!   driver does the same for every instance ([`Director::handle_link`]).
//! - *Following both crates' examples sent extra ARP bursts*: lvs-vrrp's
//!   `Router` is the one owner of the announcement schedule; lvs-arpguard's
//!   `Announcer` sends the one burst it is asked for. Here each burst is one
//!   [`Command::Announce`].
//! - *lvs-vrrp's VIPs carry no prefix, label or interface*: where a VIP
//!   lives is this crate's [`Vip`], inside [`VrrpInstance::vips`]; the
//!   router's address list is derived from it ([`VrrpInstance::router_config`]).
//! - *MACs are `[u8; 6]` in one crate and `MacAddr` in the other*:
//!   `lvs_arpguard::MacAddr(bytes)`, documented in both crates.
//! - *A health transition carries only a `MemberId`*: probes are named by
//!   [`ProbeKey`] in [`Command::AddProbe`], which carries the service and the
//!   real server; [`Command::RealServerChanged`] says which one changed.
//! - *`IpvsHandle::open()` succeeds without the `ip_vs` module*:
//!   `IpvsHandle::is_available()`, and each request documents
//!   `Error::IpvsUnavailable`; `lvs_director::run` refuses to start a
//!   configuration with virtual servers when IPVS is missing.
//! - *`Policy::default()` (60 s, members start Up) and `EngineConfig::default()`
//!   were undocumented*: both list every value in their docs now.
//! - *Checks on their own thread had no helper, and could not probe another
//!   namespace*: lvs-healthcheck's runner can be spawned on a thread of its
//!   own, inside a network namespace if asked; this crate's driver runs its
//!   probes that way.
//! - *No `Display` on `State`, `Reason`, `Health`, `Op`*: all four have one.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// This crate's README, whose examples run as doctests so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod command;
pub mod config;
mod director;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod driver;
pub mod report;
pub mod routes;
mod security;
pub mod status;
#[cfg(feature = "systemd")]
#[cfg_attr(docsrs, doc(cfg(feature = "systemd")))]
pub mod systemd;
mod table;

pub use command::{Command, InstanceId, ProbeKey, state_word};
pub use config::{
    Check, ConfigError, DirectorConfig, FifoWriter, FileCheck, InitFile, InsecureScripts,
    IpvsSetup, Notify, NotifyFifo, NotifyFifos, ParamMatch, Probe, ProcessMatch, RealServer,
    Removed, ResolvedTrack, Route, RouteAnnounce, RouteKind, RouteScope, Routing, Rule, RunAs,
    Script, ServiceGroup, SourceAddress, SyncDaemonConfig, SyncGroup, TrackFile, TrackInterface,
    TrackProcess, TrackScript, TrackedFile, TrackedProcess, TrackedScript, Vip, VirtualServer,
    Vmac, VrrpInstance, parse_track_file,
};
pub use config::{DRAIN_TIMEOUT, PROTO_ANNOUNCE, TABLE_ANNOUNCE, TABLE_LOCAL};
pub use director::{CheckEvent, Director, NotAnnounced, ReloadSummary, TrafficSample};
pub use status::{AnnouncementStatus, Report, Status};

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use driver::{Handle, NetNamespaceError, enter_net_namespace, flush_routes, run};
