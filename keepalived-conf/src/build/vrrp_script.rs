//! `vrrp_script` blocks, `track_script` entries, and the checks between
//! them (undefined names, weights that cannot do what they seem to).

use std::time::Duration;

use crate::error::{ConfigError, ErrorKind, Location};
use crate::lexer::{Token, TokenKind};
use crate::model::*;
use crate::parser::Node;
use crate::values::*;

use super::{Builder, nodes};

/// keepalived's range for script weights.
const WEIGHT: (i64, i64) = (-253, 253);

impl Builder<'_> {
    pub(super) fn vrrp_script(&mut self, n: &Node) -> Option<VrrpScript> {
        let name = n.args.first()?.text().to_string();
        let mut script = None;
        let mut user = None;
        let mut out = VrrpScript::new(&name, Script::new(Vec::<String>::new()));
        for c in nodes(n) {
            match c.keyword() {
                "script" => script = self.script_line(c),
                "interval" => {
                    if let Some(d) = self.whole_secs(c) {
                        out.interval = d;
                    }
                }
                "timeout" => out.timeout = self.whole_secs(c).or(out.timeout),
                "weight" => {
                    if let Some(t) = c.args.first() {
                        match parse_int(t.text(), WEIGHT.0, WEIGHT.1) {
                            Some(w) => out.weight = i16::try_from(w).unwrap_or(0),
                            None => self.invalid("weight", t, "an integer from -253 to 253"),
                        }
                    }
                    match c.args.get(1).map(Token::text) {
                        None => {}
                        Some("reverse") => out.reverse = true,
                        Some(_) => self.invalid("weight", &c.args[1], "`reverse` after the weight"),
                    }
                }
                "rise" => out.rise = self.at_least_one(c).unwrap_or(out.rise),
                "fall" => out.fall = self.at_least_one(c).unwrap_or(out.fall),
                "init_fail" => out.init_fail = true,
                "user" => user = self.run_as(c),
                _ => self.unhandled(c),
            }
        }
        let Some(script) = script else {
            self.error(
                n.loc(),
                ErrorKind::MissingRequired {
                    block: format!("vrrp_script `{name}`"),
                    keyword: "script".into(),
                    detail: Some(
                        "the program to run, e.g. `script \"/usr/bin/pgrep haproxy\"`".into(),
                    ),
                },
            );
            return None;
        };
        out.script = script;
        out.script.run_as = user.or(self.script_user);
        Some(out)
    }

    /// `script CMD` / `script "CMD ARGS"` / `script CMD ARG ...`: argv without a shell.
    fn script_line(&mut self, c: &Node) -> Option<Script> {
        let argv = match c.args.first().map(|a| &a.kind) {
            Some(TokenKind::Quoted(s)) if c.args.len() == 1 => match split_words(s) {
                Ok(w) => w,
                Err(why) => {
                    self.invalid("script", &c.args[0], &format!("a command line ({why})"));
                    return None;
                }
            },
            _ => c.args.iter().map(|a| a.text().to_string()).collect(),
        };
        if argv.is_empty() {
            if let Some(t) = c.args.first() {
                self.invalid("script", t, "a non-empty command");
            }
            return None;
        }
        Some(Script::new(argv))
    }

    /// Whole seconds, at least 1 (keepalived reads `interval` and `timeout`
    /// as integers and raises 0 to 1).
    fn whole_secs(&mut self, c: &Node) -> Option<Duration> {
        let t = c.args.first()?;
        match parse_int(t.text(), 1, 86_400) {
            Some(s) => Some(Duration::from_secs(s.unsigned_abs())),
            None => {
                self.invalid(c.keyword(), t, "whole seconds from 1 to 86400");
                None
            }
        }
    }

    fn at_least_one(&mut self, c: &Node) -> Option<u32> {
        self.int(c, 1, i64::from(i32::MAX))
            .and_then(|v| u32::try_from(v).ok())
    }

    /// `track_script { NAME [weight N [reverse|noreverse]] ... }`.
    pub(super) fn track_scripts(&mut self, n: &Node) -> Vec<(TrackScript, Location)> {
        // The same entry syntax as track_file / track_process.
        self.track_refs(n, "track_script", WEIGHT)
            .into_iter()
            .map(|(r, loc)| {
                let t = TrackScript {
                    script: r.name,
                    weight: r.weight,
                    reverse: r.reverse,
                };
                (t, loc)
            })
            .collect()
    }

    /// Every `track_script` names a defined `vrrp_script`; and a note where
    /// a weight cannot do what it seems to (see the crate docs):
    /// - on an address owner (priority 255) a weighted script is ignored,
    ///   as keepalived does;
    /// - where clamping to 1..=254 eats the weight, the script's result can
    ///   never move this node's priority (by as much as written).
    pub(super) fn check_track_scripts(
        &mut self,
        scripts: &[VrrpScript],
        instances: &[VrrpInstance],
        refs: &[Vec<Location>],
    ) {
        for (inst, locs) in instances.iter().zip(refs) {
            for (t, loc) in inst.track_scripts.iter().zip(locs) {
                let Some(s) = scripts.iter().find(|s| s.name == t.script) else {
                    let mut e = ConfigError::new(
                        loc,
                        ErrorKind::Invalid {
                            message: format!(
                                "vrrp_instance `{}` tracks script `{}`, which no vrrp_script defines",
                                inst.name, t.script
                            ),
                        },
                    );
                    if let Some(s) =
                        crate::suggest::suggest(&t.script, scripts.iter().map(|s| s.name.as_str()))
                    {
                        e = e.note(None, format!("did you mean `{s}`?"));
                    }
                    self.errors.push(e);
                    continue;
                };
                let weight = t.weight.unwrap_or(s.weight);
                if weight == 0 {
                    continue;
                }
                let p = i32::from(inst.priority);
                let w = i32::from(weight);
                let what = format!(
                    "vrrp_instance `{}`: track_script `{}` weight {weight}",
                    inst.name, t.script
                );
                if p == 255 {
                    self.warn(
                        loc,
                        format!(
                            "{what} is ignored: an address owner (priority 255) never changes \
                             its priority (keepalived ignores it too); use weight 0 to make a \
                             failure a FAULT"
                        ),
                    );
                    continue;
                }
                let reverse = t.reverse.unwrap_or(s.reverse);
                if w > 0 && !reverse && inst.initial_state == InitialState::Master {
                    // The usual confusion: a positive weight is a bonus while
                    // the script succeeds, not a penalty when it fails.
                    let healthy = (p + w).min(254);
                    self.warn(
                        loc,
                        format!(
                            "{what} on a `state MASTER` instance: the weight is added while the \
                             script succeeds ({healthy}), so a failure only takes the bonus away \
                             ({p}); a peer running the same script takes over only if its \
                             priority is above {}. If the Backup's priority is lower, use a \
                             negative weight (subtracted while the script fails)",
                            p - w
                        ),
                    );
                }
                // The two priorities the script can give, clamped as applied.
                let moved = (p + w).clamp(1, 254);
                let effect = (moved - p.clamp(1, 254)).abs();
                if effect < w.abs() {
                    let sign = if w > 0 { "succeeds" } else { "fails" };
                    self.warn(
                        loc,
                        format!(
                            "{what}: priority {p} {} {} is clamped to {moved}, so the script \
                             moves the priority by {effect}, not {} (while it {sign}); \
                             a peer's priority must differ from this node's by less than \
                             that for the script to move mastership",
                            if w > 0 { "+" } else { "-" },
                            w.abs(),
                            w.abs()
                        ),
                    );
                }
            }
        }
    }
}
