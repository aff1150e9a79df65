//! From a configured `vrrp_instance` to an lvs-vrrp router configuration
//! (its tracked interfaces are added by lvs-director from the instance).

use std::net::IpAddr;

use lvs_vrrp::{AnnounceSchedule, Auth};

use crate::{Authentication, GlobalDefs, VrrpInstance};

/// Why a configuration cannot be converted to lvs-director's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToDirectorError {
    /// lvs-vrrp refused the configuration.
    #[error("vrrp_instance {name}: {source}")]
    Router {
        /// Instance.
        name: String,
        /// Why.
        source: lvs_vrrp::ConfigError,
    },
}

/// keepalived's gratuitous ARP knobs as lvs-vrrp's announcement schedule.
pub(crate) fn announce_schedule(inst: &VrrpInstance, global: &GlobalDefs) -> AnnounceSchedule {
    let mut s = AnnounceSchedule::default();
    s.burst = inst.garp_master_repeat.max(1);
    s.interval = global.vrrp_garp_interval;
    s.repeat_after = (!inst.garp_master_delay.is_zero()).then_some(inst.garp_master_delay);
    s.refresh = inst.garp_master_refresh.filter(|d| !d.is_zero());
    s.extra_interfaces = inst
        .garp_extra_if
        .filter(|x| x.all && !x.interval.is_zero())
        .map(|x| x.interval);
    s.lower_prio_burst = inst.garp_lower_prio_repeat;
    s.lower_prio_repeat_after =
        (!inst.garp_lower_prio_delay.is_zero()).then_some(inst.garp_lower_prio_delay);
    s
}

/// The router configuration of `inst`, whose primary address on its
/// interface is `primary`.
pub(crate) fn router_config(
    inst: &VrrpInstance,
    global: &GlobalDefs,
    primary: IpAddr,
) -> Result<lvs_vrrp::Config, ToDirectorError> {
    let vips: Vec<IpAddr> = inst.virtual_ipaddresses.iter().map(|v| v.addr).collect();
    let mut cfg = lvs_vrrp::Config::new(
        inst.virtual_router_id,
        inst.priority,
        inst.advert_int,
        primary,
        vips,
    );
    cfg.unicast_peers = inst.unicast_peers.clone();
    cfg.multicast_group = Some(match primary {
        IpAddr::V4(_) => IpAddr::V4(global.vrrp_mcast_group4),
        IpAddr::V6(_) => IpAddr::V6(global.vrrp_mcast_group6),
    });
    cfg.preempt = !inst.nopreempt;
    cfg.preempt_delay = inst.preempt_delay;
    cfg.start_as_master = inst.initial_state == crate::InitialState::Master;
    cfg.accept_mode = inst.accept;
    cfg.lower_prio_no_advert = inst.lower_prio_no_advert;
    cfg.higher_prio_send_advert = inst.higher_prio_send_advert;
    cfg.auth = match &inst.authentication {
        None => Auth::None,
        Some(Authentication::Pass(p)) => {
            let mut data = [0u8; 8];
            for (d, b) in data.iter_mut().zip(p.as_bytes()) {
                *d = *b;
            }
            Auth::SimpleText(data)
        }
    };
    if inst.skip_check_adv_addr {
        cfg.address_check = lvs_vrrp::AddressCheck::SkipFromMaster;
    }
    cfg.announce = announce_schedule(inst, global);
    cfg.validate().map_err(|source| ToDirectorError::Router {
        name: inst.name.clone(),
        source,
    })?;
    Ok(cfg)
}

/// The macvlan name of each instance with `use_vmac` (in order): the one
/// given, else keepalived's first free default — `vrrp.VRID`, then for an
/// IPv4 instance `vrrp1.VRID`, `vrrp2.VRID`, ..., for an IPv6 one
/// `vrrp6.VRID`, `vrrp1.VRID`, ... (6 skipped) — free meaning no other
/// instance names it (given names are taken first, as keepalived reads them
/// before it picks defaults).
pub(crate) fn vmac_names(instances: &[VrrpInstance]) -> Vec<Option<String>> {
    let mut taken: Vec<String> = instances
        .iter()
        .filter_map(|i| i.use_vmac.clone().flatten())
        .collect();
    instances
        .iter()
        .map(|i| {
            let given = i.use_vmac.as_ref()?;
            if let Some(name) = given {
                return Some(name.clone());
            }
            let vrid = i.virtual_router_id;
            let v6 = i
                .virtual_ipaddresses
                .first()
                .is_some_and(|v| v.addr.is_ipv6());
            let numbers = std::iter::once(None).chain(
                (if v6 { vec![6] } else { vec![] })
                    .into_iter()
                    .chain((1..=u16::MAX).filter(move |n| !v6 || *n != 6))
                    .map(Some),
            );
            let name = numbers
                .map(|n| match n {
                    None => format!("vrrp.{vrid}"),
                    Some(n) => format!("vrrp{n}.{vrid}"),
                })
                .find(|name| !taken.contains(name))?;
            taken.push(name.clone());
            Some(name)
        })
        .collect()
}

/// Each `vrrp_sync_group` as lvs-director's [`SyncGroup`]; the group's
/// `track_interface` / `track_script` / `track_file` / `track_process`
/// entries go to every member, as
/// keepalived applies them (a member already tracking the same interface
/// or script keeps its own entry).
pub(crate) fn sync_groups(cfg: &crate::Config, out: &mut lvs_director::DirectorConfig) {
    use lvs_director::{Notify, SyncGroup, TrackInterface, TrackedScript};
    for g in &cfg.sync_groups {
        let members: Vec<&str> = g.members.iter().map(String::as_str).collect();
        let mut sg = SyncGroup::new(&g.name, &members);
        let mut notify = Notify::default();
        notify.master = super::script(&g.notify_master);
        notify.backup = super::script(&g.notify_backup);
        notify.fault = super::script(&g.notify_fault);
        notify.stop = super::script(&g.notify_stop);
        notify.any = super::script(&g.notify);
        sg.notify = notify;
        for inst in out
            .instances
            .iter_mut()
            .filter(|i| g.members.contains(&i.name))
        {
            for t in &g.track_interfaces {
                if inst
                    .track_interfaces
                    .iter()
                    .any(|x| x.interface == t.interface)
                {
                    continue;
                }
                let mut x = TrackInterface::new(&t.interface);
                x.weight = t.weight;
                x.reverse = t.reverse;
                inst.track_interfaces.push(x);
            }
            for t in &g.track_scripts {
                if inst.track_scripts.iter().any(|x| x.script == t.script) {
                    continue;
                }
                let mut x = TrackedScript::new(&t.script);
                x.weight = t.weight;
                x.reverse = t.reverse;
                inst.track_scripts.push(x);
            }
            for t in &g.track_files {
                if inst.track_files.iter().any(|x| x.file == t.name) {
                    continue;
                }
                let mut x = lvs_director::TrackedFile::new(&t.name);
                x.weight = t.weight;
                x.reverse = t.reverse;
                inst.track_files.push(x);
            }
            for t in &g.track_processes {
                if inst.track_processes.iter().any(|x| x.process == t.name) {
                    continue;
                }
                let mut x = lvs_director::TrackedProcess::new(&t.name);
                x.weight = t.weight;
                x.reverse = t.reverse;
                inst.track_processes.push(x);
            }
        }
        out.sync_groups.push(sg);
    }
}
