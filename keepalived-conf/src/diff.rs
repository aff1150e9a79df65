//! What changed between two configurations (for a SIGHUP reload that applies
//! only the difference).

use std::net::SocketAddr;

use crate::model::{Config, RealServer, VirtualServer, VirtualServerKey};

/// One item added, removed or changed, identified by `K`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change<K> {
    /// Only in the new configuration.
    Added(K),
    /// Only in the old configuration.
    Removed(K),
    /// In both, with different settings.
    Changed(K),
}

/// A change of one virtual server.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VirtualServerChange {
    /// Which virtual server.
    pub key: VirtualServerKey,
    /// Added, removed, or changed.
    pub change: Change<()>,
    /// When changed: whether its own settings (scheduler, persistence, ...,
    /// anything but the real server list) differ.
    pub service_changed: bool,
    /// When changed: the real servers added, removed or changed (weight, checks, ...).
    pub real_servers: Vec<Change<SocketAddr>>,
}

/// Everything that differs between two configurations; empty when equal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigDiff {
    /// `global_defs` differ.
    pub global_changed: bool,
    /// VRRP instances, by name.
    pub vrrp_instances: Vec<Change<String>>,
    /// Virtual servers, by service identity.
    pub virtual_servers: Vec<VirtualServerChange>,
}

impl ConfigDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == ConfigDiff::default()
    }
}

fn by_name<T: PartialEq>(old: &[T], new: &[T], name: impl Fn(&T) -> &str) -> Vec<Change<String>> {
    let mut out = Vec::new();
    for o in old {
        match new.iter().find(|n| name(n) == name(o)) {
            None => out.push(Change::Removed(name(o).to_string())),
            Some(n) if n != o => out.push(Change::Changed(name(o).to_string())),
            Some(_) => {}
        }
    }
    for n in new {
        if !old.iter().any(|o| name(o) == name(n)) {
            out.push(Change::Added(name(n).to_string()));
        }
    }
    out
}

fn real_servers(old: &[RealServer], new: &[RealServer]) -> Vec<Change<SocketAddr>> {
    let mut out = Vec::new();
    for o in old {
        match new.iter().find(|n| n.addr == o.addr) {
            None => out.push(Change::Removed(o.addr)),
            Some(n) if n != o => out.push(Change::Changed(o.addr)),
            Some(_) => {}
        }
    }
    for n in new {
        if !old.iter().any(|o| o.addr == n.addr) {
            out.push(Change::Added(n.addr));
        }
    }
    out
}

fn without_real_servers(v: &VirtualServer) -> VirtualServer {
    VirtualServer {
        real_servers: Vec::new(),
        ..v.clone()
    }
}

/// Compares two configurations.
pub fn diff(old: &Config, new: &Config) -> ConfigDiff {
    let mut vs = Vec::new();
    // A `virtual_server group` changes with its group's entries.
    let members_changed = |o: &VirtualServer, n: &VirtualServer| {
        let g = |c: &'_ Config, v: &VirtualServer| {
            v.group
                .as_deref()
                .and_then(|name| c.virtual_server_group(name).cloned())
        };
        g(old, o) != g(new, n)
    };
    for o in &old.virtual_servers {
        match new.virtual_server(&o.key()) {
            None => vs.push(VirtualServerChange {
                key: o.key(),
                change: Change::Removed(()),
                service_changed: false,
                real_servers: Vec::new(),
            }),
            Some(n) if n != o || members_changed(o, n) => vs.push(VirtualServerChange {
                key: o.key(),
                change: Change::Changed(()),
                service_changed: without_real_servers(o) != without_real_servers(n)
                    || members_changed(o, n),
                real_servers: real_servers(&o.real_servers, &n.real_servers),
            }),
            Some(_) => {}
        }
    }
    for n in &new.virtual_servers {
        if old.virtual_server(&n.key()).is_none() {
            vs.push(VirtualServerChange {
                key: n.key(),
                change: Change::Added(()),
                service_changed: false,
                real_servers: Vec::new(),
            });
        }
    }
    ConfigDiff {
        global_changed: old.global != new.global,
        vrrp_instances: by_name(&old.vrrp_instances, &new.vrrp_instances, |v| &v.name),
        virtual_servers: vs,
    }
}
