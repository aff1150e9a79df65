//! `MISC_CHECK`: run a program (no shell) with a timeout. Exit 0 is up, any
//! other status down; with keepalived's `misc_dynamic` convention, exit
//! 2..=255 is also up and asks for weight `status − 2`.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Checker;
use crate::outcome::{FailReason, Outcome, Success};

/// A program and its arguments.
///
/// Build it with [`ExecCheck::new`] and the `with_*` setters (new fields
/// may be added).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ExecCheck {
    /// Path of the program (looked up on `PATH` if it has no slash).
    pub program: String,
    /// Its arguments (passed as-is: no shell, no word splitting).
    pub args: Vec<String>,
    /// keepalived `misc_dynamic`: exit 2..=255 means up with weight status−2.
    pub dynamic_weight: bool,
    /// The user and group it runs as (keepalived's `script_user`);
    /// `None`: the caller's.
    pub run_as: Option<RunAs>,
}

/// A user and group a program runs as (numeric ids; started by root, it
/// keeps no supplementary group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RunAs {
    /// The user id.
    pub uid: u32,
    /// The group id.
    pub gid: u32,
}

impl RunAs {
    /// Sets them on a command about to be spawned.
    pub fn apply(self, cmd: &mut Command) {
        cmd.uid(self.uid).gid(self.gid);
    }
}

with_setters!(ExecCheck {
    with_dynamic_weight(dynamic_weight: bool),
    with_run_as(run_as: Option<RunAs>),
});

impl ExecCheck {
    /// `program args…`, plain exit-status convention.
    pub fn new(program: &str, args: &[&str]) -> Self {
        ExecCheck {
            program: program.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            dynamic_weight: false,
            run_as: None,
        }
    }

    /// Maps an exit status under this check's convention.
    pub fn judge(&self, status: std::process::ExitStatus) -> Outcome {
        match status.code() {
            Some(0) => Outcome::Success(Success::Exited { weight: None }),
            Some(c) if self.dynamic_weight && (2..=255).contains(&c) => {
                Outcome::Success(Success::Exited {
                    weight: Some((c - 2) as u8),
                })
            }
            Some(c) => Outcome::Failure(FailReason::ExitStatus(c)),
            None => Outcome::Failure(FailReason::Signal(status.signal().unwrap_or(0))),
        }
    }
}

impl Checker for ExecCheck {
    fn identity(&self) -> String {
        format!("{self:?}")
    }

    fn check(&self, deadline: Instant) -> Outcome {
        let mut cmd = Command::new(&self.program);
        if let Some(r) = self.run_as {
            r.apply(&mut cmd);
        }
        let mut child = match cmd
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Own process group, so a timeout kills the program's children too.
            .process_group(0)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                return Outcome::Failure(FailReason::Io(format!(
                    "cannot run {}: {e}",
                    self.program
                )));
            }
        };
        let mut pause = Duration::from_millis(1);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return self.judge(status),
                Ok(None) => {}
                Err(e) => return Outcome::Failure(FailReason::Io(e.to_string())),
            }
            let now = Instant::now();
            if now >= deadline {
                // The child leads the process group we created for it.
                let group = rustix::process::Pid::from_child(&child);
                let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
                let _ = child.wait();
                return Outcome::Failure(FailReason::Timeout);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(c: &ExecCheck, secs: u64) -> Outcome {
        c.check(Instant::now() + Duration::from_secs(secs))
    }

    #[test]
    fn exit_codes_map_to_outcomes() {
        assert_eq!(
            run(&ExecCheck::new("true", &[]), 5),
            Outcome::Success(Success::Exited { weight: None })
        );
        assert_eq!(
            run(&ExecCheck::new("false", &[]), 5),
            Outcome::Failure(FailReason::ExitStatus(1))
        );
        let mut dynamic = ExecCheck::new("sh", &["-c", "exit 12"]);
        assert_eq!(
            run(&dynamic, 5),
            Outcome::Failure(FailReason::ExitStatus(12))
        );
        dynamic.dynamic_weight = true;
        assert_eq!(
            run(&dynamic, 5),
            Outcome::Success(Success::Exited { weight: Some(10) })
        );
        let missing = ExecCheck::new("/nonexistent/lvs-check", &[]);
        assert!(matches!(
            run(&missing, 5),
            Outcome::Failure(FailReason::Io(_))
        ));
    }

    #[test]
    fn arguments_are_not_shell_interpreted() {
        // With a shell, `;` would run `false`; here it is a literal argument to `test`.
        let c = ExecCheck::new("test", &["a;false", "=", "a;false"]);
        assert_eq!(
            run(&c, 5),
            Outcome::Success(Success::Exited { weight: None })
        );
    }

    #[test]
    fn timeout_kills_the_program() {
        let c = ExecCheck::new("sleep", &["10"]);
        let start = Instant::now();
        assert_eq!(
            c.check(start + Duration::from_millis(200)),
            Outcome::Failure(FailReason::Timeout)
        );
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
