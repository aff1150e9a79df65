//! `track_file` / `vrrp_track_process`: parsed, checked with file:line:col,
//! and converted to lvs-director's tracked files and processes.

mod common;

use std::time::Duration;

use lvs_director::{DirectorConfig, ParamMatch};
use lvs_vrrp::TrackKind;

const INSTANCE: &str = "vrrp_instance VI_1 {
 interface eth0
 virtual_router_id 1
 priority 100
 virtual_ipaddress { 192.0.2.1 }
";

fn with_instance(top: &str, inner: &str) -> String {
    format!("{top}{INSTANCE}{inner}\n}}\n")
}

#[test]
fn track_file_parses_and_converts_to_a_value_track() {
    let text = with_instance(
        "track_file maint {\n file /run/maint\n weight -10 reverse\n init_file 3 overwrite\n}\n\
         vrrp_track_file old {\n file \"/run/old\"\n}\n",
        " track_file {\n  maint\n  old weight 0 reverse\n }",
    );
    let (cfg, warnings) = common::ok(&text);
    assert!(warnings.is_empty(), "{warnings:?}");
    let f = &cfg.track_files[0];
    assert_eq!((f.name.as_str(), f.weight, f.reverse), ("maint", -10, true));
    assert_eq!(f.path, std::path::PathBuf::from("/run/maint"));
    assert_eq!(f.init, Some((3, true)));
    assert_eq!(cfg.track_files[1].weight, 1, "keepalived's default weight");

    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    let file = typed.track_file("maint").expect("file");
    assert_eq!(file.init.map(|i| (i.value, i.overwrite)), Some((3, true)));
    let inst = &typed.instances[0];
    let mut i = inst.clone();
    i.router.primary_address = "192.0.2.10".parse().unwrap();
    let router = typed.router_config_of(&i);
    let maint = router
        .tracks
        .iter()
        .find(|t| t.name == "file:maint")
        .expect("track");
    assert_eq!(maint.weight, -10);
    assert_eq!(maint.kind, TrackKind::Value { reverse: true });
    let old = router
        .tracks
        .iter()
        .find(|t| t.name == "file:old")
        .expect("track");
    assert_eq!(
        (old.weight, old.kind),
        (0, TrackKind::Value { reverse: true })
    );
}

#[test]
fn track_process_parses_and_converts() {
    let text = with_instance(
        "vrrp_track_process web {\n process /usr/sbin/nginx -g\n param_match partial\n \
         weight 20\n quorum 2\n quorum_max 4\n delay 0.5\n terminate_delay 2\n}\n\
         vrrp_track_process none {\n process sshd\n quorum_max 0\n}\n",
        " track_process {\n  web weight -30\n  none\n }",
    );
    let (cfg, _) = common::ok(&text);
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    let web = typed.track_process("web").expect("web");
    assert_eq!(web.process.name, "/usr/sbin/nginx");
    assert_eq!(web.process.params, vec!["-g".to_string()]);
    assert_eq!(web.process.param_match, ParamMatch::Partial);
    assert!(web.process.full_command);
    assert_eq!((web.weight, web.quorum, web.quorum_max), (20, 2, 4));
    assert_eq!(web.fork_delay, Duration::from_millis(500));
    assert_eq!(web.terminate_delay, Duration::from_secs(2));
    let none = typed.track_process("none").expect("none");
    assert_eq!(
        (none.quorum, none.quorum_max),
        (0, 0),
        "quorum_max 0: none may run"
    );
    assert!(!none.process.full_command);
    assert_eq!(none.weight, 0, "keepalived's default: no quorum is a FAULT");
    assert!(none.in_quorum(0) && !none.in_quorum(1));
    let inst = &typed.instances[0];
    assert_eq!(inst.track_processes[0].weight, Some(-30));
    assert_eq!(inst.track_processes[1].weight, None);
}

