//! keepalived's `script_user USER [GROUP]` and a script's own `USER
//! [GROUP]` (or `user` in `vrrp_script` / `MISC_CHECK`): resolved to ids
//! when the file is loaded, carried to lvs-director's scripts and exec
//! checks; an unknown user or group is an error at its place.

use lvs_director::{Check, DirectorConfig, RunAs};

mod common;
use common::{ok, refused};

const NOBODY: RunAs = RunAs {
    uid: 65534,
    gid: 65534,
};

#[test]
fn script_user_is_every_script_s_unless_it_names_its_own() {
    let (cfg, warnings) = ok("global_defs {
  script_user nobody
}
vrrp_script chk {
  script /bin/true
}
vrrp_script chk_root {
  script /bin/true
  user root
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  priority 100
  virtual_ipaddress {
    10.0.0.100
  }
  track_script {
    chk
    chk_root
  }
  notify_master /bin/true
  notify_backup \"/bin/echo b\" root root
}
virtual_server 10.0.0.100 80 {
  protocol TCP
  real_server 10.0.0.2 80 {
    MISC_CHECK {
      misc_path /bin/true
    }
  }
  real_server 10.0.0.3 80 {
    MISC_CHECK {
      misc_path /bin/true
      user 0 0
    }
  }
}
");
    assert!(warnings.is_empty(), "{warnings:?}");
    let d = DirectorConfig::try_from(&cfg).expect("converts");
    let root = Some(RunAs { uid: 0, gid: 0 });
    let script = |n: &str| {
        d.track_scripts
            .iter()
            .find(|t| t.name == n)
            .unwrap()
            .script
            .run_as
    };
    assert_eq!(script("chk"), Some(NOBODY));
    assert_eq!(script("chk_root"), root);
    let n = &d.instances[0].notify;
    assert_eq!(n.master.as_ref().unwrap().run_as, Some(NOBODY));
    assert_eq!(n.backup.as_ref().unwrap().run_as, root);
    let misc: Vec<_> = d.virtual_servers[0]
        .real_servers
        .iter()
        .map(|rs| match &rs.probes[0].check {
            Check::Exec(e) => e.run_as,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(misc, [Some(NOBODY), root]);
    // The tracked script's probe carries it to the exec check.
    match &d.track_scripts[0].probe().check {
        Check::Exec(e) => assert_eq!(e.run_as, Some(NOBODY)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn without_script_user_scripts_run_as_the_director() {
    let (cfg, _) = ok("vrrp_script chk {\n  script /bin/true\n}\n");
    assert_eq!(cfg.vrrp_scripts[0].script.run_as, None);
}

#[test]
fn unknown_users_and_groups_are_errors_at_their_place() {
    let e = refused("global_defs {\n  script_user no-such-user-here\n}\n");
    assert!(
        e.iter().any(|e| e.to_string().starts_with("t.conf:2:15:")
            && e.to_string().contains("a user known to this host")),
        "{e:?}"
    );
    let e = refused("vrrp_script chk {\n  script /bin/true\n  user nobody no-such-group-here\n}\n");
    assert!(
        e.iter().any(|e| e.to_string().starts_with("t.conf:3:15:")
            && e.to_string().contains("a group known to this host")),
        "{e:?}"
    );
}
