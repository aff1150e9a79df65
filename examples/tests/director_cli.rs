//! The `director` command line as keepalived users type it (no root, no
//! network): `-t -f FILE` and `--check-config FILE` validate, `--version`;
//! the control socket and pid file of a director with nothing to run.

use std::process::{Command, Output};

const DIRECTOR: &str = env!("CARGO_BIN_EXE_director");
const NODE01: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lab/node01.conf");

fn director(args: &[&str]) -> Output {
    Command::new(DIRECTOR).args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn both_check_config_forms_validate_and_apply_nothing() {
    for args in [
        &["-t", "-f", NODE01][..],
        &["--check-config", NODE01],
        &["-f", NODE01, "--check-config"],
    ] {
        let out = director(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{NODE01}: configuration valid\n"),
            "{args:?}"
        );
    }
}

#[test]
fn a_bad_file_is_refused_with_its_location_either_way() {
    let dir = std::env::temp_dir().join(format!("director-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.conf");
    std::fs::write(&bad, "vrp_instance VI_1 {\n}\n").unwrap();
    let bad = bad.to_str().unwrap();
    for args in [&["-t", "-f", bad][..], &["--check-config", bad]] {
        let out = director(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("{bad}:1:1: error: unknown keyword `vrp_instance`")),
            "{err}"
        );
        assert!(err.contains("nothing was applied"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_different_files_are_a_usage_error() {
    let out = director(&["--check-config", NODE01, "-f", "/nonexistent.conf"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("two configuration files"),
        "{}",
        text(&out)
    );
}

#[test]
fn version_prints_the_package_version() {
    let out = director(&["--version"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("director {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_config_needs_one_file() {
    let out = director(&["-t"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("-f FILE is required"), "{}", text(&out));
    // The same file given both ways is one file.
    let out = director(&["--check-config", NODE01, "-f", NODE01]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn status_without_a_director_is_an_environment_error() {
    let out = director(&["status", "--json", "--control", "/nonexistent/d.sock"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("cannot reach the director at /nonexistent/d.sock"),
        "{}",
        text(&out)
    );
}

/// Sends `request` (nothing at all for an old client) and reads the answer.
fn ask(sock: &std::path::Path, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(sock).unwrap();
    s.write_all(request).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Kills the director if the test fails before it stops it (a child left
/// running holds the test's output pipes open).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A director with nothing to run (no VRRP instance, no virtual server:
/// no privileges needed) answers the control protocol, holds its pid file
/// against a second one, and removes both files on SIGTERM.
#[test]
fn the_control_socket_answers_text_or_json_and_the_pid_file_admits_one() {
    let dir = std::env::temp_dir().join(format!("director-ctl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("empty.conf");
    std::fs::write(&conf, "global_defs {\n    router_id T1\n}\n").unwrap();
    let (sock, pid_file) = (dir.join("d.sock"), dir.join("d.pid"));
    let args = [
        "-f",
        conf.to_str().unwrap(),
        "--control",
        sock.to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
    ];
    let mut child = Running(Command::new(DIRECTOR).args(args).spawn().unwrap());
    let start = std::time::Instant::now();
    while !sock.exists() && start.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = child.0.id();
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        pid.to_string()
    );
    let head = format!("director T1 (pid {pid}, config {})", conf.display());
    let text_view = ask(&sock, b"status\n");
    assert!(text_view.starts_with(&head), "{text_view}");
    assert!(text_view.contains("(no vrrp_instance)"), "{text_view}");
    // An old client's bare request gets the text too.
    assert_eq!(ask(&sock, b""), text_view);
    let json: serde_json::Value = serde_json::from_str(&ask(&sock, b"status json\n")).unwrap();
    assert_eq!(json["router_id"], "T1");
    assert_eq!(json["pid"], pid);
    assert_eq!(json["ipvs"], serde_json::Value::Null);
    // The client side of the same protocol.
    let out = director(&["status", "--json", "--control", sock.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"router_id\":\"T1\""));
    // A second director on the same pid file refuses before anything else.
    let other = dir.join("other.sock");
    let mut second = args.map(str::to_string);
    second[3] = other.to_str().unwrap().to_string();
    let out = Command::new(DIRECTOR).args(&second).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "director: another director is running here (pid {pid}, pid file {}); \
             stop it first, or give this one a --pid-file and --control of its own",
            pid_file.display()
        )
    );
    assert!(!other.exists(), "no control socket was bound");
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child.0),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
    assert!(
        !sock.exists() && !pid_file.exists(),
        "files removed on exit"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `enable_script_security` is checked by `--check-config` as it is at
/// start: a tracked script anyone may rewrite is refused, by path, and the
/// same file with the script made safe validates.
#[test]
fn check_config_applies_script_security() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("lvs-cli-sec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("check.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    let conf = dir.join("sec.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{ enable_script_security script_user root }}
vrrp_script chk {{ script \"{}\" interval 1 }}
vrrp_instance V {{ interface eth0 virtual_router_id 1 virtual_ipaddress {{ 192.0.2.1 }}
  track_script {{ chk }} }}
",
            script.display()
        ),
    )
    .unwrap();
    let conf = conf.to_str().unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = director(&["--check-config", conf]);
    let said = text(&out);
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("script security") && said.contains(script.to_str().unwrap()),
        "{said}"
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = director(&["--check-config", conf]);
    // Safe only when every directory above it is root's and not
    // writable by others, as the temp directory here is (sticky /tmp).
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}
