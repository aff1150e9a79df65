//! An embedded director (`lvs_director::run` in this process, typed config,
//! VRRP only) follows its interface: alone on a veth pair it is Master and
//! holds the VIP; taking the link down (then pulling the peer end: no
//! carrier) puts it in Fault with the VIP removed; bringing it back makes it
//! Backup, then Master with the VIP again.
//!
//! Run as root: `cargo test -p lvs-director --features tokio -- --ignored netns_embedded`

use std::net::IpAddr;
use std::time::{Duration, Instant};

use lvs_director::{DirectorConfig, Vip, VrrpInstance};
use lvs_testenv::Netns;
use lvs_vrrp::{AdvertInterval, Centiseconds, State};

const IFACE: &str = "ed0";
const PEER: &str = "ed1";

fn has_vip(ns: &Netns) -> bool {
    ns.run(&["ip", "-4", "addr", "show", "dev", IFACE])
        .contains("inet 172.20.0.83/24")
}

/// Polls `f` every 20 ms for up to `limit`.
async fn wait(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn state(h: &lvs_director::Handle) -> Option<State> {
    h.status()
        .await
        .and_then(|r| r.status.instances.first().map(|i| i.state))
}

async fn wait_state(h: &lvs_director::Handle, want: State, limit: Duration) {
    let start = Instant::now();
    loop {
        let s = state(h).await;
        if s == Some(want) {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "not {want:?} within {limit:?} (now {s:?})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn config() -> DirectorConfig {
    let vip: IpAddr = "172.20.0.83".parse().expect("address");
    let interval = AdvertInterval::V3(Centiseconds::new(20).expect("interval"));
    let mut router = lvs_vrrp::Config::new(
        1,
        100,
        interval,
        "0.0.0.0".parse().expect("address"),
        vec![vip],
    );
    router.start_as_master = true;
    let mut inst = VrrpInstance::new("VI_1", IFACE, router);
    inst.vips = vec![Vip::new(vip).with_prefix(24)];
    let mut cfg = DirectorConfig::new();
    cfg.instances.push(inst);
    cfg
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_embedded_director_faults_on_link_down_and_returns_on_link_up() {
    lvs_testenv::require_root("netns_embedded_director_faults_on_link_down_and_returns_on_link_up");
    lvs_testenv::require_program("ip");
    let ns = Netns::new("emb");
    let peer = Netns::new("embp");
    let veth = [
        "link", "add", IFACE, "type", "veth", "peer", "name", PEER, "netns",
    ];
    ns.run(&[&["ip"][..], &veth, &[peer.name()]].concat());
    ns.run(&["ip", "addr", "add", "172.20.0.81/24", "dev", IFACE]);
    ns.run(&["ip", "link", "set", IFACE, "up"]);
    peer.run(&["ip", "link", "set", PEER, "up"]);
    ns.enter(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let h = lvs_director::run(config()).await.expect("director starts");
            wait_state(&h, State::Master, Duration::from_secs(5)).await;
            wait("VIP added", Duration::from_secs(2), || has_vip(&ns)).await;
            // Administratively down, then no carrier (the peer end down).
            for (who, iface) in [(&ns, IFACE), (&peer, PEER)] {
                who.run(&["ip", "link", "set", iface, "down"]);
                wait_state(&h, State::Fault, Duration::from_secs(2)).await;
                wait("VIP removed", Duration::from_secs(2), || !has_vip(&ns)).await;
                who.run(&["ip", "link", "set", iface, "up"]);
                // Backup first, then Master once its Master_Down timer runs out.
                wait_state(&h, State::Master, Duration::from_secs(5)).await;
                wait("VIP back", Duration::from_secs(2), || has_vip(&ns)).await;
            }
            h.shutdown().await;
            assert!(!has_vip(&ns), "the VIP must go with the director");
        });
    });
}
