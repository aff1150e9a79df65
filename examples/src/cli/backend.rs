//! The `backend` program's command line (the binary is `src/bin/backend.rs`).

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::backend::Mode;

/// `--mode`: how ARP for the VIPs is suppressed.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModeArg {
    /// arp_ignore / arp_announce sysctls.
    Sysctl,
    /// An nft `arp` table.
    Nft,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Sysctl => Mode::Sysctl,
            ModeArg::Nft => Mode::Nft,
        }
    }
}

/// `backend --vip ADDR... | --audit | --undo`.
#[derive(Parser, Debug)]
#[command(
    name = "backend",
    version,
    about = "Prepare, audit or undo a DR backend",
    after_long_help = "Exit status: 0 prepared and audited clean (or undone), 1 the audit \
found a problem, 2 usage error, 3 the change itself failed."
)]
#[non_exhaustive]
pub struct Cli {
    /// A VIP this backend serves (repeatable).
    #[arg(long = "vip", value_name = "ADDR")]
    pub vips: Vec<IpAddr>,
    /// ARP suppression mode.
    #[arg(long, value_enum, default_value = "sysctl")]
    pub mode: ModeArg,
    /// Interface holding the VIPs: lo, or a dummy interface (created).
    #[arg(long, default_value = "lo")]
    pub iface: String,
    /// Segment-facing interface (repeatable; default: every up interface with IPv4).
    #[arg(long = "segment", value_name = "IFACE")]
    pub segments: Vec<String>,
    /// Also set conf/all (covers interfaces created later).
    #[arg(long)]
    pub all: bool,
    /// Where what was changed is recorded (default: one file per network
    /// namespace under /run/lvs-backend).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Only audit.
    #[arg(long, conflicts_with = "undo")]
    pub audit: bool,
    /// Remove everything a previous run added.
    #[arg(long)]
    pub undo: bool,
}
