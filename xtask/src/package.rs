//! `cargo xtask package [--install-check]`: the Debian package
//! `lvs-director` (issue 15, installing the director like keepalived).
//!
//! 1. `cargo build --release -p lvs-examples --bins` (the build the suite's
//!    lab step makes, so in the suite it is already done);
//! 2. `lvs-gen-manpages` writes the man pages and bash/zsh/fish completions
//!    from the programs' clap definitions (`lvs_examples::cli`) into
//!    `target/release/lvs-package/`, the man pages are gzipped, and the
//!    example `/etc/lvs/director.conf` is written from the lab's NODE01
//!    configuration, commented out;
//! 3. cargo-deb (installed with `cargo install cargo-deb --locked` when
//!    missing) packs them with `--no-build` by `[package.metadata.deb]` in
//!    `examples/Cargo.toml`, the unit from `examples/packaging/`;
//! 4. the package is checked: `dpkg-deb -c` holds every file of
//!    [`EXPECTED`], the conffile is registered, and `systemd-analyze verify`
//!    accepts the unit of the unpacked package;
//! 5. with `--install-check` (root; the suite's step): `dpkg -i`, then the
//!    installed unit verified again (its `man:director(8)` included),
//!    `command -v` and `man -w` find every program, `director -t` accepts
//!    the installed example, and `dpkg -r` / `dpkg -P` remove it all.
//!
//! The notify protocol the unit's `Type=notify` / `WatchdogSec=` rely on is
//! tested by running the director (`examples/tests/director_netns.rs`,
//! `netns_notify_socket_gets_ready_status_and_watchdog`), not here.
//!
//! Every check that fails is an error: nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{run_status, workspace_root};

/// The Debian package's name (`[package.metadata.deb] name`).
const DEB_NAME: &str = "lvs-director";

/// The systemd unit, as installed.
const UNIT: &str = "/usr/lib/systemd/system/lvs-director.service";

/// The example configuration (a conffile).
const CONF: &str = "/etc/lvs/director.conf";

/// The installed programs (binary built by cargo, name installed as).
const PROGRAMS: [(&str, &str); 3] = [
    ("director", "director"),
    ("ipvsadm", "lvs-ipvsadm"),
    ("backend", "lvs-backend"),
];

/// Every file the package must hold, as `dpkg-deb -c` lists them.
const EXPECTED: &[&str] = &[
    "./usr/sbin/director",
    "./usr/sbin/lvs-ipvsadm",
    "./usr/sbin/lvs-backend",
    "./etc/lvs/director.conf",
    "./usr/lib/systemd/system/lvs-director.service",
    "./usr/share/man/man8/director.8.gz",
    "./usr/share/man/man8/director-status.8.gz",
    "./usr/share/man/man8/director-drain.8.gz",
    "./usr/share/man/man8/director-flush-routes.8.gz",
    "./usr/share/man/man8/lvs-ipvsadm.8.gz",
    "./usr/share/man/man8/lvs-backend.8.gz",
    "./usr/share/bash-completion/completions/director",
    "./usr/share/bash-completion/completions/lvs-ipvsadm",
    "./usr/share/bash-completion/completions/lvs-backend",
    "./usr/share/zsh/vendor-completions/_director",
    "./usr/share/zsh/vendor-completions/_lvs-ipvsadm",
    "./usr/share/zsh/vendor-completions/_lvs-backend",
    "./usr/share/fish/vendor_completions.d/director.fish",
    "./usr/share/fish/vendor_completions.d/lvs-ipvsadm.fish",
    "./usr/share/fish/vendor_completions.d/lvs-backend.fish",
];

/// The PATH a root login has on Debian (where `command -v` must find them).
const ROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// cargo's target directory (`CARGO_TARGET_DIR`, else the workspace's).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            }
        })
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(workspace_root());
    c
}

