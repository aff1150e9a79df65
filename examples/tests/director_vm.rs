//! The director against a real IPVS (kernel VM only): the lab's node01.conf
//! programs the seed's table, a dead backend leaves it and comes back, a
//! graceful stop leaves the table and removes the VIP, a restart adopts
//! the table without a single write.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

use lvs_ipvs::IpvsHandle;
use lvs_testenv::{Lan, Netns, require_root, wait_for};

const DIRECTOR: &str = env!("CARGO_BIN_EXE_director");

/// A TCP listener that stops listening (connections refused) when dropped.
struct Listener(std::os::fd::RawFd);

impl Drop for Listener {
    fn drop(&mut self) {
        // SAFETY: shutdown(2) on the listener's fd, still owned by its
        // thread; it takes the socket out of LISTEN and wakes accept().
        unsafe { libc::shutdown(self.0, libc::SHUT_RDWR) };
    }
}

/// A TCP listener (accepting and closing) and a silent UDP socket in `ns`.
fn serve(ns: &Netns, port: u16) -> (Listener, UdpSocket) {
    use std::os::fd::AsRawFd;
    let (tcp, udp) = ns.enter(|| {
        (
            TcpListener::bind(("0.0.0.0", port)).unwrap(),
            UdpSocket::bind(("0.0.0.0", 53)).unwrap(),
        )
    });
    let fd = tcp.as_raw_fd();
    std::thread::spawn(move || {
        for c in tcp.incoming() {
            if c.is_err() {
                break;
            }
        }
    });
    (Listener(fd), udp)
}

