//! An HTTP response through HTTP_GET's reader (status line, headers,
//! Content-Length / chunked / until-close framing, body cap) and judge
//! (status ranges, body substring, MD5 digest). The first byte chooses
//! how the rest arrives (chunk size) and which checks want the body.
//! Nothing may panic or allocate past the body cap.
#![no_main]

use std::net::{Ipv4Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use lvs_healthcheck::ConnectOptions;
use lvs_healthcheck::checker::http::HttpCheck;
use lvs_healthcheck::fuzzing::http_response;

fuzz_target!(|data: &[u8]| {
    let Some((&control, reply)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(control & 0x1f) + 1;
    let connect = ConnectOptions::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 80)));
    let mut check = HttpCheck::new(connect, "/health")
        .with_status(vec![(200, 299), (301, 302)])
        .with_max_body(if control & 0x80 != 0 { 16 } else { 4096 });
    if control & 0x20 != 0 {
        check = check.with_body_contains(b"OK".to_vec());
    }
    if control & 0x40 != 0 {
        check = check.with_body_md5([0x5a; 16]);
    }
    if let Ok(response) = http_response(&check, reply.chunks(chunk)) {
        assert!(response.body.len() <= check.max_body, "body past the cap");
        let _ = check.judge(&response);
    }
});