/// Runs a command and returns its stdout; an error carries its stderr.
fn output(cmd: &mut Command) -> Result<String, String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "{shown} failed ({}): {}{}",
            out.status,
            text,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `cargo xtask package`
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let install_check = match args {
        [] => false,
        [a] if a == "--install-check" => true,
        _ => return Err("usage: cargo xtask package [--install-check]".into()),
    };
    if install_check && !crate::setup::is_root() {
        return Err("--install-check installs the package with dpkg: run it as root".into());
    }
    let deb = build()?;
    check_contents(&deb)?;
    if install_check {
        check_installed(&deb)?;
    }
    println!("package: {} OK", deb.display());
    Ok(())
}

/// cargo-deb, installed once (`cargo install` is itself a no-op when the
/// same version is there, but checking first saves the index update).
fn ensure_cargo_deb() -> Result<(), String> {
    let present = cargo()
        .args(["deb", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        eprintln!("package: installing cargo-deb");
        run_status(cargo().args(["install", "cargo-deb", "--locked"]))?;
    }
    Ok(())
}

/// Steps 1–3; returns the .deb's path.
fn build() -> Result<PathBuf, String> {
    ensure_cargo_deb()?;
    run_status(cargo().args(["build", "--release", "-p", "lvs-examples", "--bins"]))?;
    let release = target_dir().join("release");
    let assets = release.join("lvs-package");
    if assets.exists() {
        std::fs::remove_dir_all(&assets)
            .map_err(|e| format!("cannot clear {}: {e}", assets.display()))?;
    }
    run_status(Command::new(release.join("lvs-gen-manpages")).arg(&assets))?;
    let man = assets.join("man");
    let pages =
        std::fs::read_dir(&man).map_err(|e| format!("cannot read {}: {e}", man.display()))?;
    for page in pages {
        let page = page.map_err(|e| format!("cannot read {}: {e}", man.display()))?;
        // -n: no name or time stamp, so the same page packs the same bytes.
        run_status(Command::new("gzip").args(["-9nf"]).arg(page.path()))?;
    }
    let seed = workspace_root().join("examples/lab/node01.conf");
    let text = std::fs::read_to_string(&seed)
        .map_err(|e| format!("cannot read {}: {e}", seed.display()))?;
    let conf = assets.join("director.conf");
    std::fs::write(&conf, example_config(&text))
        .map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
    let out_dir = target_dir().join("debian");
    let printed = output(
        cargo()
            .args(["deb", "-p", "lvs-examples", "--no-build", "--output"])
            .arg(&out_dir)
            .stderr(std::process::Stdio::inherit()),
    )?;
    print!("{printed}");
    // cargo-deb prints the package's path last.
    let deb = printed
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.ends_with(".deb"))
        .map(PathBuf::from)
        .ok_or_else(|| format!("cargo deb printed no .deb path: {printed}"))?;
    if !deb.is_file() {
        return Err(format!(
            "cargo deb reported {} but it is not there",
            deb.display()
        ));
    }
    Ok(deb)
}

/// `/etc/lvs/director.conf`: the lab's NODE01 configuration as a template,
/// every line commented out, so the installed director does nothing (and
/// owns no IPVS table) before the operator writes a configuration.
fn example_config(seed: &str) -> String {
    let mut out = String::from(
        "# /etc/lvs/director.conf: the director's configuration, keepalived syntax\n\
         # (see director(8); `director -t -f /etc/lvs/director.conf` checks it).\n\
         #\n\
         # Everything below is commented out: an example for a Direct Routing pair\n\
         # (the lvs seed lab's NODE01). Uncomment and adapt it (interface, VIP, real\n\
         # servers), then `systemctl enable --now lvs-director`; after edits\n\
         # `systemctl reload lvs-director`. The director owns the whole IPVS table of\n\
         # its network namespace: services not written here are deleted.\n\
         # The unit lets it write only /run/lvs-director: put notify FIFOs there.\n\
         #\n",
    );
    for line in seed.lines() {
        if line.is_empty() {
            out.push_str("#\n");
        } else if line.starts_with('#') {
            out.push_str(&format!("#{line}\n"));
        } else {
            out.push_str(&format!("# {line}\n"));
        }
    }
    out
}

