//! Source locations, configuration errors and warnings.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One configuration file as it was read, and where it was included from.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The path as it was given (top file) or resolved (included files).
    pub path: PathBuf,
    /// The `include` keyword that pulled this file in; `None` for the top file.
    pub included_from: Option<Location>,
}

/// A position in a configuration file: 1-based line and column (in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file holding this position.
    pub file: Arc<SourceFile>,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
}

impl Location {
    /// The path of the file holding this position.
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    /// Whether `self` and `other` are on the same line of the same file.
    pub fn same_line(&self, other: &Location) -> bool {
        self.line == other.line && Arc::ptr_eq(&self.file, &other.file)
    }

    /// `line:column`, without the file (for notes about the same file).
    pub fn line_col(&self) -> String {
        format!("{}:{}", self.line, self.column)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.file.path.display(),
            self.line,
            self.column
        )
    }
}

/// Extra context attached to an error or a warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Where the note points, if anywhere.
    pub location: Option<Location>,
    /// The note's text.
    pub message: String,
}

/// What is wrong with a configuration. The text of each variant is the
/// message printed after `error:`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file (top or included) could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A `"` without its closing `"` on the same line.
    #[error("unterminated quoted string")]
    UnterminatedString,
    /// A conditional line, parameter or `~SEQ`/`~LST` block keepalived's
    /// preprocessor would not accept (what is wrong is in the text).
    #[error("preprocessor: {0}")]
    Preprocess(String),
    /// A keyword that is not valid in this block (and not valid anywhere else).
    #[error("unknown keyword `{keyword}` {context}{}", suggestion_text(.suggestion))]
    UnknownKeyword {
        /// The word found.
        keyword: String,
        /// Where it was found (e.g. "in a `vrrp_instance` block", "at the top level").
        context: String,
        /// The closest valid keyword, if one is close enough.
        suggestion: Option<String>,
    },
    /// A keyword valid elsewhere but not in this block.
    #[error("`{keyword}` is not allowed {context}: it belongs {belongs_in}")]
    MisplacedKeyword {
        /// The keyword found.
        keyword: String,
        /// Where it was found.
        context: String,
        /// Where it is valid, e.g. "inside a `virtual_server` block".
        belongs_in: String,
    },
    /// Valid keepalived syntax that this implementation refuses to half-apply
    /// (see [`crate::keywords`]).
    #[error("`{keyword}` is keepalived syntax that director does not support: {reason}")]
    Unsupported {
        /// The keyword (or keyword and value form, e.g. `auth_type AH`) found.
        keyword: String,
        /// What director would do differently, from the keyword table.
        reason: String,
    },
    /// A `}` with no open block.
    #[error("unexpected `}}`: no block is open here")]
    UnexpectedCloseBrace,
    /// A `{` that does not follow a keyword taking a block.
    #[error("unexpected `{{`{}", after_text(.after))]
    UnexpectedOpenBrace {
        /// The keyword before it, if any.
        after: Option<String>,
    },
    /// End of input inside a block.
    #[error("block `{keyword}` is never closed (missing `}}`)")]
    UnclosedBlock {
        /// The keyword that opened the block.
        keyword: String,
    },
    /// A keyword that needs a `{ ... }` block has none.
    #[error("`{keyword}` needs a `{{ ... }}` block")]
    MissingBlock {
        /// The keyword.
        keyword: String,
    },
    /// A keyword was given a value it does not take, or too few values.
    #[error("`{keyword}` expects {expected}")]
    MissingArgument {
        /// The keyword.
        keyword: String,
        /// A description of what it takes.
        expected: String,
    },
    /// Extra words after a keyword's values.
    #[error("unexpected `{token}` after the value of `{keyword}`")]
    TooManyArguments {
        /// The keyword.
        keyword: String,
        /// The first extra word.
        token: String,
    },
    /// A value that does not parse or is out of range.
    #[error("invalid value `{value}` for `{keyword}`: expected {expected}")]
    InvalidValue {
        /// The keyword (or list block) the value belongs to.
        keyword: String,
        /// The offending token.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// A block lacks a keyword it cannot work without.
    #[error("{block} has no `{keyword}`{}", detail_text(.detail))]
    MissingRequired {
        /// The block, e.g. "vrrp_instance `VI_1`".
        block: String,
        /// The missing keyword.
        keyword: String,
        /// Why it is needed, if worth saying.
        detail: Option<String>,
    },
    /// Something defined twice where it must be unique.
    #[error("duplicate {what}")]
    Duplicate {
        /// What is duplicated, e.g. "virtual_router_id 1 on interface `ens18`".
        what: String,
    },
    /// An `include` that (directly or not) includes itself.
    #[error("include cycle: `{path}` is already being read")]
    IncludeCycle {
        /// The file that would be read again.
        path: PathBuf,
    },
    /// An `include` naming a file that does not exist.
    #[error("include `{pattern}`: no such file")]
    IncludeNotFound {
        /// The pattern as written.
        pattern: String,
    },
    /// Includes nested too deeply (guards against runaway recursion).
    #[error("includes nested deeper than {limit} levels")]
    IncludeTooDeep {
        /// The limit.
        limit: usize,
    },
    /// Any other semantic problem.
    #[error("{message}")]
    Invalid {
        /// The explanation.
        message: String,
    },
}

