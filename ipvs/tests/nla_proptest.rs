//! Property tests: every attribute of every IPVS attribute space, and the
//! typed objects, survive emit → parse → emit unchanged.

use lvs_ipvs::nla::{
    CmdAttr, DaemonAttr, DestAttr, InfoAttr, Stats64Attr, StatsAttr, SvcAttr, SvcFlags,
};
use lvs_ipvs::{
    Destination, DestinationEntry, Family, ForwardMethod, IpvsMessage, Op, PersistenceMask,
    SchedFlags, Scheduler, Service, ServiceEntry, ServiceKey, TunnelFlags, TunnelType,
};
use netlink_packet_core::{DefaultNla, Emitable, Nla, NlaBuffer, Parseable, ParseableParametrized};
use netlink_packet_generic::GenlHeader;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

fn roundtrip<A>(attr: &A)
where
    A: Nla + std::fmt::Debug + PartialEq + for<'a> Parseable<NlaBuffer<&'a [u8]>>,
{
    let mut buf = vec![0u8; attr.buffer_len()];
    attr.emit(&mut buf);
    let back = A::parse(&NlaBuffer::new_checked(&buf[..]).unwrap()).unwrap();
    assert_eq!(&back, attr);
    let mut again = vec![0u8; back.buffer_len()];
    back.emit(&mut again);
    assert_eq!(again, buf);
}

fn name() -> impl Strategy<Value = String> {
    "[a-z0-9]{0,15}"
}

fn other(known_max: u16) -> impl Strategy<Value = DefaultNla> {
    (
        known_max + 1..200u16,
        proptest::collection::vec(any::<u8>(), 0..12),
    )
        .prop_map(|(k, v)| DefaultNla::new(k, v))
}

fn stats() -> impl Strategy<Value = StatsAttr> {
    prop_oneof![
        any::<u32>().prop_map(StatsAttr::Conns),
        any::<u32>().prop_map(StatsAttr::InPkts),
        any::<u32>().prop_map(StatsAttr::OutPkts),
        any::<u64>().prop_map(StatsAttr::InBytes),
        any::<u64>().prop_map(StatsAttr::OutBytes),
        any::<u32>().prop_map(StatsAttr::Cps),
        any::<u32>().prop_map(StatsAttr::InPps),
        any::<u32>().prop_map(StatsAttr::OutPps),
        any::<u32>().prop_map(StatsAttr::InBps),
        any::<u32>().prop_map(StatsAttr::OutBps),
        other(10).prop_map(StatsAttr::Other),
    ]
}

fn stats64() -> impl Strategy<Value = Stats64Attr> {
    prop_oneof![
        any::<u64>().prop_map(Stats64Attr::Conns),
        any::<u64>().prop_map(Stats64Attr::InPkts),
        any::<u64>().prop_map(Stats64Attr::OutPkts),
        any::<u64>().prop_map(Stats64Attr::InBytes),
        any::<u64>().prop_map(Stats64Attr::OutBytes),
        any::<u64>().prop_map(Stats64Attr::Cps),
        any::<u64>().prop_map(Stats64Attr::InPps),
        any::<u64>().prop_map(Stats64Attr::OutPps),
        any::<u64>().prop_map(Stats64Attr::InBps),
        any::<u64>().prop_map(Stats64Attr::OutBps),
        other(10).prop_map(Stats64Attr::Other),
    ]
}

fn svc() -> impl Strategy<Value = SvcAttr> {
    prop_oneof![
        any::<u16>().prop_map(SvcAttr::Af),
        any::<u16>().prop_map(SvcAttr::Protocol),
        any::<[u8; 16]>().prop_map(SvcAttr::Addr),
        any::<u16>().prop_map(SvcAttr::Port),
        any::<u32>().prop_map(SvcAttr::Fwmark),
        name().prop_map(SvcAttr::SchedName),
        (any::<u32>(), any::<u32>())
            .prop_map(|(flags, mask)| SvcAttr::Flags(SvcFlags { flags, mask })),
        any::<u32>().prop_map(SvcAttr::Timeout),
        any::<[u8; 4]>().prop_map(SvcAttr::Netmask),
        proptest::collection::vec(stats(), 0..5).prop_map(SvcAttr::Stats),
        name().prop_map(SvcAttr::PeName),
        proptest::collection::vec(stats64(), 0..5).prop_map(SvcAttr::Stats64),
        other(12).prop_map(SvcAttr::Other),
    ]
}

fn dest() -> impl Strategy<Value = DestAttr> {
    prop_oneof![
        any::<[u8; 16]>().prop_map(DestAttr::Addr),
        any::<u16>().prop_map(DestAttr::Port),
        any::<u32>().prop_map(DestAttr::FwdMethod),
        any::<u32>().prop_map(DestAttr::Weight),
        any::<u32>().prop_map(DestAttr::UThresh),
        any::<u32>().prop_map(DestAttr::LThresh),
        any::<u32>().prop_map(DestAttr::ActiveConns),
        any::<u32>().prop_map(DestAttr::InactConns),
        any::<u32>().prop_map(DestAttr::PersistConns),
        proptest::collection::vec(stats(), 0..5).prop_map(DestAttr::Stats),
        any::<u16>().prop_map(DestAttr::AddrFamily),
        proptest::collection::vec(stats64(), 0..5).prop_map(DestAttr::Stats64),
        any::<u8>().prop_map(DestAttr::TunType),
        any::<u16>().prop_map(DestAttr::TunPort),
        any::<u16>().prop_map(DestAttr::TunFlags),
        other(15).prop_map(DestAttr::Other),
    ]
}

