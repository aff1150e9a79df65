//! `backend` prepare → audit → undo leaves nothing behind (host kernel,
//! network namespace), in both suppression modes; the state file format.

use std::path::PathBuf;

use lvs_examples::backend::{State, VipRecord};
use lvs_testenv::{Netns, require_program, require_root};

const BACKEND: &str = env!("CARGO_BIN_EXE_backend");

/// Addresses, ARP sysctls and nft ruleset: what `backend` may touch.
fn snapshot(ns: &Netns) -> String {
    // Addresses without link state or IPv6 link-locals: a fresh veth may
    // still be coming up when the first snapshot is taken.
    let mut s: String = ns
        .run(&["ip", "-o", "addr"])
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let (iface, addr) = (w.get(1)?, w.get(3)?);
            (!addr.starts_with("fe80:")).then(|| format!("{iface} {addr}\n"))
        })
        .collect();
    s.push_str(&ns.run(&[
        "sh",
        "-c",
        "for f in /proc/sys/net/ipv4/conf/*/arp_ignore /proc/sys/net/ipv4/conf/*/arp_announce; do echo \"$f $(cat $f)\"; done",
    ]));
    s.push_str(&ns.run(&["nft", "list", "ruleset"]));
    s
}

fn run(ns: &Netns, args: &[&str]) -> (i32, String) {
    let mut argv = vec![BACKEND];
    argv.extend_from_slice(args);
    let out = ns.try_run(&argv);
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn backend_ns() -> Netns {
    let ns = Netns::new("bk");
    ns.run(&[
        "ip", "link", "add", "ens18", "type", "veth", "peer", "name", "peer0",
    ]);
    ns.run(&["ip", "addr", "add", "172.20.0.85/24", "dev", "ens18"]);
    ns.run(&["ip", "link", "set", "ens18", "up"]);
    ns.run(&["ip", "link", "set", "peer0", "up"]);
    ns
}

fn state_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(lvs_testenv::unique_name(tag))
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_backend_prepare_audit_undo_leaves_nothing_behind() {
    require_root("backend test");
    require_program("nft");
    for mode in ["sysctl", "nft"] {
        let ns = backend_ns();
        let state = state_path("bkst");
        let st = state.to_str().unwrap();
        let before = snapshot(&ns);

        let (rc, out) = run(&ns, &["--audit", "--vip", "172.20.0.83", "--mode", mode]);
        assert_eq!(rc, 1, "an unprepared backend fails its audit: {out}");
        assert!(out.contains("VIP is not configured"), "{out}");

        let (rc, out) = run(
            &ns,
            &["--vip", "172.20.0.83", "--mode", mode, "--state", st],
        );
        assert_eq!(rc, 0, "{mode}: {out}");
        assert!(out.contains("audit: OK"), "{out}");
        let addrs = ns.run(&["ip", "-br", "addr", "show", "dev", "lo"]);
        assert!(addrs.contains("172.20.0.83/32"), "{addrs}");
        if mode == "sysctl" {
            let v = ns.run(&["cat", "/proc/sys/net/ipv4/conf/ens18/arp_ignore"]);
            assert_eq!(v.trim(), "1");
        } else {
            let t = ns.run(&["nft", "list", "table", "arp", "lvs_arpguard"]);
            assert!(t.contains("172.20.0.83"), "{t}");
        }
        let (rc, out) = run(&ns, &["--audit", "--vip", "172.20.0.83", "--mode", mode]);
        assert_eq!(rc, 0, "{out}");

        // Running it twice changes nothing more and undo still restores all.
        let (rc, out) = run(
            &ns,
            &["--vip", "172.20.0.83", "--mode", mode, "--state", st],
        );
        assert_eq!(rc, 0, "{out}");

        let (rc, out) = run(&ns, &["--undo", "--state", st]);
        assert_eq!(rc, 0, "{out}");
        assert!(out.contains("removed VIP 172.20.0.83 from lo"), "{out}");
        assert_eq!(snapshot(&ns), before, "{mode}: undo left something behind");
        assert!(!state.exists(), "the state file is removed by undo");
    }
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_backend_undo_keeps_what_was_there_before() {
    require_root("backend test");
    let ns = backend_ns();
    // Already suppressing and already holding the VIP: nothing is ours to undo.
    ns.run(&["sysctl", "-qw", "net.ipv4.conf.ens18.arp_ignore=1"]);
    ns.run(&["sysctl", "-qw", "net.ipv4.conf.ens18.arp_announce=2"]);
    ns.run(&["ip", "addr", "add", "172.20.0.83/32", "dev", "lo"]);
    let before = snapshot(&ns);
    let state = state_path("bkst");
    let st = state.to_str().unwrap();
    let (rc, out) = run(&ns, &["--vip", "172.20.0.83", "--state", st]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("(already there)"), "{out}");
    let (rc, out) = run(&ns, &["--undo", "--state", st]);
    assert_eq!(rc, 0, "{out}");
    assert_eq!(snapshot(&ns), before);
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_backend_default_state_is_per_namespace() {
    require_root("backend test");
    let (a, b) = (backend_ns(), backend_ns());
    let before_b = snapshot(&b);
    for ns in [&a, &b] {
        let (rc, out) = run(ns, &["--vip", "172.20.0.83"]);
        assert_eq!(rc, 0, "{out}");
        assert!(out.contains("recorded in /run/lvs-backend/netns-"), "{out}");
    }
    let before_a_undo = snapshot(&a);
    let (rc, out) = run(&b, &["--undo"]);
    assert_eq!(rc, 0, "{out}");
    assert_eq!(snapshot(&b), before_b, "B is restored");
    assert_eq!(snapshot(&a), before_a_undo, "A keeps its setup");
    let (rc, out) = run(&a, &["--audit", "--vip", "172.20.0.83"]);
    assert_eq!(rc, 0, "{out}");
    let (rc, out) = run(&a, &["--undo"]);
    assert_eq!(rc, 0, "{out}");
}

#[test]
fn state_file_round_trips_and_rejects_garbage() {
    let st = State {
        vips: vec![VipRecord {
            iface: "lo".into(),
            addr: "172.20.0.83".parse().unwrap(),
            added: true,
            link_created: false,
        }],
        sysctls: vec![lvs_arpguard::sysctl::SysctlChange {
            path: "/proc/sys/net/ipv4/conf/ens18/arp_ignore".into(),
            previous: 0,
            written: 1,
        }],
        nft_installed: true,
    };
    let p = std::path::Path::new("/run/lvs-backend/state");
    assert_eq!(State::from_text(p, &st.to_text()).unwrap(), st);
    let e = State::from_text(p, "vip lo 172.20.0.83 1 0\nbogus line\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "state file /run/lvs-backend/state:2: unknown record \"bogus line\""
    );
}
