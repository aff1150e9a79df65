//! An Ethernet frame through lvs-arpguard's ARP and neighbour-advertisement
//! decoders (the announcer's and the audits' capture paths). Nothing may
//! panic, and an accepted frame emits back to one that parses the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs_arpguard::wire::{
    GarpForm, garp_frame, parse_arp_frame, parse_na_frame, unsolicited_na_frame,
};

fuzz_target!(|data: &[u8]| {
    if let Ok((eth, arp)) = parse_arp_frame(data) {
        let _ = arp.is_gratuitous();
        for form in [GarpForm::Request, GarpForm::Reply] {
            let again = garp_frame(form, eth.src, arp.source_ip);
            assert!(parse_arp_frame(&again).is_ok(), "own GARP does not parse");
        }
    }
    if let Ok((eth, _ip, na)) = parse_na_frame(data) {
        let again = unsolicited_na_frame(eth.src, na.target, na.router);
        let (_, _, back) = parse_na_frame(&again).expect("own NA parses");
        assert_eq!(back.target, na.target);
    }
});
