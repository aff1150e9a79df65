//! Helpers the keepalived-conf tests share: parse text that must load, or
//! must be refused.

use lvs_keepalived_conf::{self as config, Config, ConfigError, Warning};

/// Parses `text` as `t.conf`; panics with every error if it is refused.
pub fn ok(text: &str) -> (Config, Vec<Warning>) {
    config::parse_str("t.conf", text).unwrap_or_else(|e| {
        panic!(
            "refused:\n{}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

/// Parses `text` as `t.conf`; panics if it is accepted.
pub fn refused(text: &str) -> Vec<ConfigError> {
    match config::parse_str("t.conf", text) {
        Ok((c, _)) => panic!("accepted: {c:#?}"),
        Err(e) => e,
    }
}
