//! keepalived's configuration language, parsed into a validated model, with
//! compiler-style diagnostics. This is the configuration front end of the lvs
//! `director` (a keepalived-class daemon); it is usable on its own to check
//! or read keepalived configurations.
//!
//! [`load`] reads a file (following `include`s), and either returns the whole
//! [`Config`] with [`Warning`]s, or refuses it with every [`ConfigError`]
//! found — nothing is half-accepted. Each error carries file, line and column
//! and prints like a compiler diagnostic:
//!
//! ```
//! use lvs_keepalived_conf as config;
//!
//! let errors = config::parse_str("node01.conf", "vrp_instance VI_1 {\n}\n").unwrap_err();
//! assert_eq!(
//!     errors[0].to_string(),
//!     "node01.conf:1:1: error: unknown keyword `vrp_instance` at the top level \
//!      (did you mean `vrrp_instance`?)"
//! );
//!
//! let (cfg, _warnings) = config::parse_str(
//!     "lb.conf",
//!     "virtual_server 172.20.0.83 80 { lb_algo rr lb_kind DR\n\
//!        real_server 172.20.0.85 80 { TCP_CHECK { connect_timeout 3 retry 1 delay_before_retry 2 } }\n\
//!      }\n",
//! )
//! .unwrap();
//! let check = &cfg.virtual_servers[0].real_servers[0].checks[0];
//! assert_eq!(check.common.retry, 1);
//! assert_eq!(check.common.delay_before_retry, std::time::Duration::from_secs(2));
//! assert_eq!(cfg.virtual_servers[0].scheduler, config::lvs_ipvs::Scheduler::RoundRobin);
//!
//! // A keepalived keyword director does not honour is refused, with why.
//! let errors = config::parse_str(
//!     "lb.conf",
//!     "virtual_server 10.0.0.1 80 {\n sorry_server_inhibit\n real_server 10.0.0.2 80 { }\n}\n",
//! )
//! .unwrap_err();
//! assert!(errors[0].to_string().starts_with(
//!     "lb.conf:2:2: error: `sorry_server_inhibit` is keepalived syntax that director does not support: "
//! ));
//! ```
//!
//! The model uses the lvs libraries' own types where they exist
//! (`lvs_ipvs::Scheduler`, `lvs_ipvs::ForwardMethod`, `lvs_ipvs::Protocol`,
//! `lvs_vrrp::Version`, `lvs_vrrp::AdvertInterval`; both crates are
//! re-exported), so a program driving those crates needs no mapping of its own. Nothing here is async or does I/O
//! beyond reading the files.
//!
//! Differences from keepalived, on purpose: the input is split into tokens,
//! not lines, so several keywords on one line all count; unknown keywords,
//! misplaced blocks, unclosed blocks and bad values are errors (keepalived
//! logs them and runs with what is left).
//!
//! # What is supported
//!
//! Every keyword has one entry in one table ([`keywords::all`]), which both
//! the parser and the "not supported" decision read. A keyword is
//!
//! - **implemented**: parsed into the model and acted on by director;
//! - **refused**: recognised, and the configuration is not loaded, with an
//!   error at the keyword naming why — running without it would not do
//!   what the file says (`vrrp_track_file`, `BFD_CHECK`, `track_bfd`, ...);
//! - **warned**: accepted with a warning at the keyword naming it, because
//!   it does not change what director does (mail, SNMP, logging detail,
//!   ...). It is not in the model.
//!
//! Obsolete or no-op forms seen in field configurations (`nat_mask`,
//! `dynamic_interfaces`, `enable_script_security 0`, a valueless
//! `vrrp_garp_master_refresh`, ...) are listed once, with why each is
//! harmless, in [`keywords::LENIENT`]; each is accepted with a warning.
//!
//! keepalived's preprocessor runs first: `@ID` / `@^ID` conditional lines
//! (the id is [`LoadOptions::config_id`], keepalived's `-i`), `$NAME=VALUE`
//! parameters and `${NAME}` substitution, `~SEQ` / `~LST` repetition.
//!
//! Nothing is parsed and then silently left unused. A keyword keepalived
//! users may well have is refused rather than warned when it changes what
//! keepalived would do and director does not do it: `sorry_server_inhibit`,
//! for one (the sorry server would be removed instead of kept at weight 0,
//! so its connections would not drain). The whole table is below.
//!
//! # Tracked scripts
//!
//! `vrrp_script NAME { script; interval; timeout; weight N [reverse]; rise;
//! fall; init_fail; user }` and `track_script { NAME [weight N
//! [reverse|noreverse]] }` in a `vrrp_instance` follow keepalived 2.2.7
//! (see `lvs_director::TrackScript` for what each does): `script` is an argv
//! (a quoted command line is split into words, no shell); `interval` and
//! `timeout` are whole seconds, the timeout defaulting to the interval;
//! weights are -253..=253. Differences, on purpose: a `track_script` naming
//! no `vrrp_script`, a duplicate `track_script` entry and a `vrrp_script`
//! without `script` are errors (keepalived logs them and drops the entry);
//! `user USER [GROUP]` (like `script_user` and a notify script's own
//! `SCRIPT USER [GROUP]`) is resolved to ids when the file is loaded.
//! `vrrp_script`s no instance tracks are not run, as in keepalived.
//! `enable_script_security` makes lvs-director's driver check every script
//! the way keepalived does (`DirectorConfig::insecure_scripts`) and refuse
//! to start or reload when one could be changed by a non-root user, where
//! keepalived disables just that script.
//!
//! # Tracked files and processes
//!
//! `track_file NAME { file PATH; weight N [reverse]; init_file [VALUE]
//! [overwrite] }` (`vrrp_track_file` is its older name) and
//! `vrrp_track_process NAME { process NAME [PARAMS]; param_match
//! [initial|partial]; weight N [reverse]; quorum N; quorum_max N; delay /
//! fork_delay / terminate_delay SECS; full_command }`, tracked from a
//! `vrrp_instance` or `vrrp_sync_group` by `track_file { NAME [weight N
//! [reverse|noreverse]] }` and `track_process { ... }`, follow keepalived
//! 2.2.7 (see `lvs_director::TrackFile` and `lvs_director::TrackProcess`):
//! weights are -254..=254, a file's defaulting to 1 and a process's to 0
//! (keepalived's code; its manual says 1); parameters after the process
//! name, or `param_match`, compare the command line (`full_command`);
//! `quorum_max 0` alone means no matching process may run. As for scripts,
//! an entry naming nothing defined, a duplicate entry, a block without
//! `file` / `process` and out-of-range values are errors at their place
//! (keepalived logs and drops them).
//!
//! # Sync groups
//!
//! `vrrp_sync_group NAME { group { A B } ... }` and keepalived's newer bare
//! list `vrrp_sync_group NAME { A B }` (a word that is not one of the
//! block's keywords is a member) become `lvs_director::SyncGroup`, whose
//! members move together as in keepalived 2.2.7 (see that type). Each member
//! must be a defined `vrrp_instance` in no other group (keepalived logs and
//! ignores such a member; here it is an error at the member's place). The
//! group's `track_interface`, `track_script`, `track_file` and
//! `track_process` entries are added to every member; as keepalived does, every tracked weight of a member or of the
//! group is set to 0 (a failure is a FAULT of the whole group), with a
//! warning, unless `sync_group_tracking_weight` (or the deprecated
//! `global_tracking`) is set. Group `notify` scripts get `GROUP NAME STATE
//! 0`. `smtp_alert` is warned; `track_bfd` and `notify_deleted` are refused.
//!
//! rule each, every one a fact about this node's own file:
//! - a positive weight (not `reverse`) on a `state MASTER` instance: the
//!   classic sign confusion. The note spells out that a failure only
//!   withdraws the bonus (priority `P + w` → `P`), so a peer running the same
//!   script takes over only if its priority is above `P − w`, and suggests a
//!   negative weight when the Backup's priority is lower;
//! - a weight the 1..=254 clamp eats (`P + w` above 254 or below 1): the
//!   script moves the priority by less than written, possibly 0;
//! - a weighted script on an address owner (priority 255): ignored, as
//!   keepalived ignores it (weight 0 still puts the instance in FAULT).
//!
//! The keyword table:
//!
//! <!-- keyword table: begin -->
//! | block | keyword | support | why |
//! |---|---|---|---|
//! | (top level) | `global_defs` | implemented |  |
//! | (top level) | `vrrp_instance` | implemented |  |
//! | (top level) | `virtual_server` | implemented |  |
//! | (top level) | `vrrp_sync_group` | implemented |  |
//! | (top level) | `vrrp_script` | implemented |  |
//! | (top level) | `track_file` | implemented |  |
//! | (top level) | `vrrp_track_file` | implemented |  |
//! | (top level) | `vrrp_track_process` | implemented |  |
//! | (top level) | `bfd_instance` | refused | tracking BFD is not implemented, so priorities would not follow it |
//! | (top level) | `linkbeat_interfaces` | warned | director follows every interface's link and carrier through rtnetlink |
//! | (top level) | `track_group` | refused | track groups are not implemented |
//! | (top level) | `interface_up_down_delays` | refused | interface up/down debouncing is not implemented: a link change acts at once |
//! | (top level) | `static_ipaddress` | implemented |  |
//! | (top level) | `static_routes` | implemented |  |
//! | (top level) | `static_rules` | implemented |  |
//! | (top level) | `garp_group` | refused | per-interface gratuitous ARP groups are not implemented |
//! | (top level) | `virtual_server_group` | implemented |  |
//! | (top level) | `SSL` | implemented |  |
//! | (top level) | `lvs_route_announce` | implemented |  |
//! | `global_defs` | `router_id` | implemented |  |
//! | `global_defs` | `notification_email` | warned | director sends no mail |
//! | `global_defs` | `notification_email_from` | warned | director sends no mail |
//! | `global_defs` | `smtp_server` | warned | director sends no mail |
//! | `global_defs` | `smtp_helo_name` | warned | director sends no mail |
//! | `global_defs` | `smtp_connect_timeout` | warned | director sends no mail |
//! | `global_defs` | `smtp_alert` | warned | director sends no mail |
//! | `global_defs` | `smtp_alert_vrrp` | warned | director sends no mail |
//! | `global_defs` | `smtp_alert_checker` | warned | director sends no mail |
//! | `global_defs` | `no_email_faults` | warned | director sends no mail |
//! | `global_defs` | `script_user` | implemented |  |
//! | `global_defs` | `enable_script_security` | implemented |  |
//! | `global_defs` | `vrrp_version` | implemented |  |
//! | `global_defs` | `vrrp_garp_master_delay` | implemented |  |
//! | `global_defs` | `vrrp_garp_master_repeat` | implemented |  |
//! | `global_defs` | `vrrp_garp_master_refresh` | implemented |  |
//! | `global_defs` | `vrrp_garp_lower_prio_delay` | implemented |  |
//! | `global_defs` | `vrrp_garp_lower_prio_repeat` | implemented |  |
//! | `global_defs` | `vrrp_lower_prio_no_advert` | implemented |  |
//! | `global_defs` | `vrrp_higher_prio_send_advert` | implemented |  |
//! | `global_defs` | `vrrp_startup_delay` | implemented |  |
//! | `global_defs` | `dynamic_interfaces` | warned | director watches links through rtnetlink anyway; an instance's interface must exist when it starts |
//! | `global_defs` | `vrrp_garp_master_refresh_repeat` | warned | each refresh sends a full garp_master_repeat burst |
//! | `global_defs` | `vrrp_garp_interval` | implemented |  |
//! | `global_defs` | `vrrp_gna_interval` | warned | unsolicited neighbour advertisements are paced by vrrp_garp_interval |
//! | `global_defs` | `vrrp_min_garp` | implemented |  |
//! | `global_defs` | `vrrp_mcast_group4` | implemented |  |
//! | `global_defs` | `vrrp_mcast_group6` | implemented |  |
//! | `global_defs` | `vrrp_strict` | implemented |  |
//! | `global_defs` | `vrrp_skip_check_adv_addr` | implemented |  |
//! | `global_defs` | `default_interface` | warned | every vrrp_instance names its `interface` |
//! | `global_defs` | `lvs_sync_daemon` | implemented |  |
//! | `global_defs` | `lvs_timeouts` | implemented |  |
//! | `global_defs` | `lvs_flush` | implemented |  |
//! | `global_defs` | `lvs_keep_expire_nodest_conn` | implemented |  |
//! | `global_defs` | `lvs_reconcile_interval` | implemented |  |
//! | `global_defs` | `checker_log_all_failures` | warned | it only changes what is logged |
//! | `global_defs` | `max_auto_priority` | warned | real-time scheduling is set only by vrrp_rt_priority / checker_rt_priority |
//! | `global_defs` | `vrrp_priority` | implemented |  |
//! | `global_defs` | `checker_priority` | implemented |  |
//! | `global_defs` | `vrrp_rt_priority` | implemented |  |
//! | `global_defs` | `checker_rt_priority` | implemented |  |
//! | `global_defs` | `vrrp_no_swap` | implemented |  |
//! | `global_defs` | `checker_no_swap` | implemented |  |
//! | `global_defs` | `notify_fifo` | implemented |  |
//! | `global_defs` | `notify_fifo_script` | implemented |  |
//! | `global_defs` | `vrrp_notify_fifo` | implemented |  |
//! | `global_defs` | `vrrp_notify_fifo_script` | implemented |  |
//! | `global_defs` | `lvs_notify_fifo` | implemented |  |
//! | `global_defs` | `lvs_notify_fifo_script` | implemented |  |
//! | `global_defs` | `net_namespace` | implemented |  |
//! | `global_defs` | `tmp_config_directory` | warned | director writes no configuration copies or .data dump files |
//! | `global_defs` | `config_save_dir` | warned | director writes no configuration copies or .data dump files |
//! | `global_defs` | `data_use_instance` | warned | director writes no configuration copies or .data dump files |
//! | `global_defs` | `process_names` | warned | director is one process; process names are only labels |
//! | `global_defs` | `process_name` | warned | director is one process; process names are only labels |
//! | `global_defs` | `vrrp_process_name` | warned | director is one process; process names are only labels |
//! | `global_defs` | `checker_process_name` | warned | director is one process; process names are only labels |
//! | `global_defs` | `bfd_process_name` | warned | director runs no BFD process |
//! | `global_defs` | `startup_script` | refused | start-up and shutdown scripts are not implemented: run them from the service manager (ExecStartPre= / ExecStopPost=) |
//! | `global_defs` | `startup_script_timeout` | refused | start-up and shutdown scripts are not implemented: run them from the service manager (ExecStartPre= / ExecStopPost=) |
//! | `global_defs` | `shutdown_script` | refused | start-up and shutdown scripts are not implemented: run them from the service manager (ExecStartPre= / ExecStopPost=) |
//! | `global_defs` | `shutdown_script_timeout` | refused | start-up and shutdown scripts are not implemented: run them from the service manager (ExecStartPre= / ExecStopPost=) |
//! | `global_defs` | `lvs_flush_on_stop` | refused | flushing IPVS at stop is not implemented; director removes only what it added |
//! | `global_defs` | `vrrp_down_timer_adverts` | refused | Master_Down_Interval is always 3 advert intervals plus Skew_Time, as RFC 5798 says |
//! | `global_defs` | `vrrp_garp_extra_if` | implemented |  |
//! | `global_defs` | `nftables` | warned | names and priorities of keepalived's own firewall tables; director uses its own nft tables |
//! | `global_defs` | `nftables_priority` | warned | names and priorities of keepalived's own firewall tables; director uses its own nft tables |
//! | `global_defs` | `nftables_counters` | warned | names and priorities of keepalived's own firewall tables; director uses its own nft tables |
//! | `global_defs` | `nftables_ifindex` | warned | names and priorities of keepalived's own firewall tables; director uses its own nft tables |
//! | `global_defs` | `nftables_ipvs` | warned | names and priorities of keepalived's own firewall tables; director uses its own nft tables |
//! | `global_defs` | `nftables_ipvs_priority` | warned | names and priorities of keepalived's own firewall tables; director uses its own nft tables |
//! | `global_defs` | `nftables_ipvs_start_fwmark` | warned | names and priorities of keepalived's own firewall tables; director uses its own nft tables |
//! | `global_defs` | `vrrp_iptables` | warned | names and priorities of keepalived's own firewall tables; director uses its own nft tables |
//! | `global_defs` | `vrrp_ipsets` | warned | names and priorities of keepalived's own firewall tables; director uses its own nft tables |
//! | `global_defs` | `disable_local_igmp` | warned | director moves a VMAC's IGMP/MLD reports to its base interface instead |
//! | `global_defs` | `vrrp_check_unicast_src` | warned | director always accepts unicast adverts only from the configured unicast_peer addresses |
//! | `global_defs` | `vrrp_notify_priority_changes` | refused | not implemented, so director would not do what it asks |
//! | `global_defs` | `min_auto_priority_delay` | warned | real-time scheduling is set only by vrrp_rt_priority / checker_rt_priority |
//! | `global_defs` | `bfd_priority` | warned | director runs no BFD process |
//! | `global_defs` | `bfd_no_swap` | warned | director runs no BFD process |
//! | `global_defs` | `bfd_cpu_affinity` | warned | director runs no BFD process |
//! | `global_defs` | `bfd_rt_priority` | warned | director runs no BFD process |
//! | `global_defs` | `bfd_rlimit_rttime` | warned | director runs no BFD process |
//! | `global_defs` | `vrrp_cpu_affinity` | warned | director does not pin itself to CPUs; scheduling priority comes from vrrp_rt_priority / vrrp_priority |
//! | `global_defs` | `checker_cpu_affinity` | warned | director does not pin itself to CPUs; scheduling priority comes from vrrp_rt_priority / vrrp_priority |
//! | `global_defs` | `vrrp_rlimit_rttime` | warned | director sets no RLIMIT_RTTIME (its real-time threads never busy-loop) |
//! | `global_defs` | `checker_rlimit_rttime` | warned | director sets no RLIMIT_RTTIME (its real-time threads never busy-loop) |
//! | `global_defs` | `snmp_socket` | warned | director has no SNMP agent |
//! | `global_defs` | `enable_snmp_vrrp` | warned | director has no SNMP agent |
//! | `global_defs` | `enable_snmp_keepalived` | warned | director has no SNMP agent |
//! | `global_defs` | `enable_snmp_checker` | warned | director has no SNMP agent |
//! | `global_defs` | `enable_snmp_rfc` | warned | director has no SNMP agent |
//! | `global_defs` | `enable_snmp_rfcv2` | warned | director has no SNMP agent |
//! | `global_defs` | `enable_snmp_rfcv3` | warned | director has no SNMP agent |
//! | `global_defs` | `enable_traps` | warned | director has no SNMP agent |
//! | `global_defs` | `enable_dbus` | warned | director has no D-Bus interface; its control socket and metrics serve that purpose |
//! | `global_defs` | `dbus_service_name` | warned | director has no D-Bus interface; its control socket and metrics serve that purpose |
//! | `global_defs` | `fifo_write_vrrp_states_on_reload` | refused | not implemented, so director would not do what it asks |
//! | `global_defs` | `vrrp_netlink_cmd_rcv_bufs` | warned | director sizes its own socket buffers |
//! | `global_defs` | `vrrp_netlink_cmd_rcv_bufs_force` | warned | director sizes its own socket buffers |
//! | `global_defs` | `vrrp_netlink_monitor_rcv_bufs` | warned | director sizes its own socket buffers |
//! | `global_defs` | `vrrp_netlink_monitor_rcv_bufs_force` | warned | director sizes its own socket buffers |
//! | `global_defs` | `lvs_netlink_cmd_rcv_bufs` | warned | director sizes its own socket buffers |
//! | `global_defs` | `lvs_netlink_cmd_rcv_bufs_force` | warned | director sizes its own socket buffers |
//! | `global_defs` | `lvs_netlink_monitor_rcv_bufs` | warned | director sizes its own socket buffers |
//! | `global_defs` | `lvs_netlink_monitor_rcv_bufs_force` | warned | director sizes its own socket buffers |
//! | `global_defs` | `process_monitor_rcv_bufs` | warned | director sizes its own socket buffers |
//! | `global_defs` | `process_monitor_rcv_bufs_force` | warned | director sizes its own socket buffers |
//! | `global_defs` | `vrrp_rx_bufs_policy` | warned | director sizes its own socket buffers |
//! | `global_defs` | `vrrp_rx_bufs_multiplier` | warned | director sizes its own socket buffers |
//! | `global_defs` | `rs_init_notifies` | refused | not implemented, so director would not do what it asks |
//! | `global_defs` | `no_checker_emails` | warned | director sends no mail |
//! | `global_defs` | `umask` | warned | the files director makes have fixed modes (FIFOs 0600 unless readable by all is asked) |
//! | `global_defs` | `log_unknown_vrids` | warned | it only changes what is logged |
//! | `global_defs` | `vmac_prefix` | refused | VMACs are named as keepalived names them by default (vrrp.VRID); give a name to use_vmac instead |
//! | `global_defs` | `vmac_addr_prefix` | refused | VMACs are named as keepalived names them by default (vrrp.VRID); give a name to use_vmac instead |
//! | `global_defs` | `random_seed` | refused | not implemented, so director would not do what it asks |
//! | `global_defs` | `reload_check_config` | warned | director always validates a new configuration before it applies anything; errors go to its log |
//! | `global_defs` | `include_check` | warned | director's include rules are fixed: a pattern that matches no file is an error |
//! | `global_defs` | `reload_time_file` | refused | scheduled reloads are not implemented: send SIGHUP when the new configuration is to apply |
//! | `global_defs` | `reload_repeat` | refused | scheduled reloads are not implemented: send SIGHUP when the new configuration is to apply |
//! | `global_defs` | `reload_file` | refused | scheduled reloads are not implemented: send SIGHUP when the new configuration is to apply |
//! | `vrrp_instance` | `state` | implemented |  |
//! | `vrrp_instance` | `interface` | implemented |  |
//! | `vrrp_instance` | `virtual_router_id` | implemented |  |
//! | `vrrp_instance` | `priority` | implemented |  |
//! | `vrrp_instance` | `advert_int` | implemented |  |
//! | `vrrp_instance` | `version` | implemented |  |
//! | `vrrp_instance` | `virtual_ipaddress` | implemented |  |
//! | `vrrp_instance` | `virtual_ipaddress_excluded` | implemented |  |
//! | `vrrp_instance` | `nopreempt` | implemented |  |
//! | `vrrp_instance` | `preempt` | implemented |  |
//! | `vrrp_instance` | `preempt_delay` | implemented |  |
//! | `vrrp_instance` | `unicast_src_ip` | implemented |  |
//! | `vrrp_instance` | `mcast_src_ip` | implemented |  |
//! | `vrrp_instance` | `unicast_peer` | implemented |  |
//! | `vrrp_instance` | `track_interface` | implemented |  |
//! | `vrrp_instance` | `authentication` | implemented |  |
//! | `vrrp_instance` | `notify_master` | implemented |  |
//! | `vrrp_instance` | `notify_backup` | implemented |  |
//! | `vrrp_instance` | `notify_fault` | implemented |  |
//! | `vrrp_instance` | `notify_stop` | implemented |  |
//! | `vrrp_instance` | `notify` | implemented |  |
//! | `vrrp_instance` | `garp_master_delay` | implemented |  |
//! | `vrrp_instance` | `garp_master_repeat` | implemented |  |
//! | `vrrp_instance` | `garp_master_refresh` | implemented |  |
//! | `vrrp_instance` | `garp_lower_prio_delay` | implemented |  |
//! | `vrrp_instance` | `garp_lower_prio_repeat` | implemented |  |
//! | `vrrp_instance` | `lower_prio_no_advert` | implemented |  |
//! | `vrrp_instance` | `higher_prio_send_advert` | implemented |  |
//! | `vrrp_instance` | `garp_master_refresh_repeat` | warned | each refresh sends a full garp_master_repeat burst |
//! | `vrrp_instance` | `accept` | implemented |  |
//! | `vrrp_instance` | `no_accept` | implemented |  |
//! | `vrrp_instance` | `use_vmac` | implemented |  |
//! | `vrrp_instance` | `vmac_xmit_base` | implemented |  |
//! | `vrrp_instance` | `lvs_sync_daemon_interface` | implemented |  |
//! | `vrrp_instance` | `dont_track_primary` | implemented |  |
//! | `vrrp_instance` | `smtp_alert` | warned | director sends no mail |
//! | `vrrp_instance` | `debug` | warned | it only changes what is logged |
//! | `vrrp_instance` | `track_script` | implemented |  |
//! | `vrrp_instance` | `track_file` | implemented |  |
//! | `vrrp_instance` | `track_process` | implemented |  |
//! | `vrrp_instance` | `track_bfd` | refused | tracking BFD is not implemented, so priorities would not follow it |
//! | `vrrp_instance` | `virtual_routes` | implemented |  |
//! | `vrrp_instance` | `virtual_rules` | implemented |  |
//! | `vrrp_instance` | `mcast_dst_ip` | refused | per-instance multicast groups are not implemented (use vrrp_mcast_group4/6) |
//! | `vrrp_instance` | `skip_check_adv_addr` | implemented |  |
//! | `vrrp_instance` | `strict_mode` | implemented |  |
//! | `vrrp_instance` | `check_unicast_src` | warned | director always accepts unicast adverts only from the configured unicast_peer addresses |
//! | `vrrp_instance` | `track_src_ip` | refused | not implemented, so director would not do what it asks |
//! | `vrrp_instance` | `unicast_fault_no_peer` | refused | not implemented, so director would not do what it asks |
//! | `vrrp_instance` | `unicast_ttl` | refused | adverts are always sent with TTL 255, which RFC 5798 requires receivers to check |
//! | `vrrp_instance` | `old_unicast_checksum` | refused | not implemented, so director would not do what it asks |
//! | `vrrp_instance` | `down_timer_adverts` | refused | Master_Down_Interval is always 3 advert intervals plus Skew_Time, as RFC 5798 says |
//! | `vrrp_instance` | `notify_deleted` | refused | director does not tell notify scripts about instances deleted by a reload |
//! | `vrrp_instance` | `notify_priority_changes` | refused | not implemented, so director would not do what it asks |
//! | `vrrp_instance` | `notify_master_rx_lower_pri` | refused | not implemented, so director would not do what it asks |
//! | `vrrp_instance` | `promote_secondaries` | refused | not implemented, so director would not do what it asks |
//! | `vrrp_instance` | `kernel_rx_buf_size` | warned | director sizes its own socket buffers |
//! | `vrrp_instance` | `linkbeat_use_polling` | warned | director follows every interface's link and carrier through rtnetlink |
//! | `vrrp_instance` | `use_vmac_addr` | refused | not implemented, so director would not do what it asks |
//! | `vrrp_instance` | `use_ipvlan` | refused | ipvlan interfaces are not implemented (use_vmac is) |
//! | `vrrp_instance` | `native_ipv6` | refused | not implemented, so director would not do what it asks |
//! | `vrrp_instance` | `garp_extra_if` | implemented |  |
//! | `authentication` | `auth_type` | implemented |  |
//! | `authentication` | `auth_pass` | implemented |  |
//! | `virtual_server` | `ip_family` | implemented |  |
//! | `virtual_server` | `nat_mask` | warned | obsolete: keepalived 2.x accepts it and does nothing with it either |
//! | `virtual_server` | `delay_loop` | implemented |  |
//! | `virtual_server` | `lb_algo` | implemented |  |
//! | `virtual_server` | `lvs_sched` | implemented |  |
//! | `virtual_server` | `lb_kind` | implemented |  |
//! | `virtual_server` | `lvs_method` | implemented |  |
//! | `virtual_server` | `protocol` | implemented |  |
//! | `virtual_server` | `persistence_timeout` | implemented |  |
//! | `virtual_server` | `persistence_granularity` | implemented |  |
//! | `virtual_server` | `quorum` | implemented |  |
//! | `virtual_server` | `hysteresis` | implemented |  |
//! | `virtual_server` | `quorum_up` | implemented |  |
//! | `virtual_server` | `quorum_down` | implemented |  |
//! | `virtual_server` | `sorry_server` | implemented |  |
//! | `virtual_server` | `sorry_server_inhibit` | refused | director removes the sorry server when the quorum is back instead of keeping it at weight 0 |
//! | `virtual_server` | `sorry_server_lvs_method` | implemented |  |
//! | `virtual_server` | `inhibit_on_failure` | implemented |  |
//! | `virtual_server` | `alpha` | implemented |  |
//! | `virtual_server` | `omega` | implemented |  |
//! | `virtual_server` | `ha_suspend` | implemented |  |
//! | `virtual_server` | `virtualhost` | implemented |  |
//! | `virtual_server` | `connect_timeout` | implemented |  |
//! | `virtual_server` | `retry` | implemented |  |
//! | `virtual_server` | `delay_before_retry` | implemented |  |
//! | `virtual_server` | `warmup` | implemented |  |
//! | `virtual_server` | `ops` | implemented |  |
//! | `virtual_server` | `flag-1` | implemented |  |
//! | `virtual_server` | `flag-2` | implemented |  |
//! | `virtual_server` | `flag-3` | implemented |  |
//! | `virtual_server` | `sh-port` | implemented |  |
//! | `virtual_server` | `sh-fallback` | implemented |  |
//! | `virtual_server` | `mh-port` | implemented |  |
//! | `virtual_server` | `mh-fallback` | implemented |  |
//! | `virtual_server` | `smtp_alert` | warned | director sends no mail |
//! | `virtual_server` | `snmp_name` | warned | director has no SNMP agent |
//! | `virtual_server` | `real_server` | implemented |  |
//! | `virtual_server` | `persistence_engine` | refused | persistence engines (SIP) are not implemented |
//! | `real_server` | `weight` | implemented |  |
//! | `real_server` | `inhibit_on_failure` | implemented |  |
//! | `real_server` | `notify_up` | implemented |  |
//! | `real_server` | `notify_down` | implemented |  |
//! | `real_server` | `lvs_method` | implemented |  |
//! | `real_server` | `connect_timeout` | implemented |  |
//! | `real_server` | `retry` | implemented |  |
//! | `real_server` | `delay_before_retry` | implemented |  |
//! | `real_server` | `warmup` | implemented |  |
//! | `real_server` | `delay_loop` | implemented |  |
//! | `real_server` | `alpha` | implemented |  |
//! | `real_server` | `virtualhost` | implemented |  |
//! | `real_server` | `uthreshold` | implemented |  |
//! | `real_server` | `lthreshold` | implemented |  |
//! | `real_server` | `smtp_alert` | warned | director sends no mail |
//! | `real_server` | `snmp_name` | warned | director has no SNMP agent |
//! | `real_server` | `TCP_CHECK` | implemented |  |
//! | `real_server` | `UDP_CHECK` | implemented |  |
//! | `real_server` | `DNS_CHECK` | implemented |  |
//! | `real_server` | `HTTP_GET` | implemented |  |
//! | `real_server` | `MISC_CHECK` | implemented |  |
//! | `real_server` | `SSL_GET` | implemented |  |
//! | `real_server` | `SMTP_CHECK` | implemented |  |
//! | `real_server` | `PING_CHECK` | implemented |  |
//! | `real_server` | `BFD_CHECK` | refused | this checker is not implemented |
//! | `real_server` | `FILE_CHECK` | implemented |  |
//! | `TCP_CHECK` | `connect_ip` | implemented |  |
//! | `TCP_CHECK` | `connect_port` | implemented |  |
//! | `TCP_CHECK` | `bindto` | implemented |  |
//! | `TCP_CHECK` | `bind_port` | refused | director does not bind checks to a source port |
//! | `TCP_CHECK` | `bind_if` | implemented |  |
//! | `TCP_CHECK` | `fwmark` | refused | director does not mark check packets, so they would take the unmarked route |
//! | `TCP_CHECK` | `connect_timeout` | implemented |  |
//! | `TCP_CHECK` | `retry` | implemented |  |
//! | `TCP_CHECK` | `nb_get_retry` | implemented |  |
//! | `TCP_CHECK` | `delay_before_retry` | implemented |  |
//! | `TCP_CHECK` | `warmup` | implemented |  |
//! | `TCP_CHECK` | `delay_loop` | implemented |  |
//! | `TCP_CHECK` | `alpha` | implemented |  |
//! | `TCP_CHECK` | `log_all_failures` | warned | it only changes what is logged |
//! | `TCP_CHECK` | `lvs_half_open` | implemented |  |
//! | `UDP_CHECK` | `connect_ip` | implemented |  |
//! | `UDP_CHECK` | `connect_port` | implemented |  |
//! | `UDP_CHECK` | `bindto` | implemented |  |
//! | `UDP_CHECK` | `bind_port` | refused | director does not bind checks to a source port |
//! | `UDP_CHECK` | `bind_if` | implemented |  |
//! | `UDP_CHECK` | `fwmark` | refused | director does not mark check packets, so they would take the unmarked route |
//! | `UDP_CHECK` | `connect_timeout` | implemented |  |
//! | `UDP_CHECK` | `retry` | implemented |  |
//! | `UDP_CHECK` | `nb_get_retry` | implemented |  |
//! | `UDP_CHECK` | `delay_before_retry` | implemented |  |
//! | `UDP_CHECK` | `warmup` | implemented |  |
//! | `UDP_CHECK` | `delay_loop` | implemented |  |
//! | `UDP_CHECK` | `alpha` | implemented |  |
//! | `UDP_CHECK` | `log_all_failures` | warned | it only changes what is logged |
//! | `UDP_CHECK` | `payload` | implemented |  |
//! | `UDP_CHECK` | `require_reply` | implemented |  |
//! | `UDP_CHECK` | `min_reply_length` | implemented |  |
//! | `UDP_CHECK` | `max_reply_length` | implemented |  |
//! | `DNS_CHECK` | `connect_ip` | implemented |  |
//! | `DNS_CHECK` | `connect_port` | implemented |  |
//! | `DNS_CHECK` | `bindto` | implemented |  |
//! | `DNS_CHECK` | `bind_port` | refused | director does not bind checks to a source port |
//! | `DNS_CHECK` | `bind_if` | implemented |  |
//! | `DNS_CHECK` | `fwmark` | refused | director does not mark check packets, so they would take the unmarked route |
//! | `DNS_CHECK` | `connect_timeout` | implemented |  |
//! | `DNS_CHECK` | `retry` | implemented |  |
//! | `DNS_CHECK` | `nb_get_retry` | implemented |  |
//! | `DNS_CHECK` | `delay_before_retry` | implemented |  |
//! | `DNS_CHECK` | `warmup` | implemented |  |
//! | `DNS_CHECK` | `delay_loop` | implemented |  |
//! | `DNS_CHECK` | `alpha` | implemented |  |
//! | `DNS_CHECK` | `log_all_failures` | warned | it only changes what is logged |
//! | `DNS_CHECK` | `type` | implemented |  |
//! | `DNS_CHECK` | `name` | implemented |  |
//! | `HTTP_GET` | `connect_ip` | implemented |  |
//! | `HTTP_GET` | `connect_port` | implemented |  |
//! | `HTTP_GET` | `bindto` | implemented |  |
//! | `HTTP_GET` | `bind_port` | refused | director does not bind checks to a source port |
//! | `HTTP_GET` | `bind_if` | implemented |  |
//! | `HTTP_GET` | `fwmark` | refused | director does not mark check packets, so they would take the unmarked route |
//! | `HTTP_GET` | `connect_timeout` | implemented |  |
//! | `HTTP_GET` | `retry` | implemented |  |
//! | `HTTP_GET` | `nb_get_retry` | implemented |  |
//! | `HTTP_GET` | `delay_before_retry` | implemented |  |
//! | `HTTP_GET` | `warmup` | implemented |  |
//! | `HTTP_GET` | `delay_loop` | implemented |  |
//! | `HTTP_GET` | `alpha` | implemented |  |
//! | `HTTP_GET` | `log_all_failures` | warned | it only changes what is logged |
//! | `HTTP_GET` | `url` | implemented |  |
//! | `HTTP_GET` | `http_protocol` | warned | director's HTTP_GET always sends an HTTP/1.1 request with Host and `Connection: close` |
//! | `HTTP_GET` | `fast_recovery` | refused | not implemented: a recovering server is re-checked on the normal schedule |
//! | `HTTP_GET` | `virtualhost` | implemented |  |
//! | `SSL_GET` | `connect_ip` | implemented |  |
//! | `SSL_GET` | `connect_port` | implemented |  |
//! | `SSL_GET` | `bindto` | implemented |  |
//! | `SSL_GET` | `bind_port` | refused | director does not bind checks to a source port |
//! | `SSL_GET` | `bind_if` | implemented |  |
//! | `SSL_GET` | `fwmark` | refused | director does not mark check packets, so they would take the unmarked route |
//! | `SSL_GET` | `connect_timeout` | implemented |  |
//! | `SSL_GET` | `retry` | implemented |  |
//! | `SSL_GET` | `nb_get_retry` | implemented |  |
//! | `SSL_GET` | `delay_before_retry` | implemented |  |
//! | `SSL_GET` | `warmup` | implemented |  |
//! | `SSL_GET` | `delay_loop` | implemented |  |
//! | `SSL_GET` | `alpha` | implemented |  |
//! | `SSL_GET` | `log_all_failures` | warned | it only changes what is logged |
//! | `SSL_GET` | `url` | implemented |  |
//! | `SSL_GET` | `http_protocol` | warned | director's HTTP_GET always sends an HTTP/1.1 request with Host and `Connection: close` |
//! | `SSL_GET` | `fast_recovery` | refused | not implemented: a recovering server is re-checked on the normal schedule |
//! | `SSL_GET` | `virtualhost` | implemented |  |
//! | `SSL_GET` | `enable_sni` | implemented |  |
//! | `url` | `path` | implemented |  |
//! | `url` | `digest` | implemented |  |
//! | `url` | `status_code` | implemented |  |
//! | `url` | `virtualhost` | implemented |  |
//! | `url` | `regex` | refused | body regular expressions are not implemented |
//! | `url` | `regex_no_match` | refused | body regular expressions are not implemented |
//! | `url` | `regex_options` | refused | body regular expressions are not implemented |
//! | `url` | `regex_stack` | refused | body regular expressions are not implemented |
//! | `url` | `regex_min_offset` | refused | body regular expressions are not implemented |
//! | `url` | `regex_max_offset` | refused | body regular expressions are not implemented |
//! | `SMTP_CHECK` | `connect_ip` | implemented |  |
//! | `SMTP_CHECK` | `connect_port` | implemented |  |
//! | `SMTP_CHECK` | `bindto` | implemented |  |
//! | `SMTP_CHECK` | `bind_port` | refused | director does not bind checks to a source port |
//! | `SMTP_CHECK` | `bind_if` | implemented |  |
//! | `SMTP_CHECK` | `fwmark` | refused | director does not mark check packets, so they would take the unmarked route |
//! | `SMTP_CHECK` | `connect_timeout` | implemented |  |
//! | `SMTP_CHECK` | `retry` | implemented |  |
//! | `SMTP_CHECK` | `nb_get_retry` | implemented |  |
//! | `SMTP_CHECK` | `delay_before_retry` | implemented |  |
//! | `SMTP_CHECK` | `warmup` | implemented |  |
//! | `SMTP_CHECK` | `delay_loop` | implemented |  |
//! | `SMTP_CHECK` | `alpha` | implemented |  |
//! | `SMTP_CHECK` | `log_all_failures` | warned | it only changes what is logged |
//! | `SMTP_CHECK` | `helo_name` | implemented |  |
//! | `SMTP_CHECK` | `host` | implemented |  |
//! | `host` | `connect_ip` | implemented |  |
//! | `host` | `connect_port` | implemented |  |
//! | `host` | `bindto` | implemented |  |
//! | `host` | `bind_port` | refused | director does not bind checks to a source port |
//! | `host` | `bind_if` | implemented |  |
//! | `host` | `fwmark` | refused | director does not mark check packets, so they would take the unmarked route |
//! | `host` | `connect_timeout` | implemented |  |
//! | `host` | `retry` | implemented |  |
//! | `host` | `nb_get_retry` | implemented |  |
//! | `host` | `delay_before_retry` | implemented |  |
//! | `host` | `warmup` | implemented |  |
//! | `host` | `delay_loop` | implemented |  |
//! | `host` | `alpha` | implemented |  |
//! | `host` | `log_all_failures` | warned | it only changes what is logged |
//! | `PING_CHECK` | `connect_ip` | implemented |  |
//! | `PING_CHECK` | `connect_port` | warned | a ping has no port (keepalived accepts the option and ignores it too) |
//! | `PING_CHECK` | `bindto` | implemented |  |
//! | `PING_CHECK` | `bind_port` | refused | director does not bind checks to a source port |
//! | `PING_CHECK` | `bind_if` | implemented |  |
//! | `PING_CHECK` | `fwmark` | refused | director does not mark check packets, so they would take the unmarked route |
//! | `PING_CHECK` | `connect_timeout` | implemented |  |
//! | `PING_CHECK` | `retry` | implemented |  |
//! | `PING_CHECK` | `nb_get_retry` | implemented |  |
//! | `PING_CHECK` | `delay_before_retry` | implemented |  |
//! | `PING_CHECK` | `warmup` | implemented |  |
//! | `PING_CHECK` | `delay_loop` | implemented |  |
//! | `PING_CHECK` | `alpha` | implemented |  |
//! | `PING_CHECK` | `log_all_failures` | warned | it only changes what is logged |
//! | `MISC_CHECK` | `misc_path` | implemented |  |
//! | `MISC_CHECK` | `misc_timeout` | implemented |  |
//! | `MISC_CHECK` | `misc_dynamic` | implemented |  |
//! | `MISC_CHECK` | `user` | implemented |  |
//! | `MISC_CHECK` | `retry` | implemented |  |
//! | `MISC_CHECK` | `delay_before_retry` | implemented |  |
//! | `MISC_CHECK` | `warmup` | implemented |  |
//! | `MISC_CHECK` | `delay_loop` | implemented |  |
//! | `MISC_CHECK` | `alpha` | implemented |  |
//! | `MISC_CHECK` | `log_all_failures` | warned | it only changes what is logged |
//! | `FILE_CHECK` | `track_file` | implemented |  |
//! | `FILE_CHECK` | `weight` | implemented |  |
//! | `FILE_CHECK` | `dynamic` | warned | keepalived 2.2.7 documents it but installs no handler for it (its parser skips it as unknown): the file's weight already moves the real server's weight |
//! | `vrrp_script` | `script` | implemented |  |
//! | `vrrp_script` | `interval` | implemented |  |
//! | `vrrp_script` | `timeout` | implemented |  |
//! | `vrrp_script` | `weight` | implemented |  |
//! | `vrrp_script` | `rise` | implemented |  |
//! | `vrrp_script` | `fall` | implemented |  |
//! | `vrrp_script` | `user` | implemented |  |
//! | `vrrp_script` | `init_fail` | implemented |  |
//! | `track_file` | `file` | implemented |  |
//! | `track_file` | `weight` | implemented |  |
//! | `track_file` | `init_file` | implemented |  |
//! | `vrrp_track_process` | `process` | implemented |  |
//! | `vrrp_track_process` | `param_match` | implemented |  |
//! | `vrrp_track_process` | `weight` | implemented |  |
//! | `vrrp_track_process` | `quorum` | implemented |  |
//! | `vrrp_track_process` | `quorum_max` | implemented |  |
//! | `vrrp_track_process` | `delay` | implemented |  |
//! | `vrrp_track_process` | `terminate_delay` | implemented |  |
//! | `vrrp_track_process` | `fork_delay` | implemented |  |
//! | `vrrp_track_process` | `full_command` | implemented |  |
//! | `vrrp_sync_group` | `group` | implemented |  |
//! | `vrrp_sync_group` | `track_interface` | implemented |  |
//! | `vrrp_sync_group` | `track_script` | implemented |  |
//! | `vrrp_sync_group` | `track_file` | implemented |  |
//! | `vrrp_sync_group` | `track_process` | implemented |  |
//! | `vrrp_sync_group` | `track_bfd` | refused | tracking BFD is not implemented, so priorities would not follow it |
//! | `vrrp_sync_group` | `notify_master` | implemented |  |
//! | `vrrp_sync_group` | `notify_backup` | implemented |  |
//! | `vrrp_sync_group` | `notify_fault` | implemented |  |
//! | `vrrp_sync_group` | `notify_stop` | implemented |  |
//! | `vrrp_sync_group` | `notify` | implemented |  |
//! | `vrrp_sync_group` | `notify_deleted` | refused | director does not tell notify scripts about instances deleted by a reload |
//! | `vrrp_sync_group` | `smtp_alert` | warned | director sends no mail |
//! | `vrrp_sync_group` | `global_tracking` | implemented |  |
//! | `vrrp_sync_group` | `sync_group_tracking_weight` | implemented |  |
//! | `SSL` | `certificate` | implemented |  |
//! | `SSL` | `key` | implemented |  |
//! | `SSL` | `ca` | warned | keepalived loads it but never verifies a real server's certificate; neither does director |
//! | `SSL` | `password` | refused | encrypted private keys are not supported (rustls reads unencrypted PEM keys only); store the key decrypted, readable by root only |
//! | `lvs_route_announce` | `table` | implemented |  |
//! | `lvs_route_announce` | `protocol` | implemented |  |
//! | `lvs_route_announce` | `vips` | implemented |  |
//! | `lvs_route_announce` | `drain_timeout` | implemented |  |
//! | `lvs_route_announce` | `drain_on_sigterm` | implemented |  |
//! | `lvs_route_announce` | `sloppy_tcp` | implemented |  |
//! | `lvs_route_announce` | `sync_daemon` | implemented |  |
//! | (top level) | `virtual_server group` | implemented |  |
//! | `vrrp_instance` | `use_vmac MAC` | refused | the macvlan always has the RFC 5798 virtual MAC (00:00:5e:00:01:VRID, IPv6 00:00:5e:00:02:VRID) |
//! | (top level) | `@ID / @^ID` | implemented |  |
//! | (top level) | `$NAME=VALUE / ${NAME}` | implemented |  |
//! | (top level) | `~SEQ / ~SEQx / ~LST` | implemented |  |
//! | (any script) | `SCRIPT USER [GROUP]` | implemented |  |
//! | `global_defs` | `*notify_fifo FIFO USER [GROUP]` | warned | the FIFO is made by director's own user and readable by every user (0644), so that user can read it |
//! | `authentication` | `auth_type AH` | refused | IPsec-AH authentication (RFC 2338) is obsolete and not implemented |
//! | `virtual_ipaddress` | `dev` | implemented |  |
//! | `virtual_ipaddress` | `label` | implemented |  |
//! | `virtual_ipaddress` | `brd` | warned | the address is added without this option |
//! | `virtual_ipaddress` | `scope` | refused | VIPs are added with global scope, which changes source address selection |
//! | `virtual_ipaddress` | `no_track` | implemented |  |
//! | `virtual_ipaddress` | `peer` | warned | the address is added without this option |
//! | `virtual_ipaddress` | `preferred_lft` | warned | the address is added without this option |
//! | `virtual_ipaddress` | `track_group` | warned | the address is added without this option |
//! | `virtual_ipaddress` | `home` | warned | the address is added without this option |
//! | `virtual_ipaddress` | `-nodad` | warned | the address is added without this option |
//! | `virtual_ipaddress` | `nodad` | warned | the address is added without this option |
//! | `virtual_ipaddress` | `mngtmpaddr` | warned | the address is added without this option |
//! | `virtual_ipaddress` | `noprefixroute` | warned | the address is added without this option |
//! | `virtual_ipaddress` | `autojoin` | warned | the address is added without this option |
//! | `virtual_ipaddress` | `use_vmac` | warned | the address is added without this option |
//! | `unicast_peer` | `min_ttl` | warned | director accepts adverts only with TTL 255 (RFC 5798 §7.1), which every range with max_ttl 255 contains; a lower max_ttl, which would drop them all, is refused |
//! | `unicast_peer` | `max_ttl` | warned | director accepts adverts only with TTL 255 (RFC 5798 §7.1), which every range with max_ttl 255 contains; a lower max_ttl, which would drop them all, is refused |
//! | `virtual_routes` | `to` | implemented |  |
//! | `virtual_routes` | `via` | implemented |  |
//! | `virtual_routes` | `gw` | implemented |  |
//! | `virtual_routes` | `dev` | implemented |  |
//! | `virtual_routes` | `src` | implemented |  |
//! | `virtual_routes` | `table` | implemented |  |
//! | `virtual_routes` | `metric` | implemented |  |
//! | `virtual_routes` | `preference` | implemented |  |
//! | `virtual_routes` | `priority` | implemented |  |
//! | `virtual_routes` | `scope` | implemented |  |
//! | `virtual_routes` | `proto` | implemented |  |
//! | `virtual_routes` | `protocol` | implemented |  |
//! | `virtual_routes` | `blackhole` | implemented |  |
//! | `virtual_routes` | `unreachable` | implemented |  |
//! | `virtual_routes` | `prohibit` | implemented |  |
//! | `virtual_routes` | `inet6` | implemented |  |
//! | `virtual_routes` | `no_track` | implemented |  |
//! | `virtual_routes` | `or` | refused | multipath routes are not implemented |
//! | `virtual_routes` | `nexthop` | refused | multipath routes are not implemented |
//! | `virtual_routes` | `weight` | refused | multipath routes are not implemented |
//! | `virtual_routes` | `onlink` | refused | the onlink next-hop flag is not implemented |
//! | `virtual_routes` | `append` | refused | routes are added before matching ones (prepend); append is not implemented |
//! | `virtual_routes` | `track_group` | refused | track groups are not implemented |
//! | `virtual_routes` | `tos` | refused | route TOS is not implemented |
//! | `virtual_routes` | `dsfield` | refused | route TOS is not implemented |
//! | `virtual_routes` | `pref` | refused | IPv6 router preference is not implemented |
//! | `virtual_routes` | `vrf` | refused | VRF routes are not implemented |
//! | `virtual_routes` | `realms` | refused | route realms are not implemented |
//! | `virtual_routes` | `expires` | refused | expiring routes are not implemented |
//! | `virtual_routes` | `encap` | refused | encapsulated routes are not implemented |
//! | `virtual_routes` | `nhid` | refused | next-hop objects are not implemented |
//! | `virtual_routes` | `mtu` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `hoplimit` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `advmss` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `rtt` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `rttvar` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `reordering` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `window` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `cwnd` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `ssthresh` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `rto_min` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `initcwnd` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `initrwnd` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `features` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `quickack` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `congctl` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `fastopen_no_cookie` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `virtual_routes` | `throw` | refused | only unicast, blackhole, unreachable and prohibit routes are implemented |
//! | `virtual_routes` | `local` | refused | only unicast, blackhole, unreachable and prohibit routes are implemented |
//! | `virtual_routes` | `broadcast` | refused | only unicast, blackhole, unreachable and prohibit routes are implemented |
//! | `virtual_routes` | `anycast` | refused | only unicast, blackhole, unreachable and prohibit routes are implemented |
//! | `virtual_routes` | `multicast` | refused | only unicast, blackhole, unreachable and prohibit routes are implemented |
//! | `virtual_routes` | `nat` | refused | only unicast, blackhole, unreachable and prohibit routes are implemented |
//! | `static_routes` | `to` | implemented |  |
//! | `static_routes` | `via` | implemented |  |
//! | `static_routes` | `gw` | implemented |  |
//! | `static_routes` | `dev` | implemented |  |
//! | `static_routes` | `src` | implemented |  |
//! | `static_routes` | `table` | implemented |  |
//! | `static_routes` | `metric` | implemented |  |
//! | `static_routes` | `preference` | implemented |  |
//! | `static_routes` | `priority` | implemented |  |
//! | `static_routes` | `scope` | implemented |  |
//! | `static_routes` | `proto` | implemented |  |
//! | `static_routes` | `protocol` | implemented |  |
//! | `static_routes` | `blackhole` | implemented |  |
//! | `static_routes` | `unreachable` | implemented |  |
//! | `static_routes` | `prohibit` | implemented |  |
//! | `static_routes` | `inet6` | implemented |  |
//! | `static_routes` | `no_track` | implemented |  |
//! | `static_routes` | `or` | refused | multipath routes are not implemented |
//! | `static_routes` | `nexthop` | refused | multipath routes are not implemented |
//! | `static_routes` | `weight` | refused | multipath routes are not implemented |
//! | `static_routes` | `onlink` | refused | the onlink next-hop flag is not implemented |
//! | `static_routes` | `append` | refused | routes are added before matching ones (prepend); append is not implemented |
//! | `static_routes` | `track_group` | refused | track groups are not implemented |
//! | `static_routes` | `tos` | refused | route TOS is not implemented |
//! | `static_routes` | `dsfield` | refused | route TOS is not implemented |
//! | `static_routes` | `pref` | refused | IPv6 router preference is not implemented |
//! | `static_routes` | `vrf` | refused | VRF routes are not implemented |
//! | `static_routes` | `realms` | refused | route realms are not implemented |
//! | `static_routes` | `expires` | refused | expiring routes are not implemented |
//! | `static_routes` | `encap` | refused | encapsulated routes are not implemented |
//! | `static_routes` | `nhid` | refused | next-hop objects are not implemented |
//! | `static_routes` | `mtu` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `hoplimit` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `advmss` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `rtt` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `rttvar` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `reordering` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `window` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `cwnd` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `ssthresh` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `rto_min` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `initcwnd` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `initrwnd` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `features` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `quickack` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `congctl` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `fastopen_no_cookie` | refused | per-route metrics (mtu, window, rtt, ...) are not implemented |
//! | `static_routes` | `throw` | refused | only unicast, blackhole, unreachable and prohibit routes are implemented |
//! | `static_routes` | `local` | refused | only unicast, blackhole, unreachable and prohibit routes are implemented |
//! | `static_routes` | `broadcast` | refused | only unicast, blackhole, unreachable and prohibit routes are implemented |
//! | `static_routes` | `anycast` | refused | only unicast, blackhole, unreachable and prohibit routes are implemented |
//! | `static_routes` | `multicast` | refused | only unicast, blackhole, unreachable and prohibit routes are implemented |
//! | `static_routes` | `nat` | refused | only unicast, blackhole, unreachable and prohibit routes are implemented |
//! | `virtual_rules` | `from` | implemented |  |
//! | `virtual_rules` | `to` | implemented |  |
//! | `virtual_rules` | `table` | implemented |  |
//! | `virtual_rules` | `lookup` | implemented |  |
//! | `virtual_rules` | `priority` | implemented |  |
//! | `virtual_rules` | `preference` | implemented |  |
//! | `virtual_rules` | `pref` | implemented |  |
//! | `virtual_rules` | `fwmark` | implemented |  |
//! | `virtual_rules` | `iif` | implemented |  |
//! | `virtual_rules` | `oif` | implemented |  |
//! | `virtual_rules` | `inet6` | implemented |  |
//! | `virtual_rules` | `no_track` | implemented |  |
//! | `virtual_rules` | `not` | refused | inverted rules are not implemented |
//! | `virtual_rules` | `tos` | refused | rule TOS is not implemented |
//! | `virtual_rules` | `dsfield` | refused | rule TOS is not implemented |
//! | `virtual_rules` | `realms` | refused | rule realms are not implemented |
//! | `virtual_rules` | `goto` | refused | only rules that look up a table are implemented |
//! | `virtual_rules` | `nop` | refused | only rules that look up a table are implemented |
//! | `virtual_rules` | `no_op` | refused | only rules that look up a table are implemented |
//! | `virtual_rules` | `blackhole` | refused | only rules that look up a table are implemented |
//! | `virtual_rules` | `unreachable` | refused | only rules that look up a table are implemented |
//! | `virtual_rules` | `prohibit` | refused | only rules that look up a table are implemented |
//! | `virtual_rules` | `suppress_prefixlength` | refused | rule suppressors are not implemented |
//! | `virtual_rules` | `suppress_ifgroup` | refused | rule suppressors are not implemented |
//! | `virtual_rules` | `uidrange` | refused | UID-range rules are not implemented |
//! | `virtual_rules` | `l3mdev` | refused | VRF (l3mdev) rules are not implemented |
//! | `virtual_rules` | `protocol` | refused | rule protocols are not implemented |
//! | `virtual_rules` | `ip_proto` | refused | port and protocol selectors are not implemented |
//! | `virtual_rules` | `ipproto` | refused | port and protocol selectors are not implemented |
//! | `virtual_rules` | `sport` | refused | port and protocol selectors are not implemented |
//! | `virtual_rules` | `dport` | refused | port and protocol selectors are not implemented |
//! | `virtual_rules` | `tunnel-id` | refused | tunnel-id rules are not implemented |
//! | `virtual_rules` | `track_group` | refused | track groups are not implemented |
//! | `static_rules` | `from` | implemented |  |
//! | `static_rules` | `to` | implemented |  |
//! | `static_rules` | `table` | implemented |  |
//! | `static_rules` | `lookup` | implemented |  |
//! | `static_rules` | `priority` | implemented |  |
//! | `static_rules` | `preference` | implemented |  |
//! | `static_rules` | `pref` | implemented |  |
//! | `static_rules` | `fwmark` | implemented |  |
//! | `static_rules` | `iif` | implemented |  |
//! | `static_rules` | `oif` | implemented |  |
//! | `static_rules` | `inet6` | implemented |  |
//! | `static_rules` | `no_track` | implemented |  |
//! | `static_rules` | `not` | refused | inverted rules are not implemented |
//! | `static_rules` | `tos` | refused | rule TOS is not implemented |
//! | `static_rules` | `dsfield` | refused | rule TOS is not implemented |
//! | `static_rules` | `realms` | refused | rule realms are not implemented |
//! | `static_rules` | `goto` | refused | only rules that look up a table are implemented |
//! | `static_rules` | `nop` | refused | only rules that look up a table are implemented |
//! | `static_rules` | `no_op` | refused | only rules that look up a table are implemented |
//! | `static_rules` | `blackhole` | refused | only rules that look up a table are implemented |
//! | `static_rules` | `unreachable` | refused | only rules that look up a table are implemented |
//! | `static_rules` | `prohibit` | refused | only rules that look up a table are implemented |
//! | `static_rules` | `suppress_prefixlength` | refused | rule suppressors are not implemented |
//! | `static_rules` | `suppress_ifgroup` | refused | rule suppressors are not implemented |
//! | `static_rules` | `uidrange` | refused | UID-range rules are not implemented |
//! | `static_rules` | `l3mdev` | refused | VRF (l3mdev) rules are not implemented |
//! | `static_rules` | `protocol` | refused | rule protocols are not implemented |
//! | `static_rules` | `ip_proto` | refused | port and protocol selectors are not implemented |
//! | `static_rules` | `ipproto` | refused | port and protocol selectors are not implemented |
//! | `static_rules` | `sport` | refused | port and protocol selectors are not implemented |
//! | `static_rules` | `dport` | refused | port and protocol selectors are not implemented |
//! | `static_rules` | `tunnel-id` | refused | tunnel-id rules are not implemented |
//! | `static_rules` | `track_group` | refused | track groups are not implemented |
//! <!-- keyword table: end -->

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// This crate's README, whose examples run as doctests so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod build;
mod diff;
mod error;
mod include;
pub mod keywords;
mod lexer;
mod model;
mod parser;
mod preprocess;
mod suggest;
pub mod to_director;
mod values;

