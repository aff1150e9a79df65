//! A second, independent VRRP peer: FRR's vrrpd (Debian `frr`, zebra +
//! vrrpd in the peer's namespace, `-N NAME`), VRRPv3, against `director`,
//! IPv4 and IPv6. vrrpd needs a macvlan with the virtual MAC on the
//! interface (`vrrp4-2-VRID` / `vrrp6-2-VRID`) holding the VIP; it keeps it
//! protodown while Backup.
//!
//! Each family: the director at 100 and vrrpd at 90 elect the director
//! alone; the director's SIGTERM hands over to vrrpd (priority 0); a
//! restarted director preempts back; its SIGKILL fails over after
//! Master_Down_Interval. Then the other direction: vrrpd raised to 110
//! preempts the director, and vrrpd's SIGKILL fails over to the director.
//!
//! Run as root:
//! `cargo test -p lvs-examples --test director_frr_vrrpd -- --ignored --nocapture`

use std::path::Path;
use std::time::{Duration, Instant};

use lvs_examples::lab::frr::Frr;
use lvs_testenv::{LAB_IFACE, Lan, Netns, require_program, require_root, wait_for};

const DIRECTOR: &str = env!("CARGO_BIN_EXE_director");
const VRID: u8 = 5;

/// One address family's addresses.
struct Family {
    name: &'static str,
    director: &'static str,
    peer: &'static str,
    vip: &'static str,
    prefix: u8,
    macvlan: String,
    vmac: String,
    /// vrrpd's keyword for a VIP (`ip` / `ipv6`) and its JSON section.
    keyword: &'static str,
    section: &'static str,
}

fn v4() -> Family {
    Family {
        name: "IPv4",
        director: "10.7.0.1/24",
        peer: "10.7.0.2/24",
        vip: "10.7.0.100",
        prefix: 24,
        macvlan: format!("vrrp4-2-{VRID}"),
        vmac: format!("00:00:5e:00:01:{VRID:02x}"),
        keyword: "ip",
        section: "v4",
    }
}

fn v6() -> Family {
    Family {
        name: "IPv6",
        director: "2001:db8:7::1/64",
        peer: "2001:db8:7::2/64",
        vip: "2001:db8:7::100",
        prefix: 64,
        macvlan: format!("vrrp6-2-{VRID}"),
        vmac: format!("00:00:5e:00:02:{VRID:02x}"),
        keyword: "ipv6",
        section: "v6",
    }
}

