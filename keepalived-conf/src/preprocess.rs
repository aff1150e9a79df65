//! keepalived's line preprocessor, applied to each file before it is split
//! into tokens (keepalived.conf(5), "Conditional configuration",
//! "Parameter substitution", "Sequence blocks", "List blocks"):
//!
//! - `@ID rest` keeps `rest` only when the configuration id is `ID`;
//!   `@^ID rest` only when it is not;
//! - `$NAME=VALUE` defines a parameter (a value ending in `\` continues on
//!   the next lines, one line each); `${NAME}`, or `$NAME` followed by
//!   whitespace or the end of the line, is replaced by its value when the
//!   line is used, and the result is read again (so values may hold
//!   parameters, definitions and conditions); undefined parameters are left
//!   as written, so a `$` in a script is untouched;
//! - `~SEQ(VAR, START, STEP, END)` / `~SEQx(...)` / `~LST(VAR, V1, V2, ...)`
//!   at the start of a line repeat the rest of it for each value of `VAR`;
//! - `${_PWD}`, `${_INSTANCE}`, `${_HASH}`, `${_BANG}` and
//!   `${_RANDOM [MIN [MAX]]}` are predefined.
//!
//! Parameters are defined in reading order across included files, as in
//! keepalived. Every output line keeps the line number of the line it came
//! from, so diagnostics point at the use of a parameter. Lines holding none
//! of `@`, `$`, `~` at their start and no `$` anywhere pass through as they are.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{ConfigError, ErrorKind, Location};

/// Stands for a `#` made by `${_HASH}`: the lexer turns it back into `#`
/// after comments are stripped, so it does not start one.
pub(crate) const HASH: char = '\u{E000}';
/// Stands for a `!` made by `${_BANG}` (see [`HASH`]).
pub(crate) const BANG: char = '\u{E001}';

/// How many times a line may be re-read after substitution.
const MAX_DEPTH: usize = 32;
/// How many lines one file may grow to through expansion.
const MAX_LINES: usize = 1 << 20;
/// How long one line may grow through substitution: a parameter holding
/// itself twice doubles the line at each of the [`MAX_DEPTH`] re-reads,
/// gigabytes before the depth limit is reached.
const MAX_LINE_BYTES: usize = 1 << 20;

/// One line after preprocessing, with the number of the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub number: u32,
    pub text: String,
}

/// The preprocessor's state across the files of one load.
#[derive(Debug)]
pub(crate) struct Preprocessor {
    config_id: String,
    params: HashMap<String, Vec<String>>,
    random: u64,
}

impl Preprocessor {
    pub fn new(config_id: String) -> Self {
        // A seed that differs per load, for `${_RANDOM}`; quality does not matter.
        let random = std::collections::hash_map::RandomState::new();
        let seed = std::hash::BuildHasher::hash_one(&random, &config_id) | 1;
        Preprocessor {
            config_id,
            params: HashMap::new(),
            random: seed,
        }
    }

    /// Preprocesses the text of `file` (its directory is `${_PWD}`); a line's
    /// problems are reported at its location and the line is dropped.
    pub fn run(
        &mut self,
        text: &str,
        file: &std::sync::Arc<crate::error::SourceFile>,
        errors: &mut Vec<ConfigError>,
    ) -> Vec<Line> {
        let pwd = file
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .display()
            .to_string();
        let mut out = Vec::new();
        let mut physical = text.lines().enumerate().peekable();
        while let Some((idx, raw)) = physical.next() {
            let number = u32::try_from(idx + 1).unwrap_or(u32::MAX);
            if is_plain(raw) {
                out.push(Line {
                    number,
                    text: raw.to_string(),
                });
                continue;
            }
            let loc = Location {
                file: std::sync::Arc::clone(file),
                line: number,
                column: 1,
            };
            // A multi-line definition takes the following physical lines.
            let mut text = raw.to_string();
            if definition(strip_condition_peek(raw)).is_some() {
                while text.trim_end().ends_with('\\') {
                    let Some((_, next)) = physical.next() else {
                        break;
                    };
                    text.push('\n');
                    text.push_str(next);
                }
            }
            let mut cx = Cx {
                pwd: &pwd,
                loc: &loc,
                out: &mut out,
            };
            if let Err(kind) = self.line(&text, 0, &mut cx) {
                errors.push(ConfigError::new(&loc, kind));
            }
            if out.len() > MAX_LINES {
                errors.push(ConfigError::new(
                    &loc,
                    ErrorKind::Preprocess(format!("expansion makes more than {MAX_LINES} lines")),
                ));
                break;
            }
        }
        out
    }

