//! Who may use a running director locally (issue 14): its control socket is
//! mode 0600 and answers only root and the director's own user (SO_PEERCRED),
//! and `--metrics` listens on loopback unless given another address. Runs as
//! root (it switches to `nobody` with setpriv), directors with nothing to
//! run, each in a network namespace of its own; fails without root.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use lvs_examples::cli::director::Cli;

const DIRECTOR: &str = env!("CARGO_BIN_EXE_director");
const NOBODY: &str = "65534";

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

/// The namespace and the temp dir, removed however the test ends; the
/// director is killed first.
struct Setup {
    ns: String,
    dir: PathBuf,
    child: Option<std::process::Child>,
}

impl Setup {
    /// A namespace `NAME-PID` (loopback up) and a temp dir of `mode` holding
    /// a configuration with nothing to run but `router_id`; returns the
    /// configuration's path too.
    fn new(name: &str, mode: u32, router_id: &str) -> (Setup, PathBuf) {
        let pid = std::process::id();
        let setup = Setup {
            ns: format!("{name}-{pid}"),
            dir: std::env::temp_dir().join(format!("director-{name}-{pid}")),
            child: None,
        };
        let out = run(Command::new("ip").args(["netns", "add", &setup.ns]));
        assert!(out.status.success(), "ip netns add: {}", text(&out));
        let lo = ["netns", "exec", &setup.ns, "ip", "link", "set", "lo", "up"];
        assert!(run(Command::new("ip").args(lo)).status.success());
        std::fs::create_dir_all(&setup.dir).unwrap();
        std::fs::set_permissions(&setup.dir, std::fs::Permissions::from_mode(mode)).unwrap();
        let conf = setup.dir.join("empty.conf");
        std::fs::write(
            &conf,
            format!("global_defs {{\n    router_id {router_id}\n}}\n"),
        )
        .unwrap();
        (setup, conf)
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `director status --control SOCK`, as root or (`as_nobody`) as uid 65534.
fn status(sock: &Path, as_nobody: bool) -> Output {
    let sock = sock.to_str().unwrap();
    if as_nobody {
        let ids = [
            "--reuid",
            NOBODY,
            "--regid",
            NOBODY,
            "--clear-groups",
            DIRECTOR,
        ];
        run(Command::new("setpriv")
            .args(ids)
            .args(["status", "--control", sock]))
    } else {
        run(Command::new(DIRECTOR).args(["status", "--control", sock]))
    }
}

#[test]
fn only_root_or_the_directors_user_is_answered_and_metrics_stay_on_loopback() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test needs root (it starts a director in a network namespace and uses setpriv)"
    );
    // Reachable by path for nobody: only the socket's own mode keeps it out.
    let (mut setup, conf) = Setup::new("localaccess", 0o755, "T1");
    let (sock, pid_file, log) = (
        setup.dir.join("d.sock"),
        setup.dir.join("d.pid"),
        setup.dir.join("d.log"),
    );
    let args = [
        "netns",
        "exec",
        &setup.ns,
        DIRECTOR,
        "-f",
        conf.to_str().unwrap(),
        "--control",
        sock.to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--metrics",
        "9100",
    ];
    let stderr = std::fs::File::create(&log).unwrap();
    setup.child = Some(
        Command::new("ip")
            .args(args)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while !sock.exists() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(sock.exists(), "no control socket: {}", log_text());
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "control socket mode {mode:o}");

    let out = status(&sock, false);
    assert_eq!(out.status.code(), Some(0), "root: {}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("director T1 (pid "));

    // The mode keeps nobody from connecting at all.
    let out = status(&sock, true);
    assert_eq!(out.status.code(), Some(3), "nobody: {}", text(&out));
    assert!(text(&out).contains("Permission denied"), "{}", text(&out));

    // Loosened by hand, the socket lets nobody connect: the peer check refuses.
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = status(&sock, true);
    assert_eq!(out.status.code(), Some(3), "nobody: {}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "{}: refused: uid 65534 is not root or the director's user (uid 0)",
            sock.display()
        )
    );
    assert!(out.stdout.is_empty(), "no status for nobody");
    // Root is still answered.
    let out = status(&sock, false);
    assert_eq!(out.status.code(), Some(0), "root: {}", text(&out));

    // `--metrics 9100` is loopback, and the only TCP listener there is.
    let ss = ["netns", "exec", &setup.ns, "ss", "-Hltn"];
    let out = run(Command::new("ip").args(ss));
    let listening: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().nth(3).unwrap_or_default().to_string())
        .collect();
    assert_eq!(listening, ["127.0.0.1:9100"], "{}", text(&out));

    let child = setup.child.as_mut().unwrap();
    rustix::process::kill_process(
        rustix::process::Pid::from_child(child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0), "{}", log_text());
    setup.child = None;
    let logged = log_text();
    let warned = logged
        .lines()
        .find(|l| l.contains("refused: uid 65534"))
        .unwrap_or_default();
    assert!(warned.contains("WARN"), "refusal logged at warn: {logged}");
}

