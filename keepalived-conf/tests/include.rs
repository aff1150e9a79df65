//! `include`: globs relative to the including file, cycles, missing files,
//! and errors that name the include chain.

use std::fs;
use std::path::{Path, PathBuf};

use lvs_keepalived_conf::{self as config, ErrorKind};

/// A fresh scratch directory under the target dir (no extra dependency).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("config_include_{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("conf.d")).expect("create scratch dir");
    dir
}

fn write(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).expect("write fixture");
}

const VS: &str = "virtual_server 10.0.0.1 PORT {\n protocol TCP\n real_server 10.0.0.2 PORT { TCP_CHECK { } }\n}\n";

#[test]
fn glob_include_relative_to_the_including_file_in_sorted_order() {
    let dir = scratch("glob");
    write(
        &dir,
        "main.conf",
        "global_defs { router_id R }\ninclude conf.d/*.conf\n",
    );
    write(&dir, "conf.d/20-b.conf", &VS.replace("PORT", "443"));
    write(&dir, "conf.d/10-a.conf", &VS.replace("PORT", "80"));
    write(&dir, "conf.d/ignored.txt", "garbage {");
    let (cfg, warnings) = config::load(dir.join("main.conf")).expect("loads");
    assert!(warnings.is_empty(), "{warnings:?}");
    let ports: Vec<String> = cfg
        .virtual_servers
        .iter()
        .map(|v| v.key().to_string())
        .collect();
    assert_eq!(ports, vec!["TCP 10.0.0.1:80", "TCP 10.0.0.1:443"]);
}

#[test]
fn include_inside_a_block() {
    let dir = scratch("inblock");
    write(
        &dir,
        "main.conf",
        "virtual_server 10.0.0.1 80 {\n include conf.d/rs.conf\n}\n",
    );
    write(
        &dir,
        "conf.d/rs.conf",
        "real_server 10.0.0.2 80 { weight 4 }\n",
    );
    let (cfg, _) = config::load(dir.join("main.conf")).expect("loads");
    assert_eq!(cfg.virtual_servers[0].real_servers[0].weight, 4);
}

#[test]
fn include_cycle_is_an_error_naming_the_cycle() {
    let dir = scratch("cycle");
    write(&dir, "main.conf", "include conf.d/a.conf\n");
    write(
        &dir,
        "conf.d/a.conf",
        "global_defs { router_id A }\ninclude b.conf\n",
    );
    write(&dir, "conf.d/b.conf", "include ../main.conf\n");
    let errors = config::load(dir.join("main.conf")).expect_err("cycle refused");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert!(matches!(e.kind, ErrorKind::IncludeCycle { .. }), "{e}");
    let loc = e.location.as_ref().expect("location");
    assert!(loc.path().ends_with("conf.d/b.conf"));
    assert_eq!((loc.line, loc.column), (1, 9));
    let text = e.to_string();
    // The chain of includes that led there, innermost first.
    assert!(
        text.contains("a.conf:2:9: note: included from here"),
        "{text}"
    );
    assert!(
        text.contains("main.conf:1:9: note: included from here"),
        "{text}"
    );
    assert!(text.contains("cycle: "), "{text}");
}

#[test]
fn self_include_is_a_cycle() {
    let dir = scratch("self");
    write(&dir, "main.conf", "include main.conf\n");
    let errors = config::load(dir.join("main.conf")).expect_err("refused");
    assert!(matches!(errors[0].kind, ErrorKind::IncludeCycle { .. }));
}

#[test]
fn error_in_included_file_reports_both_places() {
    let dir = scratch("nested_err");
    write(
        &dir,
        "main.conf",
        "global_defs { router_id R }\n\ninclude conf.d/bad.conf\n",
    );
    write(&dir, "conf.d/bad.conf", "\nvrp_instance X {\n}\n");
    let errors = config::load(dir.join("main.conf")).expect_err("refused");
    assert_eq!(errors.len(), 1);
    let text = errors[0].to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].ends_with("conf.d/bad.conf:2:1: error: unknown keyword `vrp_instance` at the top level (did you mean `vrrp_instance`?)"), "{text}");
    assert!(
        lines[1].ends_with("main.conf:3:9: note: included from here"),
        "{text}"
    );
}

#[test]
fn missing_literal_include_is_an_error_but_empty_glob_only_warns() {
    let dir = scratch("missing");
    write(&dir, "main.conf", "include nothere.conf\n");
    let errors = config::load(dir.join("main.conf")).expect_err("refused");
    assert!(
        matches!(&errors[0].kind, ErrorKind::IncludeNotFound { pattern } if pattern == "nothere.conf")
    );
    write(&dir, "main.conf", "include conf.d/*.conf\n");
    let (_, warnings) = config::load(dir.join("main.conf")).expect("loads");
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].message.contains("matches no file"));
}

#[test]
fn unreadable_top_file_is_an_error() {
    let errors = config::load("/nonexistent/keepalived.conf").expect_err("refused");
    assert!(matches!(errors[0].kind, ErrorKind::Io { .. }));
    assert!(
        errors[0]
            .to_string()
            .starts_with("error: cannot read `/nonexistent/keepalived.conf`")
    );
}

#[test]
fn device_files_are_refused_not_read() {
    let dir = scratch("device");
    write(&dir, "main.conf", "include /dev/zero\n");
    let errors = config::load(dir.join("main.conf")).expect_err("refused");
    assert!(
        errors[0].to_string().contains("not a regular file"),
        "{}",
        errors[0]
    );
}
