//! The seed lab's scenarios (LAB.md items), each returning a verdict.

use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use lvs_ipvs::{
    Destination, ForwardMethod, IpvsHandle, Removal, Scheduler, Service, ServiceKey, VirtualServer,
};

use super::probe::{Reply, http_get};
use super::topology::{SeedLab, VIP, start_http};

/// One checked item of LAB.md.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// LAB.md's item, e.g. "4. round robin from the client".
    pub item: String,
    /// Whether it held.
    pub pass: bool,
    /// What was seen.
    pub detail: String,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = if self.pass { "PASS" } else { "FAIL" };
        write!(f, "[{mark}] {}: {}", self.item, self.detail)
    }
}

fn verdict(item: &str, pass: bool, detail: impl Into<String>) -> Verdict {
    Verdict {
        item: item.to_string(),
        pass,
        detail: detail.into(),
    }
}

/// The seed's HTTP service: `ipvsadm -A -t VIP:80 -s rr` plus two `-g` real servers.
pub fn seed_http_service() -> VirtualServer {
    let key = ServiceKey::tcp(SocketAddr::new(VIP.into(), 80));
    VirtualServer {
        service: Service::new(key, Scheduler::RoundRobin),
        destinations: vec![
            Destination::new(
                "172.20.0.85:80".parse().expect("literal"),
                ForwardMethod::DirectRoute,
            ),
            Destination::new(
                "172.20.0.86:80".parse().expect("literal"),
                ForwardMethod::DirectRoute,
            ),
        ],
    }
}

/// Prepares a DR backend by hand the way the seed's operator finally did:
/// VIP on `lo`, `arp_ignore=1`, `arp_announce=2`.
fn prepare_backend_by_hand(lab: &SeedLab) {
    for (_, host, _) in lab.backends() {
        host.run(&["ip", "addr", "add", "172.20.0.83/32", "dev", "lo"]);
        for (key, val) in [
            ("net.ipv4.conf.all.arp_ignore", "1"),
            ("net.ipv4.conf.all.arp_announce", "2"),
        ] {
            host.run(&["sysctl", "-q", "-w", &format!("{key}={val}")]);
        }
    }
}

/// LAB.md items 1, 2 and 4: the manual IPVS DR service, programmed through
/// lvs-ipvs in NODE01's namespace, then four requests from FRONTAL.
pub fn manual_ipvs(lab: &SeedLab) -> Vec<Verdict> {
    let mut out = Vec::new();
    prepare_backend_by_hand(lab);
    for (name, host, addr) in lab.backends() {
        start_http(host, name, &format!("{addr}:80"));
        // DR: the director forwards packets still addressed to the VIP.
        start_http(host, name, &format!("{VIP}:80"));
    }
    lab.node01
        .run(&["ip", "addr", "add", "172.20.0.83/24", "dev", "ens18"]);

    let desired = vec![seed_http_service()];
    let table = lab.node01.as_fd();
    let programmed = (|| -> Result<String, lvs_ipvs::Error> {
        let mut ipvs = IpvsHandle::open_in_netns(table)?;
        let report = ipvs.reconcile(&desired, Removal::Delete)?;
        if !report.is_ok() {
            let errs: Vec<String> = report
                .failures()
                .map(|(op, e)| format!("{op:?}: {e}"))
                .collect();
            return Ok(format!("reconcile failures: {}", errs.join("; ")));
        }
        let before = ipvs.write_requests();
        ipvs.reconcile(&desired, Removal::Delete)?;
        let again = ipvs.write_requests() - before;
        let mut text = String::new();
        for vs in ipvs.table()? {
            text.push_str(&format!(
                "{} {}\n",
                vs.service.service.key, vs.service.service.scheduler
            ));
            for d in &vs.destinations {
                text.push_str(&format!(
                    "  -> {:<24} {:?} weight {}\n",
                    d.dest.addr, d.dest.forward, d.dest.weight
                ));
            }
        }
        text.push_str(&format!("(second reconcile wrote {again} requests)\n"));
        Ok(text)
    })();
    match programmed {
        Ok(text) => {
            let ok = text.contains("172.20.0.85:80")
                && text.contains("172.20.0.86:80")
                && text.contains("wrote 0 requests");
            println!("IPVS table in NODE01, read back through lvs-ipvs:\n{text}");
            out.push(verdict(
                "1. manual IPVS (rr, two DR real servers)",
                ok,
                "programmed and read back; a second reconcile writes nothing",
            ));
        }
        Err(e) => {
            out.push(verdict(
                "1. manual IPVS (rr, two DR real servers)",
                false,
                e.to_string(),
            ));
            return out;
        }
    }

    let vip = SocketAddr::new(VIP.into(), 80);
    let names: Vec<String> = lab.frontal.enter(|| {
        // Backends need a moment to bind; the first answers prove it.
        for _ in 0..100 {
            if matches!(http_get(vip, Duration::from_millis(500)), Reply::Body(_)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        (0..4)
            .map(|_| match http_get(vip, Duration::from_secs(2)) {
                Reply::Body(b) => b,
                Reply::Failed(e) => format!("failed({e})"),
            })
            .collect()
    });
    let alternating = names.len() == 4
        && names.iter().all(|n| n == "www1" || n == "www2")
        && names.windows(2).all(|w| w[0] != w[1]);
    out.push(verdict(
        "4. round robin from the client",
        alternating,
        names.join(" "),
    ));
    out
}
