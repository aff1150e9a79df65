//! An ipvsadm command line through the compatible CLI's argument parser.
//! The input is the arguments separated by NUL bytes. Host names never
//! resolve here (lvs-examples' `fuzzing` feature), so no DNS is asked.
//! Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs_examples::ipvsadm::args::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let args: Vec<String> = text.split('\0').map(String::from).collect();
    if let Ok(cmd) = parse(&args) {
        let _ = format!("{cmd:?}");
    }
});
