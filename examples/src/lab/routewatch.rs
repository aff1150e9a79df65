//! When a host's route to the VIP changed, and to which next hops: an
//! rtnetlink subscription read by its own thread, so a path leaving the
//! router's table is timed to the kernel's notification rather than to a
//! poll (an `ip route` costs 130–165 ms under emulation).

use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lvs_arpguard::watch::{WatchEvent, Watcher};
use lvs_testenv::Netns;
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};

/// One notification about the watched host route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteChange {
    /// When the watching thread read it.
    pub at: Instant,
    /// `RTM_DELROUTE`.
    pub removed: bool,
    /// The route's gateways (none for a device route such as `dev lo`).
    pub gateways: Vec<Ipv4Addr>,
}

/// The destination, table and gateways of an IPv4 route message.
fn decode(route: &RouteMessage) -> (Option<(Ipv4Addr, u8)>, u32, Vec<Ipv4Addr>) {
    let mut dest = None;
    let mut table = u32::from(route.header.table);
    let mut gateways = Vec::new();
    for a in &route.attributes {
        match a {
            RouteAttribute::Destination(RouteAddress::Inet(ip)) => {
                dest = Some((*ip, route.header.destination_prefix_length));
            }
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Gateway(RouteAddress::Inet(gw)) => gateways.push(*gw),
            RouteAttribute::MultiPath(hops) => {
                for hop in hops {
                    for h in &hop.attributes {
                        if let RouteAttribute::Gateway(RouteAddress::Inet(gw)) = h {
                            gateways.push(*gw);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    (dest, table, gateways)
}

/// Records every change of `dest/32` in routing table `table` of one host.
#[derive(Debug)]
pub struct RouteWatch {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<RouteChange>>>,
    handle: Option<JoinHandle<()>>,
}

impl RouteWatch {
    /// Starts watching `host`'s route to `dest/32` in `table`.
    pub fn start(host: &Netns, dest: Ipv4Addr, table: u32) -> Result<RouteWatch, String> {
        let mut watcher = Watcher::open(Some(host.as_fd())).map_err(|e| e.to_string())?;
        watcher.watch_routing().map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (flag, into) = (stop.clone(), seen.clone());
        let handle = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let Ok(events) = watcher.wait(Duration::from_millis(100)) else {
                    break;
                };
                let at = Instant::now();
                for e in events {
                    let WatchEvent::Route { removed, route } = e else {
                        continue;
                    };
                    let (d, t, gateways) = decode(&route);
                    if d == Some((dest, 32)) && t == table {
                        into.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(RouteChange {
                                at,
                                removed,
                                gateways,
                            });
                    }
                }
            }
        });
        Ok(RouteWatch {
            stop,
            seen,
            handle: Some(handle),
        })
    }

    /// Every change seen so far, oldest first.
    pub fn changes(&self) -> Vec<RouteChange> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The first change after `since` for which `f` holds, waiting up to
    /// `timeout` for it.
    pub fn first_after(
        &self,
        since: Instant,
        timeout: Duration,
        f: impl Fn(&RouteChange) -> bool,
    ) -> Option<RouteChange> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(c) = self.changes().into_iter().find(|c| c.at >= since && f(c)) {
                return Some(c);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RouteWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
