//! The `director` command line as keepalived users type it (no root, no
//! network): `-t -f FILE` and `--check-config FILE` validate, `--version`.

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
