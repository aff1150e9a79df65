//! An `ipvsadm`-compatible command-line tool on top of lvs-ipvs.
//!
//! [`args`] parses ipvsadm's options into a [`args::Command`]; [`mod@format`]
//! prints listings byte-identical to Debian's ipvsadm 1.31 (`-L -n`,
//! `--stats`, `--rate`, `--exact`, `-S -n`, `--timeout`, `--daemon`);
//! [`restore`] splits `-R` input; [`run`] ties them to an
//! [`lvs_ipvs::IpvsHandle`].
//!
//! Exit status: 0 on success, 2 for a command-line mistake (as ipvsadm),
//! 1 when the kernel refuses or IPVS is unavailable.

pub mod args;
pub mod format;
pub mod names;
pub mod restore;

use args::{ArgError, Command, Format, ListWhat};
use lvs_ipvs::{Error, IpvsHandle, VirtualServerEntry};
use names::{Resolver, SystemResolver};
use std::io::{Read, Write};

/// Why a command failed, and the exit status it maps to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// A command-line mistake (status 2).
    #[error("{0}")]
    Usage(#[from] ArgError),
    /// The kernel or netlink failed (status 1).
    #[error("{context}: {source}")]
    Ipvs {
        /// What was being done.
        context: String,
        /// The error.
        source: Error,
    },
    /// Reading input or writing output failed (status 1).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Failure {
    /// The process exit status for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => 2,
            _ => 1,
        }
    }
}

fn ipvs<T>(context: impl Into<String>, r: Result<T, Error>) -> Result<T, Failure> {
    r.map_err(|source| Failure::Ipvs {
        context: context.into(),
        source,
    })
}

/// The usage text of `-h`.
pub const USAGE: &str = "\
Usage (ipvsadm-compatible):
  ipvsadm -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags] [-o]
  ipvsadm -D virtual-service
  ipvsadm -C
  ipvsadm -R
  ipvsadm -S [-n]
  ipvsadm -a|e virtual-service -r server-address [-g|i|m] [-w weight] [-x upper-threshold] [-y lower-threshold]
          [--tun-type ipip|gue|gre] [--tun-port port] [--tun-nocsum|--tun-csum|--tun-remcsum]
  ipvsadm -d virtual-service -r server-address
  ipvsadm -L|l [virtual-service] [options]
  ipvsadm -Z [virtual-service]
  ipvsadm --set tcp tcpfin udp
  ipvsadm --start-daemon {master|backup} [daemon-options]
  ipvsadm --stop-daemon {master|backup}
  ipvsadm -h

virtual-service: -t|u service-address | --sctp-service service-address | -f fwmark [-6]
  service-address is host[:port] or [ipv6]:port

list options: -n (numeric) -c (connections) --timeout --daemon --stats --rate --exact
              --thresholds --persistent-conn --nosort --tun-info
daemon options: --syncid sid --mcast-interface ifname --sync-maxlen length
                --mcast-group address --mcast-port port --mcast-ttl ttl
";

/// The lazily opened handle: commands that need no kernel never open one.
struct Session {
    handle: Option<IpvsHandle>,
}

impl Session {
    fn handle(&mut self) -> Result<&mut IpvsHandle, Failure> {
        if self.handle.is_none() {
            self.handle = Some(ipvs("cannot talk to IPVS", IpvsHandle::open())?);
        }
        match self.handle.as_mut() {
            Some(h) => Ok(h),
            None => Err(Failure::Io(std::io::Error::other("no IPVS handle"))),
        }
    }
}

/// Runs one ipvsadm command line (without the program name), reading `-R`
/// input from `input` and writing listings to `out`.
pub fn run(argv: &[String], input: &mut dyn Read, out: &mut dyn Write) -> Result<(), Failure> {
    let mut session = Session { handle: None };
    let command = if argv.is_empty() {
        // Like ipvsadm: no arguments lists the table (with names).
        Command::List(ListWhat::All, Format::default())
    } else {
        args::parse(argv)?
    };
    if command == Command::Restore {
        let mut text = String::new();
        input.read_to_string(&mut text)?;
        for line in restore::lines(&text) {
            let cmd = args::parse(&line.args)
                .map_err(|e| Failure::Usage(ArgError(format!("line {}: {}", line.number, e.0))))?;
            if cmd == Command::Restore {
                return Err(Failure::Usage(ArgError(format!(
                    "line {}: -R cannot be nested",
                    line.number
                ))));
            }
            execute(&mut session, &cmd, out).map_err(|e| match e {
                Failure::Ipvs { context, source } => Failure::Ipvs {
                    context: format!("line {}: {context}", line.number),
                    source,
                },
                other => other,
            })?;
        }
        return Ok(());
    }
    execute(&mut session, &command, out)
}

