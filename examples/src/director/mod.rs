//! `director`: a keepalived-class daemon composed from the lvs crates.
//!
//! - configuration: [`lvs_keepalived_conf`] (keepalived syntax, refused as a whole
//!   on any error);
//! - VRRP per `vrrp_instance`: lvs-vrrp's sans-IO router on lvs-vrrp's
//!   raw protocol-112 socket pair (`lvs_vrrp::driver::VrrpSocket`, group
//!   from `vrrp_mcast_group4`, none joined with `unicast_peer`), configured
//!   by [`vrrp_map`]. The event loop multiplexes every router itself (one
//!   timerfd `Timer` for all) rather than running lvs-vrrp's one-router
//!   `Driver` per task, so one step sees VRRP, checks and IPVS together;
//! - VIPs and gratuitous ARP: lvs-arpguard ([`lvs_arpguard::DirectorVip`],
//!   [`lvs_arpguard::announce::Announcer`]) driven by the router's actions;
//! - health checks: lvs-healthcheck's tokio runner, probes built by [`checks`];
//! - IPVS: the desired table ([`desired`]) reconciled through lvs-ipvs,
//!   never flushed, so a restart adopts the existing table;
//! - the live view and OpenMetrics text ([`status`], prometheus-client), served on a unix
//!   control socket and an optional TCP endpoint;
//! - the event loop itself: [`daemon`].
//!
//! `net.ipv4.vs.expire_nodest_conn` is set to 1 at start when the
//! configuration has virtual servers, unless `--keep-expire-nodest-conn`
//! is given or `global_defs` has `lvs_keep_expire_nodest_conn` (a director
//! keyword keepalived does not know).
//!
//! `lvs_half_open` inside a `TCP_CHECK` (another keyword of ours) makes it a
//! half-open check: a SYN from a raw socket, up on SYN-ACK, no connection
//! (lvs-healthcheck's `TcpHalfOpenCheck`; the director runs as root).

pub mod checks;
pub mod daemon;
pub mod desired;
pub mod status;
pub mod vrrp_map;

pub use daemon::{DaemonError, Options, default_control_path, query_status, run};