    /// One logical line (a definition's lines joined by `\n`).
    fn line(&mut self, text: &str, depth: usize, cx: &mut Cx<'_>) -> Result<(), ErrorKind> {
        if depth > MAX_DEPTH {
            return Err(ErrorKind::Preprocess(format!(
                "parameters nest more than {MAX_DEPTH} deep (a parameter that uses itself?)"
            )));
        }
        if cx.out.len() > MAX_LINES {
            return Ok(());
        }
        let trimmed = text.trim_start();
        // `@ID` / `@^ID`: keep the rest only for (or except for) this id.
        if let Some(rest) = trimmed.strip_prefix('@') {
            let (negate, rest) = match rest.strip_prefix('^') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let (id, rest) = rest.split_at(end);
            if (id == self.config_id) != negate {
                return self.line(rest, depth, cx);
            }
            return Ok(());
        }
        if let Some((name, value)) = definition(trimmed) {
            let lines = value
                .split('\n')
                .map(|l| {
                    let l = l.trim_end();
                    l.strip_suffix('\\').unwrap_or(l).to_string()
                })
                .filter(|l| !l.trim().is_empty())
                .collect();
            self.params.insert(name.to_string(), lines);
            return Ok(());
        }
        if let Some((var, values, rest)) = repetition(trimmed)? {
            for v in values {
                self.params.insert(var.clone(), vec![v]);
                self.line(rest, depth + 1, cx)?;
            }
            return Ok(());
        }
        match self.substitute(text, cx.pwd)? {
            None => cx.out.push(Line {
                number: cx.loc.line,
                text: text.to_string(),
            }),
            Some(expanded) => {
                for l in expanded.split('\n') {
                    self.line(l, depth + 1, cx)?;
                }
            }
        }
        Ok(())
    }

