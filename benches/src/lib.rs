//! Benchmarks of the lvs crates: side-by-side bench programs in `src/bin/`
//! (run in the kernel VM) and the pieces they share: the keepalived
//! configuration they run, the "nothing answers" real-server subnet,
//! process memory and summary statistics.
#![warn(missing_docs)]

use std::fmt::Write as _;
use std::time::Duration;

use lvs_testenv::Netns;

/// The VRRP address of the generated configurations (the seed lab's VIP).
pub const VIP: &str = "172.20.0.83";
/// The director's own address on `ens18` (the seed lab's NODE01).
pub const NODE01: &str = "172.20.0.81";
/// First virtual port: virtual server `i` listens on `VIP:(BASE_PORT + i)`.
pub const BASE_PORT: u16 = 10_000;

/// A keepalived configuration: one `vrrp_instance` (VRID 1, advert_int 1,
/// NODE01's MASTER, the seed's VIP) and `services` virtual servers of
/// `reals` real servers, each with the seed lab's tuned `TCP_CHECK`
/// (`delay_loop 2`, `connect_timeout 3`, `retry 1`, `delay_before_retry 2`).
///
/// Real servers live in 10.200.0.0/16, routed by [`blackhole_real_servers`]
/// into a dummy link where nothing answers. `variant` 1 moves the last real
/// server of the first `changed` services to 10.201.0.0/16 (another
/// unreachable address), so two variants differ in `changed` real servers.
pub fn keepalived_conf(services: usize, reals: usize, variant: u8, changed: usize) -> String {
    let mut s = String::with_capacity(services * reals * 140 + 512);
    let _ = write!(
        s,
        "global_defs {{\n    router_id NODE01\n}}\n\n\
         vrrp_instance VI_1 {{\n    state MASTER\n    interface ens18\n    virtual_router_id 1\n    \
         priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n\n"
    );
    for i in 0..services {
        let port = BASE_PORT as usize + i;
        let _ = write!(
            s,
            "virtual_server {VIP} {port} {{\n    delay_loop 2\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n\n"
        );
        for d in 0..reals {
            let k = i * reals + d;
            let net = if variant == 1 && i < changed && d == reals - 1 {
                201
            } else {
                200
            };
            // .0 and .255 avoided: k -> 10.net.(k/250).(k%250+1).
            let _ = write!(
                s,
                "    real_server 10.{net}.{}.{} {port} {{\n        TCP_CHECK {{\n            \
                 connect_timeout 3\n            retry 1\n            delay_before_retry 2\n        }}\n    }}\n",
                k / 250,
                k % 250 + 1
            );
        }
        s.push_str("}\n\n");
    }
    s
}

/// Routes 10.200.0.0/15 (every generated real server) into a dummy link
/// inside `host`: SYNs to them are dropped there, nothing answers and
/// nothing leaves the namespace, so each TCP_CHECK runs into its
/// `connect_timeout`. Without the dummy driver (some host kernels), a veth
/// pair without ARP whose far end has no address does the same.
pub fn blackhole_real_servers(host: &Netns) {
    let dummy = host.try_run(&["ip", "link", "add", "rs0", "type", "dummy"]);
    if !dummy.status.success() {
        host.run(&[
            "ip", "link", "add", "rs0", "type", "veth", "peer", "name", "rs1",
        ]);
        host.run(&["ip", "link", "set", "rs0", "arp", "off"]);
        host.run(&["ip", "link", "set", "rs1", "up"]);
    }
    host.run(&["ip", "link", "set", "rs0", "up"]);
    host.run(&["ip", "route", "add", "10.200.0.0/15", "dev", "rs0"]);
}

/// Raises this process's open-file limit (soft and hard) to at least
/// 65,536 (or the soft one to the hard one where that is not allowed), so the programs it starts inherit it: with 4,000 TCP checks in
/// flight a 1,024 limit runs out (keepalived raises its own; the director
/// does not). Returns the soft limit before and after.
pub fn raise_fd_limit() -> std::io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = lim.rlim_cur;
    let want = lim.rlim_max.max(65_536);
    let new = libc::rlimit {
        rlim_cur: want,
        rlim_max: want,
    };
    // SAFETY: setrlimit reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } == 0 {
        return Ok((before, want));
    }
    // Not allowed to raise the hard limit (no CAP_SYS_RESOURCE): up to it.
    let new = libc::rlimit {
        rlim_cur: lim.rlim_max,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((before, lim.rlim_max))
}