use std::path::Path;
use std::sync::Arc;

/// The crates whose types the model uses, re-exported so their versions match.
pub use {lvs_ipvs, lvs_vrrp};

pub use diff::{Change, ConfigDiff, VirtualServerChange, diff};
pub use error::{ConfigError, ErrorKind, Location, Note, SourceFile, Warning};
pub use keywords::Support;
pub use model::*;
pub use suggest::edit_distance;
pub use to_director::ToDirectorError;
pub use values::split_words;

/// The outcome of loading: the model and its warnings, or every error.
pub type LoadResult = Result<(Config, Vec<Warning>), Vec<ConfigError>>;

/// How a configuration is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadOptions {
    /// The configuration id that `@ID` conditional lines and `${_INSTANCE}`
    /// are compared with (keepalived's `-i` / `--config-id`). `None`: the
    /// first part of the host name, as keepalived does.
    pub config_id: Option<String>,
}

impl LoadOptions {
    /// The defaults: the configuration id from the host name.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the configuration id (keepalived's `-i`).
    pub fn with_config_id(mut self, id: impl Into<String>) -> Self {
        self.config_id = Some(id.into());
        self
    }

    fn id(&self) -> String {
        self.config_id
            .clone()
            .unwrap_or_else(preprocess::default_config_id)
    }
}

