//! Arbitrary input never panics the parser, and whatever is accepted is
//! accepted again identically (parsing is deterministic).

use lvs_keepalived_conf as config;
use proptest::prelude::*;

/// Fragments of real syntax, so generated inputs get deep into the parser.
const WORDS: &[&str] = &[
    "{",
    "}",
    "{",
    "}",
    "\n",
    "\n",
    "\"",
    "#",
    "!",
    "global_defs",
    "vrrp_instance",
    "virtual_server",
    "real_server",
    "TCP_CHECK",
    "UDP_CHECK",
    "DNS_CHECK",
    "HTTP_GET",
    "MISC_CHECK",
    "url",
    "path",
    "misc_path",
    "notify_master",
    "\"/bin/x 'a\"",
    "virtual_ipaddress",
    "unicast_peer",
    "track_interface",
    "weight",
    "-300",
    "state",
    "MASTER",
    "interface",
    "eth0",
    "virtual_router_id",
    "1",
    "0",
    "256",
    "priority",
    "advert_int",
    "0.01",
    "1.5",
    "version",
    "3",
    "lb_algo",
    "rr",
    "lb_kind",
    "DR",
    "protocol",
    "UDP",
    "delay_loop",
    "retry",
    "connect_timeout",
    "10.0.0.1",
    "10.0.0.1/24",
    "::1/129",
    "80",
    "99999",
    "fwmark",
    "group",
    "include",
    "*.conf",
    "dev",
    "label",
    "brd",
    "status_code",
    "200-100",
    "payload",
    "AbX",
    "require_reply",
    "lvs_sync_daemon",
    "inst",
    "id",
    "lvs_timeouts",
    "tcp",
    "persistence_timeout",
    "sorry_server",
    "authentication",
    "auth_type",
    "PASS",
    "vrrp_sync_group",
    "type",
    "name",
    "é",
    "\t",
];

fn assemble(picks: &[usize]) -> String {
    let mut s = String::new();
    for &i in picks {
        s.push_str(WORDS[i % WORDS.len()]);
        s.push(' ');
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(text in any::<String>()) {
        let _ = config::parse_str("/nonexistent-dir/fuzz.conf", &text);
    }

    #[test]
    fn random_token_soup_never_panics(picks in proptest::collection::vec(0usize..1000, 0..120)) {
        let text = assemble(&picks);
        let a = config::parse_str("/nonexistent-dir/fuzz.conf", &text);
        let b = config::parse_str("/nonexistent-dir/fuzz.conf", &text);
        match (a, b) {
            (Ok((ca, wa)), Ok((cb, wb))) => {
                prop_assert_eq!(ca, cb);
                prop_assert_eq!(wa, wb);
            }
            (Err(ea), Err(eb)) => {
                let ea: Vec<String> = ea.iter().map(|e| e.to_string()).collect();
                let eb: Vec<String> = eb.iter().map(|e| e.to_string()).collect();
                prop_assert!(!ea.is_empty());
                prop_assert_eq!(ea, eb);
            }
            _ => prop_assert!(false, "non-deterministic outcome"),
        }
    }

    #[test]
    fn truncating_a_valid_config_never_panics(cut in 0usize..2000) {
        let text = include_str!("../../examples/lab/node01.conf");
        let cut = cut.min(text.len());
        if text.is_char_boundary(cut) {
            let _ = config::parse_str("node01.conf", &text[..cut]);
        }
    }
}
