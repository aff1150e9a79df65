//! Suppression mode (b): an nftables `arp`-family table of our own.
//!
//! The table `arp lvs_arpguard` holds two chains: `input` drops ARP
//! requests for each VIP (the seed's `arptables -A INPUT -d VIP -j DROP`),
//! `output` rewrites the VIP as ARP sender address to the interface's real
//! address (arptables' `mangle --mangle-ip-s`), so the backend never claims
//! the VIP when it resolves a neighbour for a reply sourced from the VIP.
//!
//! Installing is one `nft -f -` transaction that creates the table if
//! needed, deletes it and recreates it with the full rule set: the kernel
//! applies it atomically, with no window without rules, and never touches
//! other tables. Removing is the same trick without the recreation, so it
//! is idempotent.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use std::os::fd::BorrowedFd;

/// Name of the crate's table in the `arp` family.
pub const TABLE: &str = "lvs_arpguard";

/// The desired contents of the table.
///
/// New fields may be added: build it with [`NftSuppression::new`] and set
/// the public fields you need.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NftSuppression {
    /// VIPs held on the backend (on `lo` or a dummy).
    pub vips: Vec<Ipv4Addr>,
    /// Segment-facing interface whose ARP sender address is rewritten.
    pub iface: String,
    /// The interface's real address, written in place of the VIP.
    pub real_source: Ipv4Addr,
}

impl NftSuppression {
    /// Suppression for `vips` on a backend whose segment-facing interface
    /// `iface` has the address `real_source`.
    pub fn new(vips: Vec<Ipv4Addr>, iface: &str, real_source: Ipv4Addr) -> NftSuppression {
        NftSuppression {
            vips,
            iface: iface.to_string(),
            real_source,
        }
    }

    fn comment(vip: &Ipv4Addr) -> String {
        format!("comment \"lvs-arpguard: VIP {vip}\"")
    }

    /// The rule that drops requests for `vip`, as `nft list` prints it
    /// (without the counter).
    pub fn input_rule(vip: &Ipv4Addr) -> String {
        format!("arp operation request arp daddr ip {vip}")
    }

    /// The nft script: one atomic transaction.
    pub fn script(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "table arp {TABLE} {{}}\ndelete table arp {TABLE}\n"
        ));
        s.push_str(&format!("table arp {TABLE} {{\n"));
        s.push_str("  chain input {\n    type filter hook input priority filter; policy accept;\n");
        for vip in &self.vips {
            s.push_str(&format!(
                "    {} counter drop {}\n",
                Self::input_rule(vip),
                Self::comment(vip)
            ));
        }
        s.push_str(
            "  }\n  chain output {\n    type filter hook output priority filter; policy accept;\n",
        );
        for vip in &self.vips {
            s.push_str(&format!(
                "    meta oifname \"{}\" arp saddr ip {vip} counter arp saddr ip set {} {}\n",
                self.iface,
                self.real_source,
                Self::comment(vip)
            ));
        }
        s.push_str("  }\n}\n");
        s
    }

    /// Installs or atomically replaces the table in `ns`.
    pub fn install(&self, ns: Option<BorrowedFd<'_>>) -> Result<()> {
        if self.iface.is_empty() || self.iface.len() > 15 || self.iface.contains('"') {
            return Err(Error::NoSuchInterface(self.iface.clone()));
        }
        nft_script(ns, "install", &self.script())
    }
}

/// Deletes the table (absent is fine).
pub fn remove(ns: Option<BorrowedFd<'_>>) -> Result<()> {
    nft_script(
        ns,
        "remove",
        &format!("table arp {TABLE} {{}}\ndelete table arp {TABLE}\n"),
    )
}

/// The table as `nft list table` prints it, or `None` when absent.
pub fn list(ns: Option<BorrowedFd<'_>>) -> Result<Option<String>> {
    let out = nft(ns, &["list", "table", "arp", TABLE], None)?;
    if out.status.success() {
        Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()))
    } else {
        Ok(None)
    }
}

/// Whether the installed table drops requests for `vip` on input.
pub fn drops_requests_for(ns: Option<BorrowedFd<'_>>, vip: Ipv4Addr) -> Result<bool> {
    Ok(list(ns)?.is_some_and(|t| {
        t.lines()
            .any(|l| l.contains(&NftSuppression::input_rule(&vip)) && l.contains(" drop"))
    }))
}

/// Whether the installed table rewrites `vip` as ARP sender on output.
pub fn rewrites_source_for(ns: Option<BorrowedFd<'_>>, vip: Ipv4Addr) -> Result<bool> {
    Ok(list(ns)?.is_some_and(|t| {
        t.lines()
            .any(|l| l.contains(&format!("arp saddr ip {vip} ")) && l.contains("arp saddr ip set "))
    }))
}