fn suggestion_text(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

fn after_text(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" after `{s}`, which takes no block"),
        None => String::new(),
    }
}

fn detail_text(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" ({s})"),
        None => String::new(),
    }
}

/// One configuration error: where, what, and notes that help fix it.
///
/// `Display` prints compiler-style lines, e.g.
/// `node01.conf:1:1: error: unknown keyword `vrp_instance` at the top level (did you mean `vrrp_instance`?)`
/// followed by one `note:` line per note and per include level.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConfigError {
    /// Where the problem is (absent only for a top file that cannot be read).
    pub location: Option<Location>,
    /// What the problem is.
    pub kind: ErrorKind,
    /// Additional hints, each possibly pointing elsewhere.
    pub notes: Vec<Note>,
}

impl ConfigError {
    pub(crate) fn new(location: &Location, kind: ErrorKind) -> Self {
        ConfigError {
            location: Some(location.clone()),
            kind,
            notes: Vec::new(),
        }
    }

    pub(crate) fn note(mut self, location: Option<&Location>, message: impl Into<String>) -> Self {
        self.notes.push(Note {
            location: location.cloned(),
            message: message.into(),
        });
        self
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn write_diagnostic(
    f: &mut fmt::Formatter<'_>,
    severity: &str,
    location: Option<&Location>,
    message: &dyn fmt::Display,
    notes: &[Note],
) -> fmt::Result {
    match location {
        Some(l) => write!(f, "{l}: {severity}: {message}")?,
        None => write!(f, "{severity}: {message}")?,
    }
    for n in notes {
        match &n.location {
            Some(l) => write!(f, "\n{l}: note: {}", n.message)?,
            None => write!(f, "\n  note: {}", n.message)?,
        }
    }
    let mut from = location.and_then(|l| l.file.included_from.as_ref());
    while let Some(l) = from {
        write!(f, "\n{l}: note: included from here")?;
        from = l.file.included_from.as_ref();
    }
    Ok(())
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_diagnostic(f, "error", self.location.as_ref(), &self.kind, &self.notes)
    }
}

/// Something keepalived accepts but that is likely to bite, or that director
/// ignores. Warnings never stop a configuration from loading.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Warning {
    /// Where it applies.
    pub location: Option<Location>,
    /// The explanation.
    pub message: String,
    /// Additional hints.
    pub notes: Vec<Note>,
}

impl Warning {
    pub(crate) fn new(location: &Location, message: impl Into<String>) -> Self {
        Warning {
            location: Some(location.clone()),
            message: message.into(),
            notes: Vec::new(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_diagnostic(
            f,
            "warning",
            self.location.as_ref(),
            &self.message,
            &self.notes,
        )
    }
}
