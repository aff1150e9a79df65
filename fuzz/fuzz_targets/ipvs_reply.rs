//! A generic-netlink IPVS payload (genl header + attributes) through both
//! decoders: the attribute enums (`nla`, then the typed `from_attrs`) and
//! the in-place `direct` readers (`from_wire`) the dumps use. Nothing may
//! panic, and where both decoders accept a nest they must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs_ipvs::nla::CmdAttr;
use lvs_ipvs::{DestinationEntry, Family, IpvsMessage, ServiceEntry, SyncDaemon};
use netlink_packet_core::{Emitable, NlasIterator, ParseableParametrized};
use netlink_packet_generic::GenlHeader;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = GenlHeader::parse(data) else {
        return;
    };
    let attrs = data.get(4..).unwrap_or_default();

    // The attribute enums, then the typed views, as `IpvsHandle` reads
    // single replies; whatever parses emits again without panicking.
    let mut nla_service = None;
    let mut nla_dests = Vec::new();
    if let Ok(msg) = IpvsMessage::parse_with_param(attrs, header) {
        let mut out = vec![0u8; msg.buffer_len()];
        msg.emit(&mut out);
        for a in &msg.attrs {
            match a {
                CmdAttr::Service(s) => {
                    nla_service.get_or_insert(ServiceEntry::from_attrs(s));
                }
                CmdAttr::Dest(d) => {
                    for family in [Family::Inet, Family::Inet6] {
                        nla_dests.push(DestinationEntry::from_attrs(d, family));
                    }
                }
                CmdAttr::Daemon(d) => {
                    let _ = SyncDaemon::from_attrs(d);
                }
                _ => {}
            }
        }
    }

    // The in-place readers, on the first nest of each kind as the dumps take it.
    let mut direct_service = None;
    let mut direct_dests = Vec::new();
    for nla in NlasIterator::new(attrs) {
        let Ok(nla) = nla else { break };
        match nla.kind() & 0x3fff {
            1 if direct_service.is_none() => {
                direct_service = Some(ServiceEntry::from_wire(nla.value()));
            }
            2 if direct_dests.is_empty() => {
                for family in [Family::Inet, Family::Inet6] {
                    direct_dests.push(DestinationEntry::from_wire(nla.value(), family));
                }
            }
            _ => {}
        }
    }

    // Same answer from both where both accept the same first nest.
    if let (Some(Ok(a)), Some(Ok(b))) = (&nla_service, &direct_service) {
        assert_eq!(a, b, "nla and direct service decoders disagree");
    }
    for (a, b) in nla_dests.iter().take(2).zip(&direct_dests) {
        if let (Ok(a), Ok(b)) = (a, b) {
            assert_eq!(a, b, "nla and direct destination decoders disagree");
        }
    }
});
