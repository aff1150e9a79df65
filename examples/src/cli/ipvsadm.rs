//! The ipvsadm-compatible tool's command line as a clap [`Command`], for
//! its man page and completions only: the program parses with its own
//! ipvsadm 1.31 grammar ([`crate::ipvsadm::args`], clustered options,
//! `-p [timeout]`, `--set`'s three values), and this definition is built
//! from that parser's option table ([`args::options`]), so the two cannot
//! disagree on a name.

use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, Command};
use lvs_ipvs::Scheduler;

use crate::ipvsadm::{USAGE, args};

/// What the man page says after the options: the synopsis of every
/// command, from `-h`.
const AFTER_HELP: &str = "\
Installed as lvs-ipvsadm so that Debian's ipvsadm can stay installed; it \
accepts ipvsadm 1.31's options and prints its listings byte for byte.

Exit status: 0 success, 1 the kernel refused or IPVS is unavailable, 2 \
command-line mistake.";

/// `-h`'s usage as man-page paragraphs: one per command, its wrapped
/// lines joined (the page reflows text), under the installed name.
fn description() -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    for line in USAGE.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let indent = line.len() - line.trim_start().len();
        match paragraphs.last_mut() {
            // Deeper than a command line: the previous one wrapped.
            Some(last) if indent > 2 => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => paragraphs.push(line.trim().replace("ipvsadm -", "lvs-ipvsadm -")),
        }
    }
    paragraphs.join("\n\n")
}

/// The tool's options as a clap command named `ipvsadm`.
pub fn command() -> Command {
    let schedulers: Vec<&'static str> = Scheduler::ALL.iter().map(Scheduler::name).collect();
    let mut cmd = Command::new("ipvsadm")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Linux Virtual Server administration (ipvsadm-compatible), on lvs-ipvs")
        .long_about(description())
        .after_long_help(AFTER_HELP)
        // -h and -v are ipvsadm's own options, listed from the table.
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(
            Arg::new("values")
                .value_name("VALUE")
                .num_args(0..)
                .help("--set's tcp tcpfin udp timeouts"),
        );
    for o in args::options() {
        let mut arg = Arg::new(o.long).long(o.long).help(o.help);
        if let Some(c) = o.short {
            arg = arg.short(c);
        }
        if o.long == "list" {
            arg = arg.short_alias('l');
        }
        arg = match o.takes {
            args::Takes::Nothing => arg.action(ArgAction::SetTrue),
            args::Takes::Value => arg.num_args(1),
            args::Takes::OptionalValue => arg.num_args(0..=1),
        };
        arg = match o.long {
            "scheduler" => arg.value_parser(PossibleValuesParser::new(schedulers.clone())),
            "start-daemon" | "stop-daemon" => {
                arg.value_parser(PossibleValuesParser::new(["master", "backup"]))
            }
            "tun-type" => arg.value_parser(PossibleValuesParser::new(["ipip", "gue", "gre"])),
            "tcp-service" | "udp-service" | "sctp-service" | "real-server" => {
                arg.value_name("ADDRESS")
            }
            _ => arg,
        };
        cmd = cmd.arg(arg);
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parser_option_is_documented() {
        let cmd = command();
        let n = args::options().count();
        assert_eq!(
            cmd.get_arguments()
                .filter(|a| a.get_long().is_some())
                .count(),
            n
        );
        let list = cmd.get_arguments().find(|a| a.get_id() == "list").unwrap();
        assert_eq!(list.get_short(), Some('L'));
        assert!(args::options().all(|o| !o.help.is_empty()));
        // The options clap accepts are ones the real parser accepts.
        for line in [
            "-A -t 10.0.0.1:80 -s rr",
            "-a -t 10.0.0.1:80 -r 10.0.0.2 -g -w 2",
            "-L -n",
        ] {
            let argv: Vec<String> = line.split(' ').map(String::from).collect();
            args::parse(&argv).unwrap();
            command()
                .try_get_matches_from(std::iter::once("ipvsadm".into()).chain(argv))
                .unwrap();
        }
    }
}