/// Without `--metrics` nothing listens; a bare port is loopback; any other
/// address is only what was typed.
#[test]
fn metrics_bind_loopback_unless_an_address_is_given() {
    let parse = |extra: &[&str]| {
        let args = ["director", "-f", "x.conf"].iter().chain(extra);
        Cli::try_parse_from(args).map(|c| c.metrics)
    };
    assert_eq!(parse(&[]).unwrap(), None);
    assert_eq!(
        parse(&["--metrics", "9100"]).unwrap(),
        Some("127.0.0.1:9100".parse().unwrap())
    );
    assert_eq!(
        parse(&["--metrics", "[::]:9100"]).unwrap(),
        Some("[::]:9100".parse().unwrap())
    );
    let err = parse(&["--metrics", "somewhere"]).unwrap_err().to_string();
    assert!(
        err.contains("`somewhere` is neither PORT nor ADDR:PORT"),
        "{err}"
    );
}

/// A director run by an ordinary user answers that user (and root), not
/// only root: the peer check is "root or the director's own euid".
#[test]
fn a_director_run_as_nobody_answers_nobody_and_root() {
    assert!(rustix::process::geteuid().is_root(), "this test needs root");
    // nobody's director writes its pid file and socket here.
    let (mut setup, conf) = Setup::new("localaccess-own", 0o777, "T2");
    let (sock, pid_file) = (setup.dir.join("d.sock"), setup.dir.join("d.pid"));
    let (ns, conf, s, p) = (
        setup.ns.clone(),
        conf.to_str().unwrap().to_string(),
        sock.to_str().unwrap().to_string(),
        pid_file.to_str().unwrap().to_string(),
    );
    let args = [
        "netns",
        "exec",
        &ns,
        "setpriv",
        "--reuid",
        NOBODY,
        "--regid",
        NOBODY,
        "--clear-groups",
        DIRECTOR,
        "-f",
        &conf,
        "--control",
        &s,
        "--pid-file",
        &p,
    ];
    setup.child = Some(
        Command::new("ip")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while !sock.exists() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let meta = std::fs::metadata(&sock).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 65534);
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    for as_nobody in [true, false] {
        let out = status(&sock, as_nobody);
        assert_eq!(
            out.status.code(),
            Some(0),
            "nobody={as_nobody}: {}",
            text(&out)
        );
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("director T2 (pid "));
    }
}

/// keepalived's `script_user`: notify and tracked scripts run as that user
/// (here `nobody`), unless a script names its own (`user root`).
#[test]
#[ignore = "needs root and network namespaces (cargo xtask test)"]
fn netns_scripts_run_as_script_user_or_their_own() {
    let (mut setup, conf) = Setup::new("scriptuser", 0o777, "SU");
    let dir = setup.dir.clone();
    let record = dir.join("record");
    std::fs::write(
        &record,
        "#!/bin/sh\nd=$(dirname \"$0\")\nid -u > \"$d/$1.uid.tmp\" && mv \"$d/$1.uid.tmp\" \"$d/$1.uid\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = record.display();
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  router_id SU\n  script_user nobody\n}}\n\
             vrrp_script chk {{\n  script \"{r} chk\"\n  interval 1\n}}\n\
             vrrp_script chk_root {{\n  script \"{r} chkroot\"\n  interval 1\n  user root\n}}\n\
             vrrp_instance VI_1 {{\n  state MASTER\n  interface d0\n  virtual_router_id 9\n  priority 100\n\
             \x20 advert_int 1\n  virtual_ipaddress {{\n    10.9.9.100/24\n  }}\n\
             \x20 track_script {{\n    chk\n    chk_root\n  }}\n  notify_master \"{r} master\"\n}}\n"
        ),
    )
    .unwrap();
    let ns = setup.ns.clone();
    for cmd in [
        // No dummy module on every host: a veth pair, both ends here.
        vec!["link", "add", "d0", "type", "veth", "peer", "name", "d1"],
        vec!["link", "set", "d1", "up"],
        vec!["link", "set", "d0", "up"],
        vec!["addr", "add", "10.9.9.1/24", "dev", "d0"],
    ] {
        let out = run(Command::new("ip").args(["-n", &ns]).args(&cmd));
        assert!(out.status.success(), "ip {cmd:?}: {}", text(&out));
    }
    let ctl = dir.join("su.sock");
    let pid = dir.join("su.pid");
    let child = Command::new("ip")
        .args(["netns", "exec", &ns, DIRECTOR, "-f"])
        .arg(&conf)
        .arg("--control")
        .arg(&ctl)
        .arg("--pid-file")
        .arg(&pid)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("su.log")).unwrap())
        .spawn()
        .unwrap();
    setup.child = Some(child);
    let read = |name: &str| std::fs::read_to_string(dir.join(format!("{name}.uid"))).ok();
    let t0 = Instant::now();
    while ["chk", "chkroot", "master"]
        .iter()
        .any(|n| read(n).is_none())
    {
        let log = std::fs::read_to_string(dir.join("su.log")).unwrap_or_default();
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "scripts did not all run:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        read("chk").unwrap().trim(),
        NOBODY,
        "a tracked script under script_user"
    );
    assert_eq!(
        read("chkroot").unwrap().trim(),
        "0",
        "a tracked script with `user root`"
    );
    assert_eq!(
        read("master").unwrap().trim(),
        NOBODY,
        "notify_master under script_user"
    );
}
