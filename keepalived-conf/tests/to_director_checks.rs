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

#[test]
fn smtp_check_gives_one_probe_per_host_over_the_checkers_options() {
    let (cfg, warnings) = config::parse_str(
        "t.conf",
        "virtual_server 10.0.0.1 25 { delay_loop 15
           real_server 172.16.1.10 25 { SMTP_CHECK { connect_timeout 30 retry 2 } }
           real_server 172.16.1.12 25 {
             SMTP_CHECK {
               connect_timeout 10
               retry 2
               delay_before_retry 5
               helo_name \"foo.bar.com\"
               host { connect_ip 172.16.1.12 connect_port 25 bindto 172.16.1.2 }
               host { connect_ip 64.233.167.100 connect_port 587 connect_timeout 3 }
             }
           }
         }",
    )
    .expect("valid");
    let rs = &cfg.virtual_servers[0].real_servers[0];
    let p = convert::probes(rs, &rs.checks[0]);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].description, "SMTP_CHECK 172.16.1.10:25");
    let lvs_director::Check::Smtp(c) = &p[0].check else {
        panic!("{:?}", p[0].check);
    };
    assert_eq!(c.helo_name, "smtpchecker.keepalived.org");
    assert_eq!(p[0].policy.fall, 3); // retry 2

    let rs = &cfg.virtual_servers[0].real_servers[1];
    let p = convert::probes(rs, &rs.checks[0]);
    let d: Vec<_> = p.iter().map(|p| p.description.as_str()).collect();
    assert_eq!(
        d,
        ["SMTP_CHECK 172.16.1.12:25", "SMTP_CHECK 64.233.167.100:587"]
    );
    let lvs_director::Check::Smtp(first) = &p[0].check else {
        panic!();
    };
    let lvs_director::Check::Smtp(second) = &p[1].check else {
        panic!();
    };
    assert_eq!(first.helo_name, "foo.bar.com");
    assert_eq!(first.connect.bind_addr, Some("172.16.1.2".parse().unwrap()));
    assert_eq!(
        first.connect.connect_timeout,
        Some(std::time::Duration::from_secs(10))
    );
    assert_eq!(second.connect.bind_addr, None);
    assert_eq!(
        second.connect.connect_timeout,
        Some(std::time::Duration::from_secs(3))
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.to_string().contains("`host` block is deprecated")),
        "{warnings:?}"
    );
}

#[test]
fn ping_check_pings_the_connect_ip_or_the_real_server() {
    let (cfg, _) = config::parse_str(
        "t.conf",
        "virtual_server 10.10.10.2 1358 { delay_loop 6
           real_server 192.168.200.2 1358 { PING_CHECK { retry 3 } }
           real_server 192.168.200.3 1358 { PING_CHECK { connect_ip 192.168.201.3 } }
         }",
    )
    .expect("valid");
    let vs = &cfg.virtual_servers[0];
    let p = convert::probes(&vs.real_servers[0], &vs.real_servers[0].checks[0]);
    assert_eq!(p[0].description, "PING_CHECK 192.168.200.2");
    assert!(matches!(p[0].check, lvs_director::Check::Ping(_)));
    assert_eq!(p[0].policy.fall, 4); // retry 3
    let p = convert::probes(&vs.real_servers[1], &vs.real_servers[1].checks[0]);
    assert_eq!(p[0].description, "PING_CHECK 192.168.201.3");
    assert_eq!(p[0].policy.fall, 2); // keepalived's default retry 1
}
