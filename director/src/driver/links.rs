//! Link state of every interface, as the core's `handle_link` wants it:
//! administratively up and with carrier.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use lvs_arpguard::{Namespace, Rtnl};
use tokio::sync::mpsc;
use tracing::warn;

/// How often links are read.
const POLL: Duration = Duration::from_millis(100);

/// Carrier of `name`, read from sysfs when sysfs shows this namespace's
/// interface (same ifindex); otherwise assumed present.
fn carrier(name: &str, index: u32) -> bool {
    let base = Path::new("/sys/class/net").join(name);
    let same = std::fs::read_to_string(base.join("ifindex"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        == Some(index);
    if !same {
        return true;
    }
    match std::fs::read_to_string(base.join("carrier")) {
        Ok(s) => s.trim() == "1",
        Err(_) => false,
    }
}

/// Watches links until `changes` is closed; every interface is reported
/// once at first, then on each change. An interface that disappears is
/// reported down.
pub(crate) async fn watch(changes: mpsc::UnboundedSender<(String, bool)>) {
    let mut rtnl = match Rtnl::open(&Namespace::Current) {
        Ok(r) => r,
        Err(e) => {
            warn!(error = %e, "cannot watch links");
            return;
        }
    };
    let mut known: HashMap<String, bool> = HashMap::new();
    let mut tick = tokio::time::interval(POLL);
    loop {
        tick.tick().await;
        let links = match rtnl.links() {
            Ok(l) => l,
            Err(e) => {
                warn!(error = %e, "cannot read links");
                continue;
            }
        };
        let mut seen = HashMap::new();
        for l in links {
            let up = l.up && carrier(&l.name, l.index);
            seen.insert(l.name, up);
        }
        for (name, was) in &known {
            if *was && !seen.contains_key(name) && changes.send((name.clone(), false)).is_err() {
                return;
            }
        }
        for (name, up) in &seen {
            if known.get(name) != Some(up) && changes.send((name.clone(), *up)).is_err() {
                return;
            }
        }
        known = seen;
    }
}
