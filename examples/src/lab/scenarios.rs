//! The whole seed lab with real directors: `director` (ours) or Debian's
//! keepalived on NODE01/NODE02 with the lab's configs, `backend` on the
//! backends, and every LAB.md item checked from the client, with the
//! outage and detection times measured at the client.
//!
//! The faults behind the timing figures are repeated ([`Env::repeats`]
//! times) and placed at a fixed phase of what they disturb: NODE01's link is
//! cut [`ALIGN_DELAY`] after one of its adverts is seen on the segment, a
//! backend's server is killed [`ALIGN_DELAY`] after NODE01's health check
//! reached it. One sample at a random phase varies by up to a whole advert
//! interval or `delay_loop`; aligned samples compare the implementations.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use lvs_testenv::{LAB_IFACE, Netns};

use super::harness::{
    ALIGN_DELAY, Env, Kind, NODE01, NODE02, Prober, Running, addr, boot, checks_after, converge,
    dns_answers, dns_key, failed, gets, holds_vip, http_key, ms_after, neigh_mac, next_fresh,
    phase, poll_both, poll_vip, real_servers, secs, served_again, settled_master_advert,
    sleep_until, verdict, wait_until, watch_or_note,
};
use super::probe::longest_outage;
use super::report::Figures;
use super::seed::Verdict;
use super::timeline::{Fault, Timeline};
use super::topology::{SeedLab, VIP, start_dns, start_http};
use super::watch::{Filter, LinkSwitch, Watch};

/// Every LAB.md item with `kind` directing on both nodes.
pub fn full_run(env: &Env, kind: Kind) -> (Vec<Verdict>, Figures) {
    let mut out = Vec::new();
    let mut fig = Figures::default();
    println!(
        "\n=== the seed lab with {} on NODE01 and NODE02",
        kind.name()
    );
    let Some(r) = boot(env, [kind, kind], &mut out) else {
        return (out, fig);
    };
    if !converge(&r, &mut out, kind.name()) {
        return (out, fig);
    }
    let lab = &r.lab;

    // 4. Round robin.
    let names = gets(&lab.frontal, 4);
    let alternating =
        names.iter().all(|n| n == "www1" || n == "www2") && names.windows(2).all(|w| w[0] != w[1]);
    verdict(
        &mut out,
        "4. round robin from FRONTAL",
        alternating,
        names.join(" "),
    );

    // 2/3. ARP for the VIP answered by the master only.
    arp_owner(lab, &mut out, &lab.node01, "NODE01");

    // 9. DNS over UDP, sticky per client (sh).
    lab.frontal
        .run(&["ip", "addr", "add", "172.20.0.79/24", "dev", LAB_IFACE]);
    let a = dns_answers(&lab.frontal, Ipv4Addr::new(172, 20, 0, 80), 6);
    let b = dns_answers(&lab.frontal, Ipv4Addr::new(172, 20, 0, 79), 6);
    let sticky =
        |v: &[String]| !v.is_empty() && v.iter().all(|x| x == &v[0] && !x.starts_with("failed"));
    verdict(
        &mut out,
        "9. DNS via UDP 53, sticky per client (sh)",
        sticky(&a) && sticky(&b),
        format!("client .80: {}; client .79: {}", a.join(" "), b.join(" ")),
    );

    // 6. Ghost address on the IPVS interface.
    ghost(lab, &mut out);

    // 8. A dead HTTP backend is removed, then re-added.
    let n = env.repeats.max(1);
    let each = |what: &str, secs: u64| {
        phase(
            &format!("{}: {what}, {n} time(s)", kind.name()),
            Duration::from_secs(secs * n as u64),
        );
    };
    each("WWW2's HTTP server killed and restarted", 10);
    http_backend_flap(&r, env.repeats, &mut out, &mut fig);

    // 9. The DNS backend serving FRONTAL stops: queries move.
    if let Some(first) = a.first() {
        each("a DNS server killed and restarted", 22);
        dns_backend_stop(&r, env.repeats, &mut out, &mut fig, first);
    }

    // 7. NODE01 cut off: NODE02 takes over; 5. the client's ARP entry moves
    // by gratuitous ARP, without a ping.
    each("NODE01's link cut and restored", 15);
    link_cut(&r, env.repeats, &mut out, &mut fig);

    // Graceful stop: priority 0 hands over at once.
    phase(
        &format!("{}: NODE01's director stopped", kind.name()),
        Duration::from_secs(6),
    );
    sigterm_handover(&r, &mut out, &mut fig);
    (out, fig)
}

