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