fn dests(h: &mut IpvsHandle, port: u16) -> Vec<SocketAddr> {
    let mut v: Vec<SocketAddr> = h
        .table()
        .unwrap()
        .iter()
        .filter(|e| {
            matches!(e.service.service.key, lvs_ipvs::ServiceKey::Addr { addr, .. } if addr.port() == port)
        })
        .flat_map(|e| e.destinations.iter().map(|d| d.dest.addr))
        .collect();
    v.sort();
    v
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_director_programs_ipvs_follows_checks_and_adopts_on_restart() {
    require_root("director IPVS test");
    let lan = Lan::new("dvm");
    let n1 = lan.add_host("n1", &["172.20.0.81/24"]);
    let w1 = lan.add_host("w1", &["172.20.0.85/24"]);
    let w2 = lan.add_host("w2", &["172.20.0.86/24"]);
    let _s1 = serve(&w1, 80);
    let s2 = serve(&w2, 80);
    let dir = std::env::temp_dir().join(lvs_testenv::unique_name("dvm"));
    std::fs::create_dir_all(&dir).unwrap();
    let control: PathBuf = dir.join("n1.sock");
    let log1 = dir.join("d1.log");
    let conf = concat!(env!("CARGO_MANIFEST_DIR"), "/lab/node01.conf");
    let args = [DIRECTOR, "-f", conf, "--control", control.to_str().unwrap()];
    let p1 = n1.spawn_logged(&args, &log1);
    let mut ipvs = IpvsHandle::open_in_netns(n1.as_fd()).unwrap();
    let all80: Vec<SocketAddr> = vec![
        "172.20.0.85:80".parse().unwrap(),
        "172.20.0.86:80".parse().unwrap(),
    ];
    wait_for("the seed's table", Duration::from_secs(30), || {
        dests(&mut ipvs, 80) == all80 && dests(&mut ipvs, 53).len() == 2
    });
    assert_eq!(
        n1.run(&["cat", "/proc/sys/net/ipv4/vs/expire_nodest_conn"])
            .trim(),
        "1"
    );
    let vip_on = |ns: &Netns| {
        ns.run(&["ip", "-4", "-o", "addr", "show", "dev", "ens18"])
            .contains("172.20.0.83/24")
    };
    wait_for("the VIP on the master", Duration::from_secs(10), || {
        vip_on(&n1)
    });

    // WWW2's HTTP stops: refused → out after delay_loop 2 + retry 1 × 2 s at most.
    drop(s2);
    let out = wait_for("www2:80 removed", Duration::from_secs(15), || {
        dests(&mut ipvs, 80) == all80[..1]
    });
    eprintln!("www2:80 removed after {out:?}");
    let _s2 = serve(&w2, 80);
    let back = wait_for("www2:80 re-added", Duration::from_secs(15), || {
        dests(&mut ipvs, 80) == all80
    });
    eprintln!("www2:80 re-added after {back:?}");
    // Its UDP socket was closed too (ICMP port unreachable fails UDP_CHECK):
    // :53 comes back on its own schedule (delay_loop 5). The restart below
    // must find the whole configured table in place.
    let back53 = wait_for("www2:53 re-added", Duration::from_secs(20), || {
        dests(&mut ipvs, 53).len() == 2
    });
    eprintln!("www2:53 back after {back53:?}");

    // Graceful stop: the table stays, the VIP goes.
    assert!(n1.signal(p1, libc::SIGTERM, Duration::from_secs(10)));
    assert!(!vip_on(&n1));
    assert_eq!(dests(&mut ipvs, 80), all80);

    // Restart: adopts the table, writes nothing to IPVS.
    let log2 = dir.join("d2.log");
    let _p2 = n1.spawn_logged(&args, &log2);
    wait_for("the VIP again", Duration::from_secs(20), || vip_on(&n1));
    std::thread::sleep(Duration::from_secs(2));
    let text = std::fs::read_to_string(&log2).unwrap();
    assert!(text.contains("adopting the existing IPVS table"), "{text}");
    assert!(
        !text.contains("IPVS updated"),
        "a restart must not rewrite the table:\n{text}"
    );
    assert_eq!(dests(&mut ipvs, 80), all80);
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_director_runs_the_sync_daemon_by_vrrp_state() {
    require_root("director sync daemon test");
    let lan = Lan::new("dsy");
    let n1 = lan.add_host("n1", &["172.20.0.81/24"]);
    let dir = std::env::temp_dir().join(lvs_testenv::unique_name("dsy"));
    std::fs::create_dir_all(&dir).unwrap();
    let lab =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/lab/node01.conf")).unwrap();
    let conf = dir.join("n1.conf");
    std::fs::write(
        &conf,
        lab.replace(
            "advert_int 1",
            "advert_int 1\n    lvs_sync_daemon_interface ens18",
        ),
    )
    .unwrap();
    let control = dir.join("n1.sock");
    let args = [
        DIRECTOR,
        "-f",
        conf.to_str().unwrap(),
        "--control",
        control.to_str().unwrap(),
    ];
    let p1 = n1.spawn_logged(&args, &dir.join("d.log"));
    let mut ipvs = IpvsHandle::open_in_netns(n1.as_fd()).unwrap();
    wait_for("the master sync daemon", Duration::from_secs(30), || {
        ipvs.daemons().unwrap().iter().any(|d| {
            d.state == lvs_ipvs::SyncState::Master && d.interface == "ens18" && d.sync_id == 1
        })
    });
    assert!(n1.signal(p1, libc::SIGTERM, Duration::from_secs(10)));
    assert!(
        ipvs.daemons().unwrap().is_empty(),
        "a stopped director stops its sync daemon"
    );
}

/// A TCP listener in `ns` that counts the connections it accepts.
fn serve_counting(
    ns: &Netns,
    port: u16,
) -> (Listener, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let tcp = ns.enter(|| TcpListener::bind(("0.0.0.0", port)).unwrap());
    let fd = tcp.as_raw_fd();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for conn in tcp.incoming() {
            if conn.is_err() {
                break;
            }
            c.fetch_add(1, Ordering::Relaxed);
        }
    });
    (Listener(fd), count)
}