fn arp_owner(lab: &SeedLab, out: &mut Vec<Verdict>, owner: &Netns, owner_name: &str) {
    let hosts: Vec<Ipv4Addr> = [81, 82, 85, 86]
        .iter()
        .map(|l| Ipv4Addr::new(172, 20, 0, *l))
        .collect();
    let mut opts = lvs_arpguard::probe::ProbeOptions::default();
    opts.window = Duration::from_millis(800);
    opts.identify = hosts;
    let owner_mac = owner.mac(LAB_IFACE);
    match lvs_arpguard::probe::probe(Some(lab.frontal.as_fd()), LAB_IFACE, VIP, &opts) {
        Ok(report) => {
            let macs: Vec<String> = report.macs().iter().map(|m| m.to_string()).collect();
            let pass = macs.len() == 1 && macs[0].eq_ignore_ascii_case(&owner_mac);
            verdict(
                out,
                "3. ARP for the VIP answered by the master only",
                pass,
                format!(
                    "answering MACs {:?}; {owner_name} is {owner_mac}",
                    report
                        .answers
                        .iter()
                        .map(|a| format!("{} ({:?})", a.mac, a.host))
                        .collect::<Vec<_>>()
                ),
            );
        }
        Err(e) => verdict(
            out,
            "3. ARP for the VIP answered by the master only",
            false,
            e.to_string(),
        ),
    }
}

fn ghost(lab: &SeedLab, out: &mut Vec<Verdict>) {
    lab.node01.run(&[
        "ip",
        "addr",
        "add",
        "172.20.0.97/24",
        "dev",
        LAB_IFACE,
        "valid_lft",
        "300",
        "preferred_lft",
        "300",
    ]);
    let spec = lvs_arpguard::audit::GhostAuditSpec::new(
        LAB_IFACE,
        vec![
            (IpAddr::V4(Ipv4Addr::new(172, 20, 0, 81)), 24),
            (IpAddr::V4(VIP), 24),
        ],
        vec![IpAddr::V4(VIP)],
    );
    let found = lvs_arpguard::Rtnl::open(Some(lab.node01.as_fd()))
        .and_then(|mut rtnl| lvs_arpguard::audit::audit_ghosts(&mut rtnl, &spec));
    let _ = lab
        .node01
        .try_run(&["ip", "addr", "del", "172.20.0.97/24", "dev", LAB_IFACE]);
    match found {
        Ok(findings) => {
            let hit = findings
                .iter()
                .find(|f| f.address.addr == IpAddr::V4(Ipv4Addr::new(172, 20, 0, 97)));
            verdict(
                out,
                "6. ghost (DHCP) address on the IPVS interface reported",
                hit.is_some() && findings.len() == 1,
                findings
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
                    .join(" | "),
            );
        }
        Err(e) => verdict(out, "6. ghost address reported", false, e.to_string()),
    }
}

