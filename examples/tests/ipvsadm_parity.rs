//! Our `ipvsadm` against Debian's ipvsadm 1.31, byte for byte, on real
//! IPVS tables (kernel VM only).
//!
//! Each test builds one table twice, each in its own fresh network
//! namespace: once with Debian's `/usr/sbin/ipvsadm`, once with ours. Then:
//! - format parity: in the Debian-programmed namespace, every listing
//!   (`-Ln`, `--stats`, `--rate`, `--exact`, `-Sn`, `--timeout`, `--daemon`,
//!   …) printed by both tools must be identical, exit status included;
//! - writer parity: Debian's listings of the namespace we programmed must
//!   equal its listings of the one it programmed (as sets of lines: see
//!   [`canonical`]).

use lvs_testenv::{Netns, require_root};

const DEBIAN: &str = "/usr/sbin/ipvsadm";
const OURS: &str = env!("CARGO_BIN_EXE_ipvsadm");

/// Listings compared on every table.
const LISTINGS: &[&[&str]] = &[
    &["-Ln"],
    &["-L", "-n", "--stats"],
    &["-L", "-n", "--rate"],
    &["-L", "-n", "--exact"],
    &["-L", "-n", "--stats", "--exact"],
    &["-L", "-n", "--rate", "--exact"],
    &["-L", "-n", "--thresholds"],
    &["-L", "-n", "--persistent-conn"],
    &["-L", "-n", "--tun-info"],
    &["-L", "-n", "--nosort"],
    &["-S", "-n"],
    &["-L", "--timeout"],
    &["-L", "--daemon"],
    &["-L", "-n", "-c"],
];