/// The destinations of every service in the kernel, by key.
fn table_by_key(
    h: &mut IpvsHandle,
) -> std::collections::BTreeMap<lvs_ipvs::ServiceKey, Vec<SocketAddr>> {
    h.table()
        .unwrap()
        .iter()
        .map(|e| {
            let mut d: Vec<SocketAddr> = e.destinations.iter().map(|d| d.dest.addr).collect();
            d.sort();
            (e.service.service.key, d)
        })
        .collect()
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_director_group_puts_every_member_in_ipvs_and_checks_each_real_server_once() {
    use lvs_ipvs::{Family, ServiceKey};
    use std::sync::atomic::Ordering;
    require_root("director virtual_server_group test");
    let lan = Lan::new("dvg");
    let n1 = lan.add_host("n1", &["172.20.0.81/24"]);
    let w1 = lan.add_host("w1", &["172.20.0.85/24"]);
    let w2 = lan.add_host("w2", &["172.20.0.86/24"]);
    let (_s1, _) = serve_counting(&w1, 80);
    let (s2, probes2) = serve_counting(&w2, 80);
    let dir = std::env::temp_dir().join(lvs_testenv::unique_name("dvg"));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("n1.conf");
    let check = "TCP_CHECK {\n connect_timeout 3\n retry 1\n delay_before_retry 2\n }";
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n router_id NODE01\n}}\n\
             vrrp_instance VI_1 {{\n state MASTER\n interface ens18\n virtual_router_id 1\n \
             priority 100\n advert_int 1\n virtual_ipaddress {{\n 172.20.0.83/24\n }}\n}}\n\
             virtual_server_group VSG_1 {{\n 172.20.0.90-92 80\n fwmark 7\n}}\n\
             virtual_server group VSG_1 {{\n delay_loop 2\n lb_algo rr\n lb_kind DR\n \
             protocol TCP\n real_server 172.20.0.85 80 {{\n {check}\n }}\n \
             real_server 172.20.0.86 80 {{\n {check}\n }}\n}}\n"
        ),
    )
    .unwrap();
    let control = dir.join("n1.sock");
    let args = [
        DIRECTOR,
        "-f",
        conf.to_str().unwrap(),
        "--control",
        control.to_str().unwrap(),
    ];
    let _p1 = n1.spawn_logged(&args, &dir.join("d.log"));
    let mut ipvs = IpvsHandle::open_in_netns(n1.as_fd()).unwrap();
    let members = [
        ServiceKey::tcp("172.20.0.90:80".parse().unwrap()),
        ServiceKey::tcp("172.20.0.91:80".parse().unwrap()),
        ServiceKey::tcp("172.20.0.92:80".parse().unwrap()),
        ServiceKey::fwmark(Family::Inet, 7),
    ];
    let both: Vec<SocketAddr> = vec![
        "172.20.0.85:80".parse().unwrap(),
        "172.20.0.86:80".parse().unwrap(),
    ];
    let all_hold = |ipvs: &mut IpvsHandle, want: &[SocketAddr]| {
        let t = table_by_key(ipvs);
        t.len() == members.len()
            && members
                .iter()
                .all(|k| t.get(k).map(Vec::as_slice) == Some(want))
    };
    wait_for(
        "every member with both real servers",
        Duration::from_secs(30),
        || all_hold(&mut ipvs, &both),
    );
    // One probe per real server, not one per member: over 10 s of
    // delay_loop 2 s, about 5 connections (20 if each member checked).
    let before = probes2.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(10));
    let probes = probes2.load(Ordering::Relaxed) - before;
    eprintln!("www2 probed {probes} times in 10 s");
    assert!((3..=7).contains(&probes), "{probes} probes of www2 in 10 s");

    // www2 down: out of every member; back: in every member.
    drop(s2);
    let out = wait_for("www2 out of every member", Duration::from_secs(15), || {
        all_hold(&mut ipvs, &both[..1])
    });
    eprintln!("www2 out of every member after {out:?}");
    let _s2 = serve_counting(&w2, 80);
    let back = wait_for("www2 back in every member", Duration::from_secs(15), || {
        all_hold(&mut ipvs, &both)
    });
    eprintln!("www2 back in every member after {back:?}");
}

