//! `ipvsadm -R` input (what `-S` writes) through the line splitter and the
//! argument parser of each line, as `ipvsadm::run` reads it before it
//! touches the kernel. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs_examples::ipvsadm::args::parse;
use lvs_examples::ipvsadm::restore::lines;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in lines(text) {
        assert!(!line.args.is_empty() && line.number >= 1);
        let _ = parse(&line.args);
    }
});