/// Name of the `ip` and `ip6` tables of [`VmacReports`].
pub const VMAC_TABLE: &str = "lvs_vmac";

/// Multicast membership reports moved off VRRP macvlans (keepalived's
/// `use_vmac`), as keepalived moves them: every IGMP report leaving a
/// macvlan, and every MLD report, is sent out of its base interface
/// instead (`dup to ... device BASE drop`). A Backup's macvlan has the
/// virtual MAC too, and a report from it would teach the switch to send
/// the VIP's traffic to the Backup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct VmacReports {
    /// `(macvlan, base interface)` pairs.
    pub macvlans: Vec<(String, String)>,
}

impl VmacReports {
    /// Reports moved off each `(macvlan, base)` of `macvlans`.
    pub fn new(macvlans: Vec<(String, String)>) -> VmacReports {
        VmacReports { macvlans }
    }

    /// The nft script: one atomic transaction replacing both tables (only
    /// deleting them when there is no macvlan).
    pub fn script(&self) -> String {
        let mut s = String::new();
        for (family, rule) in [
            ("ip", "ip protocol igmp dup to ip daddr"),
            (
                "ip6",
                "icmpv6 type { mld-listener-report, mld2-listener-report } dup to ip6 daddr",
            ),
        ] {
            s.push_str(&format!(
                "table {family} {VMAC_TABLE} {{}}\ndelete table {family} {VMAC_TABLE}\n"
            ));
            if self.macvlans.is_empty() {
                continue;
            }
            s.push_str(&format!(
                "table {family} {VMAC_TABLE} {{\n  chain output {{\n    \
                 type filter hook output priority filter; policy accept;\n"
            ));
            for (vmac, base) in &self.macvlans {
                s.push_str(&format!(
                    "    oifname \"{vmac}\" {rule} device \"{base}\" drop\n"
                ));
            }
            s.push_str("  }\n}\n");
        }
        s
    }

    /// Installs, replaces or (with no macvlan) removes the tables in `ns`.
    pub fn install(&self, ns: Option<BorrowedFd<'_>>) -> Result<()> {
        for (vmac, base) in &self.macvlans {
            for name in [vmac, base] {
                if name.is_empty() || name.len() > 15 || name.contains('"') {
                    return Err(Error::NoSuchInterface(name.clone()));
                }
            }
        }
        nft_script(ns, "install", &self.script())
    }
}

fn nft_script(ns: Option<BorrowedFd<'_>>, action: &'static str, script: &str) -> Result<()> {
    let out = nft(ns, &["-f", "-"], Some(script))?;
    if !out.status.success() {
        return Err(Error::Nft {
            action,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

fn nft(
    ns: Option<BorrowedFd<'_>>,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<std::process::Output> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let stdin = stdin.map(str::to_string);
    crate::netns::run(ns, move || {
        // Spawned from the thread inside `ns`, so nft runs in that namespace.
        let mut child = Command::new("nft")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("spawn nft", e))?;
        if let (Some(mut pipe), Some(text)) = (child.stdin.take(), &stdin) {
            pipe.write_all(text.as_bytes())
                .map_err(|e| Error::io("write nft script", e))?;
        }
        child
            .wait_with_output()
            .map_err(|e| Error::io("wait for nft", e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_is_one_transaction_with_a_table_of_its_own() {
        let s = NftSuppression {
            vips: vec![Ipv4Addr::new(172, 20, 0, 83)],
            iface: "ens18".into(),
            real_source: Ipv4Addr::new(172, 20, 0, 85),
        }
        .script();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "table arp lvs_arpguard {}");
        assert_eq!(lines[1], "delete table arp lvs_arpguard");
        assert!(s.contains("arp operation request arp daddr ip 172.20.0.83 counter drop"));
        assert!(s.contains(
            "meta oifname \"ens18\" arp saddr ip 172.20.0.83 counter arp saddr ip set 172.20.0.85"
        ));
        assert_eq!(s.matches("table arp").count(), 3, "only our own table: {s}");
    }

    #[test]
    fn vmac_reports_leave_by_the_base_interface() {
        let s = VmacReports::new(vec![("vrrp.7".into(), "ens18".into())]).script();
        assert!(
            s.contains("oifname \"vrrp.7\" ip protocol igmp dup to ip daddr device \"ens18\" drop")
        );
        assert!(s.contains("dup to ip6 daddr device \"ens18\" drop"));
        assert_eq!(s.matches("delete table").count(), 2);
        let none = VmacReports::default().script();
        assert_eq!(none.matches("chain").count(), 0, "{none}");
    }
}
