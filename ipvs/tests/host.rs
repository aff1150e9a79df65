//! Runs on any machine, with or without IPVS: a handle opens lazily, and a
//! kernel without IPVS is reported as such with a hint — never as a bare
//! "protocol not available".

use lvs_ipvs::{Error, IpvsHandle};

#[test]
fn missing_ipvs_is_reported_with_a_hint() {
    // Opening never needs IPVS: the family is resolved on first use.
    let mut h = IpvsHandle::open().expect("a generic netlink socket always opens");
    let loaded = std::path::Path::new("/sys/module/ip_vs").exists();
    match h.info() {
        Err(e @ Error::IpvsUnavailable { .. }) => {
            assert!(!loaded, "ip_vs is loaded but reported missing: {e}");
            let text = e.to_string();
            assert!(text.contains("modprobe ip_vs"), "{text}");
            assert!(!text.contains("Protocol not available"), "{text}");
            // Not cached: the next call asks the kernel again (and would
            // succeed once ip_vs is loaded).
            assert!(matches!(h.services(), Err(Error::IpvsUnavailable { .. })));
        }
        Ok(info) => assert!(loaded, "IPVS answered without ip_vs loaded? {info:?}"),
        Err(Error::Permission) => assert!(loaded, "EPERM though IPVS is missing"),
        Err(e) => panic!("unexpected error: {e}"),
    }
}