#[test]
fn bad_values_are_errors_at_their_place() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "track_file f {\n file /x\n weight 255\n}\n",
            "",
            "t.conf:3:9: error: invalid value `255` for `weight`",
        ),
        (
            "track_file f {\n file /x\n weight 5 sideways\n}\n",
            "",
            "t.conf:3:11: error: invalid value `sideways` for `weight`",
        ),
        ("track_file f {\n weight 5\n}\n", "", "t.conf:1:1: error:"),
        (
            "track_file f {\n file /x\n init_file many\n}\n",
            "",
            "t.conf:3:12: error: invalid value `many` for `init_file`",
        ),
        (
            "vrrp_track_process p {\n process x\n quorum 0\n}\n",
            "",
            "t.conf:3:9: error: invalid value `0` for `quorum`",
        ),
        (
            "vrrp_track_process p {\n process x\n quorum 3\n quorum_max 2\n}\n",
            "",
            "t.conf:1:1: error: vrrp_track_process `p`: quorum_max 2 is less than quorum 3",
        ),
        (
            "vrrp_track_process p {\n process x\n delay 0\n}\n",
            "",
            "t.conf:3:8: error: invalid value `0` for `delay`",
        ),
        (
            "vrrp_track_process p {\n process x\n param_match some\n}\n",
            "",
            "t.conf:3:14: error: invalid value `some` for `param_match`",
        ),
        (
            "vrrp_track_process p {\n quorum 1\n}\n",
            "",
            "t.conf:1:1: error:",
        ),
        (
            "track_file f {\n file /x\n}\n",
            " track_file {\n  f weight 300\n }",
            "t.conf:10:12: error: invalid value `300` for `track_file weight`",
        ),
        (
            "track_file f {\n file /x\n}\n",
            " track_file {\n  g\n }",
            "t.conf:10:3: error: vrrp_instance `VI_1` tracks `g`, which no track_file defines",
        ),
        (
            "",
            " track_process {\n  nope\n }",
            "t.conf:7:3: error: vrrp_instance `VI_1` tracks `nope`, which no vrrp_track_process defines",
        ),
        (
            "track_file f {\n file /x\n}\ntrack_file f {\n file /y\n}\n",
            " track_file {\n  f\n }",
            "t.conf:4:1: error: duplicate track_file `f`",
        ),
    ];
    for (top, inner, want) in cases {
        let text = with_instance(top, inner);
        let errors = common::refused(&text);
        let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            shown.iter().any(|e| e.starts_with(want)),
            "want {want}\n{text}\ngot {shown:#?}"
        );
    }
}

#[test]
fn sync_group_tracking_goes_to_every_member_with_weight_0_unless_kept() {
    let members = "vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 2\n priority 100\n \
                   virtual_ipaddress { 192.0.2.2 }\n}\n";
    let group = |extra: &str| {
        format!(
            "track_file f {{\n file /x\n weight 5\n}}\nvrrp_track_process p {{\n process x\n weight 3\n}}\n\
             {INSTANCE}}}\n{members}vrrp_sync_group G {{\n group {{ VI_1 VI_2 }}\n track_file {{ f }}\n \
             track_process {{ p }}\n{extra}}}\n"
        )
    };
    let (cfg, warnings) = common::ok(&group(""));
    assert!(
        warnings
            .iter()
            .any(|w| w.message.contains("track_file `f`")),
        "{warnings:?}"
    );
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    for inst in &typed.instances {
        assert_eq!(inst.track_files[0].weight, Some(0), "{}", inst.name);
        assert_eq!(inst.track_processes[0].weight, Some(0), "{}", inst.name);
    }
    let (cfg, _) = common::ok(&group(" sync_group_tracking_weight\n"));
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    for inst in &typed.instances {
        assert_eq!(inst.track_files[0].file, "f");
        assert_eq!(inst.track_files[0].weight, None);
        assert_eq!(inst.track_processes[0].process, "p");
    }
}

// keepalived's FILE_CHECK: a real server's checker fed by a track_file.

fn with_file_check(top: &str, check: &str) -> String {
    format!(
        "{top}virtual_server 192.0.2.1 80 {{\n protocol TCP\n lb_kind DR\n real_server 192.0.2.10 80 {{\n  weight 3\n  \
         FILE_CHECK {{\n{check}\n  }}\n }}\n}}\n"
    )
}

