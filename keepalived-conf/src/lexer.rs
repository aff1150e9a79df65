//! Tokens of keepalived's configuration syntax.
//!
//! keepalived reads a line at a time and looks at its first keyword only; we
//! split the text into tokens instead, so `TCP_CHECK { retry 1 delay_before_retry 2 }`
//! on one line keeps every keyword. Each token carries its file, line and column.

use std::sync::Arc;

use crate::error::{ConfigError, ErrorKind, Location, SourceFile};
use crate::preprocess::{BANG, HASH, Line};

/// The `#` and `!` that `${_HASH}` and `${_BANG}` made, back as themselves.
fn unmask(s: String) -> String {
    if s.contains([HASH, BANG]) {
        s.replace(HASH, "#").replace(BANG, "!")
    } else {
        s
    }
}

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A bare word: anything up to whitespace, `{`, `}` or `"`.
    Word(String),
    /// A `"double quoted"` string, quotes removed (`\"` and `\\` unescaped).
    Quoted(String),
    /// `{`
    Open,
    /// `}`
    Close,
}

/// A token and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it starts.
    pub location: Location,
}

impl Token {
    /// The token's text (without quotes for quoted strings).
    pub fn text(&self) -> &str {
        match &self.kind {
            TokenKind::Word(s) | TokenKind::Quoted(s) => s,
            TokenKind::Open => "{",
            TokenKind::Close => "}",
        }
    }

    /// Whether this is `{` or `}`.
    pub fn is_brace(&self) -> bool {
        matches!(self.kind, TokenKind::Open | TokenKind::Close)
    }

    /// Whether this token is on the same line (of the same file) as `other`.
    pub fn same_line(&self, other: &Token) -> bool {
        self.location.same_line(&other.location)
    }
}

/// Splits `src` into tokens. Comments run from `#` or `!` (at the start of a
/// token) to the end of the line. Errors (unterminated strings) are pushed to
/// `errors`; lexing continues on the next line.
#[cfg(test)]
pub fn lex(src: &str, file: &Arc<SourceFile>, errors: &mut Vec<ConfigError>) -> Vec<Token> {
    let lines: Vec<Line> = src
        .lines()
        .enumerate()
        .map(|(i, text)| Line {
            number: u32::try_from(i + 1).unwrap_or(u32::MAX),
            text: text.to_string(),
        })
        .collect();
    lex_lines(&lines, file, errors)
}

/// [`lex`] over preprocessed lines, each with its own line number.
pub fn lex_lines(
    lines: &[Line],
    file: &Arc<SourceFile>,
    errors: &mut Vec<ConfigError>,
) -> Vec<Token> {
    let mut tokens = Vec::new();
    for line in lines {
        let line_no = line.number;
        let chars: Vec<char> = line.text.chars().collect();
        let mut i = 0;
        let loc = |col: usize| Location {
            file: Arc::clone(file),
            line: line_no,
            column: u32::try_from(col + 1).unwrap_or(u32::MAX),
        };
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                i += 1;
            } else if c == '#' || c == '!' {
                break;
            } else if c == '{' || c == '}' {
                let kind = if c == '{' {
                    TokenKind::Open
                } else {
                    TokenKind::Close
                };
                tokens.push(Token {
                    kind,
                    location: loc(i),
                });
                i += 1;
            } else if c == '"' {
                let start = i;
                i += 1;
                let mut s = String::new();
                let mut closed = false;
                while i < chars.len() {
                    match chars[i] {
                        '"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        '\\' if i + 1 < chars.len() && matches!(chars[i + 1], '"' | '\\') => {
                            s.push(chars[i + 1]);
                            i += 2;
                        }
                        other => {
                            s.push(other);
                            i += 1;
                        }
                    }
                }
                if !closed {
                    errors.push(ConfigError::new(&loc(start), ErrorKind::UnterminatedString));
                }
                // Kept (up to the end of the line) so the statement it ends
                // does not also report a missing value.
                tokens.push(Token {
                    kind: TokenKind::Quoted(unmask(s)),
                    location: loc(start),
                });
            } else {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '{' | '}' | '"')
                {
                    i += 1;
                }
                tokens.push(Token {
                    kind: TokenKind::Word(unmask(chars[start..i].iter().collect())),
                    location: loc(start),
                });
            }
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file() -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path: PathBuf::from("t.conf"),
            included_from: None,
        })
    }

    fn texts(src: &str) -> Vec<(String, u32, u32)> {
        let mut errs = Vec::new();
        let t = lex(src, &file(), &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        t.iter()
            .map(|t| (t.text().to_string(), t.location.line, t.location.column))
            .collect()
    }

    #[test]
    fn braces_split_from_words_and_positions_counted() {
        assert_eq!(
            texts("a{b}\n  c \"d e\" # x { y\n! z\nf!g"),
            vec![
                ("a".into(), 1, 1),
                ("{".into(), 1, 2),
                ("b".into(), 1, 3),
                ("}".into(), 1, 4),
                ("c".into(), 2, 3),
                ("d e".into(), 2, 5),
                ("f!g".into(), 4, 1),
            ]
        );
    }

    #[test]
    fn escapes_in_quotes() {
        assert_eq!(texts(r#""a\"b\\c\d""#)[0].0, r#"a"b\c\d"#);
    }

    #[test]
    fn unterminated_quote_is_an_error_with_position() {
        let mut errs = Vec::new();
        let t = lex("x \"abc\ny", &file(), &mut errs);
        assert_eq!(t.len(), 3);
        assert_eq!(t[1].text(), "abc");
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            "t.conf:1:3: error: unterminated quoted string"
        );
    }
}
