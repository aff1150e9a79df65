//! `vrrp_sync_group`: both syntaxes, the checks against the instances
//! (file:line:col), keepalived's weight-0 rule, and the conversion to
//! lvs-director's `SyncGroup` with the group's tracks on every member.

mod common;
use common::ok;

use lvs_director::DirectorConfig;
use lvs_keepalived_conf::{self as config, ConfigError};

fn errors(text: &str) -> Vec<String> {
    common::refused(text)
        .iter()
        .map(ConfigError::to_string)
        .collect()
}

/// Two instances (lines 1–10), then `rest`.
fn two(rest: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n \
         virtual_ipaddress {{ 10.0.0.1 }}\n}}\n\
         vrrp_instance VI_2 {{\n interface eth1\n virtual_router_id 2\n \
         virtual_ipaddress {{ 10.1.0.1 }}\n}}\n{rest}"
    )
}

#[test]
fn both_syntaxes_give_the_same_members() {
    let (old, _) = ok(&two(
        "vrrp_sync_group G {\n group {\n  VI_1\n  VI_2\n }\n}\n",
    ));
    let (bare, _) = ok(&two("vrrp_sync_group G {\n VI_1\n VI_2\n}\n"));
    let (one_line, _) = ok(&two("vrrp_sync_group G { VI_1 VI_2 }\n"));
    assert_eq!(old.sync_groups[0].members, ["VI_1", "VI_2"]);
    assert_eq!(old.sync_groups, bare.sync_groups);
    assert_eq!(old.sync_groups, one_line.sync_groups);
}

#[test]
fn the_group_converts_with_its_notify_scripts_and_tracks_on_every_member() {
    let (cfg, warnings) = ok(&two("vrrp_script chk { script /bin/true\n weight -20\n}\n\
         vrrp_sync_group G {\n group { VI_1 VI_2 }\n notify_master \"/g/m.sh up\"\n \
         notify_backup /g/b.sh\n notify_fault /g/f.sh\n notify /g/any.sh\n smtp_alert\n \
         track_interface {\n  eth9 weight 10\n }\n track_script {\n  chk\n }\n}\n"));
    // keepalived's rule: weights in a group become 0, with a warning.
    let w = warnings
        .iter()
        .map(|w| w.to_string())
        .find(|w| w.contains("weight set to 0"))
        .expect("weight warning");
    assert!(
        w.starts_with("t.conf:14:1: warning: vrrp_sync_group `G`"),
        "{w}"
    );
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    typed.validate().expect("valid");
    let g = &typed.sync_groups[0];
    assert_eq!(g.name, "G");
    assert_eq!(g.members, ["VI_1", "VI_2"]);
    assert_eq!(g.notify.master.as_ref().unwrap().argv, ["/g/m.sh", "up"]);
    assert_eq!(g.notify.backup.as_ref().unwrap().argv, ["/g/b.sh"]);
    assert_eq!(g.notify.fault.as_ref().unwrap().argv, ["/g/f.sh"]);
    assert_eq!(g.notify.any.as_ref().unwrap().argv, ["/g/any.sh"]);
    for inst in &typed.instances {
        assert_eq!(inst.track_interfaces.len(), 1, "{}", inst.name);
        assert_eq!(inst.track_interfaces[0].interface, "eth9");
        assert_eq!(inst.track_interfaces[0].weight, 0);
        assert_eq!(inst.track_scripts.len(), 1);
        assert_eq!(inst.track_scripts[0].script, "chk");
        assert_eq!(inst.track_scripts[0].weight, Some(0));
    }
}

#[test]
fn sync_group_tracking_weight_keeps_the_weights() {
    let (cfg, warnings) = ok(&two(
        "vrrp_sync_group G {\n VI_1\n VI_2\n sync_group_tracking_weight\n \
         track_interface {\n  eth9 weight -10\n }\n}\n",
    ));
    assert!(
        !warnings
            .iter()
            .any(|w| w.to_string().contains("weight set to 0")),
        "{warnings:?}"
    );
    let typed = DirectorConfig::try_from(&cfg).expect("converts");
    assert_eq!(typed.instances[1].track_interfaces[0].weight, -10);
}

#[test]
fn a_member_tracking_with_a_weight_is_set_to_zero_too() {
    let text = two("vrrp_sync_group G { VI_1 VI_2 }\n").replace(
        " interface eth1\n",
        " interface eth1\n track_interface {\n  eth5 weight 30\n }\n",
    );
    let (cfg, warnings) = ok(&text);
    assert_eq!(cfg.vrrp_instances[1].track_interfaces[0].weight, 0);
    assert!(
        warnings
            .iter()
            .any(|w| w.to_string().contains("`VI_2`'s track_interface `eth5`"))
    );
}

#[test]
fn bad_members_are_refused_where_they_are_named() {
    let e = errors(&two("vrrp_sync_group G {\n group { VI_1 VI_3 }\n}\n"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(
            "t.conf:12:15: error: vrrp_sync_group `G` names `VI_3`, which no vrrp_instance defines"
        ),
        "{}",
        e[0]
    );
    assert!(e[0].contains("did you mean `VI_1`?") || e[0].contains("did you mean `VI_2`?"));

    let e = errors(&two(
        "vrrp_sync_group G { VI_1 VI_2 }\nvrrp_sync_group H { VI_2 }\n",
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(
            "t.conf:12:21: error: vrrp_instance `VI_2` is already a member of vrrp_sync_group `G`"
        ),
        "{}",
        e[0]
    );
    assert!(
        e[0].contains("11:26"),
        "the note points at the first group: {}",
        e[0]
    );

    let e = errors(&two("vrrp_sync_group G { VI_1 VI_1 }\n"));
    assert!(e[0].starts_with("t.conf:11:26: error:"), "{}", e[0]);
    assert!(
        e[0].contains("member `VI_1` of vrrp_sync_group `G`"),
        "{}",
        e[0]
    );

    let e = errors(&two("vrrp_sync_group G {\n}\n"));
    assert!(
        e[0].starts_with("t.conf:11:1: error: vrrp_sync_group `G` names no instance"),
        "{}",
        e[0]
    );

    let e = errors(&two(
        "vrrp_sync_group G { VI_1 VI_2 }\nvrrp_sync_group G { VI_1 }\n",
    ));
    assert!(
        e.iter().any(|e| e.starts_with("t.conf:12:1: error:")),
        "{e:?}"
    );

    let e = errors(&two(
        "vrrp_sync_group G {\n VI_1\n track_script { nope }\n}\n",
    ));
    assert!(
        e[0].contains("tracks script `nope`, which no vrrp_script defines"),
        "{}",
        e[0]
    );

    let e = errors(&two("vrrp_sync_group G {\n VI_1\n track_file { f }\n}\n"));
    assert!(
        e[0].starts_with(
            "t.conf:11:1: error: vrrp_sync_group `G` tracks `f`, which no track_file defines"
        ),
        "{}",
        e[0]
    );
}

#[test]
fn keepalived_shipped_sync_sample_converts() {
    for name in ["keepalived.conf.vrrp.sync", "keepalived.conf.vrrp.scripts"] {
        let path = format!("/usr/share/doc/keepalived/samples/{name}");
        let (cfg, _) = config::load(&path).unwrap_or_else(|e| {
            panic!(
                "{name}: {}",
                e.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        assert!(!cfg.sync_groups.is_empty(), "{name}");
        let typed = DirectorConfig::try_from(&cfg).expect("converts");
        typed.validate().expect("valid");
        assert_eq!(typed.sync_groups.len(), cfg.sync_groups.len());
    }
}
