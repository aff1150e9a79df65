//! The `director` command line (clap), and the `status` client and server
//! halves of the control socket protocol.
//!
//! The protocol: the client sends one line, `status` for the text view or
//! `status json` for [`json::status`](super::json::status); the director
//! answers and closes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand};
use lvs_director::report::{self, Snapshot};

/// `director`'s arguments.
#[derive(Parser, Debug)]
#[command(
    name = "director",
    version,
    about = "keepalived-class director built from the lvs crates"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A subcommand (`status`) instead of running.
    #[command(subcommand)]
    pub command: Option<Cmd>,
    /// keepalived-syntax configuration file.
    #[arg(short = 'f', long = "config-file", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Validate the configuration (errors and warnings), apply nothing:
    /// `-t -f FILE` or `--check-config FILE`.
    #[arg(short = 't', long = "check-config", value_name = "FILE")]
    pub check_config: Option<Option<PathBuf>>,
    /// Serve metrics (OpenMetrics text, which Prometheus scrapes) on this address.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<SocketAddr>,
    /// Control socket (default /run/lvs-director/director.sock, or
    /// director@NAME.sock in the network namespace NAME).
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
    /// Pid file, locked while the director runs: one director per pid file
    /// (default /run/lvs-director/director.pid, or director@NAME.pid in the
    /// network namespace NAME).
    #[arg(long, value_name = "PATH")]
    pub pid_file: Option<PathBuf>,
    /// Do not set net.ipv4.vs.expire_nodest_conn=1.
    #[arg(long)]
    pub keep_expire_nodest_conn: bool,
    /// The configuration id `@ID` lines are kept for (keepalived's `-i`;
    /// default: the first part of the host name).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
}

impl Cli {
    /// How the configuration file is read (`-i`).
    pub fn load_options(&self) -> lvs_keepalived_conf::LoadOptions {
        let options = lvs_keepalived_conf::LoadOptions::new();
        match &self.config_id {
            Some(id) => options.with_config_id(id.clone()),
            None => options,
        }
    }
}

/// `director`'s subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Print the live view of the director of this network namespace.
    Status {
        /// Its control socket (default: this namespace's).
        #[arg(long, value_name = "PATH")]
        control: Option<PathBuf>,
        /// One JSON object, for scripts.
        #[arg(long)]
        json: bool,
    },
}

impl Cli {
    /// The configuration file, from `-f` or `--check-config FILE`.
    pub fn config_file(&self) -> Result<&Path, String> {
        match (&self.config, &self.check_config) {
            (Some(f), Some(Some(c))) if f != c => Err(format!(
                "two configuration files given ({} and {})",
                f.display(),
                c.display()
            )),
            (Some(f), _) | (None, Some(Some(f))) => Ok(f),
            (None, _) => Err("-f FILE is required (or `director status`)".into()),
        }
    }

    /// Whether only to validate.
    pub fn check_only(&self) -> bool {
        self.check_config.is_some()
    }
}

/// The request line for the text or the JSON view.
pub fn request(json: bool) -> &'static [u8] {
    if json { b"status json\n" } else { b"status\n" }
}

/// The director's answer to a request (`None`: the driver is gone).
pub fn answer(request: &[u8], snapshot: Option<&Snapshot>) -> String {
    let line = String::from_utf8_lossy(request);
    let json = line.split_whitespace().nth(1) == Some("json");
    match (snapshot, json) {
        (Some(s), false) => report::render(s),
        (Some(s), true) => super::json::status(s) + "\n",
        (None, false) => String::new(),
        (None, true) => "{\"error\":\"the director is stopping\"}\n".into(),
    }
}

/// Sends a request to the control socket at `path` and returns the answer.
pub fn ask(path: &Path, json: bool) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(path)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(request(json))?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("director").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    #[test]
    fn keepalived_style_check_config_forms() {
        let t = parse(&["-t", "-f", "a.conf"]);
        assert!(t.check_only());
        assert_eq!(t.config_file(), Ok(Path::new("a.conf")));
        let long = parse(&["--check-config", "b.conf"]);
        assert!(long.check_only());
        assert_eq!(long.config_file(), Ok(Path::new("b.conf")));
        let after = parse(&["-f", "c.conf", "--check-config"]);
        assert!(after.check_only());
        assert_eq!(after.config_file(), Ok(Path::new("c.conf")));
        let run = parse(&["-f", "d.conf"]);
        assert!(!run.check_only());
        assert_eq!(run.config_file(), Ok(Path::new("d.conf")));
        let same = parse(&["--check-config", "e.conf", "-f", "e.conf"]);
        assert_eq!(same.config_file(), Ok(Path::new("e.conf")));
    }

    #[test]
    fn two_files_or_none_are_usage_errors() {
        let two = parse(&["--check-config", "a.conf", "-f", "b.conf"]);
        assert!(
            two.config_file()
                .unwrap_err()
                .contains("two configuration files")
        );
        let none = parse(&["-t"]);
        assert!(
            none.config_file()
                .unwrap_err()
                .contains("-f FILE is required")
        );
    }

    #[test]
    fn version_and_status_json() {
        let e = Cli::try_parse_from(["director", "--version"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayVersion);
        assert_eq!(
            e.to_string().trim(),
            format!("director {}", env!("CARGO_PKG_VERSION"))
        );
        let s = parse(&["status", "--json"]);
        assert!(matches!(
            s.command,
            Some(Cmd::Status {
                json: true,
                control: None
            })
        ));
        let s = parse(&["status", "--control", "/x.sock"]);
        assert!(matches!(
            s.command,
            Some(Cmd::Status {
                json: false,
                control: Some(_)
            })
        ));
    }

    #[test]
    fn the_request_line_picks_text_or_json() {
        let snap = Snapshot {
            router_id: "N1".into(),
            pid: 7,
            config_file: "n1.conf".into(),
            instances: vec![],
            real_servers: vec![],
            ipvs: None,
            ghosts: vec![],
        };
        let text = answer(request(false), Some(&snap));
        assert!(
            text.starts_with("director N1 (pid 7, config n1.conf)"),
            "{text}"
        );
        let json = answer(request(true), Some(&snap));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["router_id"], "N1");
        // An old client's bare request (or none at all) gets the text.
        assert_eq!(answer(b"", Some(&snap)), text);
        let gone: serde_json::Value = serde_json::from_str(&answer(request(true), None)).unwrap();
        assert!(gone["error"].is_string());
    }
}
