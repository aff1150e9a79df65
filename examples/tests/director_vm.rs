//! The director against a real IPVS (kernel VM only): the lab's node01.conf
//! programs the seed's table, a dead backend leaves it and comes back, a
//! graceful stop leaves the table and removes the VIP, a restart adopts
//! the table without a single write.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lvs_ipvs::IpvsHandle;
use lvs_testenv::{Lan, Netns, require_root};

const DIRECTOR: &str = env!("CARGO_BIN_EXE_director");

fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if cond() {
            return t0.elapsed();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out after {limit:?} waiting for: {what}");
}

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
