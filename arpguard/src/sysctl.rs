//! Suppression mode (a): `arp_ignore` / `arp_announce`.
//!
//! The kernel reads both as `max(conf/all, conf/<iface>)` of the interface
//! the ARP packet arrives on (or leaves by) — `IN_DEV_ARP_IGNORE` and
//! `IN_DEV_ARP_ANNOUNCE` in `include/linux/inetdevice.h`. So the setting
//! that matters is on the segment-facing interface (`ens18`), or on `all`;
//! setting it on `lo`, where the VIP lives, changes nothing since no ARP
//! arrives there. [`ArpSysctls::effective`] computes the value the kernel uses.

use crate::error::{Error, Result};
use std::os::fd::BorrowedFd;

/// `arp_ignore=1`: reply only if the target address is configured on the
/// interface the request came in on.
pub const ARP_IGNORE_SUPPRESS: u32 = 1;
/// `arp_announce=2`: always use the best local address of the outgoing
/// interface as ARP sender, never the VIP on `lo`.
pub const ARP_ANNOUNCE_SUPPRESS: u32 = 2;

const KEYS: [&str; 2] = ["arp_ignore", "arp_announce"];

fn path(scope: &str, key: &str) -> String {
    format!("/proc/sys/net/ipv4/conf/{scope}/{key}")
}

fn read_u32(p: &str) -> Result<u32> {
    let raw = std::fs::read_to_string(p).map_err(|e| Error::io(format!("read {p}"), e))?;
    raw.trim().parse().map_err(|_| Error::BadSysctl {
        path: p.to_string(),
        value: raw.trim().to_string(),
    })
}

fn write_u32(p: &str, v: u32) -> Result<()> {
    std::fs::write(p, format!("{v}\n")).map_err(|e| Error::io(format!("write {p}"), e))
}

/// The two values at one scope (`all` or an interface).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpValues {
    /// `arp_ignore`.
    pub arp_ignore: u32,
    /// `arp_announce`.
    pub arp_announce: u32,
}

/// The values for one interface as the kernel sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpSysctls {
    /// Interface.
    pub iface: String,
    /// `conf/all`.
    pub all: ArpValues,
    /// `conf/<iface>`.
    pub iface_values: ArpValues,
}

impl ArpSysctls {
    /// Reads both scopes for `iface` in `ns`.
    pub fn read(ns: Option<BorrowedFd<'_>>, iface: &str) -> Result<ArpSysctls> {
        let iface = iface.to_string();
        crate::netns::run(ns, move || {
            let at = |scope: &str| -> Result<ArpValues> {
                Ok(ArpValues {
                    arp_ignore: read_u32(&path(scope, "arp_ignore"))?,
                    arp_announce: read_u32(&path(scope, "arp_announce"))?,
                })
            };
            if !std::path::Path::new(&format!("/proc/sys/net/ipv4/conf/{iface}")).exists() {
                return Err(Error::NoSuchInterface(iface));
            }
            Ok(ArpSysctls {
                all: at("all")?,
                iface_values: at(&iface)?,
                iface,
            })
        })
    }

    /// What the kernel applies: the maximum of `all` and the interface.
    pub fn effective(&self) -> ArpValues {
        ArpValues {
            arp_ignore: self.all.arp_ignore.max(self.iface_values.arp_ignore),
            arp_announce: self.all.arp_announce.max(self.iface_values.arp_announce),
        }
    }

    /// Requests for an address not on this interface go unanswered, and the
    /// VIP is never used as ARP sender.
    pub fn suppresses(&self) -> bool {
        let e = self.effective();
        ignore_suppresses(e.arp_ignore) && e.arp_announce == ARP_ANNOUNCE_SUPPRESS
    }
}

/// `arp_ignore` values that keep a VIP held on another interface silent:
/// 1–3 restrict replies, 8 drops every request; 4–7 are reserved and the
/// kernel replies as with 0 (`arp_ignore()` in `net/ipv4/arp.c`).
pub fn ignore_suppresses(value: u32) -> bool {
    matches!(value, 1..=3 | 8)
}

/// Where to write the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SysctlScope {
    /// Only on the listed interfaces (default): other interfaces keep their
    /// behaviour.
    #[default]
    Interfaces,
    /// On the interfaces and on `conf/all` (also covers interfaces created later).
    InterfacesAndAll,
}

/// One value changed, with what it held before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlChange {
    /// `/proc/sys/...` path.
    pub path: String,
    /// Value before.
    pub previous: u32,
    /// Value written.
    pub written: u32,
}

/// The record of [`apply_sysctls`], plain data so it can be persisted;
/// [`SysctlRecord::undo`] restores the previous values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SysctlRecord {
    /// What was written (only values that were too low are raised).
    pub changes: Vec<SysctlChange>,
}