fn http_backend_flap(r: &Running, repeats: usize, out: &mut Vec<Verdict>, fig: &mut Figures) {
    let lab = &r.lab;
    let www2 = addr("172.20.0.86:80");
    let checks = watch_or_note(
        &lab.www2,
        Filter::TcpSyn {
            from: NODE01,
            port: 80,
        },
        "HTTP backend",
    );
    for i in 0..repeats.max(1) {
        let prober = Prober::start(&lab.frontal);
        let mut vip = Vec::new();
        poll_both(&mut vip, lab);
        std::thread::sleep(Duration::from_millis(200));
        // NODE01's TCP_CHECK has just connected: kill the server right after.
        let check = next_fresh(checks.as_ref(), Duration::from_secs(15));
        if let Some(c) = check {
            sleep_until(c.at + ALIGN_DELAY);
        }
        let killed_at = Instant::now();
        lab.www2.kill(r.http[1].get());
        let removed = wait_until(Duration::from_secs(60), || {
            !real_servers(&lab.node01, &http_key()).contains(&www2)
        });
        let seen_checks = checks.as_ref().map(Watch::drain);
        let seen = checks_after(seen_checks.as_deref(), killed_at);
        poll_both(&mut vip, lab);
        let requests = prober.finish();
        let (failed_now, requested) = (failed(&requests.samples), requests.samples.len());
        let mut t = Timeline::new(Fault::HttpKill, i, killed_at);
        t.checks = check
            .into_iter()
            .chain(seen_checks.unwrap_or_default())
            .collect();
        t.vip = vip;
        t.requests = Some(requests);
        fig.timelines.push(t);
        fig.http_removal.push(removed);
        fig.http_failed_requests.push(failed_now);
        if i == 0 {
            let after = gets(&lab.frontal, 4);
            verdict(
                out,
                "8. WWW2's HTTP stopped: removed, traffic all on WWW1",
                removed.is_some() && after.iter().all(|n| n == "www1"),
                format!(
                    "removed after {}, {} of {} client requests failed meanwhile; then {}",
                    secs(removed),
                    failed_now,
                    requested,
                    after.join(" ")
                ),
            );
        }
        r.http[1].set(start_http(&lab.www2, "www2", "0.0.0.0:80"));
        let back = wait_until(Duration::from_secs(60), || {
            real_servers(&lab.node01, &http_key()).contains(&www2)
        });
        fig.http_readd.push(back);
        if i == 0 {
            let names = gets(&lab.frontal, 4);
            verdict(
                out,
                "8. WWW2's HTTP restarted: re-added",
                back.is_some() && names.iter().any(|n| n == "www2"),
                format!("re-added after {}; then {}", secs(back), names.join(" ")),
            );
        }
        println!(
            "  HTTP backend killed {}/{} ({}): removed after {} (NODE01's checks at {seen}), {failed_now} failed requests; re-added after {}",
            i + 1,
            repeats.max(1),
            ms_after(check, killed_at),
            secs(removed),
            secs(back)
        );
    }
}