/// Step 4: the file list, the conffile, the unit.
fn check_contents(deb: &Path) -> Result<(), String> {
    let listing = output(Command::new("dpkg-deb").arg("-c").arg(deb))?;
    println!("dpkg-deb -c {}:\n{listing}", deb.display());
    let paths: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    let missing: Vec<&str> = EXPECTED
        .iter()
        .copied()
        .filter(|f| !paths.contains(f))
        .collect();
    if !missing.is_empty() {
        return Err(format!("the package lacks {}", missing.join(", ")));
    }
    for line in listing.lines() {
        let mut words = line.split_whitespace();
        let (Some(mode), Some(path)) = (words.next(), words.nth(4)) else {
            continue;
        };
        if path.starts_with("./usr/sbin/") && !path.ends_with('/') && mode != "-rwxr-xr-x" {
            return Err(format!("{path} has mode {mode}, not -rwxr-xr-x"));
        }
    }
    let name = output(
        Command::new("dpkg-deb")
            .args(["-f"])
            .arg(deb)
            .arg("Package"),
    )?;
    if name.trim() != DEB_NAME {
        return Err(format!(
            "the package is named {:?}, not {DEB_NAME}",
            name.trim()
        ));
    }
    let conffiles = output(Command::new("dpkg-deb").arg("-I").arg(deb).arg("conffiles"))?;
    if !conffiles.lines().any(|l| l.trim() == CONF) {
        return Err(format!(
            "{CONF} is not a conffile (conffiles: {conffiles:?})"
        ));
    }
    // The unit inside the unpacked package, its ExecStart= binary included.
    let root = target_dir().join("debian/root");
    if root.exists() {
        std::fs::remove_dir_all(&root)
            .map_err(|e| format!("cannot clear {}: {e}", root.display()))?;
    }
    run_status(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&root))?;
    verify_unpacked(&root)?;
    std::fs::remove_dir_all(&root).map_err(|e| format!("cannot remove {}: {e}", root.display()))
}

/// `systemd-analyze verify` on the packed unit before it is installed: a
/// copy whose ExecStart= names the unpacked binary (verify checks that it
/// exists, and `--root=` would look for every unit it depends on, and
/// `/bin/kill`, in the unpacked tree), without the man-page check (the page
/// is not on the manual path yet); [`check_installed`] verifies the unit
/// itself.
fn verify_unpacked(root: &Path) -> Result<(), String> {
    let unit = root.join(UNIT.trim_start_matches('/'));
    let text = std::fs::read_to_string(&unit)
        .map_err(|e| format!("cannot read {}: {e}", unit.display()))?;
    let binary = root.join("usr/sbin/director");
    let copy_dir = root.join("verify");
    std::fs::create_dir_all(&copy_dir)
        .map_err(|e| format!("cannot create {}: {e}", copy_dir.display()))?;
    let copy = copy_dir.join("lvs-director.service");
    let text = text.replace("/usr/sbin/director", &binary.display().to_string());
    std::fs::write(&copy, text).map_err(|e| format!("cannot write {}: {e}", copy.display()))?;
    verify_unit(&copy, false)
}

/// `systemd-analyze verify` (with its man-page check or not); it fails on
/// an error, and so does any warning it prints about the unit.
fn verify_unit(unit: &Path, man: bool) -> Result<(), String> {
    let mut cmd = Command::new("systemd-analyze");
    cmd.arg("verify")
        .arg(if man { "--man=yes" } else { "--man=no" })
        .arg(unit);
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{shown}: {}\n{text}", out.status);
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("lvs-director"))
        .collect();
    if !out.status.success() || !ours.is_empty() {
        return Err(format!(
            "systemd-analyze verify rejects the unit: {}",
            text.trim()
        ));
    }
    Ok(())
}

