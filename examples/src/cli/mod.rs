//! The programs' command lines as clap definitions, shared by the binaries
//! (`src/bin/*.rs`) and the generator of the Debian package's man pages and
//! shell completions ([`generate`], run by `lvs-gen-manpages`).
//!
//! The package installs the programs under other names than the binaries
//! cargo builds (`ipvsadm` → `lvs-ipvsadm`, so Debian's `ipvsadm` can stay
//! installed; `backend` → `lvs-backend`); [`PROGRAMS`] is that mapping.

pub mod backend;
pub mod director;
pub mod ipvsadm;

use std::io;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

/// Makes one program's command-line definition.
pub type Definition = fn() -> clap::Command;

/// The packaged programs: (name installed as, its command-line definition).
pub const PROGRAMS: [(&str, Definition); 3] = [
    ("director", director::Cli::command),
    ("lvs-ipvsadm", ipvsadm::command),
    ("lvs-backend", backend::Cli::command),
];

/// One program's definition under the name it is installed as.
fn installed_as(name: &'static str, command: Definition) -> clap::Command {
    let mut cmd = command().name(name).bin_name(name);
    cmd.build();
    cmd
}

/// Writes, under `dir`, each program's man page (`man/NAME.8`, section 8:
/// they administer the system; `man/NAME-SUB.8` for a subcommand) and its bash, zsh and fish completions
/// (`completions/{bash/NAME, zsh/_NAME, fish/NAME.fish}`, the names those
/// shells look up); returns the files written.
pub fn generate(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (name, command) in PROGRAMS {
        let cmd = installed_as(name, command);
        let man_dir = dir.join("man");
        std::fs::create_dir_all(&man_dir)?;
        // The program's page, then one per subcommand (`director-status`),
        // which its SUBCOMMANDS section names.
        // (`build` named each subcommand `PROGRAM-SUB` for display.)
        for page_cmd in std::iter::once(&cmd).chain(cmd.get_subcommands()) {
            let page_name = page_cmd.get_display_name().unwrap_or(page_cmd.get_name());
            let mut page = Vec::new();
            clap_mangen::Man::new(page_cmd.clone())
                .section("8")
                .manual("System Manager's Manual")
                .source(format!("lvs {}", env!("CARGO_PKG_VERSION")))
                .render(&mut page)?;
            let path = man_dir.join(format!("{page_name}.8"));
            std::fs::write(&path, page)?;
            written.push(path);
        }
        for (shell, file) in [
            (Shell::Bash, format!("bash/{name}")),
            (Shell::Zsh, format!("zsh/_{name}")),
            (Shell::Fish, format!("fish/{name}.fish")),
        ] {
            let path = dir.join("completions").join(file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd.clone(), name, &mut out);
            std::fs::write(&path, out)?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_consistent() {
        // clap's own checks (duplicate names, bad defaults, conflicts).
        for (name, command) in PROGRAMS {
            installed_as(name, command).debug_assert();
        }
    }

    fn read_ok(dir: &Path, p: &str) -> bool {
        std::fs::read_to_string(dir.join(p)).is_ok_and(|t| t.contains(".TH"))
    }

    #[test]
    fn pages_and_completions_name_the_installed_programs() {
        let dir = std::env::temp_dir().join(format!("lvs-gen-{}", std::process::id()));
        let files = generate(&dir).unwrap();
        assert_eq!(files.len(), 15);
        assert!(read_ok(&dir, "man/director-status.8"));
        assert!(read_ok(&dir, "man/director-drain.8"));
        assert!(read_ok(&dir, "man/director-flush-routes.8"));
        let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap();
        let man = read("man/lvs-ipvsadm.8");
        assert!(man.contains(".TH lvs-ipvsadm 8"), "{man}");
        assert!(man.contains("add\\-service"), "{man}");
        assert!(read("man/director.8").contains("check\\-config"));
        assert!(read("man/lvs-backend.8").contains("\\-\\-undo"));
        assert!(read("completions/bash/lvs-ipvsadm").contains("--tcp-service"));
        assert!(read("completions/zsh/_director").starts_with("#compdef director"));
        assert!(read("completions/fish/lvs-backend.fish").contains("-l vip"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
