//! Reading files and expanding `include` lines into one token stream.
//!
//! `include PATTERN...` must be the first word of its line (as in keepalived);
//! patterns are shell globs (`*`, `?`, `[...]`) relative to the including
//! file's directory, expanded in sorted order. A file that includes itself,
//! directly or not, is an error naming the cycle.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{ConfigError, ErrorKind, Location, SourceFile, Warning};
use crate::lexer::{Token, TokenKind, lex_lines};
use crate::preprocess::Preprocessor;

/// How deep includes may nest.
const MAX_DEPTH: usize = 32;

/// Largest configuration file read.
const MAX_FILE_BYTES: u64 = 16 << 20;

pub(crate) struct Loader<'a> {
    pub errors: &'a mut Vec<ConfigError>,
    pub warnings: &'a mut Vec<Warning>,
    /// Canonical paths of the files being read, outermost first.
    stack: Vec<PathBuf>,
    /// Parameters and the configuration id, shared by every file read.
    pre: Preprocessor,
}

impl<'a> Loader<'a> {
    pub fn new(
        errors: &'a mut Vec<ConfigError>,
        warnings: &'a mut Vec<Warning>,
        config_id: String,
    ) -> Self {
        Loader {
            errors,
            warnings,
            stack: Vec::new(),
            pre: Preprocessor::new(config_id),
        }
    }

    /// Reads `path` and everything it includes into `out`.
    pub fn load_file(
        &mut self,
        path: &Path,
        included_from: Option<Location>,
        out: &mut Vec<Token>,
    ) {
        // Only regular files, and not absurdly large ones: `include /dev/zero`
        // must fail, not hang.
        let read = fs::metadata(path).and_then(|m| {
            if !m.is_file() {
                Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a regular file",
                ))
            } else if m.len() > MAX_FILE_BYTES {
                Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "larger than 16 MiB",
                ))
            } else {
                fs::read(path)
            }
        });
        let text = match read {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(source) => {
                let kind = ErrorKind::Io {
                    path: path.to_path_buf(),
                    source,
                };
                self.errors.push(ConfigError {
                    location: included_from,
                    kind,
                    notes: Vec::new(),
                });
                return;
            }
        };
        let canonical = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let file = Arc::new(SourceFile {
            path: path.to_path_buf(),
            included_from,
        });
        self.stack.push(canonical);
        self.load_str(&text, &file, out);
        self.stack.pop();
    }

    /// Lexes `text` (the contents of `file`) and expands its includes into `out`.
    pub fn load_str(&mut self, text: &str, file: &Arc<SourceFile>, out: &mut Vec<Token>) {
        let lines = self.pre.run(text, file, self.errors);
        let tokens = lex_lines(&lines, file, self.errors);
        let mut i = 0;
        while i < tokens.len() {
            let tok = &tokens[i];
            let first_on_line = i == 0 || !tokens[i - 1].same_line(tok);
            if first_on_line && tok.kind == TokenKind::Word("include".into()) {
                let mut j = i + 1;
                while j < tokens.len() && tokens[j].same_line(tok) && !tokens[j].is_brace() {
                    j += 1;
                }
                if j == i + 1 {
                    self.errors.push(ConfigError::new(
                        &tok.location,
                        ErrorKind::MissingArgument {
                            keyword: "include".into(),
                            expected: "one or more file names or glob patterns".into(),
                        },
                    ));
                }
                for pat in &tokens[i + 1..j] {
                    self.include(file, pat, out);
                }
                i = j;
            } else {
                out.push(tok.clone());
                i += 1;
            }
        }
    }

    fn include(&mut self, file: &Arc<SourceFile>, pat: &Token, out: &mut Vec<Token>) {
        let base = file.path.parent().unwrap_or(Path::new(""));
        let pattern = Path::new(pat.text());
        let full = if pattern.is_absolute() {
            pattern.to_path_buf()
        } else {
            base.join(pattern)
        };
        let is_glob = pat.text().contains(['*', '?', '[']);
        let paths = if is_glob {
            glob(&full)
        } else {
            vec![full.clone()]
        };
        if paths.is_empty() {
            self.warnings.push(Warning::new(
                &pat.location,
                format!("include `{}` matches no file", pat.text()),
            ));
            return;
        }
        if !is_glob && !full.exists() {
            self.errors.push(ConfigError::new(
                &pat.location,
                ErrorKind::IncludeNotFound {
                    pattern: pat.text().to_string(),
                },
            ));
            return;
        }
        for p in paths {
            let canonical = fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
            if let Some(pos) = self.stack.iter().position(|s| *s == canonical) {
                let mut err =
                    ConfigError::new(&pat.location, ErrorKind::IncludeCycle { path: p.clone() });
                let chain: Vec<String> = self.stack[pos..]
                    .iter()
                    .chain(std::iter::once(&canonical))
                    .map(|s| s.display().to_string())
                    .collect();
                err = err.note(None, format!("cycle: {}", chain.join(" -> ")));
                self.errors.push(err);
                continue;
            }
            if self.stack.len() >= MAX_DEPTH {
                self.errors.push(ConfigError::new(
                    &pat.location,
                    ErrorKind::IncludeTooDeep { limit: MAX_DEPTH },
                ));
                return;
            }
            self.load_file(&p, Some(pat.location.clone()), out);
        }
    }
}