/// keepalived's `ha_suspend`: a virtual server whose address is not on the
/// host runs no checks (its real server keeps the health it had), and its
/// checks start when the address appears — here an address put on by hand,
/// as keepalived sees any address, not only a VRRP instance's.
#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_director_ha_suspend_checks_only_while_the_address_is_here() {
    use std::sync::atomic::Ordering;
    require_root("director ha_suspend test");
    let lan = Lan::new("dha");
    let n1 = lan.add_host("n1", &["172.20.0.81/24"]);
    let w1 = lan.add_host("w1", &["172.20.0.85/24"]);
    let (_s1, probes) = serve_counting(&w1, 80);
    let dir = std::env::temp_dir().join(lvs_testenv::unique_name("dha"));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("n1.conf");
    std::fs::write(
        &conf,
        "virtual_server 172.20.0.95 80 {\n delay_loop 1\n lb_algo rr\n lb_kind DR\n \
         protocol TCP\n ha_suspend\n real_server 172.20.0.85 80 {\n TCP_CHECK {\n \
         connect_timeout 1\n }\n }\n}\n",
    )
    .unwrap();
    let control = dir.join("n1.sock");
    let args = [
        DIRECTOR,
        "-f",
        conf.to_str().unwrap(),
        "--control",
        control.to_str().unwrap(),
    ];
    let p1 = n1.spawn_logged(&args, &dir.join("d.log"));
    let log = || std::fs::read_to_string(dir.join("d.log")).unwrap_or_default();
    let mut ipvs = IpvsHandle::open_in_netns(n1.as_fd()).unwrap();
    wait_for("the service in IPVS", Duration::from_secs(30), || {
        dests(&mut ipvs, 80).len() == 1
    });
    // The address is not here: after start-up, no probe reaches www1.
    std::thread::sleep(Duration::from_secs(2));
    let before = probes.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(5));
    let idle = probes.load(Ordering::Relaxed) - before;
    assert_eq!(idle, 0, "{idle} probes while suspended\n{}", log());
    // The address arrives: checks run, about one a second.
    n1.run(&["ip", "addr", "add", "172.20.0.95/32", "dev", "lo"]);
    std::thread::sleep(Duration::from_secs(1));
    let before = probes.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(5));
    let active = probes.load(Ordering::Relaxed) - before;
    eprintln!("ha_suspend: {idle} probes in 5 s without the address, {active} with it");
    assert!(
        (3..=7).contains(&active),
        "{active} probes in 5 s\n{}",
        log()
    );
    assert_eq!(dests(&mut ipvs, 80).len(), 1, "www1 stayed in");
    // Gone again: suspended again.
    n1.run(&["ip", "addr", "del", "172.20.0.95/32", "dev", "lo"]);
    std::thread::sleep(Duration::from_secs(1));
    let before = probes.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(probes.load(Ordering::Relaxed) - before, 0, "{}", log());
    assert!(n1.signal(p1, libc::SIGTERM, Duration::from_secs(10)));
    let _ = std::fs::remove_dir_all(&dir);
}

fn table(ns: &Netns, t: &str) -> String {
    // -N: protocol numbers (iproute2 names 99 `openr`).
    ns.run(&["ip", "-N", "route", "show", "table", t])
}

/// Prints a director's log when the test fails, for the VM's output.
struct ShowLog(PathBuf);

impl Drop for ShowLog {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.0).unwrap_or_default();
            eprintln!("--- {}:\n{text}", self.0.display());
        }
    }
}

