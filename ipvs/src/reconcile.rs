//! Declarative reconcile: desired table vs the kernel's, as the minimal set
//! of add/edit/delete operations.
//!
//! Services are matched by [`ServiceKey`], destinations by address and port.
//! A service whose key is equal but whose settings differ is edited; a
//! destination likewise. Nothing is sent when the tables already match, so
//! [`IpvsHandle::write_requests`] does not move.
//!
//! With [`Removal::Drain`], a destination that is no longer wanted is first
//! set to weight 0 (it takes no new connections) and only deleted by a
//! later reconcile once it has no active or inactive connections left; a
//! service no longer wanted has all its destinations drained and is deleted
//! once none of them has connections.

use crate::batch::Op;
use crate::error::Error;
use crate::handle::IpvsHandle;
use crate::types::{DestinationEntry, ServiceKey, VirtualServer, VirtualServerEntry};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

/// What to do with services and destinations that are not wanted any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Removal {
    /// Delete them at once.
    #[default]
    Delete,
    /// Weight 0 first, delete when their connections are gone.
    Drain,
}

/// The operations a reconcile needs, in the order to apply them.
pub fn plan(
    current: &[VirtualServerEntry],
    desired: &[VirtualServer],
    removal: Removal,
) -> Vec<Op> {
    let cur: HashMap<ServiceKey, &VirtualServerEntry> =
        current.iter().map(|e| (e.service.service.key, e)).collect();
    let mut ops = Vec::new();
    let mut wanted = std::collections::HashSet::new();
    for vs in desired {
        let key = vs.service.key;
        wanted.insert(key);
        match cur.get(&key) {
            None => {
                ops.push(Op::AddService(vs.service.clone()));
                for d in dedup(&vs.destinations).values() {
                    ops.push(Op::AddDestination(key, *d));
                }
            }
            Some(entry) => {
                if entry.service.service != vs.service {
                    ops.push(Op::EditService(vs.service.clone()));
                }
                let have: HashMap<SocketAddr, &DestinationEntry> = entry
                    .destinations
                    .iter()
                    .map(|d| (d.dest.addr, d))
                    .collect();
                let want = dedup(&vs.destinations);
                for (addr, d) in &want {
                    match have.get(addr) {
                        None => ops.push(Op::AddDestination(key, *d)),
                        Some(h) if h.dest != *d => ops.push(Op::EditDestination(key, *d)),
                        Some(_) => {}
                    }
                }
                for (addr, h) in &have {
                    if !want.contains_key(addr) {
                        remove_dest(&mut ops, key, h, removal);
                    }
                }
            }
        }
    }
    for entry in current {
        let key = entry.service.service.key;
        if wanted.contains(&key) {
            continue;
        }
        match removal {
            Removal::Delete => ops.push(Op::DeleteService(key)),
            Removal::Drain => {
                if entry.destinations.iter().all(idle) {
                    ops.push(Op::DeleteService(key));
                } else {
                    for d in &entry.destinations {
                        if d.dest.weight != 0 {
                            let mut drained = d.dest;
                            drained.weight = 0;
                            ops.push(Op::EditDestination(key, drained));
                        }
                    }
                }
            }
        }
    }
    ops
}

fn idle(d: &DestinationEntry) -> bool {
    d.active_conns == 0 && d.inactive_conns == 0
}

fn remove_dest(ops: &mut Vec<Op>, key: ServiceKey, h: &DestinationEntry, removal: Removal) {
    match removal {
        Removal::Delete => ops.push(Op::DeleteDestination(key, h.dest.addr)),
        Removal::Drain if idle(h) => ops.push(Op::DeleteDestination(key, h.dest.addr)),
        Removal::Drain if h.dest.weight != 0 => {
            let mut drained = h.dest;
            drained.weight = 0;
            ops.push(Op::EditDestination(key, drained));
        }
        Removal::Drain => {}
    }
}

/// Destinations by address; the last one wins, as a later line would.
fn dest_map(dests: &[crate::Destination]) -> BTreeMap<SocketAddr, crate::Destination> {
    dests.iter().map(|d| (d.addr, *d)).collect()
}
use dest_map as dedup;

/// The outcome of [`IpvsHandle::reconcile`].
#[derive(Debug)]
pub struct ReconcileReport {
    /// The operations sent.
    pub ops: Vec<Op>,
    /// One result per operation.
    pub results: Vec<Result<(), Error>>,
}

impl ReconcileReport {
    /// Whether every operation succeeded.
    pub fn is_ok(&self) -> bool {
        self.results.iter().all(Result::is_ok)
    }
    /// The failed operations with their errors.
    pub fn failures(&self) -> impl Iterator<Item = (&Op, &Error)> {
        self.ops
            .iter()
            .zip(&self.results)
            .filter_map(|(op, r)| r.as_ref().err().map(|e| (op, e)))
    }
}