fn execute(session: &mut Session, command: &Command, out: &mut dyn Write) -> Result<(), Failure> {
    let resolver = SystemResolver;
    match command {
        Command::Help => out.write_all(USAGE.as_bytes())?,
        Command::Version => writeln!(
            out,
            "ipvsadm (lvs {}) — compatible with ipvsadm v1.31",
            env!("CARGO_PKG_VERSION")
        )?,
        Command::Restore => {
            return Err(Failure::Usage(ArgError("-R cannot be nested".into())));
        }
        Command::AddService(s) => ipvs(
            format!("add-service {}", s.key),
            session.handle()?.add_service(s),
        )?,
        Command::EditService(s) => ipvs(
            format!("edit-service {}", s.key),
            session.handle()?.edit_service(s),
        )?,
        Command::DeleteService(k) => ipvs(
            format!("delete-service {k}"),
            session.handle()?.delete_service(k),
        )?,
        Command::AddServer(k, d) => ipvs(
            format!("add-server {} to {k}", d.addr),
            session.handle()?.add_destination(k, d),
        )?,
        Command::EditServer(k, d) => ipvs(
            format!("edit-server {} of {k}", d.addr),
            session.handle()?.edit_destination(k, d),
        )?,
        Command::DeleteServer(k, a) => ipvs(
            format!("delete-server {a} of {k}"),
            session.handle()?.delete_destination(k, *a),
        )?,
        Command::Flush => ipvs("flush", session.handle()?.flush())?,
        Command::Zero(k) => ipvs("zero", session.handle()?.zero(k.as_ref()))?,
        Command::SetTimeouts(t) => ipvs("set timeouts", session.handle()?.set_timeouts(t))?,
        Command::StartDaemon(d) => ipvs("start-daemon", session.handle()?.start_daemon(d))?,
        Command::StopDaemon(s) => ipvs("stop-daemon", session.handle()?.stop_daemon(*s))?,
        Command::Save(fmt) => {
            let text = list_all(session, fmt, &resolver)?;
            out.write_all(text.as_bytes())?;
        }
        Command::List(what, fmt) => {
            let text = match what {
                ListWhat::All => list_all(session, fmt, &resolver)?,
                ListWhat::Service(key) => {
                    let h = session.handle()?;
                    let service = ipvs(format!("list {key}"), h.service(key))?;
                    let destinations = ipvs(format!("list {key}"), h.destinations(key))?;
                    format::list_service(
                        &VirtualServerEntry {
                            service,
                            destinations,
                        },
                        fmt,
                        &resolver,
                    )
                }
                ListWhat::Timeout => {
                    format::timeouts(&ipvs("list timeouts", session.handle()?.timeouts())?)
                }
                ListWhat::Daemon => {
                    format::daemons(&ipvs("list daemons", session.handle()?.daemons())?)
                }
                ListWhat::Connections => {
                    // Open the handle first so a kernel without IPVS gets
                    // the same clear error as the other listings.
                    session.handle()?;
                    let text = std::fs::read_to_string("/proc/net/ip_vs_conn").map_err(|e| {
                        std::io::Error::new(
                            e.kind(),
                            format!("cannot open /proc/net/ip_vs_conn: {e}"),
                        )
                    })?;
                    format::connections(&text, fmt, &resolver)
                }
            };
            out.write_all(text.as_bytes())?;
        }
    }
    Ok(())
}

fn list_all(session: &mut Session, fmt: &Format, r: &dyn Resolver) -> Result<String, Failure> {
    let h = session.handle()?;
    let info = if fmt.rule {
        lvs_ipvs::Info {
            version: 0,
            conn_table_size: 0,
        }
    } else {
        ipvs("list", h.info())?
    };
    let table = ipvs("list", h.table())?;
    Ok(format::list_all(&info, &table, fmt, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(args: &[&str], input: &str) -> (Result<(), Failure>, String) {
        let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut out = Vec::new();
        let r = run(&argv, &mut input.as_bytes(), &mut out);
        (r, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn help_needs_no_kernel() {
        let (r, out) = run_with(&["-h"], "");
        assert!(r.is_ok());
        assert!(out.starts_with("Usage"));
    }

    #[test]
    fn usage_errors_exit_2_with_the_reason() {
        let (r, _) = run_with(&["-A", "-t", "10.0.0.1:80", "-s"], "");
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("`-s' needs a value"), "{e}");
    }

    #[test]
    fn restore_reports_the_bad_line_before_touching_the_kernel() {
        // Lines apply in order, so the bad line comes first here: the
        // error names it and nothing needs the kernel.
        let input = "# saved\n-a -t 10.0.0.1:80 -r 10.0.0.2 -g -w x\n-C\n";
        let (r, _) = run_with(&["-R"], input);
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().starts_with("line 2: illegal weight"), "{e}");
        let (r, _) = run_with(&["-R"], "-R\n");
        assert!(
            r.unwrap_err()
                .to_string()
                .contains("line 1: -R cannot be nested")
        );
    }
}
