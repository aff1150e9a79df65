//! keepalived checkers as lvs-director probes (the conversion).

use lvs_keepalived_conf as config;
use lvs_keepalived_conf::to_director as convert;

#[test]
fn udp_check_is_up_unless_unreachable_and_dns_keeps_keepalived_defaults() {
    let (cfg, warnings) = config::parse_str(
        "t.conf",
        "virtual_server 10.0.0.1 53 { protocol UDP lb_kind DR delay_loop 5
           real_server 10.0.1.1 53 { UDP_CHECK { connect_timeout 3 } DNS_CHECK { } }
         }",
    )
    .expect("valid");
    let rs = &cfg.virtual_servers[0].real_servers[0];
    let udp = convert::probes(rs, &rs.checks[0]);
    assert_eq!(udp.len(), 1);
    assert_eq!(udp[0].description, "UDP_CHECK 10.0.1.1:53");
    let dbg = format!("{:?}", udp[0].check);
    assert!(dbg.contains("silent_is_up: true"), "{dbg}");
    assert_eq!(udp[0].policy.fall, 2); // retry 1
    let dns = convert::probes(rs, &rs.checks[1]);
    let dbg = format!("{:?}", dns[0].check);
    assert!(
        dbg.contains("qtype: 6") && dbg.contains("name: \".\""),
        "{dbg}"
    );
    assert_eq!(dns[0].policy.fall, 4); // DNS_CHECK default retry 3
    // The parser warns about `.` SOA, which forwarders refuse.
    assert!(
        warnings.iter().any(|w| w.to_string().contains("SOA")),
        "{warnings:?}"
    );
}

#[test]
fn require_reply_nibbles_become_pattern_and_mask() {
    let (p, m) = convert::reply_pattern(&[Some(0xa), None, Some(1), Some(2), Some(3)]);
    assert_eq!(p, vec![0xa0, 0x12, 0x30]);
    assert_eq!(m, vec![0x0f, 0x00, 0x0f]);
}

#[test]
fn ssl_get_is_https_per_url_with_digest_status_and_sni() {
    let (cfg, _) = config::parse_str(
        "t.conf",
        "virtual_server 10.0.0.1 443 { delay_loop 6
           real_server 10.0.1.1 443 {
             virtualhost www.lab
             SSL_GET {
               url { path / digest FF20AD2481F97B1754EF3E12ECD3A9CC }
               url { path /mrtg/ status_code 200 301-302 }
               enable_sni
               connect_timeout 3
               retry 3
             }
           }
           real_server 10.0.1.2 443 { SSL_GET { url { path / } } }
         }",
    )
    .expect("valid");
    let rs = &cfg.virtual_servers[0].real_servers[0];
    let probes = convert::probes(rs, &rs.checks[0]);
    assert_eq!(probes.len(), 2);
    assert_eq!(probes[0].description, "SSL_GET https://10.0.1.1:443/");
    let lvs_director::Check::Http(first) = &probes[0].check else {
        panic!("{:?}", probes[0].check);
    };
    assert_eq!(
        first.tls,
        Some(lvs_healthcheck::checker::http::TlsOptions::new().with_sni(true))
    );
    assert_eq!(first.virtual_host.as_deref(), Some("www.lab"));
    assert_eq!(
        first.body_md5,
        lvs_healthcheck::checker::http::HttpCheck::parse_md5_hex(
            "ff20ad2481f97b1754ef3e12ecd3a9cc"
        )
    );
    let lvs_director::Check::Http(second) = &probes[1].check else {
        panic!("{:?}", probes[1].check);
    };
    assert_eq!(second.status, [(200, 200), (301, 302)]);
    assert_eq!(probes[0].policy.fall, 4); // retry 3
    // No enable_sni: TLS without a server name.
    let rs = &cfg.virtual_servers[0].real_servers[1];
    let lvs_director::Check::Http(plain_sni) = &convert::probes(rs, &rs.checks[0])[0].check else {
        panic!();
    };
    assert_eq!(
        plain_sni.tls,
        Some(lvs_healthcheck::checker::http::TlsOptions::new())
    );
}