/// `VmRSS` of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `pid` and all its descendants (from `/proc/*/stat`'s parent pid).
pub fn process_tree(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            // The command name may hold spaces: fields start after the last ')'.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                continue;
            };
            if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|x| x.parse().ok()) {
                parents.push((p, ppid));
            }
        }
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree
}

/// Minimum, median and maximum of `v` (empty: `None`).
pub fn min_median_max(v: &[Duration]) -> Option<(Duration, Duration, Duration)> {
    let mut s = v.to_vec();
    s.sort();
    Some((*s.first()?, s[s.len() / 2], *s.last()?))
}

/// Milliseconds with three decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Runs `f(dir, log)` with a fresh scratch directory `PREFIX-PID-NAME` in
/// the temporary directory (the guest's `/tmp`, in memory: a program's log
/// written to the VM's shared directory is slow enough to hold it up), then
/// copies `log` to `keep` (as `PREFIX-NAME.log`) when asked and removes the
/// directory. `Err` when the directory cannot be made.
pub fn in_scratch_dir<R>(
    prefix: &str,
    name: &str,
    keep: Option<&std::path::Path>,
    f: impl FnOnce(&std::path::Path, &std::path::Path) -> R,
) -> Result<R, String> {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let log = dir.join("program.log");
    let r = f(&dir, &log);
    if let Some(keep) = keep {
        let _ = std::fs::create_dir_all(keep);
        let to = keep.join(format!("{prefix}-{name}.log"));
        match std::fs::copy(&log, &to) {
            Ok(_) => println!("   log: {}", to.display()),
            Err(e) => println!("   cannot keep the log {}: {e}", log.display()),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(r)
}

/// An optional duration as `1.234 s`, or `-`.
pub fn secs(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.3} s", d.as_secs_f64()))
}

/// Raises the open-file limit for the programs a bench starts (thousands
/// of checks need more than 1,024), unless `keep`; says what it did.
pub fn report_fd_limit(keep: bool) {
    if keep {
        println!("open-file limit left as inherited (--keep-fd-limit)");
        return;
    }
    match raise_fd_limit() {
        Ok((before, after)) => {
            println!("open-file limit {before} -> {after} (inherited by the programs run)")
        }
        Err(e) => println!("cannot raise the open-file limit: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_differ_in_the_asked_number_of_real_servers() {
        let a = keepalived_conf(200, 4, 0, 100);
        let b = keepalived_conf(200, 4, 1, 100);
        let reals = |c: &str| -> Vec<String> {
            c.lines()
                .filter(|l| l.trim_start().starts_with("real_server"))
                .map(str::to_string)
                .collect()
        };
        let (ra, rb) = (reals(&a), reals(&b));
        assert_eq!(ra.len(), 800);
        assert_eq!(rb.len(), 800);
        assert_eq!(ra.iter().zip(&rb).filter(|(x, y)| x != y).count(), 100);
        let unique: std::collections::HashSet<_> = ra.iter().collect();
        assert_eq!(unique.len(), 800, "real servers are distinct");
    }

    #[test]
    fn both_variants_convert_to_a_director_config() {
        for v in [0, 1] {
            let text = keepalived_conf(50, 4, v, 10);
            let dir = std::env::temp_dir().join(format!("lvs-benches-conf-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let path = dir.join(format!("v{v}.conf"));
            std::fs::write(&path, text).expect("write");
            let (cfg, warnings) = lvs_keepalived_conf::load(&path).expect("valid configuration");
            assert!(warnings.is_empty(), "{warnings:?}");
            let typed = lvs_director::DirectorConfig::try_from(&cfg).expect("converts");
            assert_eq!(typed.virtual_servers.len(), 50);
            assert!(
                typed
                    .virtual_servers
                    .iter()
                    .all(|vs| vs.real_servers.len() == 4)
            );
            assert_eq!(typed.instances.len(), 1);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn the_median_is_the_middle_value() {
        let v = [3, 1, 2].map(Duration::from_millis);
        assert_eq!(
            min_median_max(&v),
            Some((
                Duration::from_millis(1),
                Duration::from_millis(2),
                Duration::from_millis(3)
            ))
        );
        assert_eq!(min_median_max(&[]), None);
    }
}