/// Sets `arp_ignore=1` (unless already a suppressing value, see
/// [`ignore_suppresses`]) and `arp_announce=2` on `ifaces` (and `all` if
/// asked), and returns what it changed.
pub fn apply_sysctls(
    ns: Option<BorrowedFd<'_>>,
    ifaces: &[&str],
    scope: SysctlScope,
) -> Result<SysctlRecord> {
    let mut scopes: Vec<String> = ifaces.iter().map(|s| s.to_string()).collect();
    if scope == SysctlScope::InterfacesAndAll {
        scopes.push("all".into());
    }
    crate::netns::run(ns, move || {
        let mut record = SysctlRecord::default();
        for s in &scopes {
            if !std::path::Path::new(&format!("/proc/sys/net/ipv4/conf/{s}")).exists() {
                return Err(Error::NoSuchInterface(s.clone()));
            }
        }
        for s in &scopes {
            for (key, want) in KEYS
                .iter()
                .zip([ARP_IGNORE_SUPPRESS, ARP_ANNOUNCE_SUPPRESS])
            {
                let p = path(s, key);
                let previous = read_u32(&p)?;
                // Keep stricter arp_ignore values; arp_announce above 2 acts as 0.
                let fine = if *key == "arp_ignore" {
                    ignore_suppresses(previous)
                } else {
                    previous == want
                };
                if fine {
                    continue;
                }
                if let Err(e) = write_u32(&p, want) {
                    // Leave nothing half-applied.
                    restore(&record.changes);
                    return Err(e);
                }
                record.changes.push(SysctlChange {
                    path: p,
                    previous,
                    written: want,
                });
            }
        }
        Ok(record)
    })
}

/// The path of interface setting `key` at `scope` (an interface, `all` or
/// `default`): `/proc/sys/net/ipv4/conf/<scope>/<key>`, or `net/ipv6/conf`
/// with `ipv6`.
pub fn conf_path(ipv6: bool, scope: &str, key: &str) -> String {
    let family = if ipv6 { "ipv6" } else { "ipv4" };
    format!("/proc/sys/net/{family}/conf/{scope}/{key}")
}

/// Reads one integer setting (a path from [`conf_path`]) in `ns`.
pub fn read_value(ns: Option<BorrowedFd<'_>>, path: &str) -> Result<u32> {
    let p = path.to_string();
    crate::netns::run(ns, move || read_u32(&p))
}

/// Writes each `(path, value)` whose current value differs, in order, and
/// returns what it changed ([`SysctlRecord::undo`] puts it back). On a
/// failure the values already written are restored first.
pub fn set_values(ns: Option<BorrowedFd<'_>>, values: &[(String, u32)]) -> Result<SysctlRecord> {
    let values = values.to_vec();
    crate::netns::run(ns, move || {
        let mut record = SysctlRecord::default();
        for (p, want) in &values {
            let step = read_u32(p).and_then(|previous| {
                if previous != *want {
                    write_u32(p, *want)?;
                    record.changes.push(SysctlChange {
                        path: p.clone(),
                        previous,
                        written: *want,
                    });
                }
                Ok(())
            });
            if let Err(e) = step {
                restore(&record.changes);
                return Err(e);
            }
        }
        Ok(record)
    })
}

fn restore(changes: &[SysctlChange]) -> Vec<Error> {
    let mut errors = Vec::new();
    for c in changes.iter().rev() {
        if let Err(e) = write_u32(&c.path, c.previous) {
            errors.push(e);
        }
    }
    errors
}

impl SysctlRecord {
    /// Writes back the previous values (newest first). Values someone else
    /// changed since are left alone.
    pub fn undo(&self, ns: Option<BorrowedFd<'_>>) -> Result<()> {
        let changes = self.changes.clone();
        crate::netns::run(ns, move || {
            let still_ours: Vec<SysctlChange> = changes
                .into_iter()
                .filter(|c| read_u32(&c.path).map(|v| v == c.written).unwrap_or(false))
                .collect();
            match restore(&still_ours).into_iter().next() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_value_is_the_maximum_of_all_and_the_interface() {
        let s = ArpSysctls {
            iface: "ens18".into(),
            all: ArpValues {
                arp_ignore: 0,
                arp_announce: 2,
            },
            iface_values: ArpValues {
                arp_ignore: 1,
                arp_announce: 0,
            },
        };
        assert_eq!(
            s.effective(),
            ArpValues {
                arp_ignore: 1,
                arp_announce: 2
            }
        );
        assert!(s.suppresses());
        let lo_only = ArpSysctls {
            iface_values: ArpValues {
                arp_ignore: 0,
                arp_announce: 0,
            },
            ..s
        };
        assert!(!lo_only.suppresses());
        // Reserved arp_ignore values reply like 0; arp_announce 3 acts as 0.
        let mut odd = lo_only.clone();
        odd.all.arp_ignore = 5;
        odd.all.arp_announce = 2;
        assert!(!odd.suppresses());
        odd.all.arp_ignore = 8;
        assert!(odd.suppresses());
        odd.iface_values.arp_announce = 3;
        assert!(!odd.suppresses());
    }
}