/// Expands a glob path: each component may hold `*`, `?` and `[...]`.
/// Hidden entries are matched only by patterns starting with `.`.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let mut current: Vec<PathBuf> = vec![PathBuf::new()];
    for comp in pattern.components() {
        let text = comp.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        if !text.contains(['*', '?', '[']) {
            for c in &current {
                next.push(c.join(comp.as_os_str()));
            }
        } else {
            let pat: Vec<char> = text.chars().collect();
            for dir in &current {
                let read_dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir.as_path()
                };
                let Ok(entries) = fs::read_dir(read_dir) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.') || pat.first() == Some(&'.'))
                    .filter(|n| wildcard_match(&pat, &n.chars().collect::<Vec<_>>()))
                    .collect();
                names.sort();
                for n in names {
                    next.push(dir.join(n));
                }
            }
        }
        current = next;
    }
    current.retain(|p| p.exists());
    current
}

/// Shell-style matching of one path component.
fn wildcard_match(pat: &[char], name: &[char]) -> bool {
    match pat.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|k| wildcard_match(&pat[1..], &name[k..])),
        Some('?') => !name.is_empty() && wildcard_match(&pat[1..], &name[1..]),
        Some('[') => {
            let Some(close) = pat.iter().skip(1).position(|&c| c == ']').map(|p| p + 1) else {
                return name.first() == Some(&'[') && wildcard_match(&pat[1..], &name[1..]);
            };
            let Some(&c) = name.first() else {
                return false;
            };
            let mut set = &pat[1..close];
            let negate = matches!(set.first(), Some('!') | Some('^'));
            if negate {
                set = &set[1..];
            }
            let mut hit = false;
            let mut k = 0;
            while k < set.len() {
                if k + 2 < set.len() && set[k + 1] == '-' {
                    hit |= set[k] <= c && c <= set[k + 2];
                    k += 3;
                } else {
                    hit |= set[k] == c;
                    k += 1;
                }
            }
            hit != negate && wildcard_match(&pat[close + 1..], &name[1..])
        }
        Some(&p) => name.first() == Some(&p) && wildcard_match(&pat[1..], &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    fn m(p: &str, n: &str) -> bool {
        wildcard_match(
            &p.chars().collect::<Vec<_>>(),
            &n.chars().collect::<Vec<_>>(),
        )
    }

    #[test]
    fn wildcards() {
        assert!(m("*.conf", "a.conf"));
        assert!(!m("*.conf", "a.conf.bak"));
        assert!(m("node0?.conf", "node01.conf"));
        assert!(m("n[0-9]x", "n5x"));
        assert!(!m("n[!0-9]x", "n5x"));
        assert!(m("[", "["));
    }
}