    /// `text` with its defined parameters replaced once, or `None` when it
    /// holds none.
    fn substitute(&mut self, text: &str, pwd: &str) -> Result<Option<String>, ErrorKind> {
        if !text.contains('$') {
            return Ok(None);
        }
        let mut out = String::with_capacity(text.len());
        let mut changed = false;
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (name, args, len) = if let Some(inner) = after.strip_prefix('{') {
                match inner.find('}') {
                    Some(close) => {
                        let body = &inner[..close];
                        let (name, args) = body.split_once(' ').unwrap_or((body, ""));
                        (name, args, close + 2)
                    }
                    None => ("", "", 0),
                }
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                let followed_ok = after[end..].chars().next().is_none_or(char::is_whitespace);
                if followed_ok {
                    (&after[..end], "", end)
                } else {
                    ("", "", 0)
                }
            };
            match (len > 0).then(|| self.value(name, args, pwd)).flatten() {
                Some(v) => {
                    out.push_str(&v?);
                    if out.len() > MAX_LINE_BYTES {
                        return Err(ErrorKind::Preprocess(format!(
                            "substitution makes a line longer than {} MiB (a parameter that uses itself?)",
                            MAX_LINE_BYTES >> 20
                        )));
                    }
                    changed = true;
                    rest = &after[len..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        Ok(changed.then_some(out))
    }

    /// The value of parameter `name` (`args`: what follows it inside the
    /// braces, for `_RANDOM`), or `None` when it is not defined.
    fn value(&mut self, name: &str, args: &str, pwd: &str) -> Option<Result<String, ErrorKind>> {
        if let Some(v) = self.params.get(name) {
            return Some(Ok(v.join("\n")));
        }
        Some(Ok(match name {
            "_PWD" => pwd.to_string(),
            "_INSTANCE" => self.config_id.clone(),
            "_HASH" => HASH.to_string(),
            "_BANG" => BANG.to_string(),
            "_RANDOM" => return Some(self.random(args)),
            _ => return None,
        }))
    }

    fn random(&mut self, args: &str) -> Result<String, ErrorKind> {
        let nums: Result<Vec<u64>, _> = args.split_whitespace().map(str::parse::<u64>).collect();
        let bad = || ErrorKind::Preprocess(format!("`${{_RANDOM {args}}}`: expected [MIN [MAX]]"));
        let (min, max) = match nums.map_err(|_| bad())?[..] {
            [] => (0, 32767),
            [min] => (min, 32767.max(min)),
            [min, max] if min <= max => (min, max),
            _ => return Err(bad()),
        };
        // xorshift64: ${_RANDOM} only needs a different number each time.
        self.random ^= self.random << 13;
        self.random ^= self.random >> 7;
        self.random ^= self.random << 17;
        let span = max - min;
        let n = if span == u64::MAX {
            self.random
        } else {
            min + self.random % (span + 1)
        };
        Ok(n.to_string())
    }
}

/// What one logical line's expansion writes to, and where it came from.
struct Cx<'a> {
    pwd: &'a str,
    loc: &'a Location,
    out: &'a mut Vec<Line>,
}

/// A line the preprocessor leaves alone.
fn is_plain(line: &str) -> bool {
    let t = line.trim_start();
    !line.contains('$') && !t.starts_with('@') && !t.starts_with('~')
}

/// The line without a leading `@ID` condition, to see whether it defines.
fn strip_condition_peek(line: &str) -> &str {
    let t = line.trim_start();
    match t.strip_prefix('@') {
        Some(rest) => {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            rest[end..].trim_start()
        }
        None => t,
    }
}

/// `$NAME=VALUE` → `(NAME, VALUE)`: a name of `[A-Za-z0-9_]` not starting
/// with a digit, and no space before the `=`.
fn definition(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix('$')?;
    let (name, value) = rest.split_once('=')?;
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some((name, value))
}

/// `~SEQ(...)`, `~SEQx(...)` or `~LST(...)` at the start of `line`: the
/// variable, its values and the rest of the line.
#[allow(clippy::type_complexity)]
fn repetition(line: &str) -> Result<Option<(String, Vec<String>, &str)>, ErrorKind> {
    let Some(spec) = line.strip_prefix('~') else {
        return Ok(None);
    };
    let (kind, after) = if let Some(a) = spec.strip_prefix("SEQx(") {
        ("SEQx", a)
    } else if let Some(a) = spec.strip_prefix("SEQ(") {
        ("SEQ", a)
    } else if let Some(a) = spec.strip_prefix("LST(") {
        ("LST", a)
    } else {
        return Ok(None);
    };
    let close = after
        .find(')')
        .ok_or_else(|| ErrorKind::Preprocess(format!("`~{kind}(` is never closed with `)`")))?;
    let args: Vec<&str> = after[..close].split(',').map(str::trim).collect();
    let rest = &after[close + 1..];
    let var = args[0];
    if definition(&format!("${var}=")).is_none() {
        return Err(ErrorKind::Preprocess(format!(
            "`~{kind}`: `{var}` is not a parameter name"
        )));
    }
    let values = if kind == "LST" {
        if args.len() < 2 {
            return Err(ErrorKind::Preprocess(
                "`~LST` needs a variable and at least one value".into(),
            ));
        }
        args[1..].iter().map(|v| v.to_string()).collect()
    } else {
        sequence(kind, &args[1..])?
    };
    Ok(Some((var.to_string(), values, rest)))
}

/// The values of `~SEQ(VAR, [START, [STEP,]] END)`.
fn sequence(kind: &str, args: &[&str]) -> Result<Vec<String>, ErrorKind> {
    let bad = |why: &str| ErrorKind::Preprocess(format!("`~{kind}`: {why}"));
    let num = |s: &str| -> Result<i64, ErrorKind> {
        let (neg, digits) = match s.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, s),
        };
        let v = match digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
        {
            Some(h) => i64::from_str_radix(h, 16),
            None => digits.parse::<i64>(),
        }
        .map_err(|_| bad(&format!("`{s}` is not a number")))?;
        Ok(if neg { -v } else { v })
    };
    let (start, step, end) = match args {
        [end] => {
            let end = num(end)?;
            (if end < 0 { -1 } else { 1 }, None, end)
        }
        [start, end] => (num(start)?, None, num(end)?),
        [start, step, end] => (num(start)?, Some(num(step)?), num(end)?),
        _ => return Err(bad("expected (VAR, [START, [STEP,]] END)")),
    };
    let step = step.unwrap_or(if end >= start { 1 } else { -1 });
    if step == 0 {
        return Err(bad("the step is 0"));
    }
    let mut values = Vec::new();
    let mut v = start;
    while (step > 0 && v <= end) || (step < 0 && v >= end) {
        if values.len() >= MAX_LINES {
            return Err(bad("more than a million values"));
        }
        values.push(if kind == "SEQx" {
            if v < 0 {
                format!("-{:x}", -v)
            } else {
                format!("{v:x}")
            }
        } else {
            v.to_string()
        });
        let Some(next) = v.checked_add(step) else {
            break;
        };
        v = next;
    }
    Ok(values)
}

