//! keepalived's own sample configurations, as Debian's keepalived package
//! ships them (`/usr/share/doc/keepalived/samples`), through Debian's
//! `keepalived -t` and `director --check-config`, side by side.
//!
//! Both run in a network namespace holding the interfaces the samples name
//! (eth0..eth3, eth0.1), so a missing interface is not counted as a syntax
//! problem. A sample "keepalived accepts" is one `keepalived -t` passes
//! with exit status 0 (it exits non-zero for warnings too).
//!
//! The rule (issue 12): the director accepts every sample keepalived
//! accepts, and refuses the one with a malformed address
//! (`192.168.100./24` in the rules sample). [`NOT_YET`] lists the samples
//! keepalived accepts that the director still refuses, each with what
//! stops it; the list may only shrink: a listed sample that the director
//! accepts fails the test too, so the list is kept true.
//!
//! Its samples are read from the installed package, never copied here.

use std::path::Path;
use std::process::Output;

use lvs_testenv::{Netns, require_program, require_root};

const DIRECTOR: &str = env!("CARGO_BIN_EXE_director");
const SAMPLES: &str = "/usr/share/doc/keepalived/samples";

/// Samples keepalived 2.2.7 accepts that the director does not yet, and
/// the keyword that stops each (the director's first error names it).
const NOT_YET: &[(&str, &str)] = &[];

/// The sample with a malformed address, and the line holding it.
const MALFORMED: (&str, &str) = ("keepalived.conf.vrrp.rules", "192.168.100./24");
const MALFORMED_LINE: u32 = 11;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A namespace with the interfaces the samples refer to, up.
fn interfaces() -> Netns {
    let ns = Netns::new("ksamp");
    for (i, name) in ["eth0", "eth1", "eth2", "eth3", "eth0.1"]
        .iter()
        .enumerate()
    {
        let peer = format!("kpeer{i}");
        ns.run(&[
            "ip", "link", "add", name, "type", "veth", "peer", "name", &peer,
        ]);
        ns.run(&["ip", "link", "set", name, "up"]);
    }
    ns
}

#[test]
#[ignore = "root: runs keepalived -t and director in a network namespace"]
fn netns_keepalived_samples_accepted_by_director() {
    require_root("the keepalived samples test");
    require_program("keepalived");
    let dir = Path::new(SAMPLES);
    assert!(
        dir.is_dir(),
        "{SAMPLES} is missing: Debian's keepalived package ships the samples there (`cargo xtask setup`)"
    );
    let mut samples: Vec<String> = std::fs::read_dir(dir)
        .expect("read the samples directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("keepalived.conf."))
        .collect();
    samples.sort();
    assert!(
        samples.len() >= 20,
        "expected Debian's ~25 samples, found {}",
        samples.len()
    );

    let ns = interfaces();
    let (mut keepalived_ok, mut director_ok, mut both) = (0, 0, 0);
    let mut problems = Vec::new();
    println!("{:<42} {:>10} {:>9}", "sample", "keepalived", "director");
    for name in &samples {
        let path = dir.join(name).display().to_string();
        let k = ns.try_run(&["keepalived", "-t", "-l", "-f", &path]);
        let d = ns.try_run(&[DIRECTOR, "--check-config", "-f", &path]);
        let (k_ok, d_ok) = (k.status.success(), d.status.success());
        let d_err = stderr(&d);
        println!(
            "{name:<42} {:>10} {:>9}",
            if k_ok { "accepts" } else { "complains" },
            if d_ok { "accepts" } else { "refuses" }
        );
        keepalived_ok += usize::from(k_ok);
        director_ok += usize::from(d_ok);
        both += usize::from(k_ok && d_ok);
        if *name == MALFORMED.0 {
            if d_ok {
                problems.push(format!("{name}: director accepts `{}`", MALFORMED.1));
            } else if !refused_for_malformed_or_unsupported(&d_err) {
                problems.push(format!(
                    "{name}: refused, but not at line {MALFORMED_LINE} (`{}`):\n{d_err}",
                    MALFORMED.1
                ));
            }
            continue;
        }
        let listed = NOT_YET.iter().find(|(n, _)| n == name);
        match (k_ok, d_ok, listed) {
            (true, false, None) => problems.push(format!(
                "{name}: keepalived accepts it, the director refuses it:\n{d_err}"
            )),
            (true, false, Some((_, why))) if !first_error_names(&d_err, why) => {
                problems.push(format!(
                    "{name}: listed as stopped by `{why}`, but the director's first error is another:\n{d_err}"
                ))
            }
            (_, true, Some(_)) => problems.push(format!(
                "{name}: the director accepts it now; take it off NOT_YET"
            )),
            (false, _, Some(_)) => problems.push(format!(
                "{name}: keepalived no longer accepts it; take it off NOT_YET"
            )),
            _ => {}
        }
    }
    println!(
        "{} samples: keepalived accepts {keepalived_ok}, the director {director_ok}, both {both}; \
         not yet accepted by the director: {}",
        samples.len(),
        NOT_YET.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The director's refusal of the rules sample: the malformed address at its
/// line, or, while the director refuses rules altogether, the rules keyword.
fn refused_for_malformed_or_unsupported(err: &str) -> bool {
    let at_line = format!("{}:{MALFORMED_LINE}:", MALFORMED.0);
    let rules_refused = lvs_keepalived_conf::keywords::all().any(|(block, kw, support)| {
        block.is_empty()
            && kw == "static_rules"
            && matches!(support, lvs_keepalived_conf::keywords::Support::Refused(_))
    });
    err.contains(&at_line) || (rules_refused && err.contains("`static_rules`"))
}

fn first_error_names(err: &str, keyword: &str) -> bool {
    err.lines()
        .find(|l| l.contains("error"))
        .is_some_and(|l| l.contains(&format!("`{keyword}")))
}
