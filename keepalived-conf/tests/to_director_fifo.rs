//! `global_defs` notify FIFOs → lvs-director's `NotifyFifos`.

use std::path::PathBuf;

use lvs_director::DirectorConfig;
use lvs_keepalived_conf as config;

fn typed(text: &str) -> (DirectorConfig, Vec<String>) {
    let (cfg, warnings) = config::parse_str("t.conf", text).expect("valid");
    let warnings = warnings.iter().map(|w| w.to_string()).collect();
    (DirectorConfig::try_from(&cfg).expect("converts"), warnings)
}

#[test]
fn the_three_fifos_and_their_scripts_convert() {
    let (d, warnings) = typed(
        r#"global_defs {
             notify_fifo /run/keepalived/all
             notify_fifo_script "/usr/local/bin/read-fifo --verbose"
             vrrp_notify_fifo /run/keepalived/vrrp
             lvs_notify_fifo /run/keepalived/lvs
             lvs_notify_fifo_script /usr/local/bin/lvs-reader
           }"#,
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    let f = &d.notify_fifos;
    let all = f.all.as_ref().expect("notify_fifo");
    assert_eq!(all.path, PathBuf::from("/run/keepalived/all"));
    assert_eq!(
        all.script.as_ref().expect("script").argv,
        ["/usr/local/bin/read-fifo", "--verbose"]
    );
    let vrrp = f.vrrp.as_ref().expect("vrrp_notify_fifo");
    assert_eq!(vrrp.path, PathBuf::from("/run/keepalived/vrrp"));
    assert!(vrrp.script.is_none());
    assert!(
        !vrrp.readable_by_all,
        "owner only by default, as keepalived's"
    );
    let lvs = f.lvs.as_ref().expect("lvs_notify_fifo");
    assert_eq!(
        lvs.script.as_ref().expect("script").argv,
        ["/usr/local/bin/lvs-reader"]
    );
    assert_eq!(f.writers().len(), 3);
}

#[test]
fn owner_options_twice_given_and_script_alone_are_warned() {
    let (d, warnings) = typed(
        "global_defs {
           vrrp_notify_fifo /run/v keepalived_script
           vrrp_notify_fifo /run/other
           lvs_notify_fifo_script /bin/reader
         }",
    );
    assert_eq!(
        d.notify_fifos.vrrp.as_ref().map(|f| f.path.clone()),
        Some(PathBuf::from("/run/v")),
        "the first one is used"
    );
    assert!(
        d.notify_fifos
            .vrrp
            .as_ref()
            .is_some_and(|f| f.readable_by_all),
        "a FIFO for another user is readable by every user"
    );
    assert!(
        d.notify_fifos.lvs.is_none(),
        "a script with no FIFO runs nothing"
    );
    let has = |s: &str| warnings.iter().any(|w| w.contains(s));
    assert!(has("vrrp_notify_fifo FIFO USER [GROUP]"), "{warnings:?}");
    assert!(has("given twice"), "{warnings:?}");
    assert!(
        has("`lvs_notify_fifo_script` without `lvs_notify_fifo`"),
        "{warnings:?}"
    );
    assert_eq!(warnings.len(), 3, "{warnings:?}");
}

#[test]
fn a_fifo_without_a_path_is_an_error() {
    let err = config::parse_str("t.conf", "global_defs {\n notify_fifo\n}\n").expect_err("no path");
    let text = format!("{err:?}");
    assert!(text.contains("notify_fifo"), "{text}");
}
