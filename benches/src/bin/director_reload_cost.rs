//! Where a reload's time goes, in-process: the steps the `director`
//! binary and lvs-director's driver run on SIGHUP, timed one by one on the
//! configurations `director_reload` uses (1,000 virtual servers × 4 real
//! servers with `TCP_CHECK`, two variants differing in 100 real servers).
//!
//! 1. `lvs_keepalived_conf::load` (read, lex, parse, build: the binary's
//!    `load`, run on the runtime thread);
//! 2. `DirectorConfig::try_from` (the conversion);
//! 3. `DirectorConfig::validate` (the driver validates before the core);
//! 4. `Director::apply_config` on a running core (A → B and B → A), and
//!    draining its commands (the probes and IPVS ops the driver carries out).
//!
//! No root, no IPVS: runs on a host or in the VM (`director_reload_cost
//! [services] [reals] [changed] [repeats]`, defaults 1000 4 100 5), printing
//! min/median/max per step. `Director::new` is timed once for reference.

use std::time::{Duration, Instant};

use lvs_benches::{keepalived_conf, min_median_max, ms};
use lvs_director::{Command, Director, DirectorConfig};

fn stats(label: &str, v: &[Duration]) {
    if let Some((a, m, b)) = min_median_max(v) {
        println!(
            "{label:<44} min/median/max {} / {} / {}",
            ms(a),
            ms(m),
            ms(b)
        );
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut num = |d: usize| args.next().and_then(|a| a.parse().ok()).unwrap_or(d);
    let (services, reals, changed, repeats) = (num(1000), num(4), num(100), num(5));
    let dir = std::env::temp_dir().join(format!("lvs-reload-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let paths = [dir.join("a.conf"), dir.join("b.conf")];
    for (v, p) in paths.iter().enumerate() {
        std::fs::write(p, keepalived_conf(services, reals, v as u8, changed)).expect("write");
    }
    let size = std::fs::metadata(&paths[0]).map(|m| m.len()).unwrap_or(0);
    println!(
        "config: {services} virtual servers x {reals} real servers ({size} bytes), variants differ in {changed}; {repeats} repeats"
    );

    let (mut load, mut convert, mut validate) = (Vec::new(), Vec::new(), Vec::new());
    let mut typed: Vec<DirectorConfig> = Vec::new();
    for k in 0..repeats {
        for p in &paths {
            let t = Instant::now();
            let (cfg, _warnings) = lvs_keepalived_conf::load(p).expect("valid configuration");
            load.push(t.elapsed());
            let t = Instant::now();
            let d = DirectorConfig::try_from(&cfg).expect("converts");
            convert.push(t.elapsed());
            let t = Instant::now();
            d.validate().expect("validates");
            validate.push(t.elapsed());
            if k == 0 {
                typed.push(d);
            }
        }
    }
    stats("1. lvs_keepalived_conf::load", &load);
    stats("2. DirectorConfig::try_from", &convert);
    stats("3. DirectorConfig::validate", &validate);

    // The core of a running director: VRRP source fixed (no driver here).
    let node01: std::net::IpAddr = lvs_benches::NODE01.parse().expect("address");
    for c in &mut typed {
        for i in &mut c.instances {
            i.router.primary_address = node01;
            i.source = lvs_director::SourceAddress::Fixed(node01);
        }
    }
    let now = Instant::now();
    let t = Instant::now();
    let mut core = Director::new(now, typed[0].clone()).expect("starts");
    let started = t.elapsed();
    while core.poll_command().is_some() {}
    println!("{:<44} {}", "   (Director::new, once)", ms(started));
    let (mut apply, mut drain) = (Vec::new(), Vec::new());
    let mut ops = 0;
    for k in 0..repeats * 2 {
        let next = typed[(k + 1) % 2].clone();
        let at = now + Duration::from_secs(1 + k as u64);
        let t = Instant::now();
        let s = core.apply_config(at, next).expect("applies");
        apply.push(t.elapsed());
        let t = Instant::now();
        let mut n = 0;
        while let Some(c) = core.poll_command() {
            if let Command::Ipvs(o) = &c {
                ops = o.len().max(ops);
            }
            n += 1;
        }
        drain.push(t.elapsed());
        if k == 0 {
            println!(
                "   first apply_config: {} virtual servers changed, {} IPVS ops, {n} commands",
                s.virtual_servers_changed, s.ipvs_ops
            );
        }
    }
    stats("4. Director::apply_config (A<->B)", &apply);
    stats("   draining its commands", &drain);
    let _ = ops;
    let _ = std::fs::remove_dir_all(&dir);
}