impl IpvsHandle {
    /// Reads the kernel's table, plans the operations that turn it into
    /// `desired` and applies them in one batch. Sends no write request when
    /// the tables already match.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn reconcile(
        &mut self,
        desired: &[VirtualServer],
        removal: Removal,
    ) -> Result<ReconcileReport, Error> {
        let current = self.table()?;
        let ops = plan(&current, desired, removal);
        let results = if ops.is_empty() {
            Vec::new()
        } else {
            self.apply(&ops)?
        };
        Ok(ReconcileReport { ops, results })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Destination, ForwardMethod, Scheduler, Service, ServiceEntry, Stats};

    fn key(port: u16) -> ServiceKey {
        ServiceKey::tcp(format!("10.0.0.1:{port}").parse().unwrap())
    }
    fn dest(last: u8, weight: u32) -> Destination {
        Destination::new(
            format!("10.0.1.{last}:80").parse().unwrap(),
            ForwardMethod::DirectRoute,
        )
        .with_weight(weight)
    }
    fn vs(port: u16, dests: &[Destination]) -> VirtualServer {
        VirtualServer {
            service: Service::new(key(port), Scheduler::RoundRobin),
            destinations: dests.to_vec(),
        }
    }
    fn entry(v: &VirtualServer, conns: u32) -> VirtualServerEntry {
        VirtualServerEntry {
            service: ServiceEntry {
                service: v.service.clone(),
                stats: Stats::default(),
                stats64: true,
                raw_flags: 0x0002,
            },
            destinations: v
                .destinations
                .iter()
                .map(|d| DestinationEntry {
                    dest: *d,
                    active_conns: conns,
                    inactive_conns: 0,
                    persistent_conns: 0,
                    stats: Stats::default(),
                    stats64: true,
                })
                .collect(),
        }
    }

    #[test]
    fn equal_tables_need_nothing() {
        let want = vec![vs(80, &[dest(1, 1), dest(2, 5)]), vs(443, &[])];
        let have: Vec<_> = want.iter().map(|v| entry(v, 3)).collect();
        assert!(plan(&have, &want, Removal::Delete).is_empty());
        assert!(plan(&have, &want, Removal::Drain).is_empty());
    }

    #[test]
    fn minimal_changes() {
        let have = vec![
            entry(&vs(80, &[dest(1, 1), dest(2, 1)]), 0),
            entry(&vs(81, &[]), 0),
        ];
        let mut changed = vs(80, &[dest(1, 9), dest(3, 1)]);
        changed.service.scheduler = Scheduler::WeightedLeastConnection;
        let want = vec![changed.clone(), vs(82, &[dest(4, 1)])];
        let ops = plan(&have, &want, Removal::Delete);
        assert_eq!(
            ops,
            vec![
                Op::EditService(changed.service.clone()),
                Op::EditDestination(key(80), dest(1, 9)),
                Op::AddDestination(key(80), dest(3, 1)),
                Op::DeleteDestination(key(80), dest(2, 1).addr),
                Op::AddService(vs(82, &[]).service),
                Op::AddDestination(key(82), dest(4, 1)),
                Op::DeleteService(key(81)),
            ]
        );
    }

    #[test]
    fn drain_sets_weight_zero_then_deletes_when_idle() {
        let want = vec![vs(80, &[dest(1, 1)])];
        let busy = vec![entry(&vs(80, &[dest(1, 1), dest(2, 4)]), 7)];
        assert_eq!(
            plan(&busy, &want, Removal::Drain),
            vec![Op::EditDestination(key(80), dest(2, 0))]
        );
        // Drained but still busy: nothing more to do yet.
        let drained = vec![entry(&vs(80, &[dest(1, 1), dest(2, 0)]), 7)];
        assert!(plan(&drained, &want, Removal::Drain).is_empty());
        // Idle: now it goes.
        let idle = vec![entry(&vs(80, &[dest(1, 1), dest(2, 0)]), 0)];
        assert_eq!(
            plan(&idle, &want, Removal::Drain),
            vec![Op::DeleteDestination(key(80), dest(2, 0).addr)]
        );
        // A whole service: drain its destinations, delete when idle.
        let extra = vec![
            entry(&vs(80, &[dest(1, 1)]), 0),
            entry(&vs(90, &[dest(5, 2)]), 1),
        ];
        assert_eq!(
            plan(&extra, &want, Removal::Drain),
            vec![Op::EditDestination(key(90), dest(5, 0))]
        );
        let extra_idle = vec![
            entry(&vs(80, &[dest(1, 1)]), 0),
            entry(&vs(90, &[dest(5, 0)]), 0),
        ];
        assert_eq!(
            plan(&extra_idle, &want, Removal::Drain),
            vec![Op::DeleteService(key(90))]
        );
    }
}
