//! The keepalived side of the `director` program: from a parsed keepalived
//! configuration to lvs-director's typed [`lvs_director::DirectorConfig`]
//! ([`convert`]), with the IPVS ([`desired`]) and VRRP ([`vrrp_map`])
//! mappings it uses. The daemon itself is lvs-director's driver; the
//! binary (`src/bin/director.rs`) adds the CLI, signals and sockets.
//!
//! `net.ipv4.vs.expire_nodest_conn` is set to 1 at start when the
//! configuration has virtual servers, unless `--keep-expire-nodest-conn`
//! is given or `global_defs` has `lvs_keep_expire_nodest_conn` (a director
//! keyword keepalived does not know).
//!
//! `lvs_half_open` inside a `TCP_CHECK` (another keyword of ours) makes it a
//! half-open check: a SYN from a raw socket, up on SYN-ACK, no connection
//! (lvs-healthcheck's `TcpHalfOpenCheck`; the director runs as root).

pub mod convert;
pub mod desired;
pub mod vrrp_map;