/// Step 5: install, look, remove. Refuses to touch an installed package.
fn check_installed(deb: &Path) -> Result<(), String> {
    let status = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", DEB_NAME])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if status.contains("installed") {
        return Err(format!(
            "{DEB_NAME} is installed on this machine ({status}); the check installs and \
             removes it, so remove it first (dpkg -r {DEB_NAME})"
        ));
    }
    run_status(Command::new("dpkg").arg("-i").arg(deb))?;
    let checked = installed_checks();
    // Removed whatever the checks said; a failed removal is an error too.
    let removed = remove();
    checked.and(removed)
}

fn installed_checks() -> Result<(), String> {
    verify_unit(Path::new(UNIT), true)?;
    // For the record: systemd's own score of the unit's hardening.
    let security =
        output(Command::new("systemd-analyze").args(["security", "--offline=yes", UNIT]))?;
    if let Some(line) = security
        .lines()
        .rev()
        .find(|l| l.contains("exposure level"))
    {
        println!("systemd-analyze security: {}", line.trim());
    }
    for (_, name) in PROGRAMS {
        let found = output(
            Command::new("sh")
                .env("PATH", ROOT_PATH)
                .args(["-c", &format!("command -v {name}")]),
        )?;
        let want = format!("/usr/sbin/{name}");
        if found.trim() != want {
            return Err(format!(
                "command -v {name} found {:?}, not {want}",
                found.trim()
            ));
        }
        let page = output(Command::new("man").args(["-w", name]))?;
        let want = format!("/usr/share/man/man8/{name}.8.gz");
        if page.trim() != want {
            return Err(format!("man -w {name} found {:?}, not {want}", page.trim()));
        }
        println!("{name}: {} {}", found.trim(), page.trim());
    }
    let version = output(Command::new("/usr/sbin/director").arg("--version"))?;
    println!("{}", version.trim());
    let valid = output(Command::new("/usr/sbin/director").args(["-t", "-f", CONF]))?;
    println!("{}", valid.trim());
    let conffiles = output(Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", DEB_NAME]))?;
    if !conffiles.contains(CONF) {
        return Err(format!(
            "dpkg does not list {CONF} as a conffile: {conffiles:?}"
        ));
    }
    Ok(())
}

/// `dpkg -r` (the conffile stays, as Debian does), then `dpkg -P`.
fn remove() -> Result<(), String> {
    run_status(Command::new("dpkg").args(["-r", DEB_NAME]))?;
    for (_, name) in PROGRAMS {
        let path = format!("/usr/sbin/{name}");
        if Path::new(&path).exists() {
            return Err(format!("{path} is still there after dpkg -r"));
        }
    }
    if !Path::new(CONF).exists() {
        return Err(format!(
            "dpkg -r removed the conffile {CONF} (only a purge should)"
        ));
    }
    run_status(Command::new("dpkg").args(["-P", DEB_NAME]))?;
    if Path::new(CONF).exists() {
        return Err(format!("{CONF} is still there after dpkg -P"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configuration_is_all_comments() {
        let text = example_config("# seed\nglobal_defs {\n    router_id N1\n}\n\n");
        assert!(text.lines().all(|l| l.starts_with('#')), "{text}");
        assert!(text.contains("#     router_id N1\n"));
        assert!(text.contains("## seed\n"));
    }

    #[test]
    fn every_program_has_its_files_listed() {
        for (_, name) in PROGRAMS {
            let in_list = |p: String| EXPECTED.contains(&p.as_str());
            assert!(in_list(format!("./usr/sbin/{name}")));
            assert!(in_list(format!("./usr/share/man/man8/{name}.8.gz")));
            assert!(in_list(format!(
                "./usr/share/bash-completion/completions/{name}"
            )));
            assert!(in_list(format!(
                "./usr/share/zsh/vendor-completions/_{name}"
            )));
            assert!(in_list(format!(
                "./usr/share/fish/vendor_completions.d/{name}.fish"
            )));
        }
        assert!(EXPECTED.contains(&format!(".{UNIT}").as_str()));
        assert!(EXPECTED.contains(&format!(".{CONF}").as_str()));
    }
}
