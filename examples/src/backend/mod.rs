//! `backend`: prepares a Direct Routing real server through lvs-arpguard —
//! the VIP on `lo` (or a dummy) as /32 or /128 and ARP suppression on the
//! segment interfaces — audits it, and undoes exactly what it did.
//!
//! What was changed is recorded in a [`State`] file (default: one per
//! network namespace, [`default_state_path`]) so `--undo` restores the previous sysctl
//! values, removes only the addresses it added, deletes only the dummy
//! interfaces it created and the nft table it installed.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use lvs_arpguard::audit::{BackendCheck, SuppressionMode, verify_backend};
use lvs_arpguard::nft::{self, NftSuppression};
use lvs_arpguard::sysctl::{SysctlChange, SysctlRecord, SysctlScope, apply_sysctls};
use lvs_arpguard::{BackendVip, Rtnl};

/// Directory of the default state files.
pub const STATE_DIR: &str = "/run/lvs-backend";

/// The default state file: one per network namespace
/// (`/run/lvs-backend/netns-<inode>.state`), since namespaces on one host
/// share `/run` but each backend namespace has its own VIPs and sysctls.
pub fn default_state_path() -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let ns = std::fs::metadata("/proc/self/ns/net").map_or(0, |m| m.ino());
    Path::new(STATE_DIR).join(format!("netns-{ns}.state"))
}

/// How ARP for the VIP is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `arp_ignore=1` / `arp_announce=2` on the segment interfaces.
    Sysctl,
    /// The nftables `arp lvs_arpguard` table.
    Nft,
}

/// What `backend` is asked to set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// The VIPs.
    pub vips: Vec<IpAddr>,
    /// Suppression mode.
    pub mode: Mode,
    /// Interface holding the VIPs: `lo` or a dummy interface name.
    pub iface: String,
    /// Segment-facing interfaces; empty means every up, non-loopback
    /// interface with an IPv4 address.
    pub segments: Vec<String>,
    /// Also write `conf/all` (covers interfaces created later).
    pub all: bool,
    /// The state file.
    pub state: PathBuf,
}

/// Why `backend` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// lvs-arpguard failed.
    #[error(transparent)]
    Arpguard(#[from] lvs_arpguard::Error),
    /// Reading or writing the state file failed.
    #[error("state file {path}: {source}")]
    State {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The state file could not be understood.
    #[error("state file {path}:{line}: {what}")]
    BadState {
        /// The file.
        path: PathBuf,
        /// Line number.
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// Something in the environment is missing.
    #[error("{0}")]
    Env(String),
}

/// One VIP put in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipRecord {
    /// Interface it is on.
    pub iface: String,
    /// The address.
    pub addr: IpAddr,
    /// We added it (it was not there before).
    pub added: bool,
    /// We created the (dummy) interface.
    pub link_created: bool,
}

/// Everything `backend` changed, as persisted in the state file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// VIPs.
    pub vips: Vec<VipRecord>,
    /// Sysctl values written, with what they held before.
    pub sysctls: Vec<SysctlChange>,
    /// We installed the nft table.
    pub nft_installed: bool,
}

impl State {
    /// The text form: one record per line.
    pub fn to_text(&self) -> String {
        let mut s = String::from("# lvs backend state: what `backend --undo` reverts\n");
        for v in &self.vips {
            s.push_str(&format!(
                "vip {} {} {} {}\n",
                v.iface,
                v.addr,
                u8::from(v.added),
                u8::from(v.link_created)
            ));
        }
        for c in &self.sysctls {
            s.push_str(&format!("sysctl {} {} {}\n", c.path, c.previous, c.written));
        }
        if self.nft_installed {
            s.push_str("nft installed\n");
        }
        s
    }

    /// Parses [`State::to_text`]'s output; `path` is used in errors.
    pub fn from_text(path: &Path, text: &str) -> Result<State, BackendError> {
        let mut st = State::default();
        for (i, line) in text.lines().enumerate() {
            let bad = |what: &str| BackendError::BadState {
                path: path.to_path_buf(),
                line: i + 1,
                what: what.to_string(),
            };
            let w: Vec<&str> = line.split_whitespace().collect();
            match w.as_slice() {
                [] => {}
                [c, ..] if c.starts_with('#') => {}
                ["vip", iface, addr, added, created] => st.vips.push(VipRecord {
                    iface: iface.to_string(),
                    addr: addr.parse().map_err(|_| bad("bad address"))?,
                    added: *added == "1",
                    link_created: *created == "1",
                }),
                ["sysctl", p, prev, written] => st.sysctls.push(SysctlChange {
                    path: p.to_string(),
                    previous: prev.parse().map_err(|_| bad("bad previous value"))?,
                    written: written.parse().map_err(|_| bad("bad written value"))?,
                }),
                ["nft", "installed"] => st.nft_installed = true,
                _ => return Err(bad(&format!("unknown record {line:?}"))),
            }
        }
        Ok(st)
    }