const MAINT: &str = "track_file maint {\n file /run/maint\n weight -2 reverse\n}\n";

#[test]
fn file_check_parses_and_converts() {
    let text = with_file_check(
        MAINT,
        "   track_file maint\n   weight 1000 reverse\n  }\n  FILE_CHECK {\n   track_file maint",
    );
    let (cfg, warnings) = common::ok(&text);
    assert!(warnings.is_empty(), "{warnings:?}");
    let rs = &cfg.virtual_servers[0].real_servers[0];
    assert_eq!(rs.file_checks.len(), 2);
    assert_eq!(rs.file_checks[0].track_file, "maint");
    assert_eq!(rs.file_checks[0].weight, Some((1000, true)));
    assert_eq!(rs.file_checks[1].weight, None, "the file's weight");
    assert!(rs.checks.is_empty(), "not a runner probe");

    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    let rs = &typed.virtual_servers[0].real_servers[0];
    assert!(rs.probes.is_empty());
    let spec = typed.track_file("maint").expect("file");
    let own = &rs.file_checks[0];
    assert_eq!(
        (own.file.as_str(), own.resolve(spec)),
        ("maint", (1000, true))
    );
    // No weight line: the track_file block's weight and reverse.
    assert_eq!(rs.file_checks[1].resolve(spec), (-2, true));
    // `weight N` alone is not reversed (keepalived: reverse absent is false).
    let text = with_file_check(MAINT, "   track_file maint\n   weight -7");
    let (cfg, _) = common::ok(&text);
    assert_eq!(
        cfg.virtual_servers[0].real_servers[0].file_checks[0].weight,
        Some((-7, false))
    );
    // A file only real servers follow is still watched by the director.
    assert!(
        lvs_director::Director::new(std::time::Instant::now(), typed)
            .expect("starts")
            .poll_commands_contains_watch()
    );
}

trait WatchCheck {
    fn poll_commands_contains_watch(self) -> bool;
}

impl WatchCheck for lvs_director::Director {
    fn poll_commands_contains_watch(mut self) -> bool {
        std::iter::from_fn(|| self.poll_command()).any(
            |c| matches!(c, lvs_director::Command::WatchFile { ref name, .. } if name == "maint"),
        )
    }
}

#[test]
fn file_check_dynamic_is_accepted_with_a_warning() {
    let text = with_file_check(MAINT, "   track_file maint\n   dynamic");
    let (cfg, warnings) = common::ok(&text);
    assert_eq!(cfg.virtual_servers[0].real_servers[0].file_checks.len(), 1);
    assert!(
        warnings.iter().any(|w| w
            .to_string()
            .starts_with("t.conf:12:4: warning: `dynamic` is accepted")),
        "{warnings:?}"
    );
}

#[test]
fn file_check_errors_are_at_their_place() {
    let cases: &[(&str, &str, &str)] = &[
        (
            MAINT,
            "   track_file mant",
            "t.conf:11:15: error: FILE_CHECK follows track_file `mant`, which is not defined",
        ),
        (
            "",
            "   track_file maint",
            "t.conf:7:15: error: FILE_CHECK follows track_file `maint`, which is not defined",
        ),
        (MAINT, "   weight 2", "t.conf:10:3: error: FILE_CHECK"),
        (
            MAINT,
            "   track_file maint\n   weight 2147483648",
            "t.conf:12:11: error: invalid value `2147483648` for `weight`",
        ),
        (
            MAINT,
            "   track_file maint\n   weight 2 sideways",
            "t.conf:12:13: error: invalid value `sideways` for `weight`",
        ),
    ];
    for (top, check, want) in cases {
        let text = with_file_check(top, check);
        let errors = common::refused(&text);
        let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            shown.iter().any(|e| e.starts_with(want)),
            "want {want}\n{text}\ngot {shown:#?}"
        );
    }
    // The suggestion for a near miss.
    let errors = common::refused(&with_file_check(MAINT, "   track_file mant"));
    assert!(
        errors.iter().any(|e| format!("{e:?}").contains("maint")),
        "{errors:?}"
    );
}