/// keepalived's default configuration id: the first part of the host name.
pub(crate) fn default_config_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    host.trim().split('.').next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SourceFile;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn run(id: &str, text: &str) -> (Vec<(u32, String)>, Vec<String>) {
        let file = Arc::new(SourceFile {
            path: PathBuf::from("/etc/keepalived/k.conf"),
            included_from: None,
        });
        let mut errors = Vec::new();
        let lines = Preprocessor::new(id.into()).run(text, &file, &mut errors);
        (
            lines.into_iter().map(|l| (l.number, l.text)).collect(),
            errors.iter().map(|e| e.to_string()).collect(),
        )
    }

    fn texts(id: &str, text: &str) -> Vec<String> {
        let (lines, errors) = run(id, text);
        assert!(errors.is_empty(), "{errors:?}");
        lines
            .into_iter()
            .map(|(_, t)| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    }

    #[test]
    fn plain_lines_pass_through_with_their_numbers() {
        let (lines, errors) = run("n1", "a 1\n  b \"x $y\" # c\n");
        assert!(errors.is_empty());
        assert_eq!(
            lines,
            vec![(1, "a 1".to_string()), (2, "  b \"x $y\" # c".to_string())]
        );
    }

    #[test]
    fn conditions_keep_or_drop_lines_by_config_id() {
        let text = "@main router_id main_router\n@backup router_id backup_router\n@^main peer 1\n@^backup peer 2\n";
        assert_eq!(texts("main", text), ["router_id main_router", "peer 2"]);
        assert_eq!(texts("backup", text), ["router_id backup_router", "peer 1"]);
        assert_eq!(texts("other", text), ["peer 1", "peer 2"]);
    }

    #[test]
    fn substitution_is_recursive_and_done_when_used() {
        let text = "$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\n";
        let (lines, errors) = run("x", text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            lines,
            vec![
                (3, "10.2.0.100/32".to_string()),
                (5, "10.2.10.100/32".to_string())
            ]
        );
    }

    #[test]
    fn bare_names_need_whitespace_after_and_undefined_stay() {
        let text = "$P=240\npriority $P\nx $Pq ${UNDEF} $UNDEF\n";
        assert_eq!(texts("x", text), ["priority 240", "x $Pq ${UNDEF} $UNDEF"]);
    }

    #[test]
    fn conditions_combine_with_definitions() {
        let text = "@main $PRIORITY=240\n@backup $PRIORITY=200\npriority $PRIORITY\n$IF_MAIN=@main\n$IF_MAIN weight 3\n";
        assert_eq!(texts("main", text), ["priority 240", "weight 3"]);
        assert_eq!(texts("backup", text), ["priority 200"]);
    }

    #[test]
    fn multi_line_definitions_nest_and_keep_the_line_of_use() {
        let text = "$RS= \\\nreal_server 10.0.${VS}.${RS_NUM} 80 { \\\n  weight 1 \\\n}\n$VS_BODY= \\\nvirtual_server 10.0.${VS}.4 80 { \\\n  $RS_NUM=1 \\\n  $RS \\\n  $RS_NUM=2 \\\n  $RS \\\n}\n$VS=7\n$VS_BODY\n";
        let (lines, errors) = run("x", text);
        assert!(errors.is_empty(), "{errors:?}");
        let got: Vec<_> = lines
            .iter()
            .map(|(n, t)| (*n, t.trim()))
            .filter(|(_, t)| !t.is_empty())
            .collect();
        assert_eq!(
            got,
            vec![
                (13, "virtual_server 10.0.7.4 80 {"),
                (13, "real_server 10.0.7.1 80 {"),
                (13, "weight 1"),
                (13, "}"),
                (13, "real_server 10.0.7.2 80 {"),
                (13, "weight 1"),
                (13, "}"),
                (13, "}"),
            ]
        );
    }

    #[test]
    fn sequences_and_lists_repeat_the_rest_of_the_line() {
        assert_eq!(
            texts("x", "~SEQ(SUBNET, 0, 3) ip 10.0.${SUBNET}.1\n"),
            ["ip 10.0.0.1", "ip 10.0.1.1", "ip 10.0.2.1", "ip 10.0.3.1"]
        );
        assert_eq!(
            texts("x", "~SEQx(S, 0x90, 0x10, 0xc0) fe80::20:${S}:1\n"),
            [
                "fe80::20:90:1",
                "fe80::20:a0:1",
                "fe80::20:b0:1",
                "fe80::20:c0:1"
            ]
        );
        assert_eq!(texts("x", "~SEQ(N, 3) n${N}\n"), ["n1", "n2", "n3"]);
        assert_eq!(texts("x", "~SEQ(N, 3, 1) n${N}\n"), ["n3", "n2", "n1"]);
        assert_eq!(
            texts("x", "~SEQ(A, 1, 2) ~LST(B, x, y) ${A}${B}\n"),
            ["1x", "1y", "2x", "2y"]
        );
    }

    #[test]
    fn predefined_parameters() {
        assert_eq!(
            texts("node7", "a ${_PWD} ${_INSTANCE}\n"),
            ["a /etc/keepalived node7"]
        );
        assert_eq!(
            texts("x", "b ${_HASH}${_BANG}\n"),
            [format!("b {HASH}{BANG}")]
        );
        let r: u64 = texts("x", "${_RANDOM 5 9}\n")[0].parse().unwrap();
        assert!((5..=9).contains(&r));
    }

    #[test]
    fn bad_input_is_an_error_at_its_line() {
        let (_, e) = run("x", "a\n~SEQ(N, 1, 0, 5) x\n");
        assert_eq!(
            e,
            ["/etc/keepalived/k.conf:2:1: error: preprocessor: `~SEQ`: the step is 0"]
        );
        let (_, e) = run("x", "$A=${A} more\n${A}\n");
        assert!(
            e[0].contains("k.conf:2:1") && e[0].contains("nest"),
            "{e:?}"
        );
        // Holding itself twice doubles the line at each re-read: stopped
        // by its length, not after 2^32 copies (this took minutes and
        // gigabytes; 17 bytes of input).
        let started = std::time::Instant::now();
        let (lines, e) = run("x", "$A=${A}${A}\n${A}\n");
        assert!(lines.is_empty(), "{} lines", lines.len());
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("k.conf:2:1") && e[0].contains("longer than 1 MiB"),
            "{e:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let (_, e) = run("x", "~SEQ(N, 1, 2 x\n");
        assert!(e[0].contains("never closed"), "{e:?}");
        let (_, e) = run("x", "~SEQ(N, 1, 1e9) x\n");
        assert!(e[0].contains("not a number"), "{e:?}");
        let (_, e) = run("x", "~SEQ(N, 0, 2000000) x\n");
        assert!(e[0].contains("million"), "{e:?}");
    }
}
