//! `track_file` / `vrrp_track_file` blocks, and the `track_file` and
//! `track_process` entries of instances and sync groups (one syntax:
//! `NAME [weight N [reverse|noreverse]]`), with the check that each names
//! a defined object.

use crate::error::{ConfigError, ErrorKind, Location};
use crate::lexer::Token;
use crate::model::*;
use crate::parser::Node;
use crate::values::*;

use super::{Builder, items, nodes};

/// keepalived's range for track_file and track_process weights.
pub(super) const WEIGHT: (i64, i64) = (-254, 254);

impl Builder<'_> {
    pub(super) fn track_file(&mut self, n: &Node) -> Option<TrackFile> {
        let name = n.args.first()?.text().to_string();
        let mut path = None;
        let mut out = TrackFile {
            name: name.clone(),
            path: Default::default(),
            weight: 1,
            reverse: false,
            init: None,
        };
        for c in nodes(n) {
            match c.keyword() {
                "file" => path = c.args.first().map(|t| std::path::PathBuf::from(t.text())),
                "weight" => {
                    if let Some((w, r)) = self.weight_line(c) {
                        out.weight = w;
                        out.reverse = r;
                    }
                }
                "init_file" => {
                    let mut value = 0;
                    let mut overwrite = false;
                    for t in &c.args {
                        if t.text() == "overwrite" {
                            overwrite = true;
                        } else {
                            match parse_int(t.text(), i64::from(i32::MIN), i64::from(i32::MAX)) {
                                Some(v) => {
                                    if !(WEIGHT.0..=WEIGHT.1).contains(&v) {
                                        self.warn(
                                            &t.location,
                                            format!(
                                                "track_file `{name}`: init_file value {v} is outside \
                                                 the sensible range -254..254"
                                            ),
                                        );
                                    }
                                    value = v;
                                }
                                None => self.invalid(
                                    "init_file",
                                    t,
                                    "an integer (the value to write) or `overwrite`",
                                ),
                            }
                        }
                    }
                    out.init = Some((value, overwrite));
                }
                _ => self.unhandled(c),
            }
        }
        let Some(path) = path else {
            self.error(
                n.loc(),
                ErrorKind::MissingRequired {
                    block: format!("track_file `{name}`"),
                    keyword: "file".into(),
                    detail: Some("the file holding the value, e.g. `file /run/prio`".into()),
                },
            );
            return None;
        };
        out.path = path;
        Some(out)
    }

    /// `weight N [reverse]` inside a `track_file` / `vrrp_track_process` block.
    pub(super) fn weight_line(&mut self, c: &Node) -> Option<(i16, bool)> {
        let t = c.args.first()?;
        let w = match parse_int(t.text(), WEIGHT.0, WEIGHT.1) {
            Some(w) => i16::try_from(w).ok()?,
            None => {
                self.invalid("weight", t, "an integer from -254 to 254");
                return None;
            }
        };
        let reverse = match c.args.get(1).map(Token::text) {
            None => false,
            Some("reverse") => true,
            Some(_) => {
                self.invalid("weight", &c.args[1], "`reverse` after the weight");
                return None;
            }
        };
        Some((w, reverse))
    }

    /// `track_file { ... }` / `track_process { ... }` entries (`what` is the
    /// keyword): `NAME [weight N [reverse|noreverse]]` per line, each name once.
    /// `NAME [weight N [reverse|noreverse]]` entries, one per line, the
    /// weight within `weights` (track_script: ±253, track_file/process: ±254).
    pub(super) fn track_refs(
        &mut self,
        n: &Node,
        what: &str,
        weights: (i64, i64),
    ) -> Vec<(TrackRef, Location)> {
        let mut out: Vec<(TrackRef, Location)> = Vec::new();
        for line in items(n) {
            let Some(first) = line.first() else { continue };
            let mut t = TrackRef::new(first.text());
            let mut i = 1;
            while i < line.len() {
                let tok = &line[i];
                match tok.text() {
                    "weight" => {
                        match line
                            .get(i + 1)
                            .and_then(|v| parse_int(v.text(), weights.0, weights.1))
                        {
                            Some(w) => t.weight = i16::try_from(w).ok(),
                            None => {
                                let bad = line.get(i + 1).unwrap_or(tok);
                                self.invalid(
                                    &format!("{what} weight"),
                                    bad,
                                    &format!("an integer from {} to {}", weights.0, weights.1),
                                );
                            }
                        }
                        i += 2;
                    }
                    "reverse" | "noreverse" if t.weight.is_some() => {
                        t.reverse = Some(tok.text() == "reverse");
                        i += 1;
                    }
                    _ => {
                        self.invalid(
                            what,
                            tok,
                            "one per line: NAME [weight N [reverse|noreverse]]",
                        );
                        break;
                    }
                }
            }
            if out.iter().any(|(o, _)| o.name == t.name) {
                self.error(
                    &first.location,
                    ErrorKind::Duplicate {
                        what: format!("{what} `{}`", t.name),
                    },
                );
                continue;
            }
            out.push((t, first.location.clone()));
        }
        out
    }

    /// Each entry names a defined object (`block` is its defining keyword).
    pub(super) fn check_track_refs(
        &mut self,
        owner: &str,
        refs: &[TrackRef],
        locs: &[Location],
        block: &str,
        defined: &[&str],
    ) {
        for (t, loc) in refs.iter().zip(locs) {
            if defined.contains(&t.name.as_str()) {
                continue;
            }
            let mut e = ConfigError::new(
                loc,
                ErrorKind::Invalid {
                    message: format!("{owner} tracks `{}`, which no {block} defines", t.name),
                },
            );
            if let Some(s) = crate::suggest::suggest(&t.name, defined.iter().copied()) {
                e = e.note(None, format!("did you mean `{s}`?"));
            }
            self.errors.push(e);
        }
    }
}
