//! Text through the keepalived configuration front end: the line
//! preprocessor, lexer, parser and block builders (`parse_str_with`), the
//! diagnostics' rendering, and the conversion of an accepted configuration
//! into a `DirectorConfig`. Nothing may panic, hang or allocate without bound.
//!
//! `include` reads files, which is the file system's input, not this
//! text's: inputs that name it are skipped (the path below does not exist,
//! so relative includes would find nothing anyway).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs_director::DirectorConfig;
use lvs_keepalived_conf::{LoadOptions, parse_str_with};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.contains("include") {
        return;
    }
    let options = LoadOptions::new().with_config_id("fuzz");
    match parse_str_with("/nonexistent/lvs-fuzz/keepalived.conf", text, &options) {
        Ok((cfg, warnings)) => {
            for w in &warnings {
                let _ = w.to_string();
            }
            if let Err(e) = DirectorConfig::try_from(&cfg) {
                let _ = e.to_string();
            }
        }
        Err(errors) => {
            for e in &errors {
                let _ = e.to_string();
            }
        }
    }
});