/// `lvs_route_announce` against real IPVS and routing: a crashed run's
/// route flushed at start; the VIP made local and announced in table 198
/// once checked; withdrawn with its quorum and back; both sync daemons;
/// sloppy_tcp; `director drain` withdraws at once and ends the process;
/// `director flush-routes` clears what a SIGKILLed director left.
#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_director_announces_checked_vips_as_routes_and_drains() {
    require_root("director route announcement test");
    let lan = Lan::new("dan");
    let d1 = lan.add_host("d1", &["10.0.9.1/24"]);
    let w1 = lan.add_host("w1", &["10.0.9.11/24"]);
    let w2 = lan.add_host("w2", &["10.0.9.12/24"]);
    let dir = std::env::temp_dir().join(lvs_testenv::unique_name("dan"));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("d1.conf");
    std::fs::write(
        &conf,
        "global_defs {\n router_id DIR1\n}\n\
         virtual_server 203.0.113.10 80 {\n delay_loop 1\n lb_algo mh\n protocol TCP\n\
         \x20real_server 10.0.9.11 80 {\n  inhibit_on_failure\n  TCP_CHECK {\n   connect_timeout 1\n  }\n }\n\
         \x20real_server 10.0.9.12 80 {\n  inhibit_on_failure\n  TCP_CHECK {\n   connect_timeout 1\n  }\n }\n}\n\
         lvs_route_announce {\n drain_timeout 20\n sloppy_tcp\n sync_daemon ens18 id 7\n}\n",
    )
    .unwrap();
    let check = d1.try_run(&[DIRECTOR, "--check-config", conf.to_str().unwrap()]);
    assert!(check.status.success(), "{check:?}");
    // What a director killed earlier left behind.
    d1.run(&[
        "ip",
        "route",
        "add",
        "203.0.113.99/32",
        "dev",
        "lo",
        "table",
        "198",
        "proto",
        "99",
    ]);
    let control = dir.join("d1.sock");
    let ctl = control.to_str().unwrap();
    let args = [DIRECTOR, "-f", conf.to_str().unwrap(), "--control", ctl];
    let log = dir.join("d.log");
    let _show = ShowLog(log.clone());
    let announced = |ns: &Netns| table(ns, "198").contains("203.0.113.10 dev lo proto 99");
    // No backend answers yet: nothing may be announced.
    let p1 = d1.spawn_logged(&args, &log);
    wait_for(
        "the leftover route flushed",
        Duration::from_secs(60),
        || !table(&d1, "198").contains("203.0.113.99"),
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !announced(&d1),
        "announced without a live backend: {}",
        table(&d1, "198")
    );
    let local = table(&d1, "local");
    assert!(
        local.contains("2 203.0.113.10 dev lo proto 99 scope 254"),
        "{local}"
    );
    let mut ipvs = IpvsHandle::open_in_netns(d1.as_fd()).unwrap();
    let mut states: Vec<_> = ipvs.daemons().unwrap().iter().map(|d| d.state).collect();
    states.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(
        states,
        [lvs_ipvs::SyncState::Backup, lvs_ipvs::SyncState::Master]
    );
    let sloppy = d1.run(&["cat", "/proc/sys/net/ipv4/vs/sloppy_tcp"]);
    assert_eq!(sloppy.trim(), "1");
    // Backends up: announced once checked.
    let s1 = serve(&w1, 80);
    let s2 = serve(&w2, 80);
    let took = wait_for("the VIP announced", Duration::from_secs(20), || {
        announced(&d1)
    });
    eprintln!("announced {took:?} after the backends came up");
    // Every backend down: withdrawn; one back: announced again.
    drop((s1, s2));
    let took = wait_for("the VIP withdrawn", Duration::from_secs(20), || {
        !announced(&d1)
    });
    eprintln!("withdrawn {took:?} after both backends stopped");
    let weights: Vec<u32> = ipvs.table().unwrap()[0]
        .destinations
        .iter()
        .map(|d| d.dest.weight)
        .collect();
    assert_eq!(weights, [0, 0], "inhibited, never deleted");
    let _s1 = serve(&w1, 80);
    wait_for("the VIP announced again", Duration::from_secs(20), || {
        announced(&d1)
    });
    let status = d1.run(&[DIRECTOR, "status", "--control", ctl]);
    assert!(status.contains("203.0.113.10 announced"), "{status}");
    // A drain: withdrawn at once, the process ends on its own (no traffic).
    let out = d1.run(&[DIRECTOR, "drain", "--control", ctl]);
    assert!(out.starts_with("draining"), "{out}");
    assert!(!announced(&d1), "still announced after the drain began");
    assert!(
        d1.signal(p1, 0, Duration::from_secs(10)),
        "the drained director did not stop"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("drained: stopping"), "{text}");
    assert!(
        !table(&d1, "local").contains("203.0.113.10"),
        "local route left behind"
    );
    // SIGKILL leaves the route; flush-routes clears it.
    let p2 = d1.spawn_logged(&args, &log);
    wait_for(
        "the VIP announced after restart",
        Duration::from_secs(60),
        || announced(&d1),
    );
    d1.kill(p2);
    assert!(announced(&d1), "SIGKILL cannot withdraw");
    let out = d1.run(&[DIRECTOR, "flush-routes"]);
    assert!(
        out.contains("1 route(s) of protocol 99 flushed from table 198"),
        "{out}"
    );
    assert!(!announced(&d1));
}
