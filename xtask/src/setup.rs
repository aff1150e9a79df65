//! Idempotent installation of everything the suite needs on a fresh machine.

use std::path::PathBuf;
use std::process::Command;

use crate::run_status;

/// Debian packages: the kernel VM (qemu, Debian's kernel with IPVS modules),
/// the reference peers the tests compare against, and namespace tooling.
const DEBIAN_PACKAGES: &[&str] = &[
    "qemu-system-x86",
    "linux-image-amd64",
    "busybox-static",
    "udev",
    "kmod",
    "iproute2",
    "iputils-ping",
    "procps",
    "python3-venv",
    "ipvsadm",
    "keepalived",
    "dnsmasq",
    "tcpdump",
    "nftables",
    "arptables",
    "curl",
    "strace",
    // The Debian package's checks (`cargo xtask package --install-check`):
    // `systemd-analyze verify` on its unit, `man -w` on its pages.
    "systemd",
    "man-db",
    // The routing engine of the active-active lab (`lab --only ecmp`,
    // zebra + bgpd + bfdd) and the second VRRP peer (vrrpd).
    "frr",
    // Renders the lab's HTML report to a PNG in its test.
    "chromium",
];

/// cargo-fuzz, for the fuzz targets' smoke run (`fuzz/`, [`crate::fuzz`]).
const CARGO_FUZZ: &str = "0.13.2";

/// virtme-ng version known to boot Debian's kernel here.
const VIRTME_NG: &str = "virtme-ng==1.42";

/// Where the virtme-ng venv lives (outside the clone, so clones share it).
pub(crate) fn venv_dir() -> PathBuf {
    std::env::var_os("LVS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/lvs-venv"))
}

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Installs what is missing; does nothing when everything is there.
pub(crate) fn run() -> Result<(), String> {
    if !is_root() {
        return Err("setup installs Debian packages and needs root".into());
    }
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .copied()
        .filter(|p| !installed(p))
        .collect();
    if missing.is_empty() {
        eprintln!("setup: Debian packages present");
    } else {
        eprintln!("setup: installing {}", missing.join(" "));
        run_status(Command::new("apt-get").args(["update", "-q"]))?;
        run_status(
            Command::new("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(&missing),
        )?;
    }
    // Debian ships keepalived and dnsmasq as services; the tests run their own
    // instances in namespaces, so the system-wide ones must not hold ports.
    for unit in ["keepalived", "dnsmasq"] {
        let _ = Command::new("systemctl")
            .args(["disable", "--now", unit])
            .stderr(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status();
    }
    let venv = venv_dir();
    let vng = venv.join("bin/vng");
    let ok = Command::new(&vng)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        eprintln!("setup: virtme-ng present in {}", venv.display());
    } else {
        eprintln!("setup: creating {} with {VIRTME_NG}", venv.display());
        run_status(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        run_status(Command::new(venv.join("bin/pip")).args(["install", "-q", VIRTME_NG]))?;
    }
    install_cargo_fuzz()?;
    let kernel = crate::vm::find_kernel()?;
    eprintln!("setup: kernel VM image {}", kernel.display());
    Ok(())
}

/// Installs cargo-fuzz from crates.io unless this version is there.
fn install_cargo_fuzz() -> Result<(), String> {
    let present = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains(CARGO_FUZZ)
        });
    if present {
        eprintln!("setup: cargo-fuzz {CARGO_FUZZ} present");
        return Ok(());
    }
    eprintln!("setup: installing cargo-fuzz {CARGO_FUZZ}");
    run_status(Command::new("cargo").args([
        "install",
        "cargo-fuzz",
        "--locked",
        "--version",
        CARGO_FUZZ,
    ]))
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// True when the process runs as root.
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc_geteuid() == 0 }
}
