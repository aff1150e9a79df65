//! keepalived's configuration language, parsed into a validated model.
//!
//! [`load`] reads a file (following `include`s), and either returns the whole
//! [`Config`] with [`Warning`]s, or refuses it with every [`ConfigError`]
//! found — nothing is half-accepted. Each error carries file, line and column
//! and prints like a compiler diagnostic:
//!
//! ```
//! use lvs_keepalived_conf as config;
//!
//! let errors = config::parse_str("node01.conf", "vrp_instance VI_1 {\n}\n").unwrap_err();
//! assert_eq!(
//!     errors[0].to_string(),
//!     "node01.conf:1:1: error: unknown keyword `vrp_instance` at the top level \
//!      (did you mean `vrrp_instance`?)"
//! );
//!
//! let (cfg, _warnings) = config::parse_str(
//!     "lb.conf",
//!     "virtual_server 172.20.0.83 80 { lb_algo rr lb_kind DR\n\
//!        real_server 172.20.0.85 80 { TCP_CHECK { connect_timeout 3 retry 1 delay_before_retry 2 } }\n\
//!      }\n",
//! )
//! .unwrap();
//! let check = &cfg.virtual_servers[0].real_servers[0].checks[0];
//! assert_eq!(check.common.retry, 1);
//! assert_eq!(check.common.delay_before_retry, std::time::Duration::from_secs(2));
//! ```
//!
//! Differences from keepalived, on purpose: the input is split into tokens,
//! not lines, so several keywords on one line all count; unknown keywords,
//! misplaced blocks, unclosed blocks and bad values are errors (keepalived
//! logs them and runs with what is left); keepalived keywords that director
//! cannot honour (`vrrp_script`, `SSL_GET`, ...) are refused rather than
//! ignored, while purely cosmetic ones (`smtp_alert`, ...) are warnings.

#![warn(missing_docs)]

mod build;
mod diff;
mod error;
mod include;
mod keywords;
mod lexer;
mod model;
mod parser;
mod suggest;
mod values;

use std::path::Path;
use std::sync::Arc;

pub use diff::{Change, ConfigDiff, VirtualServerChange, diff};
pub use error::{ConfigError, ErrorKind, Location, Note, SourceFile, Warning};
pub use model::*;
pub use suggest::edit_distance;
pub use values::split_words;

/// The outcome of loading: the model and its warnings, or every error.
pub type LoadResult = Result<(Config, Vec<Warning>), Vec<ConfigError>>;

/// Reads and validates the configuration at `path` (and its includes).
pub fn load(path: impl AsRef<Path>) -> LoadResult {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut tokens = Vec::new();
    include::Loader::new(&mut errors, &mut warnings).load_file(path.as_ref(), None, &mut tokens);
    finish(&tokens, errors, warnings)
}

/// Validates configuration text as if read from a file at `path` (used in
/// messages and as the base of relative `include`s; the file itself is not read).
pub fn parse_str(path: impl AsRef<Path>, text: &str) -> LoadResult {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut tokens = Vec::new();
    let file = Arc::new(SourceFile {
        path: path.as_ref().to_path_buf(),
        included_from: None,
    });
    include::Loader::new(&mut errors, &mut warnings).load_str(text, &file, &mut tokens);
    finish(&tokens, errors, warnings)
}

fn finish(
    tokens: &[lexer::Token],
    mut errors: Vec<ConfigError>,
    mut warnings: Vec<Warning>,
) -> LoadResult {
    let tree = parser::Parser::new(tokens, &mut errors, &mut warnings).parse();
    let config = build::Builder {
        errors: &mut errors,
        warnings: &mut warnings,
    }
    .build(&tree);
    // Report in reading order: by file (first token seen), line, column.
    let mut files: Vec<*const SourceFile> = Vec::new();
    for t in tokens {
        let p = Arc::as_ptr(&t.location.file);
        if files.last() != Some(&p) && !files.contains(&p) {
            files.push(p);
        }
    }
    let key = |l: Option<&Location>| match l {
        None => (0, 0, 0),
        Some(l) => {
            let p = Arc::as_ptr(&l.file);
            let f = files.iter().position(|x| *x == p).unwrap_or(files.len());
            (f + 1, l.line, l.column)
        }
    };
    errors.sort_by_key(|e| key(e.location.as_ref()));
    warnings.sort_by_key(|w| key(w.location.as_ref()));
    if errors.is_empty() {
        Ok((config, warnings))
    } else {
        Err(errors)
    }
}