/// What one command printed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    status: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn show(o: &Outcome) -> String {
    format!(
        "status {}\n--- stdout ---\n{}--- stderr ---\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs `tool` once per argument list inside `ns`, all from one shell (the
/// VM is software-emulated: every `ip netns exec` costs).
fn batch(ns: &Netns, tool: &str, runs: &[Vec<String>]) -> Vec<Outcome> {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ipvsadm-parity-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    let mut script = String::new();
    for (i, args) in runs.iter().enumerate() {
        let words: Vec<String> = args.iter().map(|a| quote(a)).collect();
        let base = dir.join(i.to_string());
        let base = base.display();
        script.push_str(&format!(
            "{} {} >{base}.out 2>{base}.err; echo $? >{base}.rc\n",
            quote(tool),
            words.join(" ")
        ));
    }
    let o = ns.try_run(&["sh", "-c", &script]);
    assert!(o.status.success(), "batch shell failed: {o:?}");
    let read =
        |i: usize, ext: &str| std::fs::read(dir.join(format!("{i}.{ext}"))).unwrap_or_default();
    let out = (0..runs.len())
        .map(|i| Outcome {
            status: String::from_utf8_lossy(&read(i, "rc"))
                .trim()
                .parse()
                .unwrap_or(-1),
            stdout: read(i, "out"),
            stderr: read(i, "err"),
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(String::from).collect()
}

fn run(ns: &Netns, tool: &str, args: &[&str]) -> Outcome {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    batch(ns, tool, &[args]).remove(0)
}

/// Programs `commands` with `tool` after the `setup` commands.
fn program(tool: &str, setup: &[&[&str]], commands: &[&str]) -> Netns {
    let ns = Netns::new("adm");
    for s in setup {
        ns.run(s);
    }
    let runs: Vec<Vec<String>> = commands.iter().map(|c| words(c)).collect();
    for (c, o) in commands.iter().zip(batch(&ns, tool, &runs)) {
        assert!(
            o.status == 0,
            "{tool} {c} failed in {}:\n{}",
            ns.name(),
            show(&o)
        );
    }
    ns
}

/// A listing's lines, sorted. Writer parity compares these: the kernel
/// dumps services in hash-bucket order, and the fwmark hash mixes in the
/// namespace's address, while ipvsadm's comparison (differences in 32-bit
/// signed arithmetic) is not transitive for far-apart marks or addresses —
/// so the same table can legitimately list in another order in another
/// namespace. Format parity (same namespace) stays byte-exact.
fn canonical(text: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
    lines.sort();
    lines
}

/// Builds the table with both tools and checks format and writer parity.
fn parity(setup: &[&[&str]], commands: &[&str], extra: &[&[&str]]) {
    require_root("the ipvsadm parity tests");
    assert!(
        std::path::Path::new(DEBIAN).is_file(),
        "Debian's ipvsadm is missing at {DEBIAN}: `apt-get install -y ipvsadm`"
    );
    let debian_ns = program(DEBIAN, setup, commands);
    let ours_ns = program(OURS, setup, commands);
    let listings: Vec<Vec<String>> = LISTINGS
        .iter()
        .chain(extra)
        .map(|l| l.iter().map(|s| s.to_string()).collect())
        .collect();
    let want = batch(&debian_ns, DEBIAN, &listings);
    let got = batch(&debian_ns, OURS, &listings);
    let written = batch(&ours_ns, DEBIAN, &listings);
    let mut failures = Vec::new();
    for (i, listing) in listings.iter().enumerate() {
        let conns = listing.iter().any(|a| a == "-c");
        assert!(
            want[i].status == 0,
            "Debian's ipvsadm {listing:?} failed:\n{}",
            show(&want[i])
        );
        if got[i].stdout != want[i].stdout || (got[i].status == 0) != (want[i].status == 0) {
            failures.push(format!(
                "format parity, ipvsadm {}:\n=== Debian ===\n{}=== ours ===\n{}",
                listing.join(" "),
                show(&want[i]),
                show(&got[i])
            ));
        }
        if !conns && canonical(&written[i].stdout) != canonical(&want[i].stdout) {
            failures.push(format!(
                "writer parity (table programmed by our tool), Debian's ipvsadm {}:\n=== Debian-programmed ===\n{}=== ours-programmed ===\n{}",
                listing.join(" "),
                show(&want[i]),
                show(&written[i])
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} listings differ:\n{}",
        failures.len(),
        listings.len(),
        failures.join("\n")
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_empty_table() {
    parity(&[], &[], &[]);
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_seed_lab_table() {
    parity(
        &[],
        &[
            "-A -t 172.20.0.83:80 -s rr",
            "-a -t 172.20.0.83:80 -r 172.20.0.85:80 -g -w 1",
            "-a -t 172.20.0.83:80 -r 172.20.0.86:80 -g -w 1",
            "-A -u 172.20.0.83:53 -s sh -p 50",
            "-a -u 172.20.0.83:53 -r 172.20.0.85:53 -g -w 1",
            "-a -u 172.20.0.83:53 -r 172.20.0.86:53 -g -w 1",
        ],
        &[
            &["-L", "-n", "-t", "172.20.0.83:80"],
            &["-L", "-n", "--stats", "-u", "172.20.0.83:53"],
        ],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_tcp_masquerade_ports_and_weights() {
    parity(
        &[],
        &[
            "-A -t 10.1.0.1:80 -s wlc",
            "-a -t 10.1.0.1:80 -r 192.168.1.10:8080 -m -w 3",
            "-a -t 10.1.0.1:80 -r 192.168.1.11:8081 -m -w 0",
            "-a -t 10.1.0.1:80 -r 192.168.1.9 -m -w 65535",
            "-a -t 10.1.0.1:80 -r 192.168.1.12:80 -m -w 100000",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_udp_one_packet_scheduling() {
    parity(
        &[],
        &[
            "-A -u 10.2.0.1:53 -s rr -o",
            "-a -u 10.2.0.1:53 -r 10.2.0.11 -g",
            "-a -u 10.2.0.1:53 -r 10.2.0.12 -g -w 2",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_sctp_service() {
    parity(
        &[],
        &[
            "-A --sctp-service 10.3.0.1:3868 -s lc",
            "-a --sctp-service 10.3.0.1:3868 -r 10.3.0.11 -g",
            "-a --sctp-service 10.3.0.1:3868 -r 10.3.0.12:3869 -m -w 4",
        ],
        &[&["-L", "-n", "--sctp-service", "10.3.0.1:3868"]],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_fwmark_ipv4() {
    parity(
        &[],
        &[
            "-A -f 1 -s wrr",
            "-a -f 1 -r 10.4.0.11 -g -w 5",
            "-a -f 1 -r 10.4.0.12 -m -w 2",
            "-a -f 1 -r 10.4.0.10:8080 -m -w 1",
            "-A -f 2 -s lblc -p 30",
            "-a -f 2 -r 10.4.0.20 -g",
        ],
        &[&["-L", "-n", "-f", "1"]],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_fwmark_ipv6_and_large_mark() {
    parity(
        &[],
        &[
            "-A -f 5 -6 -s sed",
            "-a -f 5 -6 -r 2001:db8::11 -g",
            "-a -f 5 -6 -r [2001:db8::12]:8080 -m -w 3",
            "-A -f 3000000000 -s nq",
            "-a -f 3000000000 -r 10.5.0.1 -g",
            "-A -f 2147483648 -s rr",
            "-A -f 77 -s dh -p 600 -M 255.255.255.0",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_ipv6_services() {
    parity(
        &[],
        &[
            "-A -t [2001:db8::1]:80 -s rr",
            "-a -t [2001:db8::1]:80 -r [2001:db8::a]:80 -m",
            "-a -t [2001:db8::1]:80 -r [2001:db8:0:1::b]:8080 -m -w 7",
            "-A -u [fd00::1:2:3:4]:53 -s sh -b sh-port",
            "-a -u [fd00::1:2:3:4]:53 -r [fd00::2]:53 -g",
            "-A -t [::1.2.3.4]:443 -s lc",
        ],
        &[&["-L", "-n", "-t", "[2001:db8::1]:80"]],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_ipv6_persistence_netmask() {
    parity(
        &[],
        &[
            "-A -t [2001:db8::5]:443 -s wlc -p 1800 -M 64",
            "-a -t [2001:db8::5]:443 -r [2001:db8::50]:443 -g",
            "-A -u [2001:db8::5]:53 -s rr -p",
            "-a -u [2001:db8::5]:53 -r [2001:db8::51]:53 -g",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_ipv4_persistence_netmasks() {
    parity(
        &[],
        &[
            "-A -t 10.6.0.1:0 -s rr -p",
            "-a -t 10.6.0.1:0 -r 10.6.0.11 -g",
            "-A -t 10.6.0.1:443 -s wrr -p 3600 -M 255.255.0.0",
            "-a -t 10.6.0.1:443 -r 10.6.0.12 -g -w 2",
            "-A -u 10.6.0.1:500 -s lblcr -p 86400 -M 0.0.0.0",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_scheduler_flags() {
    parity(
        &[],
        &[
            "-A -t 10.7.0.1:80 -s sh -b sh-fallback,sh-port",
            "-a -t 10.7.0.1:80 -r 10.7.0.11 -g",
            "-A -t 10.7.0.2:80 -s mh -b mh-port",
            "-a -t 10.7.0.2:80 -r 10.7.0.12 -g",
            "-A -t 10.7.0.3:80 -s rr -b flag-1,flag-3",
            "-A -t 10.7.0.4:80 -s sh -b sh-fallback -p 120",
            "-A -u 10.7.0.5:53 -s mh -b mh-fallback,mh-port -o",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_every_scheduler() {
    let scheds = [
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
    ];
    let cmds: Vec<String> = scheds
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            [
                format!("-A -t 10.8.0.{}:80 -s {s}", i + 1),
                format!("-a -t 10.8.0.{}:80 -r 10.8.1.{} -m -w {i}", i + 1, i + 1),
            ]
        })
        .collect();
    let cmds: Vec<&str> = cmds.iter().map(String::as_str).collect();
    parity(&[], &cmds, &[]);
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_thresholds() {
    parity(
        &[],
        &[
            "-A -t 10.9.0.1:80 -s wlc",
            "-a -t 10.9.0.1:80 -r 10.9.0.11 -m -x 1000 -y 200",
            "-a -t 10.9.0.1:80 -r 10.9.0.12 -m -x 2147483647",
            "-a -t 10.9.0.1:80 -r 10.9.0.13 -m -x 50 -y 5 -w 9",
            "-e -t 10.9.0.1:80 -r 10.9.0.13 -m -y 6 -x 60 -w 8",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_ipip_tunnels() {
    parity(
        &[],
        &[
            "-A -t 10.10.0.1:80 -s rr",
            "-a -t 10.10.0.1:80 -r 10.10.0.11 -i",
            "-a -t 10.10.0.1:80 -r 10.10.0.12 -i -w 4 --tun-type ipip",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_gue_tunnels() {
    parity(
        &[],
        &[
            "-A -u 10.11.0.1:53 -s rr",
            "-a -u 10.11.0.1:53 -r 10.11.0.11 -i --tun-type gue --tun-port 6080",
            "-a -u 10.11.0.1:53 -r 10.11.0.12 -i --tun-type gue --tun-port 6081 --tun-csum",
            "-a -u 10.11.0.1:53 -r 10.11.0.13 -i --tun-type gue --tun-port 65535 --tun-remcsum",
            "-a -u 10.11.0.1:53 -r 10.11.0.14 -i --tun-type gue --tun-port 1 --tun-nocsum",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_gre_tunnels() {
    parity(
        &[],
        &[
            "-A -t 10.12.0.1:443 -s wrr",
            "-a -t 10.12.0.1:443 -r 10.12.0.11 -i --tun-type gre",
            "-a -t 10.12.0.1:443 -r 10.12.0.12 -i --tun-type gre --tun-csum -w 2",
            "-a -t 10.12.0.1:443 -r 10.12.0.13 -i --tun-type gre --tun-nocsum -w 3",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_mixed_family_tunnels() {
    parity(
        &[],
        &[
            "-A -t 10.13.0.1:80 -s rr",
            "-a -t 10.13.0.1:80 -r 2001:db8::13 -i",
            "-a -t 10.13.0.1:80 -r 10.13.0.12 -i",
            "-A -t [2001:db8::1300]:80 -s rr",
            "-a -t [2001:db8::1300]:80 -r 10.13.0.20 -i --tun-type gue --tun-port 5555",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_local_node_destination() {
    parity(
        &[&["ip", "addr", "add", "10.14.0.5/32", "dev", "lo"]],
        &[
            "-A -t 10.14.0.1:80 -s rr",
            "-a -t 10.14.0.1:80 -r 127.0.0.1:80 -m",
            "-a -t 10.14.0.1:80 -r 10.14.0.5:80 -g",
            "-a -t 10.14.0.1:80 -r 10.14.0.6:80 -g",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_sort_order_quirks() {
    parity(
        &[],
        &[
            "-A -t 192.168.0.1:80 -s rr",
            "-A -t 10.0.0.1:80 -s rr",
            "-A -t 172.16.0.1:80 -s rr",
            "-A -t 200.0.0.1:80 -s rr",
            "-A -t 10.0.0.1:8080 -s rr",
            "-A -u 10.0.0.1:80 -s rr",
            "-A -f 9 -s rr",
            "-A -f 4000000000 -s rr",
            "-A -t [2001:db8::1]:80 -s rr",
            "-A -t [fe80::1]:80 -s rr",
            "-A -t [::1]:80 -s rr",
            "-a -t 10.0.0.1:80 -r 200.1.1.1 -m",
            "-a -t 10.0.0.1:80 -r 10.1.1.1 -m",
            "-a -t 10.0.0.1:80 -r 150.1.1.1 -m",
            "-a -t 10.0.0.1:80 -r 10.1.1.1:81 -m",
            "-a -t 10.0.0.1:80 -r 10.1.1.1:79 -m",
            "-a -t 10.0.0.1:80 -r 1.1.1.1 -m",
            "-a -t 10.0.0.1:80 -r 255.1.1.1 -m",
            "-a -t [2001:db8::1]:80 -r [3000::2]:80 -m",
            "-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m",
            "-a -t [2001:db8::1]:80 -r [::2]:80 -m",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_edit_and_delete() {
    parity(
        &[],
        &[
            "-A -t 10.15.0.1:80 -s rr",
            "-a -t 10.15.0.1:80 -r 10.15.0.11 -g",
            "-a -t 10.15.0.1:80 -r 10.15.0.12 -g",
            "-a -t 10.15.0.1:80 -r 10.15.0.13 -g",
            "-E -t 10.15.0.1:80 -s wlc -p 60",
            "-e -t 10.15.0.1:80 -r 10.15.0.12 -g -w 9",
            "-d -t 10.15.0.1:80 -r 10.15.0.13",
            "-A -t 10.15.0.2:80 -s rr",
            "-D -t 10.15.0.2:80",
            "-A -u 10.15.0.3:53",
            "-Z",
            "-Z -u 10.15.0.3:53",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_flush() {
    parity(
        &[],
        &[
            "-A -t 10.16.0.1:80 -s rr",
            "-a -t 10.16.0.1:80 -r 10.16.0.11 -g",
            "-C",
            "-A -t 10.16.0.2:80 -s lc",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_timeouts() {
    parity(&[], &["--set 1000 100 200", "--set 0 30 0"], &[]);
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_sync_daemons() {
    parity(
        &[
            &["ip", "link", "add", "sync0", "type", "dummy"],
            &["ip", "link", "set", "sync0", "up", "multicast", "on"],
            &["ip", "addr", "add", "10.17.0.1/24", "dev", "sync0"],
        ],
        &[
            "--start-daemon master --mcast-interface sync0 --syncid 7 --sync-maxlen 1000 --mcast-group 239.1.2.3 --mcast-port 9000 --mcast-ttl 3",
            "--start-daemon backup --mcast-interface sync0 --syncid 8",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_sync_daemon_stopped() {
    parity(
        &[
            &["ip", "link", "add", "sync0", "type", "dummy"],
            &["ip", "link", "set", "sync0", "up", "multicast", "on"],
        ],
        &[
            "--start-daemon master --mcast-interface sync0",
            "--start-daemon backup --mcast-interface sync0 --syncid 2",
            "--stop-daemon master",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_persistence_engine_sip() {
    parity(
        &[],
        &[
            "-A -u 10.18.0.1:5060 -s rr -p 120 --pe sip",
            "-a -u 10.18.0.1:5060 -r 10.18.0.11 -g",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_restore_from_save() {
    require_root("the ipvsadm parity tests");
    // Debian's save of a varied table, restored by our tool, saves the same.
    let commands = [
        "-A -t 10.19.0.1:80 -s rr -p 60 -M 255.255.255.0",
        "-a -t 10.19.0.1:80 -r 10.19.0.11 -g -w 2",
        "-A -u 10.19.0.1:53 -s mh -b mh-port -o",
        "-a -u 10.19.0.1:53 -r 10.19.0.12 -i --tun-type gue --tun-port 6080 --tun-csum",
        "-A -f 3 -6 -s wlc",
        "-a -f 3 -6 -r 2001:db8::3 -m -w 0",
    ];
    let src = program(DEBIAN, &[], &commands);
    let saved = run(&src, DEBIAN, &["-S", "-n"]);
    assert!(saved.status == 0, "{}", show(&saved));
    let dst = Netns::new("adm");
    let script = format!(
        "{OURS} -R <<'EOF'\n{}EOF\n",
        String::from_utf8_lossy(&saved.stdout)
    );
    let o = dst.try_run(&["sh", "-c", &script]);
    assert!(o.status.success(), "restore failed: {o:?}");
    let again = run(&dst, DEBIAN, &["-S", "-n"]);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&saved.stdout)
    );
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_counters_from_traffic() {
    require_root("the ipvsadm parity tests");
    lvs_testenv::require_program("curl");
    lvs_testenv::require_program("python3");
    // A local-node service: the VIP on lo, the real server is this host.
    let ns = program(
        DEBIAN,
        &[&["ip", "addr", "add", "10.20.0.1/32", "dev", "lo"]],
        &[
            "-A -t 10.20.0.1:8000 -s rr",
            "-a -t 10.20.0.1:8000 -r 10.20.0.1:8000 -g",
        ],
    );
    let dir = std::env::temp_dir().join(format!("ipvsadm-www-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    std::fs::write(dir.join("index.html"), "x".repeat(20_000)).expect("page");
    let dir_s = dir.display().to_string();
    ns.spawn(&[
        "python3",
        "-m",
        "http.server",
        "8000",
        "--bind",
        "10.20.0.1",
        "--directory",
        &dir_s,
    ]);
    let mut fetched = 0;
    for _ in 0..100 {
        let o = ns.try_run(&[
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "--max-time",
            "5",
            "http://10.20.0.1:8000/",
        ]);
        if o.status.success() {
            fetched += 1;
            if fetched == 5 {
                break;
            }
        } else {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    assert_eq!(fetched, 5, "the local web server never answered");
    // Back to back and retried: a late packet of the fetches above may still
    // move a counter between two reads.
    let mut stats = String::new();
    for listing in [
        "-L -n --stats",
        "-L -n --stats --exact",
        "-L -n --stats --nosort",
        "-S -n",
    ] {
        let debian = back_to_back(&ns, listing);
        if listing == "-L -n --stats --exact" {
            stats = debian;
        }
    }
    let conns: u64 = stats
        .lines()
        .nth(3)
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    assert!(conns >= 5, "IPVS counted no connections:\n{stats}");
    live_rates_and_connections(&ns);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Rates and the connection table while traffic flows. Both change under
/// the reader (the estimator every 2 s, the expiry column every second), so
/// each comparison runs the two tools back to back in one shell and is
/// retried when a tick fell between them; a listing that never matches in
/// ten tries fails.
fn live_rates_and_connections(ns: &Netns) {
    let traffic = ns.spawn(&[
        "sh",
        "-c",
        "while :; do curl -s -o /dev/null --max-time 2 http://10.20.0.1:8000/; sleep 0.05; done",
    ]);
    // Two estimator periods, so every rate column has a value.
    std::thread::sleep(std::time::Duration::from_millis(4500));
    for listing in ["-L -n --rate", "-L -n --rate --exact"] {
        let debian = back_to_back(ns, listing);
        let service = debian
            .lines()
            .find(|l| l.starts_with("TCP"))
            .unwrap_or_default();
        assert!(
            service.split_whitespace().skip(2).any(|w| w != "0"),
            "rates are all zero, nothing compared:\n{debian}"
        );
    }
    // The connections stay listed (TIME_WAIT, 2 min) once traffic stops,
    // and no new entry appears between the two reads.
    ns.kill(traffic);
    std::thread::sleep(std::time::Duration::from_millis(500));
    for listing in ["-L -n -c", "-L -n -c --exact"] {
        let debian = back_to_back(ns, listing);
        let conns = debian
            .lines()
            .filter(|l| l.starts_with("TCP") && l.contains("10.20.0.1:8000"))
            .count();
        assert!(conns >= 3, "too few live connections listed:\n{debian}");
    }
}

/// Runs Debian's ipvsadm and ours with `listing` back to back in one shell
/// until their outputs are byte-identical (ten tries: a counter, rate or
/// expiry tick may fall between the two reads); returns Debian's output.
///
/// A connection listing (`-c`) of a busy table almost always straddles
/// some entry's one-second expiry tick; after ten tries its last pair is
/// accepted when it differs only there: same lines, same order, each of
/// our expiry values at most 2 s below Debian's (ours reads second).
fn back_to_back(ns: &Netns, listing: &str) -> String {
    let script = format!("{DEBIAN} {listing}; echo @@@@; {OURS} {listing}");
    let mut last = (String::new(), String::new());
    for _ in 0..10 {
        let out = ns.run(&["sh", "-c", &script]);
        let (debian, ours) = out.split_once("@@@@\n").unwrap_or((&out, ""));
        if debian == ours {
            return debian.to_string();
        }
        last = (debian.to_string(), ours.to_string());
    }
    if listing.contains("-c") && same_but_expiry(&last.0, &last.1) {
        return last.0;
    }
    panic!(
        "ipvsadm {listing} never matched in ten tries:\n=== Debian ===\n{}=== ours ===\n{}",
        last.0, last.1
    );
}

/// `mm:ss` in seconds.
fn expiry_secs(field: &str) -> Option<i64> {
    let (m, s) = field.split_once(':')?;
    Some(m.parse::<i64>().ok()? * 60 + s.parse::<i64>().ok()?)
}

/// Connection listings equal except for expiry values that moved by 0..=2 s.
fn same_but_expiry(debian: &str, ours: &str) -> bool {
    let (d, o): (Vec<&str>, Vec<&str>) = (debian.lines().collect(), ours.lines().collect());
    d.len() == o.len()
        && d.iter().zip(&o).all(|(d, o)| {
            if d == o {
                return true;
            }
            // Same columns; the expiry field sits at bytes 4..9 ("TCP 01:50  ").
            let (Some(de), Some(oe)) = (d.get(4..9), o.get(4..9)) else {
                return false;
            };
            let (Some(ds), Some(os)) = (expiry_secs(de), expiry_secs(oe)) else {
                return false;
            };
            d[..4] == o[..4] && d[9..] == o[9..] && (0..=2).contains(&(ds - os))
        })
}

#[test]
fn expiry_tolerance_accepts_only_expiry_ticks() {
    let d = "TCP 01:50  TIME_WAIT   10.20.0.1:56256    10.20.0.1:8000     10.20.0.1:8000";
    let tick = d.replace("01:50", "01:49");
    assert!(same_but_expiry(d, d));
    assert!(same_but_expiry(d, &tick));
    assert!(!same_but_expiry(&tick, d), "ours reads second: never later");
    assert!(!same_but_expiry(d, &d.replace("01:50", "01:40")));
    assert!(!same_but_expiry(
        d,
        &tick.replace("TIME_WAIT", "ESTABLISHED")
    ));
    assert!(!same_but_expiry(d, &d.replace("56256", "56257")));
    assert!(!same_but_expiry(d, ""));
}
