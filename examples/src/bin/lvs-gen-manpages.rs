//! `lvs-gen-manpages DIR`: writes the packaged programs' man pages and
//! bash/zsh/fish completions under DIR (`cargo xtask package` runs it).
//! A program of its own, not part of xtask, so that `cargo xtask` keeps
//! building without the workspace's libraries.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: lvs-gen-manpages DIR");
        return ExitCode::from(2);
    };
    match lvs_examples::cli::generate(dir.as_ref()) {
        Ok(files) => {
            files.iter().for_each(|f| println!("{}", f.display()));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lvs-gen-manpages: {e}");
            ExitCode::FAILURE
        }
    }
}
