//! Link state of every interface, as the core's `handle_link` wants it:
//! administratively up and with carrier; and the host's addresses, as
//! `handle_local_addresses` wants them (for `ha_suspend`). lvs-arpguard's
//! rtnetlink watcher says when a link or an address changed (carrier
//! included); each batch of changes is read back with one dump, so nothing
//! polls. Deleted addresses, deleted routes of the protocols the
//! configuration uses, and deleted rules are passed on one by one, for
//! `handle_removed` (keepalived's tracking of VIPs, routes and rules).
//! After an overrun (the kernel dropped notifications) links and addresses
//! are read back and an address the last dump had is reported deleted;
//! a route or rule deleted among the dropped notifications is not seen.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use lvs_arpguard::Rtnl;
use lvs_arpguard::watch::{WatchEvent, Watcher};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use super::routes::{route_from, rule_from};
use crate::routes::Removed;

/// What changed on the host.
pub(crate) enum HostChange {
    /// An interface's link: up with carrier, or not (or gone).
    Link(String, bool),
    /// Every address the host has now.
    Addresses(HashSet<IpAddr>),
    /// Something deleted, as the kernel reported it.
    Removed(Removed),
}

type Changes = mpsc::UnboundedSender<HostChange>;

/// Starts watching links (sockets opened here, in the caller's namespace;
/// the blocking wait on a thread of its own). Every interface is reported
/// once at first, then on each change; one that disappears is reported down.
/// Deleted routes are passed on only when their protocol is in
/// `protocols` (the loop keeps it current across reloads), so a busy
/// routing daemon's churn stays on this thread.
pub(crate) fn start(
    changes: Changes,
    protocols: watch::Receiver<BTreeSet<u8>>,
) -> Result<(), String> {
    let mut watcher = Watcher::open(None).map_err(|e| format!("cannot watch links: {e}"))?;
    watcher
        .watch_routing()
        .map_err(|e| format!("cannot watch routes: {e}"))?;
    let mut rtnl = Rtnl::open(None).map_err(|e| format!("cannot read links: {e}"))?;
    let mut known = HashMap::new();
    let mut addresses = None;
    if !report(&mut rtnl, &mut known, &changes)
        || !report_addresses(&mut rtnl, &mut addresses, &changes)
    {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("links".into())
        .spawn(move || {
            let mut overruns = 0u64;
            // From an overrun until a quiet second (the queue drained):
            // the kernel reports ENOBUFS once per episode, at its start,
            // and may drop more after it, so every batch is read back in
            // full and a last time once all is quiet.
            let mut resyncing = false;
            loop {
                match watcher.wait(Duration::from_secs(1)) {
                    Ok(events) => {
                        let overrun = events.contains(&WatchEvent::Overrun);
                        if overrun {
                            overruns += 1;
                            warn!(overruns, "link watch overrun (ENOBUFS): resynchronising");
                        }
                        let full = resyncing || overrun;
                        resyncing = overrun || (resyncing && !events.is_empty());
                        let relevant = full
                            || events.iter().any(|e| {
                                matches!(e, WatchEvent::Link { .. } | WatchEvent::Other(_))
                            });
                        if relevant && !report(&mut rtnl, &mut known, &changes) {
                            return;
                        }
                        let addrs = full
                            || events.iter().any(|e| {
                                matches!(e, WatchEvent::Address { .. } | WatchEvent::Other(_))
                            });
                        let before = if full { addresses.clone() } else { None };
                        if addrs && !report_addresses(&mut rtnl, &mut addresses, &changes) {
                            return;
                        }
                        let mut removals: Vec<Removed> = events
                            .iter()
                            .filter_map(|e| removed(e, &protocols))
                            .collect();
                        // A deleted VIP's own event may be among the
                        // dropped ones: what the last dump had and this one
                        // lacks is reported deleted (the loop checks it is
                        // still gone, as for any event).
                        if let (Some(b), Some(now)) = (&before, &addresses) {
                            for a in b.difference(now) {
                                let r = Removed::Address(*a);
                                if !removals.contains(&r) {
                                    removals.push(r);
                                }
                            }
                        }
                        for r in removals {
                            if changes.send(HostChange::Removed(r)).is_err() {
                                return;
                            }
                        }
                        if full && !resyncing {
                            info!(overruns, "link watch resynchronised");
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "link watch");
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                if changes.is_closed() {
                    return;
                }
            }
        })
        .map_err(|e| format!("cannot start the link watch thread: {e}"))?;
    Ok(())
}

/// The deletion an event reports, if it may be the director's.
fn removed(e: &WatchEvent, protocols: &watch::Receiver<BTreeSet<u8>>) -> Option<Removed> {
    match e {
        WatchEvent::Address {
            addr: Some(a),
            removed: true,
            ..
        } => Some(Removed::Address(*a)),
        WatchEvent::Route {
            removed: true,
            route,
        } if protocols
            .borrow()
            .contains(&u8::from(route.header.protocol)) =>
        {
            route_from(route).map(Removed::Route)
        }
        WatchEvent::Rule {
            removed: true,
            rule,
        } => Some(Removed::Rule(rule_from(rule))),
        _ => None,
    }
}

/// Reads every link and reports the changes; false once nobody listens.
fn report(rtnl: &mut Rtnl, known: &mut HashMap<String, bool>, changes: &Changes) -> bool {
    let links = match rtnl.links() {
        Ok(l) => l,
        Err(e) => {
            warn!(error = %e, "cannot read links");
            return true;
        }
    };
    let seen: HashMap<String, bool> = links
        .into_iter()
        .map(|l| (l.name, l.up && l.carrier))
        .collect();
    for (name, was) in known.iter() {
        if *was
            && !seen.contains_key(name)
            && changes.send(HostChange::Link(name.clone(), false)).is_err()
        {
            return false;
        }
    }
    for (name, up) in &seen {
        if known.get(name) != Some(up) && changes.send(HostChange::Link(name.clone(), *up)).is_err()
        {
            return false;
        }
    }
    *known = seen;
    true
}

/// Reads every address and reports the set when it changed; false once
/// nobody listens.
fn report_addresses(
    rtnl: &mut Rtnl,
    known: &mut Option<HashSet<IpAddr>>,
    changes: &Changes,
) -> bool {
    let now: HashSet<IpAddr> = match rtnl.addresses(None) {
        Ok(a) => a.into_iter().map(|a| a.addr).collect(),
        Err(e) => {
            warn!(error = %e, "cannot read addresses");
            return true;
        }
    };
    if known.as_ref() == Some(&now) {
        return true;
    }
    *known = Some(now.clone());
    changes.send(HostChange::Addresses(now)).is_ok()
}