fn daemon() -> impl Strategy<Value = DaemonAttr> {
    prop_oneof![
        any::<u32>().prop_map(DaemonAttr::State),
        name().prop_map(DaemonAttr::McastIfn),
        any::<u32>().prop_map(DaemonAttr::SyncId),
        any::<u16>().prop_map(DaemonAttr::SyncMaxLen),
        any::<u32>().prop_map(|v| DaemonAttr::McastGroup(Ipv4Addr::from(v))),
        any::<u128>().prop_map(|v| DaemonAttr::McastGroup6(Ipv6Addr::from(v))),
        any::<u16>().prop_map(DaemonAttr::McastPort),
        any::<u8>().prop_map(DaemonAttr::McastTtl),
        other(8).prop_map(DaemonAttr::Other),
    ]
}

fn cmd() -> impl Strategy<Value = CmdAttr> {
    prop_oneof![
        proptest::collection::vec(svc(), 0..6).prop_map(CmdAttr::Service),
        proptest::collection::vec(dest(), 0..6).prop_map(CmdAttr::Dest),
        proptest::collection::vec(daemon(), 0..6).prop_map(CmdAttr::Daemon),
        any::<u32>().prop_map(CmdAttr::TimeoutTcp),
        any::<u32>().prop_map(CmdAttr::TimeoutTcpFin),
        any::<u32>().prop_map(CmdAttr::TimeoutUdp),
        other(6).prop_map(CmdAttr::Other),
    ]
}

fn info() -> impl Strategy<Value = InfoAttr> {
    prop_oneof![
        any::<u32>().prop_map(InfoAttr::Version),
        any::<u32>().prop_map(InfoAttr::ConnTabSize),
        other(2).prop_map(InfoAttr::Other),
    ]
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|v| IpAddr::V4(v.into())),
        any::<u128>().prop_map(|v| IpAddr::V6(v.into())),
    ]
}

fn service() -> impl Strategy<Value = Service> {
    let key = prop_oneof![
        (ip(), any::<u16>(), 0..3u8).prop_map(|(ip, port, p)| {
            let a = SocketAddr::new(ip, port);
            match p {
                0 => ServiceKey::tcp(a),
                1 => ServiceKey::udp(a),
                _ => ServiceKey::sctp(a),
            }
        }),
        (any::<bool>(), 1..u32::MAX).prop_map(|(v6, m)| {
            ServiceKey::fwmark(if v6 { Family::Inet6 } else { Family::Inet }, m)
        }),
    ];
    let sched = prop_oneof![
        (0..13usize).prop_map(|i| Scheduler::ALL[i].clone()),
        "x[a-z]{1,8}".prop_map(Scheduler::Other),
    ];
    (
        key,
        sched,
        0..8u32,
        proptest::option::of((any::<u32>(), any::<u32>(), 1..=128u8)),
        any::<bool>(),
        proptest::option::of("[a-z]{1,8}"),
    )
        .prop_map(|(key, scheduler, f, pers, one_packet, pe_name)| {
            let persistence = pers.map(|(secs, m4, p6)| lvs_ipvs::Persistence {
                timeout: Duration::from_secs(secs.into()),
                mask: match key.family() {
                    Family::Inet => PersistenceMask::V4(Ipv4Addr::from(m4)),
                    Family::Inet6 => PersistenceMask::V6Prefix(p6),
                },
            });
            Service {
                key,
                scheduler,
                sched_flags: SchedFlags::from_bits_truncate(f << 3),
                persistence,
                one_packet,
                pe_name,
            }
        })
}

fn destination() -> impl Strategy<Value = Destination> {
    let fwd = prop_oneof![
        Just(ForwardMethod::Masquerade),
        Just(ForwardMethod::DirectRoute),
        Just(ForwardMethod::Local),
        (0..3u8, any::<u16>(), 0..4u16).prop_map(|(t, port, f)| ForwardMethod::Tunnel {
            kind: match t {
                0 => TunnelType::Ipip,
                1 => TunnelType::Gue { port },
                _ => TunnelType::Gre,
            },
            flags: TunnelFlags::from_bits_truncate(f),
        }),
    ];
    (
        ip(),
        any::<u16>(),
        fwd,
        0..=i32::MAX as u32,
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(ip, port, forward, weight, u, l)| Destination {
            addr: SocketAddr::new(ip, port),
            forward,
            weight,
            upper_threshold: u,
            lower_threshold: l,
        })
}