fn dns_backend_stop(
    r: &Running,
    repeats: usize,
    out: &mut Vec<Verdict>,
    fig: &mut Figures,
    serving: &str,
) {
    let lab = &r.lab;
    let (idx, host, ip) = if serving == "www1" {
        (0, &lab.www1, "172.20.0.85:53")
    } else {
        (1, &lab.www2, "172.20.0.86:53")
    };
    let name = if idx == 0 { "www1" } else { "www2" };
    let other = if serving == "www1" { "www2" } else { "www1" };
    let gone = addr(ip);
    let checks = watch_or_note(
        host,
        Filter::Udp {
            from: NODE01,
            port: 53,
        },
        "DNS backend",
    );
    for i in 0..repeats.max(1) {
        let mut vip = Vec::new();
        poll_both(&mut vip, lab);
        // delay_loop 5 plus connect_timeout 3: a check within 15 s.
        let check = next_fresh(checks.as_ref(), Duration::from_secs(15));
        if let Some(c) = check {
            sleep_until(c.at + ALIGN_DELAY);
        }
        let killed_at = Instant::now();
        host.kill(r.dns[idx].get());
        let removed = wait_until(Duration::from_secs(60), || {
            !real_servers(&lab.node01, &dns_key()).contains(&gone)
        });
        let seen_checks = checks.as_ref().map(Watch::drain);
        let seen = checks_after(seen_checks.as_deref(), killed_at);
        poll_both(&mut vip, lab);
        fig.dns_removal.push(removed);
        let mut t = Timeline::new(Fault::DnsKill, i, killed_at);
        t.checks = check
            .into_iter()
            .chain(seen_checks.unwrap_or_default())
            .collect();
        t.vip = vip;
        fig.timelines.push(t);
        if i == 0 {
            let now = dns_answers(&lab.frontal, Ipv4Addr::new(172, 20, 0, 80), 4);
            verdict(
                out,
                &format!(
                    "9. {}'s DNS stopped: queries move to {other}",
                    serving.to_uppercase()
                ),
                removed.is_some() && now.iter().all(|n| n == other),
                format!("removed after {}; then {}", secs(removed), now.join(" ")),
            );
        }
        r.dns[idx].set(start_dns(host, name));
        let back = wait_until(Duration::from_secs(60), || {
            real_servers(&lab.node01, &dns_key()).contains(&gone)
        });
        fig.dns_readd.push(back);
        println!(
            "  DNS backend killed {}/{} ({}): removed after {} (NODE01's checks at {seen}); re-added after {}",
            i + 1,
            repeats.max(1),
            ms_after(check, killed_at),
            secs(removed),
            secs(back)
        );
    }
}

fn link_cut(r: &Running, repeats: usize, out: &mut Vec<Verdict>, fig: &mut Figures) {
    let lab = &r.lab;
    let adverts = watch_or_note(&lab.frontal, Filter::Vrrp, "VRRP");
    let switch = match LinkSwitch::open(&lab.node01, LAB_IFACE) {
        Ok(s) => Some(s),
        Err(e) => {
            println!("  (link switch in NODE01: {e}; cutting with `ip link`)");
            None
        }
    };
    let set_link = |up: bool| match switch.as_ref().map(|s| s.set(up)) {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            println!("  (link switch: {e}; cutting with `ip link`)");
            lab.lan.set_link(&lab.node01, up);
        }
        None => lab.lan.set_link(&lab.node01, up),
    };
    for i in 0..repeats.max(1) {
        let prober = Prober::start(&lab.frontal);
        let mut vip = Vec::new();
        poll_both(&mut vip, lab);
        std::thread::sleep(Duration::from_millis(500));
        let mut seen_adverts = Vec::new();
        let advert =
            settled_master_advert(adverts.as_ref(), Duration::from_secs(10), &mut seen_adverts);
        if let Some(a) = advert {
            sleep_until(a.at + ALIGN_DELAY);
        }
        let cut_at = Instant::now();
        set_link(false);
        let took = wait_until(Duration::from_secs(30), || {
            poll_vip(&mut vip, &lab.node02, "NODE02")
        });
        // Keep probing until the client is served again, then a little more.
        let served = served_again(&lab.frontal, Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(300));
        poll_both(&mut vip, lab);
        let requests = prober.finish();
        let samples = &requests.samples;
        let outage = longest_outage(samples);
        seen_adverts.extend(adverts.as_ref().map(Watch::drain).unwrap_or_default());
        let first_backup = seen_adverts
            .iter()
            .find(|s| s.src == NODE02 && s.at > cut_at)
            .copied();
        let gap = match (advert, first_backup) {
            (Some(a), Some(b)) => Some(b.at.duration_since(a.at)),
            _ => None,
        };
        fig.link_cut_outage.push(served.map(|_| outage));
        fig.link_cut_advert_gap.push(gap);
        if i == 0 {
            verdict(
                out,
                "7. NODE01 cut off: NODE02 takes over",
                took.is_some() && served.is_some(),
                format!(
                    "NODE02 holds the VIP after {}; client outage {:.2}s ({} failed requests)",
                    secs(took),
                    outage.as_secs_f64(),
                    failed(samples)
                ),
            );
            let mac = neigh_mac(&lab.frontal);
            let node02 = lab.node02.mac(LAB_IFACE);
            verdict(
                out,
                "5. no ping needed: FRONTAL's ARP entry for the VIP moved to NODE02 by itself",
                mac.eq_ignore_ascii_case(&node02),
                format!("FRONTAL's entry {mac}, NODE02 {node02}"),
            );
            arp_owner(lab, out, &lab.node02, "NODE02");
        }
        // Heal: NODE01 (priority 100, preempt) takes the VIP back.
        set_link(true);
        let back = wait_until(Duration::from_secs(30), || {
            holds_vip(&lab.node01) && !holds_vip(&lab.node02)
        });
        fig.link_restored_preempt.push(back);
        if i == 0 {
            verdict(
                out,
                "7. NODE01 back: it preempts, one VIP holder",
                back.is_some(),
                format!("after {}", secs(back)),
            );
        }
        // Let the HTTP path settle before the next cut or scenario.
        let _ = served_again(&lab.frontal, Duration::from_secs(20));
        println!(
            "  NODE01 link cut {}/{} ({}): client outage {} ({} failed requests); NODE01's last advert -> NODE02's first {}; NODE02 holds the VIP after {}; NODE01 back after {}",
            i + 1,
            repeats.max(1),
            match advert {
                Some(a) => format!(
                    "{} ms after an advert",
                    cut_at.saturating_duration_since(a.at).as_millis()
                ),
                None => "unaligned: no advert seen".to_string(),
            },
            secs(served.map(|_| outage)),
            failed(samples),
            secs(gap),
            secs(took),
            secs(back)
        );
        let mut t = Timeline::new(Fault::LinkCut, i, cut_at);
        t.adverts = seen_adverts;
        t.vip = vip;
        t.requests = Some(requests);
        fig.timelines.push(t);
    }
}

