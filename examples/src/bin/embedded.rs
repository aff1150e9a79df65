//! The README's embedding example as a program: a complete HA director
//! (the seed lab's NODE01: VRRP instance VI_1 holding 172.20.0.83/24, HTTP
//! round robin over two TCP-checked DR backends) from typed Rust config.
//! The lab runs it on NODE01 against `director` on NODE02.

use std::time::Duration;

use lvs_director::{Check, DirectorConfig, Probe, RealServer, Vip, VirtualServer, VrrpInstance};
use lvs_healthcheck::{ConnectOptions, KeepalivedCheck, KeepalivedTiming, checker::tcp::TcpCheck};
use lvs_ipvs::{Destination, ForwardMethod, Scheduler, Service, ServiceKey};
use lvs_vrrp::{AdvertInterval, Seconds};
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    // VRRP instance VI_1 on ens18: VRID 1, priority 100, starts as Master; adverts
    // leave from the interface's own address (the 0.0.0.0 is filled in at start).
    let vip = "172.20.0.83".parse()?;
    let advert = AdvertInterval::V2(Seconds(1));
    let mut router = lvs_vrrp::Config::new(1, 100, advert, "0.0.0.0".parse()?, vec![vip]);
    router.start_as_master = true;
    let mut vi_1 = VrrpInstance::new("VI_1", "ens18", router);
    vi_1.vips = vec![Vip::new(vip).with_prefix(24)];
    // HTTP on the VIP, round robin, DR to two backends, each with the seed's TCP_CHECK.
    let timing = KeepalivedTiming::new(KeepalivedCheck::Tcp)
        .with_delay_loop(Duration::from_secs(2))
        .with_connect_timeout(Duration::from_secs(3))
        .with_delay_before_retry(Duration::from_secs(2));
    let key = ServiceKey::tcp("172.20.0.83:80".parse()?);
    let mut http = VirtualServer::new(Service::new(key, Scheduler::RoundRobin));
    for backend in ["172.20.0.85:80", "172.20.0.86:80"] {
        let addr = backend.parse()?;
        let check = Check::Tcp(TcpCheck::new(ConnectOptions::new(addr)));
        let rs = RealServer::new(Destination::new(addr, ForwardMethod::DirectRoute));
        http = http.with_real_server(rs.with_probe(Probe::new(check, timing.policy())));
    }
    let config = DirectorConfig::new()
        .with_instance(vi_1)
        .with_virtual_server(http);
    let director = lvs_director::run(config).await?;
    signal(SignalKind::terminate())?.recv().await;
    director.shutdown().await; // priority-0 advert, VIP removed; the IPVS table stays
    Ok(())
}
