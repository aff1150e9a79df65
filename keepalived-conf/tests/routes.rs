//! `virtual_routes`, `virtual_rules`, `static_ipaddress`, `static_routes`,
//! `static_rules`: parsed into lvs-director's types, converted into the
//! director's configuration, refused options with their place and reason.

mod common;

use lvs_director::{DirectorConfig, Route, RouteKind, RouteScope, Rule};
use lvs_ipvs::Family;

fn instance(body: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n \
         virtual_ipaddress {{\n  192.0.2.80/24\n }}\n{body}\n}}\n"
    )
}

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().expect("address")
}

#[test]
fn virtual_routes_and_rules_parse_into_the_directors_types() {
    let text = instance(
        " virtual_routes {\n\
           src 192.0.2.80 to 198.51.100.0/24 via 192.0.2.254 dev eth0 table 100 metric 5\n\
           203.0.113.0/24 dev eth1 no_track\n\
           blackhole 192.0.2.128/25\n\
           0.0.0.0/0 gw 192.0.2.1 table 100 proto static scope global\n\
           default via 2001:db8::1 table main\n\
         }\n virtual_rules {\n\
           from 192.0.2.80 table 100 priority 100\n\
           to 198.51.100.0/24 lookup 100 preference 101 fwmark 0x10/0xff iif eth0\n\
           inet6 fwmark 7 table 7 pref 7 oif eth1\n\
         }",
    );
    let (cfg, _) = common::ok(&text);
    let v = &cfg.vrrp_instances[0];
    let mut first = Route::new(ip("198.51.100.0"), 24)
        .with_src(ip("192.0.2.80"))
        .with_via(ip("192.0.2.254"))
        .with_dev("eth0")
        .with_table(100)
        .with_metric(5);
    assert_eq!(v.virtual_routes[0], first);
    let mut second = Route::new(ip("203.0.113.0"), 24).with_dev("eth1");
    second.no_track = true;
    assert_eq!(v.virtual_routes[1], second);
    assert_eq!(
        v.virtual_routes[2],
        Route::new(ip("192.0.2.128"), 25).with_kind(RouteKind::Blackhole)
    );
    let mut gw = Route::new(ip("0.0.0.0"), 0)
        .with_via(ip("192.0.2.1"))
        .with_table(100)
        .with_scope(RouteScope::Global);
    gw.protocol = 4;
    assert_eq!(v.virtual_routes[3], gw);
    // `default` takes the gateway's family.
    assert_eq!(
        v.virtual_routes[4],
        Route::new(ip("::"), 0).with_via(ip("2001:db8::1"))
    );
    assert_eq!(
        v.virtual_rules[0],
        Rule::new(Family::Inet)
            .with_from(ip("192.0.2.80"), 32)
            .with_table(100)
            .with_priority(100)
    );
    let mut to = Rule::new(Family::Inet)
        .with_to(ip("198.51.100.0"), 24)
        .with_table(100)
        .with_priority(101);
    to.fwmark = Some(0x10);
    to.fwmask = Some(0xff);
    to.iif = Some("eth0".into());
    assert_eq!(v.virtual_rules[1], to);
    let mut six = Rule::new(Family::Inet6).with_table(7).with_priority(7);
    six.fwmark = Some(7);
    six.oif = Some("eth1".into());
    assert_eq!(v.virtual_rules[2], six);

    // The conversion hands them to the instance unchanged.
    let d = DirectorConfig::try_from(&cfg).expect("converts");
    assert_eq!(d.instances[0].routes, v.virtual_routes);
    assert_eq!(d.instances[0].rules, v.virtual_rules);
    assert!(d.static_routing.is_empty());
    first.metric = None;
    assert_ne!(d.instances[0].routes[0], first);
}

