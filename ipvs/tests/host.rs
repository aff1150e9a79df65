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

/// `is_available` answers up front what the first request would hit. On a
/// kernel without `ip_vs` (this host, CI) it is `false` and requests fail
/// with `IpvsUnavailable`; with `ip_vs` it is `true`. Plain (not ignored):
/// it needs no root and holds on either kind of kernel.
#[test]
fn is_available_agrees_with_the_kernel() {
    let mut h = IpvsHandle::open().expect("a generic netlink socket always opens");
    let available = h.is_available();
    // Read after the call: resolving the family may autoload the module.
    let loaded = std::path::Path::new("/sys/module/ip_vs").exists();
    assert_eq!(
        available, loaded,
        "is_available() = {available}, ip_vs loaded = {loaded}"
    );
    if !available {
        assert!(matches!(h.timeouts(), Err(Error::IpvsUnavailable { .. })));
        // Still usable, and still asking: the answer is not cached as false.
        assert!(!h.is_available());
    }
}
