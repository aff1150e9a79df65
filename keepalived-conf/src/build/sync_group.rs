//! `vrrp_sync_group`: members (in `group { }` or as the bare list),
//! group tracking and notify scripts, and the cross-checks against the
//! instances (each member defined, in one group only).

use super::*;

impl Builder<'_> {
    /// The group, and where each member is named.
    pub(super) fn sync_group(&mut self, n: &Node) -> Option<(SyncGroup, Vec<Location>)> {
        let name = n.args.first()?.text().to_string();
        let mut g = SyncGroup {
            name,
            members: Vec::new(),
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify: None,
            tracking_weight: false,
        };
        let mut locs: Vec<Location> = Vec::new();
        let mut add = |b: &mut Self, g: &mut SyncGroup, tok: &Token| {
            if let Some(i) = g.members.iter().position(|m| m == tok.text()) {
                b.errors.push(
                    ConfigError::new(
                        &tok.location,
                        ErrorKind::Duplicate {
                            what: format!(
                                "member `{}` of vrrp_sync_group `{}`",
                                tok.text(),
                                g.name
                            ),
                        },
                    )
                    .note(Some(&locs[i]), "first named here"),
                );
                return;
            }
            g.members.push(tok.text().to_string());
            locs.push(tok.location.clone());
        };
        for c in nodes(n) {
            match c.keyword() {
                "group" => {
                    for tok in items(c).iter().flatten() {
                        add(self, &mut g, tok);
                    }
                }
                "track_interface" => g.track_interfaces.extend(self.track_interfaces(c)),
                "track_script" => {
                    for (t, loc) in self.track_scripts(c) {
                        if g.track_scripts.iter().any(|o| o.script == t.script) {
                            self.error(
                                &loc,
                                ErrorKind::Duplicate {
                                    what: format!("track_script `{}`", t.script),
                                },
                            );
                        } else {
                            g.track_scripts.push(t);
                        }
                    }
                }
                "track_file" => {
                    for (t, _) in self.track_refs(c, "track_file", super::track_file::WEIGHT) {
                        if !g.track_files.iter().any(|o| o.name == t.name) {
                            g.track_files.push(t);
                        }
                    }
                }
                "track_process" => {
                    for (t, _) in self.track_refs(c, "track_process", super::track_file::WEIGHT) {
                        if !g.track_processes.iter().any(|o| o.name == t.name) {
                            g.track_processes.push(t);
                        }
                    }
                }
                "notify_master" => g.notify_master = self.script(c),
                "notify_backup" => g.notify_backup = self.script(c),
                "notify_fault" => g.notify_fault = self.script(c),
                "notify_stop" => g.notify_stop = self.script(c),
                "notify" => g.notify = self.script(c),
                "global_tracking" | "sync_group_tracking_weight" => g.tracking_weight = true,
                // A bare word: a member (the newer list syntax).
                _ if c.body.is_none() && c.args.is_empty() && !is_keyword(c.keyword()) => {
                    add(self, &mut g, &c.name);
                }
                _ => self.unhandled(c),
            }
        }
        if g.members.is_empty() {
            self.error(
                n.loc(),
                ErrorKind::Invalid {
                    message: format!(
                        "vrrp_sync_group `{}` names no instance (`group {{ VI_1 VI_2 }}`)",
                        g.name
                    ),
                },
            );
            return None;
        }
        Some((g, locs))
    }

    /// Each member is a defined instance, in one group only; the group's
    /// tracked scripts are defined. Without `sync_group_tracking_weight`,
    /// the members' and the group's tracked weights become 0, as keepalived
    /// does (with the same warning), so one failure faults the whole group
    /// instead of making the members' priorities differ.
    pub(super) fn check_sync_groups(
        &mut self,
        groups: &mut [SyncGroup],
        group_locs: &[(Location, Vec<Location>)],
        instances: &mut [VrrpInstance],
        scripts: &[VrrpScript],
        files: &[TrackFile],
        procs: &[TrackProcess],
    ) {
        // Member name → (group, where it is named).
        let mut owner: Vec<(String, String, Location)> = Vec::new();
        for (g, (gloc, locs)) in groups.iter_mut().zip(group_locs) {
            for (m, loc) in g.members.iter().zip(locs) {
                if !instances.iter().any(|i| i.name == *m) {
                    let mut e = ConfigError::new(
                        loc,
                        ErrorKind::Invalid {
                            message: format!(
                                "vrrp_sync_group `{}` names `{m}`, which no vrrp_instance defines",
                                g.name
                            ),
                        },
                    );
                    let words = instances.iter().map(|i| i.name.as_str()).chain(
                        crate::keywords::Ctx::SyncGroup
                            .keywords()
                            .iter()
                            .map(|k| k.name),
                    );
                    if let Some(s) = crate::suggest::suggest(m, words) {
                        e = e.note(None, format!("did you mean `{s}`?"));
                    }
                    self.errors.push(e);
                    continue;
                }
                if let Some((_, other, first)) = owner.iter().find(|(o, _, _)| o == m) {
                    self.errors.push(
                        ConfigError::new(
                            loc,
                            ErrorKind::Invalid {
                                message: format!(
                                    "vrrp_instance `{m}` is already a member of vrrp_sync_group \
                                     `{other}`; an instance can be in one sync group only"
                                ),
                            },
                        )
                        .note(Some(first), "first named here"),
                    );
                    continue;
                }
                owner.push((m.clone(), g.name.clone(), loc.clone()));
            }
            for t in &g.track_scripts {
                if !scripts.iter().any(|s| s.name == t.script) {
                    self.error(
                        gloc,
                        ErrorKind::Invalid {
                            message: format!(
                                "vrrp_sync_group `{}` tracks script `{}`, which no vrrp_script defines",
                                g.name, t.script
                            ),
                        },
                    );
                }
            }
            let file_names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
            let proc_names: Vec<&str> = procs.iter().map(|p| p.name.as_str()).collect();
            for (refs, block, names) in [
                (&g.track_files, "track_file", &file_names),
                (&g.track_processes, "vrrp_track_process", &proc_names),
            ] {
                for t in refs.iter() {
                    if !names.contains(&t.name.as_str()) {
                        self.error(
                            gloc,
                            ErrorKind::Invalid {
                                message: format!(
                                    "vrrp_sync_group `{}` tracks `{}`, which no {block} defines",
                                    g.name, t.name
                                ),
                            },
                        );
                    }
                }
            }
            if g.tracking_weight {
                continue;
            }
            let file_weighted = |t: &TrackRef| {
                t.weight
                    .or_else(|| files.iter().find(|f| f.name == t.name).map(|f| f.weight))
                    .unwrap_or(0)
                    != 0
            };
            let proc_weighted = |t: &TrackRef| {
                t.weight
                    .or_else(|| procs.iter().find(|p| p.name == t.name).map(|p| p.weight))
                    .unwrap_or(0)
                    != 0
            };
            let weighted = |t: &TrackScript| {
                t.weight
                    .or_else(|| {
                        scripts
                            .iter()
                            .find(|s| s.name == t.script)
                            .map(|s| s.weight)
                    })
                    .unwrap_or(0)
                    != 0
            };
            let mut zeroed: Vec<String> = Vec::new();
            for t in &mut g.track_interfaces {
                if t.weight != 0 {
                    zeroed.push(format!("track_interface `{}`", t.interface));
                    t.weight = 0;
                }
            }
            for t in &mut g.track_scripts {
                if weighted(t) {
                    zeroed.push(format!("track_script `{}`", t.script));
                    t.weight = Some(0);
                }
            }
            for t in &mut g.track_files {
                if file_weighted(t) {
                    zeroed.push(format!("track_file `{}`", t.name));
                    t.weight = Some(0);
                }
            }
            for t in &mut g.track_processes {
                if proc_weighted(t) {
                    zeroed.push(format!("track_process `{}`", t.name));
                    t.weight = Some(0);
                }
            }
            for inst in instances.iter_mut().filter(|i| g.members.contains(&i.name)) {
                for t in &mut inst.track_interfaces {
                    if t.weight != 0 {
                        zeroed.push(format!(
                            "`{}`'s track_interface `{}`",
                            inst.name, t.interface
                        ));
                        t.weight = 0;
                    }
                }
                for t in &mut inst.track_scripts {
                    if weighted(t) {
                        zeroed.push(format!("`{}`'s track_script `{}`", inst.name, t.script));
                        t.weight = Some(0);
                    }
                }
                for t in &mut inst.track_files {
                    if file_weighted(t) {
                        zeroed.push(format!("`{}`'s track_file `{}`", inst.name, t.name));
                        t.weight = Some(0);
                    }
                }
                for t in &mut inst.track_processes {
                    if proc_weighted(t) {
                        zeroed.push(format!("`{}`'s track_process `{}`", inst.name, t.name));
                        t.weight = Some(0);
                    }
                }
            }
            if !zeroed.is_empty() {
                self.warn(
                    gloc,
                    format!(
                        "vrrp_sync_group `{}`: weight set to 0 for {} (as keepalived does: a \
                         weighted track would make the members' priorities differ); a failure \
                         is a FAULT of the whole group. `sync_group_tracking_weight` keeps the weights",
                        g.name,
                        zeroed.join(", ")
                    ),
                );
            }
        }
    }
}

fn is_keyword(word: &str) -> bool {
    crate::keywords::Ctx::SyncGroup.lookup(word).is_some()
}