#[test]
fn static_blocks_become_the_directors_static_routing() {
    let text = "static_ipaddress {\n 192.0.2.10/24 dev eth0 label eth0:st\n}\n\
                static_routes {\n 198.51.100.0/24 via 192.0.2.1\n}\n\
                static_rules {\n from 192.0.2.10 table 10 priority 10\n}\n";
    let (cfg, _) = common::ok(text);
    assert_eq!(cfg.static_ipaddresses.len(), 1);
    let d = DirectorConfig::try_from(&cfg).expect("converts");
    let s = &d.static_routing;
    assert_eq!(s.addresses.len(), 1);
    assert_eq!(s.addresses[0].addr, ip("192.0.2.10"));
    assert_eq!(s.addresses[0].prefix_len, 24);
    assert_eq!(s.addresses[0].interface.as_deref(), Some("eth0"));
    assert_eq!(s.addresses[0].label.as_deref(), Some("eth0:st"));
    assert_eq!(
        s.routes,
        [Route::new(ip("198.51.100.0"), 24).with_via(ip("192.0.2.1"))]
    );
    assert_eq!(
        s.rules,
        [Rule::new(Family::Inet)
            .with_from(ip("192.0.2.10"), 32)
            .with_table(10)
            .with_priority(10)]
    );
    assert_eq!(d.validate(), Ok(()));
}

/// The error's text and its line:col.
fn error_at(text: &str) -> (String, u32, u32) {
    let errors = common::refused(text);
    let e = &errors[0];
    let loc = e.location.as_ref().expect("location");
    (e.to_string(), loc.line, loc.column)
}

#[test]
fn unimplemented_options_are_refused_at_their_place_with_why() {
    let text = instance(" virtual_routes {\n  10.0.0.0/8 via 192.0.2.1 mtu 1400\n }");
    let (e, line, col) = error_at(&text);
    assert_eq!((line, col), (8, 28), "{e}");
    assert!(e.contains("mtu") && e.contains("per-route metrics"), "{e}");

    let text = instance(" virtual_routes {\n  10.0.0.0/8 nexthop via 192.0.2.1\n }");
    let (e, _, _) = error_at(&text);
    assert!(e.contains("multipath routes are not implemented"), "{e}");

    let text = instance(" virtual_rules {\n  from 10.0.0.0/8 goto 100\n }");
    let (e, line, col) = error_at(&text);
    assert_eq!((line, col), (8, 19), "{e}");
    assert!(e.contains("only rules that look up a table"), "{e}");

    let text = "static_routes {\n 10.0.0.0/8 via 192.0.2.1 track_group G\n}\n";
    let (e, line, _) = error_at(text);
    assert_eq!(line, 2);
    assert!(e.contains("track groups are not implemented"), "{e}");
}

#[test]
fn bad_values_and_inconsistent_entries_are_errors() {
    // A typo gets a suggestion.
    let text = instance(" virtual_routes {\n  10.0.0.0/8 vai 192.0.2.1\n }");
    let (e, line, col) = error_at(&text);
    assert_eq!((line, col), (8, 14), "{e}");
    assert!(e.contains("`via`"), "{e}");
    // A gateway of the other family.
    let text = instance(" virtual_routes {\n  10.0.0.0/8 via 2001:db8::1\n }");
    let (e, line, _) = error_at(&text);
    assert_eq!(line, 8);
    assert!(e.contains("not of the destination's family"), "{e}");
    // A route with nowhere to go.
    let (e, _, _) = error_at(&instance(" virtual_routes {\n  10.0.0.0/8 table 5\n }"));
    assert!(e.contains("needs a gateway"), "{e}");
    // A table name from rt_tables.
    let (e, _, _) = error_at(&instance(
        " virtual_routes {\n  10.0.0.0/8 dev eth0 table isp\n }",
    ));
    assert!(e.contains("rt_tables"), "{e}");
    // Rule families must agree.
    let (e, _, _) = error_at(&instance(
        " virtual_rules {\n  from 10.0.0.1 to 2001:db8::/64 table 1\n }",
    ));
    assert!(e.contains("not of the rule's family"), "{e}");
    // A static address must say where it goes.
    let (e, line, col) = error_at("static_ipaddress {\n  192.0.2.10/24\n}\n");
    assert_eq!((line, col), (2, 3), "{e}");
    assert!(e.contains("`dev` is required"), "{e}");
}
