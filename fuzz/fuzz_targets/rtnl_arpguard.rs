//! rtnetlink bytes as lvs-arpguard reads them: a datagram of notifications
//! through the watcher's decoder (`watch::parse_events`), and the same bytes
//! as a dump reply split message by message (as `Rtnl::request` does) into
//! typed links and addresses. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs_arpguard::fuzzing::{address_from, link_from};
use lvs_arpguard::watch::parse_events;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;

fuzz_target!(|data: &[u8]| {
    let _ = parse_events(data);

    let mut offset = 0;
    while offset < data.len() {
        let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[offset..]) else {
            break;
        };
        let len = msg.header.length as usize;
        if len == 0 {
            break;
        }
        offset += (len + 3) & !3;
        if let NetlinkPayload::InnerMessage(inner) = msg.payload {
            match inner {
                RouteNetlinkMessage::NewLink(l) | RouteNetlinkMessage::DelLink(l) => {
                    let link = link_from(&l);
                    let _ = format!("{link:?}");
                }
                RouteNetlinkMessage::NewAddress(a) | RouteNetlinkMessage::DelAddress(a) => {
                    if let Some(addr) = address_from(&a) {
                        let _ = addr.del_command();
                    }
                }
                _ => {}
            }
        }
    }
});