fn message_roundtrip(msg: &IpvsMessage) {
    let mut buf = vec![u8::from(msg.cmd), 1, 0, 0];
    buf.resize(4 + msg.buffer_len(), 0);
    msg.emit(&mut buf[4..]);
    let back = IpvsMessage::parse_with_param(&buf[4..], GenlHeader::parse(&buf).unwrap()).unwrap();
    assert_eq!(&back, msg);
}

proptest! {
    #[test]
    fn stats_attrs(a in stats()) { roundtrip(&a) }
    #[test]
    fn stats64_attrs(a in stats64()) { roundtrip(&a) }
    #[test]
    fn service_attrs(a in svc()) { roundtrip(&a) }
    #[test]
    fn dest_attrs(a in dest()) { roundtrip(&a) }
    #[test]
    fn daemon_attrs(a in daemon()) { roundtrip(&a) }
    #[test]
    fn command_attrs(a in cmd()) { roundtrip(&a) }
    #[test]
    fn info_attrs(a in info()) { roundtrip(&a) }

    #[test]
    fn typed_service_survives_the_wire(s in service()) {
        let msg = Op::AddService(s.clone()).to_message().unwrap();
        message_roundtrip(&msg);
        let CmdAttr::Service(attrs) = &msg.attrs[0] else { panic!() };
        let mut attrs = attrs.clone();
        // What the kernel adds on read-back must not change the typed view.
        for a in &mut attrs {
            if let SvcAttr::Flags(f) = a { f.flags |= 0x0002; }
        }
        prop_assert_eq!(ServiceEntry::from_attrs(&attrs).unwrap().service, s);
    }

    #[test]
    fn typed_destination_survives_the_wire(d in destination()) {
        let key = ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
        let msg = Op::AddDestination(key, d).to_message().unwrap();
        message_roundtrip(&msg);
        let CmdAttr::Dest(attrs) = &msg.attrs[1] else { panic!() };
        prop_assert_eq!(DestinationEntry::from_attrs(attrs, Family::Inet).unwrap().dest, d);
    }
}

fn via_message(op: &Op) -> Vec<u8> {
    let m = op.to_message().unwrap();
    let mut buf = vec![u8::from(m.cmd), 1, 0, 0];
    buf.resize(4 + m.buffer_len(), 0);
    m.emit(&mut buf[4..]);
    buf
}

fn via_direct(op: &Op) -> Vec<u8> {
    let mut out = Vec::new();
    op.emit_payload(&mut out).unwrap();
    out
}

proptest! {
    /// The direct encoder used by batches writes exactly the bytes of the
    /// attribute-enum path, for every operation kind it handles.
    #[test]
    fn direct_encoding_equals_attribute_encoding(s in service(), d in destination()) {
        let key = s.key;
        for op in [
            Op::AddService(s.clone()),
            Op::EditService(s.clone()),
            Op::DeleteService(key),
            Op::AddDestination(key, d),
            Op::EditDestination(key, d),
            Op::DeleteDestination(key, d.addr),
            Op::Zero(Some(key)),
            Op::Flush,
        ] {
            prop_assert_eq!(via_direct(&op), via_message(&op), "{:?}", op);
        }
    }

    /// The direct dump parser reads what the attribute path reads,
    /// including the kernel-only attributes (stats, counters, HASHED).
    #[test]
    fn direct_parsing_equals_attribute_parsing(
        s in service(),
        d in destination(),
        st in proptest::collection::vec(stats(), 0..6),
        st64 in proptest::collection::vec(stats64(), 0..6),
        conns in any::<(u32, u32, u32)>(),
    ) {
        let CmdAttr::Service(mut sattrs) = Op::AddService(s).to_message().unwrap().attrs[0].clone() else { panic!() };
        for a in &mut sattrs {
            if let SvcAttr::Flags(f) = a { f.flags |= 0x0002; }
        }
        sattrs.push(SvcAttr::Stats(st.clone()));
        sattrs.push(SvcAttr::Stats64(st64.clone()));
        let bytes = emit_all(&sattrs);
        prop_assert_eq!(ServiceEntry::from_wire(&bytes).unwrap(), ServiceEntry::from_attrs(&sattrs).unwrap());
        let key = ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
        let CmdAttr::Dest(mut dattrs) = Op::AddDestination(key, d).to_message().unwrap().attrs[1].clone() else { panic!() };
        dattrs.push(DestAttr::ActiveConns(conns.0));
        dattrs.push(DestAttr::InactConns(conns.1));
        dattrs.push(DestAttr::PersistConns(conns.2));
        dattrs.push(DestAttr::Stats(st));
        let bytes = emit_all(&dattrs);
        prop_assert_eq!(
            DestinationEntry::from_wire(&bytes, Family::Inet).unwrap(),
            DestinationEntry::from_attrs(&dattrs, Family::Inet).unwrap()
        );
    }
}

fn emit_all<A: Nla>(attrs: &[A]) -> Vec<u8> {
    let mut buf = vec![0u8; attrs.buffer_len()];
    attrs.emit(&mut buf);
    buf
}