    /// Reads the state file; a missing file is an empty state.
    pub fn read(path: &Path) -> Result<State, BackendError> {
        match std::fs::read_to_string(path) {
            Ok(t) => State::from_text(path, &t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(BackendError::State {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    fn write(&self, path: &Path) -> Result<(), BackendError> {
        let err = |source| BackendError::State {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.to_text()).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.vips.is_empty() && self.sysctls.is_empty() && !self.nft_installed
    }
}

/// The segment interfaces: the given ones, or every up, non-loopback
/// interface holding an IPv4 address that is not a VIP.
pub fn segments(rtnl: &mut Rtnl, opts: &Options) -> Result<Vec<String>, BackendError> {
    if !opts.segments.is_empty() {
        return Ok(opts.segments.clone());
    }
    let links = rtnl.links()?;
    let addrs = rtnl.addresses(None)?;
    let mut out = Vec::new();
    for l in links.iter().filter(|l| l.up && !l.loopback) {
        if l.name == opts.iface {
            continue;
        }
        if addrs
            .iter()
            .any(|a| a.index == l.index && a.addr.is_ipv4() && !opts.vips.contains(&a.addr))
        {
            out.push(l.name.clone());
        }
    }
    if out.is_empty() {
        return Err(BackendError::Env(
            "no segment interface found (up, with an IPv4 address); name one with --segment".into(),
        ));
    }
    Ok(out)
}

fn real_source(rtnl: &mut Rtnl, iface: &str, vips: &[IpAddr]) -> Result<Ipv4Addr, BackendError> {
    rtnl.addresses(Some(iface))?
        .iter()
        .find_map(|a| match a.addr {
            IpAddr::V4(v4) if !vips.contains(&a.addr) => Some(v4),
            _ => None,
        })
        .ok_or_else(|| BackendError::Env(format!("{iface} has no IPv4 address of its own")))
}

/// Prepares the backend and records what changed. Suppression goes in
/// first, so the VIP is never answered for, not even for a moment.
pub fn prepare(opts: &Options) -> Result<State, BackendError> {
    let ns = None;
    let mut rtnl = Rtnl::open(ns)?;
    let segs = segments(&mut rtnl, opts)?;
    let mut state = State::read(&opts.state)?;
    match opts.mode {
        Mode::Sysctl => {
            let refs: Vec<&str> = segs.iter().map(String::as_str).collect();
            let scope = if opts.all {
                SysctlScope::InterfacesAndAll
            } else {
                SysctlScope::Interfaces
            };
            let rec = apply_sysctls(ns, &refs, scope)?;
            for c in rec.changes {
                if !state.sysctls.iter().any(|s| s.path == c.path) {
                    state.sysctls.push(c);
                }
            }
        }
        Mode::Nft => {
            let v4: Vec<Ipv4Addr> = opts
                .vips
                .iter()
                .filter_map(|v| match v {
                    IpAddr::V4(a) => Some(*a),
                    IpAddr::V6(_) => None,
                })
                .collect();
            if !v4.is_empty() {
                let iface = segs[0].clone();
                let real = real_source(&mut rtnl, &iface, &opts.vips)?;
                let existed = nft::list(ns)?.is_some();
                NftSuppression::new(v4, &iface, real).install(ns)?;
                state.nft_installed |= !existed;
            }
        }
    }
    state.write(&opts.state)?;
    for vip in &opts.vips {
        let bv = BackendVip::new(&opts.iface, *vip);
        let undo = bv.install(&mut rtnl)?;
        if !state
            .vips
            .iter()
            .any(|v| v.addr == *vip && v.iface == opts.iface)
        {
            state.vips.push(VipRecord {
                iface: opts.iface.clone(),
                addr: *vip,
                added: undo.address_added,
                link_created: undo.link_created,
            });
        }
        state.write(&opts.state)?;
    }
    Ok(state)
}

/// Audits every VIP on every segment interface; returns the report lines
/// and the problems found.
pub fn audit(opts: &Options) -> Result<(Vec<String>, Vec<String>), BackendError> {
    let ns = None;
    let mut rtnl = Rtnl::open(ns)?;
    let segs = segments(&mut rtnl, opts)?;
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for vip in &opts.vips {
        for seg in &segs {
            let mode = match opts.mode {
                Mode::Sysctl => SuppressionMode::Sysctl,
                Mode::Nft => SuppressionMode::Nftables,
            };
            let check = BackendCheck::new(ns, seg, BackendVip::new(&opts.iface, *vip), mode);
            let r = verify_backend(&check)?;
            let e = r.sysctls.effective();
            lines.push(format!(
                "VIP {vip} on {}: {}; {seg}: arp_ignore={} arp_announce={} nft drop {}; suppression {}",
                opts.iface,
                if r.vip_present { "present" } else { "MISSING" },
                e.arp_ignore,
                e.arp_announce,
                if r.nft_drops_vip { "present" } else { "absent" },
                if r.suppression_effective { "in force" } else { "NOT in force" },
            ));
            for p in r.problems() {
                problems.push(format!("VIP {vip} / {seg}: {p}"));
            }
        }
    }
    Ok((lines, problems))
}

/// Reverts everything recorded in the state file, then deletes it.
/// Returns what was done, one line each.
pub fn undo(state_path: &Path) -> Result<Vec<String>, BackendError> {
    let ns = None;
    let state = State::read(state_path)?;
    let mut done = Vec::new();
    let mut rtnl = Rtnl::open(ns)?;
    for v in state.vips.iter().rev() {
        let bv = BackendVip::new(&v.iface, v.addr);
        if v.added {
            bv.remove(&mut rtnl)?;
            done.push(format!("removed VIP {} from {}", v.addr, v.iface));
        }
        if v.link_created && v.iface != "lo" {
            rtnl.delete_link(&v.iface)?;
            done.push(format!("deleted interface {}", v.iface));
        }
    }
    if !state.sysctls.is_empty() {
        SysctlRecord {
            changes: state.sysctls.clone(),
        }
        .undo(ns)?;
        for c in &state.sysctls {
            done.push(format!("restored {} = {}", c.path, c.previous));
        }
    }
    if state.nft_installed {
        nft::remove(ns)?;
        done.push(format!("deleted nft table arp {}", nft::TABLE));
    }
    match std::fs::remove_file(state_path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(BackendError::State {
                path: state_path.to_path_buf(),
                source,
            });
        }
    }
    Ok(done)
}
