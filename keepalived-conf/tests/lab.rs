//! The lab's configurations (examples/lab, copies of ../shared/lab) load into
//! the expected models, and the seed's as-written snippets are refused at the
//! right place.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lvs_ipvs::{ForwardMethod, Protocol, Scheduler};
use lvs_keepalived_conf::{
    self as config, CheckKind, ConfigError, ErrorKind, InitialState, VirtualServerAddr,
};
use lvs_vrrp::{AdvertInterval, Seconds, Version};

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/lab")
        .join(name)
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("test socket address")
}

fn check_node(file: &str, router_id: &str, state: InitialState, priority: u8) {
    let (cfg, warnings) = config::load(lab(file)).unwrap_or_else(|e| {
        panic!(
            "{file} refused: {}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    // The only warnings: the UDP checks' 3 s timeout is shorter than ARP's
    // give-up time, so a backend host that is down could pass them.
    let w: Vec<(u32, u32)> = warnings
        .iter()
        .map(|w| {
            assert!(
                w.message.starts_with("UDP_CHECK without `require_reply`"),
                "{w}"
            );
            let l = w.location.as_ref().expect("location");
            (l.line, l.column)
        })
        .collect();
    assert_eq!(w, vec![(50, 9), (56, 9)]);
    assert_eq!(cfg.global.router_id.as_deref(), Some(router_id));
    assert_eq!(cfg.global.vrrp_version, Version::V2);

    assert_eq!(cfg.vrrp_instances.len(), 1);
    let vi = &cfg.vrrp_instances[0];
    assert_eq!(vi.name, "VI_1");
    assert_eq!(vi.initial_state, state);
    assert_eq!(vi.interface, "ens18");
    assert_eq!(vi.virtual_router_id, 1);
    assert_eq!(vi.priority, priority);
    assert_eq!(vi.advert_int, AdvertInterval::V2(Seconds(1)));
    assert_eq!(vi.version(), Version::V2);
    assert_eq!(vi.virtual_ipaddresses.len(), 1);
    assert_eq!(vi.virtual_ipaddresses[0].addr, ip("172.20.0.83"));
    assert_eq!(vi.virtual_ipaddresses[0].prefix_len, 24);
    assert_eq!(vi.virtual_ipaddresses[0].dev, None);
    assert!(!vi.nopreempt);
    assert!(vi.unicast_peers.is_empty());
    assert_eq!(vi.garp_master_delay, Duration::from_secs(5));
    assert_eq!(vi.garp_master_repeat, 5);

    assert_eq!(cfg.virtual_servers.len(), 2);
    let http = &cfg.virtual_servers[0];
    assert_eq!(http.addr, VirtualServerAddr::Socket(sa("172.20.0.83:80")));
    assert_eq!(http.protocol, Protocol::Tcp);
    assert_eq!(http.delay_loop, Duration::from_secs(2));
    assert_eq!(http.scheduler, Scheduler::RoundRobin);
    assert_eq!(http.forwarding, ForwardMethod::DirectRoute);
    assert_eq!(http.persistence_timeout, None);
    assert_eq!(http.quorum, 1);
    let addrs: Vec<SocketAddr> = http.real_servers.iter().map(|r| r.addr).collect();
    assert_eq!(addrs, vec![sa("172.20.0.85:80"), sa("172.20.0.86:80")]);
    for rs in &http.real_servers {
        assert_eq!(rs.weight, 1);
        assert_eq!(rs.forwarding, ForwardMethod::DirectRoute);
        assert!(!rs.inhibit_on_failure);
        assert_eq!(rs.checks.len(), 1);
        let c = &rs.checks[0];
        assert_eq!(c.kind, CheckKind::Tcp);
        assert_eq!(c.common.connect_timeout, Duration::from_secs(3));
        assert_eq!(c.common.retry, 1);
        assert_eq!(c.common.delay_before_retry, Duration::from_secs(2));
        assert_eq!(c.common.delay_loop, Duration::from_secs(2));
        assert_eq!(c.common.connect_port, None);
    }

    let dns = &cfg.virtual_servers[1];
    assert_eq!(dns.addr, VirtualServerAddr::Socket(sa("172.20.0.83:53")));
    assert_eq!(dns.protocol, Protocol::Udp);
    assert_eq!(dns.delay_loop, Duration::from_secs(5));
    assert_eq!(dns.scheduler, Scheduler::SourceHashing);
    assert_eq!(dns.forwarding, ForwardMethod::DirectRoute);
    let addrs: Vec<SocketAddr> = dns.real_servers.iter().map(|r| r.addr).collect();
    assert_eq!(addrs, vec![sa("172.20.0.85:53"), sa("172.20.0.86:53")]);
    for rs in &dns.real_servers {
        let c = &rs.checks[0];
        let CheckKind::Udp(udp) = &c.kind else {
            panic!("expected UDP_CHECK, got {:?}", c.kind)
        };
        assert_eq!(udp.payload, None);
        assert_eq!(udp.require_reply, None);
        assert_eq!(c.common.connect_timeout, Duration::from_secs(3));
        // keepalived's defaults for what the file leaves out.
        assert_eq!(c.common.retry, 1);
        assert_eq!(c.common.delay_before_retry, Duration::from_secs(1));
        assert_eq!(c.common.delay_loop, Duration::from_secs(5));
        assert_eq!(c.common.warmup, Duration::from_secs(5));
    }
}

#[test]
fn node01_loads_as_master() {
    check_node("node01.conf", "NODE01", InitialState::Master, 100);
}

#[test]
fn node02_loads_as_backup() {
    check_node("node02.conf", "NODE02", InitialState::Backup, 90);
}

/// The team's reference lab: `$LVS_SHARED_LAB`, or `shared/lab` beside the
/// clone (as CI lays it out), or the development machines' `/work/shared/lab`.
fn shared_lab() -> std::path::PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("LVS_SHARED_LAB").map(std::path::PathBuf::from),
        manifest
            .parent()
            .and_then(Path::parent)
            .map(|p| p.join("shared/lab")),
        Some(std::path::PathBuf::from("/work/shared/lab")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_dir())
        .unwrap_or_else(|| {
            panic!("the reference lab (shared/lab beside the clone) is missing; set LVS_SHARED_LAB")
        })
}

#[test]
fn lab_copies_match_the_shared_lab() {
    let shared = shared_lab();
    for f in [
        "node01.conf",
        "node02.conf",
        "seed-as-written-node01.conf",
        "seed-as-written-tuned.conf",
    ] {
        let a = std::fs::read(lab(f)).expect("repo copy");
        let b = std::fs::read(shared.join(f)).expect("shared file");
        assert_eq!(
            a,
            b,
            "{f} differs from the shared lab at {}",
            shared.display()
        );
    }
}

fn refused(file: &str) -> Vec<ConfigError> {
    match config::load(lab(file)) {
        Ok((cfg, _)) => panic!("{file} was accepted: {cfg:?}"),
        Err(e) => e,
    }
}

#[test]
fn seed_node01_vrp_instance_is_refused_with_suggestion() {
    let errors = refused("seed-as-written-node01.conf");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    let loc = e.location.as_ref().expect("location");
    assert_eq!((loc.line, loc.column), (1, 1));
    assert!(
        matches!(&e.kind, ErrorKind::UnknownKeyword { keyword, suggestion: Some(s), .. }
            if keyword == "vrp_instance" && s == "vrrp_instance"),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.ends_with(
            "seed-as-written-node01.conf:1:1: error: unknown keyword `vrp_instance` at the top level \
             (did you mean `vrrp_instance`?)"
        ),
        "{text}"
    );
}

#[test]
fn seed_tuned_real_server_outside_virtual_server_is_refused() {
    let errors = refused("seed-as-written-tuned.conf");
    // First: the second real_server sits at the top level because line 13's
    // `}` closed the virtual_server opened at line 1.
    let e = &errors[0];
    let loc = e.location.as_ref().expect("location");
    assert_eq!((loc.line, loc.column), (15, 1));
    assert!(
        matches!(&e.kind, ErrorKind::MisplacedKeyword { keyword, belongs_in, .. }
            if keyword == "real_server" && belongs_in.contains("virtual_server")),
        "{e}"
    );
    assert_eq!(e.notes.len(), 1);
    let note = e.notes[0].location.as_ref().expect("note location");
    assert_eq!((note.line, note.column), (13, 1));
    let text = e.to_string();
    assert!(
        text.contains(
            "seed-as-written-tuned.conf:15:1: error: `real_server` is not allowed at the top level: \
             it belongs inside a `virtual_server` block"
        ),
        "{text}"
    );
    assert!(
        text.contains("seed-as-written-tuned.conf:13:1: note: the `virtual_server` block opened at line 1 was closed here"),
        "{text}"
    );
    // Then: the snippet stops inside TCP_CHECK (line 16), itself inside the
    // real_server of line 15; reported once, with the outer block as a note.
    assert_eq!(errors.len(), 2, "{errors:#?}");
    let e = &errors[1];
    let loc = e.location.as_ref().expect("location");
    assert_eq!((loc.line, loc.column), (16, 5));
    assert!(
        matches!(&e.kind, ErrorKind::UnclosedBlock { keyword } if keyword == "TCP_CHECK"),
        "{e}"
    );
    assert_eq!(e.notes[0].location.as_ref().map(|l| l.line), Some(15));
}