fn sigterm_handover(r: &Running, out: &mut Vec<Verdict>, fig: &mut Figures) {
    let lab = &r.lab;
    let prober = Prober::start(&lab.frontal);
    let mut vip = Vec::new();
    poll_both(&mut vip, lab);
    std::thread::sleep(Duration::from_millis(500));
    let stop_at = Instant::now();
    let stopped = lab
        .node01
        .signal(r.directors[0].1, libc::SIGTERM, Duration::from_secs(10));
    let took = wait_until(Duration::from_secs(30), || {
        poll_vip(&mut vip, &lab.node02, "NODE02")
    });
    let _ = served_again(&lab.frontal, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    let node01_holds = poll_vip(&mut vip, &lab.node01, "NODE01");
    poll_vip(&mut vip, &lab.node02, "NODE02");
    let requests = prober.finish();
    let outage = longest_outage(&requests.samples);
    fig.sigterm_outage.push(Some(outage));
    verdict(
        out,
        "7. graceful stop of NODE01's director: priority 0 hands over",
        stopped && took.is_some() && !node01_holds,
        format!(
            "stopped: {stopped}; NODE02 holds the VIP after {}; NODE01 still holds it: {node01_holds}; client outage {:.2}s",
            secs(took),
            outage.as_secs_f64()
        ),
    );
    let mut t = Timeline::new(Fault::Sigterm, 0, stop_at);
    t.vip = vip;
    t.requests = Some(requests);
    fig.timelines.push(t);
}

/// A mixed pair: `kinds[0]` on NODE01, `kinds[1]` on NODE02.
pub fn mixed_run(env: &Env, kinds: [Kind; 2]) -> Vec<Verdict> {
    let mut out = Vec::new();
    let label = format!(
        "{} on NODE01, {} on NODE02",
        kinds[0].name(),
        kinds[1].name()
    );
    println!("\n=== mixed pair: {label}");
    let Some(r) = boot(env, kinds, &mut out) else {
        return out;
    };
    if !converge(&r, &mut out, &label) {
        return out;
    }
    let lab = &r.lab;
    lab.lan.set_link(&lab.node01, false);
    let took = wait_until(Duration::from_secs(30), || holds_vip(&lab.node02));
    let names = gets(&lab.frontal, 2);
    verdict(
        &mut out,
        &format!("mixed ({label}): failover to NODE02"),
        took.is_some() && names.iter().all(|n| n == "www1" || n == "www2"),
        format!(
            "NODE02 holds the VIP after {}; client got {}",
            secs(took),
            names.join(" ")
        ),
    );
    lab.lan.set_link(&lab.node01, true);
    let back = wait_until(Duration::from_secs(30), || {
        holds_vip(&lab.node01) && !holds_vip(&lab.node02)
    });
    verdict(
        &mut out,
        &format!("mixed ({label}): NODE01 preempts back, one holder"),
        back.is_some(),
        format!("after {}", secs(back)),
    );
    out
}

/// Established connections across a failover, with the IPVS connection-sync
/// daemon configured (`examples/lab/sync/`): a request begun through NODE01
/// is finished after NODE02 has taken over, on the same TCP connection.
pub fn sync_run(env: &Env, kind: Kind) -> (Vec<Verdict>, Option<bool>) {
    use std::io::{Read, Write};
    let mut out = Vec::new();
    println!(
        "\n=== connection sync: {} on both nodes with lvs_sync_daemon",
        kind.name()
    );
    let env = Env {
        conf_dir: env.conf_dir.join("sync"),
        ..env.clone()
    };
    let Some(r) = boot(&env, [kind, kind], &mut out) else {
        return (out, None);
    };
    let label = format!("{} with sync daemon", kind.name());
    if !converge(&r, &mut out, &label) {
        return (out, None);
    }
    let lab = &r.lab;
    let vip = SocketAddr::new(VIP.into(), 80);
    // Three packets through the master (SYN, ACK, the first request line)
    // reach the kernel's default sync threshold.
    let held = lab
        .frontal
        .enter(|| -> std::io::Result<std::net::TcpStream> {
            let mut s = std::net::TcpStream::connect_timeout(&vip, Duration::from_secs(2))?;
            s.write_all(b"GET / HTTP/1.0\r\n")?;
            Ok(s)
        });
    let mut stream = match held {
        Ok(s) => s,
        Err(e) => {
            verdict(
                &mut out,
                "established TCP connection survives failover",
                false,
                e.to_string(),
            );
            return (out, None);
        }
    };
    // Sync messages are flushed within about two seconds.
    std::thread::sleep(Duration::from_secs(3));
    let synced =
        String::from_utf8_lossy(&lab.node02.try_run(&["cat", "/proc/net/ip_vs_conn"]).stdout)
            .lines()
            .count()
            .saturating_sub(1);
    lab.lan.set_link(&lab.node01, false);
    let took = wait_until(Duration::from_secs(30), || holds_vip(&lab.node02));
    std::thread::sleep(Duration::from_millis(500));
    let mut body = String::new();
    let finished = stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .and_then(|_| stream.write_all(b"Host: lab\r\n\r\n"))
        .and_then(|_| {
            let mut resp = String::new();
            stream.read_to_string(&mut resp)?;
            body = resp
                .split_once("\r\n\r\n")
                .map(|(_, b)| b.trim().to_string())
                .unwrap_or_default();
            Ok(())
        });
    let survived = finished.is_ok() && (body == "www1" || body == "www2");
    verdict(
        &mut out,
        &format!("established TCP connection survives failover ({label})"),
        survived,
        format!(
            "NODE02 held {synced} synced connection(s) before the cut; took over after {}; the held connection then got {:?}",
            secs(took),
            match &finished {
                Ok(()) => body.clone(),
                Err(e) => format!("error: {e}"),
            }
        ),
    );
    lab.lan.set_link(&lab.node01, true);
    (out, Some(survived))
}
