//! The reload diff: what changed per VRRP instance, virtual server and real server.

use std::path::Path;

use lvs_keepalived_conf::{self as config, Change, Config, VirtualServerChange, diff};

fn lab(name: &str) -> Config {
    config::load(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/lab")
            .join(name),
    )
    .expect("lab config loads")
    .0
}

fn parse(text: &str) -> Config {
    config::parse_str("t.conf", text).expect("loads").0
}

#[test]
fn identical_configs_have_an_empty_diff() {
    let a = lab("node01.conf");
    assert!(diff(&a, &a.clone()).is_empty());
}

#[test]
fn node01_to_node02_changes_only_global_and_the_instance() {
    let d = diff(&lab("node01.conf"), &lab("node02.conf"));
    assert!(d.global_changed);
    assert_eq!(d.vrrp_instances, vec![Change::Changed("VI_1".to_string())]);
    assert!(d.virtual_servers.is_empty());
}

#[test]
fn real_server_level_changes() {
    let old = parse(
        "virtual_server 10.0.0.1 80 {\n protocol TCP lb_algo rr\n real_server 10.0.0.2 80 { weight 1 }\n real_server 10.0.0.3 80 { }\n}\n\
         virtual_server 10.0.0.1 53 { protocol UDP real_server 10.0.0.2 53 { } }\n",
    );
    let new = parse(
        "virtual_server 10.0.0.1 80 {\n protocol TCP lb_algo rr\n real_server 10.0.0.2 80 { weight 2 }\n real_server 10.0.0.4 80 { }\n}\n\
         virtual_server 10.0.0.1 443 { protocol TCP real_server 10.0.0.2 443 { } }\n",
    );
    let d = diff(&old, &new);
    assert!(!d.global_changed);
    assert!(d.vrrp_instances.is_empty());
    let vs80 = old.virtual_servers[0].key();
    let c: &VirtualServerChange = &d.virtual_servers[0];
    assert_eq!(
        (c.key, &c.change, c.service_changed),
        (vs80, &Change::Changed(()), false)
    );
    assert_eq!(
        c.real_servers,
        vec![
            Change::Changed("10.0.0.2:80".parse().unwrap()),
            Change::Removed("10.0.0.3:80".parse().unwrap()),
            Change::Added("10.0.0.4:80".parse().unwrap()),
        ]
    );
    assert_eq!(d.virtual_servers[1].key, old.virtual_servers[1].key());
    assert_eq!(d.virtual_servers[1].change, Change::Removed(()));
    assert_eq!(d.virtual_servers[2].key, new.virtual_servers[1].key());
    assert_eq!(d.virtual_servers[2].change, Change::Added(()));
}

#[test]
fn service_setting_change_is_flagged() {
    let old = parse(
        "virtual_server 10.0.0.1 80 { protocol TCP lb_algo rr real_server 10.0.0.2 80 { } }\n",
    );
    let new = parse(
        "virtual_server 10.0.0.1 80 { protocol TCP lb_algo wrr real_server 10.0.0.2 80 { } }\n",
    );
    let d = diff(&old, &new);
    assert_eq!(d.virtual_servers.len(), 1);
    assert!(d.virtual_servers[0].service_changed);
    assert!(d.virtual_servers[0].real_servers.is_empty());
}

#[test]
fn protocol_change_is_a_different_service() {
    let old = parse("virtual_server 10.0.0.1 53 { protocol TCP real_server 10.0.0.2 53 { } }\n");
    let new = parse("virtual_server 10.0.0.1 53 { protocol UDP real_server 10.0.0.2 53 { } }\n");
    let changes: Vec<_> = diff(&old, &new)
        .virtual_servers
        .into_iter()
        .map(|c| c.change)
        .collect();
    assert_eq!(changes, vec![Change::Removed(()), Change::Added(())]);
}