/// vrrpd's state for the family (`Master`, `Backup`, `Initialize`).
fn vrrpd_state(frr: &Frr, f: &Family) -> String {
    let text = frr.vtysh(&format!("show vrrp {VRID} json"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    v[0][f.section]["status"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

/// The director's state (`Master`, `Backup`, ...), or `down` when it does not answer.
fn director_state(ns: &Netns, control: &Path) -> String {
    let out = ns.try_run(&[
        DIRECTOR,
        "status",
        "--json",
        "--control",
        control.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["instances"][0]["state"]
        .as_str()
        .unwrap_or("down")
        .to_string()
}

fn director_config(f: &Family) -> String {
    format!(
        "vrrp_instance VI_{VRID} {{\n  state BACKUP\n  interface {LAB_IFACE}\n  virtual_router_id {VRID}\n  \
         priority 100\n  advert_int 1\n  version 3\n  virtual_ipaddress {{\n    {}/{}\n  }}\n}}\n",
        f.vip, f.prefix
    )
}

fn vrrpd_config(f: &Family, priority: u8) -> String {
    format!(
        "interface {LAB_IFACE}\n vrrp {VRID} version 3\n vrrp {VRID} priority {priority}\n \
         vrrp {VRID} advertisement-interval 1000\n vrrp {VRID} {} {}\n",
        f.keyword, f.vip
    )
}

fn run_family(f: Family) {
    let lan = Lan::new(if f.section == "v4" { "fv4" } else { "fv6" });
    let d = lan.add_host("d", &[f.director]);
    let p = lan.add_host("p", &[f.peer]);
    // vrrpd's macvlan with the virtual MAC, holding the VIP.
    let vip = format!("{}/{}", f.vip, f.prefix);
    p.run(&[
        "ip", "link", "add", &f.macvlan, "link", LAB_IFACE, "type", "macvlan", "mode", "bridge",
    ]);
    p.run(&["ip", "link", "set", "dev", &f.macvlan, "address", &f.vmac]);
    p.run(&["ip", "addr", "add", &vip, "dev", &f.macvlan, "nodad"]);
    p.run(&["ip", "link", "set", "dev", &f.macvlan, "up"]);
    // Link-local addresses past DAD before anyone sends from them.
    std::thread::sleep(Duration::from_secs(2));
    let dir = std::env::temp_dir().join(lvs_testenv::unique_name("frrvrrp"));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("d.conf");
    std::fs::write(&conf, director_config(&f)).unwrap();
    let control = dir.join("d.sock");
    let pid_file = dir.join("d.pid");
    let args = [
        DIRECTOR,
        "-f",
        conf.to_str().unwrap(),
        "--control",
        control.to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
    ];
    let log = dir.join("d.log");
    let frr = Frr::start_daemons(&p, &dir, &dir, &vrrpd_config(&f, 90), &["zebra", "vrrpd"])
        .unwrap_or_else(|e| panic!("{e}"));
    let name = f.name;
    let both = |want_d: &str, want_p: &str| {
        let (sd, sp) = (director_state(&d, &control), vrrpd_state(&frr, &f));
        sd == want_d && sp == want_p
    };
    // One Master: the director (100 over 90).
    let d1 = d.spawn_logged(&args, &log);
    let took = wait_for(
        &format!("{name}: director Master, vrrpd Backup"),
        Duration::from_secs(20),
        || both("Master", "Backup"),
    );
    println!("{name}: director Master, vrrpd Backup after {took:.2?}");
    std::thread::sleep(Duration::from_secs(3));
    assert!(both("Master", "Backup"), "{name}: not one stable Master");
    // SIGTERM: the priority-0 advert hands over to vrrpd.
    let t0 = Instant::now();
    assert!(d.signal(d1, libc::SIGTERM, Duration::from_secs(10)));
    wait_for(
        &format!("{name}: vrrpd Master after SIGTERM"),
        Duration::from_secs(5),
        || vrrpd_state(&frr, &f) == "Master",
    );
    let handover = t0.elapsed();
    println!("{name}: SIGTERM handover to vrrpd in {handover:.2?}");
    assert!(
        handover < Duration::from_millis(1500),
        "{name}: handover took {handover:?}"
    );
    // Restarted, the director preempts back.
    let d2 = d.spawn_logged(&args, &log);
    let took = wait_for(
        &format!("{name}: the director preempts back"),
        Duration::from_secs(20),
        || both("Master", "Backup"),
    );
    println!("{name}: restarted director Master again after {took:.2?}");
    // SIGKILL: vrrpd takes over after Master_Down_Interval.
    std::thread::sleep(Duration::from_secs(2));
    let t0 = Instant::now();
    d.kill(d2);
    wait_for(
        &format!("{name}: vrrpd Master after SIGKILL"),
        Duration::from_secs(10),
        || vrrpd_state(&frr, &f) == "Master",
    );
    let failover = t0.elapsed();
    println!("{name}: SIGKILL failover to vrrpd in {failover:.2?}");
    assert!(
        failover < Duration::from_millis(5000),
        "{name}: failover took {failover:?}"
    );
    // The other direction: vrrpd at 110 preempts the director.
    let d3 = d.spawn_logged(&args, &log);
    wait_for(
        &format!("{name}: the director Master again"),
        Duration::from_secs(20),
        || both("Master", "Backup"),
    );
    let t0 = Instant::now();
    frr.vtysh_all(&[
        "configure terminal",
        &format!("interface {LAB_IFACE}"),
        &format!("vrrp {VRID} priority 110"),
    ]);
    wait_for(
        &format!("{name}: vrrpd at 110 preempts"),
        Duration::from_secs(10),
        || both("Backup", "Master"),
    );
    println!(
        "{name}: vrrpd raised to 110 preempted the director in {:.2?}",
        t0.elapsed()
    );
    // vrrpd crashes: the director takes over after Master_Down_Interval.
    std::thread::sleep(Duration::from_secs(2));
    let t0 = Instant::now();
    frr.kill_daemon("vrrpd");
    wait_for(
        &format!("{name}: the director Master after vrrpd's SIGKILL"),
        Duration::from_secs(10),
        || director_state(&d, &control) == "Master",
    );
    let failover = t0.elapsed();
    println!("{name}: vrrpd SIGKILL failover to the director in {failover:.2?}");
    assert!(
        failover < Duration::from_millis(5000),
        "{name}: failover took {failover:?}"
    );
    assert!(d.signal(d3, libc::SIGTERM, Duration::from_secs(10)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs root, network namespaces and Debian's frr (cargo xtask test)"]
fn netns_director_and_frr_vrrpd_v3_ipv4_one_master_handover_failover_both_ways() {
    require_root("FRR vrrpd interop test");
    require_program("/usr/lib/frr/vrrpd");
    run_family(v4());
}

#[test]
#[ignore = "needs root, network namespaces and Debian's frr (cargo xtask test)"]
fn netns_director_and_frr_vrrpd_v3_ipv6_one_master_handover_failover_both_ways() {
    require_root("FRR vrrpd interop test");
    require_program("/usr/lib/frr/vrrpd");
    run_family(v6());
}
