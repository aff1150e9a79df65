//! `vrrp_track_process` blocks.

use std::time::Duration;

use crate::error::ErrorKind;
use crate::model::*;
use crate::parser::Node;
use crate::values::*;

use super::{Builder, nodes};

impl Builder<'_> {
    pub(super) fn track_process(&mut self, n: &Node) -> Option<TrackProcess> {
        let name = n.args.first()?.text().to_string();
        let mut out = TrackProcess {
            name: name.clone(),
            process: Vec::new(),
            param_match: None,
            full_command: false,
            weight: 0,
            reverse: false,
            quorum: 1,
            quorum_max: None,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
        };
        let mut quorum_set = false;
        for c in nodes(n) {
            match c.keyword() {
                "process" => {
                    out.process = c.args.iter().map(|t| t.text().to_string()).collect();
                    if out.process.len() > 1 {
                        out.full_command = true;
                        out.param_match.get_or_insert(ParamMatch::Exact);
                    }
                }
                "param_match" => {
                    out.full_command = true;
                    out.param_match = match c.args.first().map(|t| t.text()) {
                        None => Some(ParamMatch::Exact),
                        Some("initial") => Some(ParamMatch::Initial),
                        Some("partial") => Some(ParamMatch::Partial),
                        Some(_) => {
                            self.invalid("param_match", &c.args[0], "`initial` or `partial`");
                            out.param_match
                        }
                    };
                }
                "weight" => {
                    if let Some((w, r)) = self.weight_line(c) {
                        out.weight = w;
                        out.reverse = r;
                    }
                }
                "quorum" => {
                    if let Some(q) = self.int(c, 1, 65_535) {
                        out.quorum = q as u32;
                        quorum_set = true;
                    }
                }
                "quorum_max" => {
                    if let Some(q) = self.int(c, 0, 65_535) {
                        out.quorum_max = Some(q as u32);
                    }
                }
                "delay" | "fork_delay" | "terminate_delay" => {
                    let Some(t) = c.args.first() else { continue };
                    let Some(d) = parse_seconds(t.text(), 3600).filter(|d| !d.is_zero()) else {
                        self.invalid(c.keyword(), t, "seconds from 0.000001 to 3600, e.g. `0.5`");
                        continue;
                    };
                    if c.keyword() != "fork_delay" {
                        out.terminate_delay = d;
                    }
                    if c.keyword() != "terminate_delay" {
                        out.fork_delay = d;
                    }
                }
                "full_command" => out.full_command = true,
                _ => self.unhandled(c),
            }
        }
        if let Some(max) = out.quorum_max {
            if max == 0 && !quorum_set {
                // keepalived: `quorum_max 0` alone means "none may run".
                out.quorum = 0;
            } else if max < out.quorum {
                self.error(
                    n.loc(),
                    ErrorKind::Invalid {
                        message: format!(
                            "vrrp_track_process `{name}`: quorum_max {max} is less than quorum {}",
                            out.quorum
                        ),
                    },
                );
                return None;
            }
        }
        if out.process.is_empty() {
            self.error(
                n.loc(),
                ErrorKind::MissingRequired {
                    block: format!("vrrp_track_process `{name}`"),
                    keyword: "process".into(),
                    detail: Some("the process to count, e.g. `process haproxy`".into()),
                },
            );
            return None;
        }
        if !out.full_command && out.process[0].len() > 15 {
            self.warn(
                n.loc(),
                format!(
                    "vrrp_track_process `{name}`: process names are at most 15 bytes, so `{}` \
                     never matches one (add `full_command` to match the command line)",
                    out.process[0]
                ),
            );
        }
        Some(out)
    }
}