/// Reads and validates the configuration at `path` (and its includes).
pub fn load(path: impl AsRef<Path>) -> LoadResult {
    load_with(path, &LoadOptions::default())
}

/// [`load`] with options (the configuration id).
pub fn load_with(path: impl AsRef<Path>, options: &LoadOptions) -> LoadResult {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut tokens = Vec::new();
    include::Loader::new(&mut errors, &mut warnings, options.id()).load_file(
        path.as_ref(),
        None,
        &mut tokens,
    );
    finish(&tokens, errors, warnings)
}

/// Validates configuration text as if read from a file at `path` (used in
/// messages and as the base of relative `include`s; the file itself is not read).
pub fn parse_str(path: impl AsRef<Path>, text: &str) -> LoadResult {
    parse_str_with(path, text, &LoadOptions::default())
}

/// [`parse_str`] with options (the configuration id).
///
/// ```
/// use lvs_keepalived_conf::{LoadOptions, parse_str_with};
///
/// let text = "$PRIO=100\n\
///             vrrp_instance VI_1 {\n\
///               interface eth0\n virtual_router_id 51\n\
///               @node01 priority 150\n @^node01 priority $PRIO\n\
///               virtual_ipaddress { 10.0.0.1 }\n\
///             }\n";
/// let options = LoadOptions::new().with_config_id("node01");
/// let (cfg, _) = parse_str_with("k.conf", text, &options).unwrap();
/// assert_eq!(cfg.vrrp_instances[0].priority, 150);
/// let (cfg, _) = parse_str_with("k.conf", text, &options.with_config_id("node02")).unwrap();
/// assert_eq!(cfg.vrrp_instances[0].priority, 100);
/// ```
pub fn parse_str_with(path: impl AsRef<Path>, text: &str, options: &LoadOptions) -> LoadResult {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut tokens = Vec::new();
    let file = Arc::new(SourceFile {
        path: path.as_ref().to_path_buf(),
        included_from: None,
    });
    include::Loader::new(&mut errors, &mut warnings, options.id()).load_str(
        text,
        &file,
        &mut tokens,
    );
    finish(&tokens, errors, warnings)
}

fn finish(
    tokens: &[lexer::Token],
    mut errors: Vec<ConfigError>,
    mut warnings: Vec<Warning>,
) -> LoadResult {
    let tree = parser::Parser::new(tokens, &mut errors, &mut warnings).parse();
    let config = build::Builder {
        errors: &mut errors,
        warnings: &mut warnings,
        script_user: None,
    }
    .build(&tree);
    // Report in reading order: by file (first token seen), line, column.
    let mut files: Vec<*const SourceFile> = Vec::new();
    for t in tokens {
        let p = Arc::as_ptr(&t.location.file);
        if files.last() != Some(&p) && !files.contains(&p) {
            files.push(p);
        }
    }
    let key = |l: Option<&Location>| match l {
        None => (0, 0, 0),
        Some(l) => {
            let p = Arc::as_ptr(&l.file);
            let f = files.iter().position(|x| *x == p).unwrap_or(files.len());
            (f + 1, l.line, l.column)
        }
    };
    errors.sort_by_key(|e| key(e.location.as_ref()));
    warnings.sort_by_key(|w| key(w.location.as_ref()));
    if errors.is_empty() {
        Ok((config, warnings))
    } else {
        Err(errors)
    }
}
