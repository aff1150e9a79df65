//! `ipvsadm`: Linux Virtual Server administration, compatible with
//! ipvsadm 1.31's options and listings, built on lvs-ipvs.

use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match lvs_examples::ipvsadm::run(&argv, &mut std::io::stdin(), &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipvsadm: {e}");
            if matches!(e, lvs_examples::ipvsadm::Failure::Usage(_)) {
                eprintln!("Try `ipvsadm -h' for more information.");
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
