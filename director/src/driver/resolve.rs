//! The address an instance sends adverts from, when the configuration
//! leaves it to the interface.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use lvs_arpguard::Rtnl;
use tracing::debug;

use crate::config::{DirectorConfig, SourceAddress, VrrpInstance};

/// How long a link-local address in duplicate address detection is waited for.
const DAD_WAIT: Duration = Duration::from_secs(3);

/// Fills `router.primary_address` of every instance whose source is its
/// interface: the interface's primary IPv4 address (not a VIP), or for an
/// IPv6 instance its link-local address (RFC 5798 §5.1.2.1), waiting up to
/// 3 s for one still in duplicate address detection.
pub(crate) async fn resolve_sources(
    rtnl: &mut Rtnl,
    cfg: &mut DirectorConfig,
) -> Result<(), String> {
    for inst in &mut cfg.instances {
        if inst.source == SourceAddress::Interface {
            inst.router.primary_address = primary_address(rtnl, inst).await?;
        }
    }
    Ok(())
}

async fn primary_address(rtnl: &mut Rtnl, inst: &VrrpInstance) -> Result<IpAddr, String> {
    let vips: Vec<IpAddr> = inst.vips.iter().map(|v| v.addr).collect();
    let ipv6 = inst
        .vips
        .iter()
        .find(|v| v.advertised)
        .is_some_and(|v| v.addr.is_ipv6());
    let deadline = Instant::now() + DAD_WAIT;
    loop {
        let addrs = rtnl
            .addresses(Some(&inst.interface))
            .map_err(|e| format!("vrrp_instance {}: {e}", inst.name))?;
        let found = if ipv6 {
            addrs
                .iter()
                .filter(|a| {
                    matches!(a.addr, IpAddr::V6(v6) if v6.is_unicast_link_local())
                        && !a.state.dad_failed
                })
                .min_by_key(|a| a.state.tentative)
                .map(|a| (a.addr, a.state.tentative))
        } else {
            addrs
                .iter()
                .filter(|a| a.addr.is_ipv4() && !vips.contains(&a.addr))
                .min_by_key(|a| (a.state.secondary, a.label.is_some()))
                .map(|a| (a.addr, false))
        };
        match found {
            Some((addr, false)) => return Ok(addr),
            Some((addr, true)) if Instant::now() < deadline => {
                debug!(instance = %inst.name, %addr, "link-local address still tentative");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Some((addr, true)) => {
                return Err(format!(
                    "vrrp_instance {}: link-local address {addr} on {} is still tentative \
                     (duplicate address detection) after 3 s",
                    inst.name, inst.interface
                ));
            }
            None => {
                let what = if ipv6 {
                    "no IPv6 link-local address"
                } else {
                    "no IPv4 address"
                };
                return Err(format!(
                    "vrrp_instance {}: interface {} has {what} to send adverts from",
                    inst.name, inst.interface
                ));
            }
        }
    }
}
