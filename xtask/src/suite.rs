//! The whole test suite and the main demo.
//!
//! Steps of `cargo xtask test`, each of which must pass:
//! 1. lints: `cargo fmt --check`, `cargo clippy -D warnings`, `cargo doc
//!    --all-features` with missing docs and broken intra-doc links denied,
//!    and the packaging of every publishable crate ([`publish_check`]);
//! 2. `cargo test --workspace --all-features` on the host (unit, property
//!    and doc tests);
//! 3. every ignored test named `netns_*`, on the host as root;
//! 4. the Debian package: built, its contents and unit checked, installed
//!    and removed again ([`crate::package`], `--install-check`);
//! 5. every ignored test named `vm_*`, inside one boot of the kernel VM;
//! 6. the seed lab end to end (`lab`), in a second boot of the VM.
//!
//! An ignored test that no step runs is an error: nothing is skipped quietly.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{run_status, vm, workspace_root};

/// Pass/fail counts gathered from libtest's `test result:` lines.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
    }

    /// Reads the counts of every `test result:` line in `text`.
    fn scan(text: &str) -> Counts {
        let mut c = Counts::default();
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("test result: ") else {
                continue;
            };
            for part in rest.split(';') {
                let words: Vec<&str> = part.split_whitespace().collect();
                let n = |w: &[&str]| w.iter().find_map(|x| x.parse::<u64>().ok()).unwrap_or(0);
                if part.contains(" passed") {
                    c.passed += n(&words);
                } else if part.contains(" failed") {
                    c.failed += n(&words);
                } else if part.contains(" ignored") {
                    c.ignored += n(&words);
                }
            }
        }
        c
    }
}

/// A test executable cargo built, with the package directory it runs from.
#[derive(Debug, Clone)]
struct TestExe {
    path: PathBuf,
    package_dir: PathBuf,
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(workspace_root());
    c
}

/// Runs a command, echoing its stdout, and returns what it printed.
fn run_echo(cmd: &mut Command) -> Result<(String, bool), String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    let mut all = String::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line.map_err(|e| format!("reading {shown}: {e}"))?;
            println!("{line}");
            all.push_str(&line);
            all.push('\n');
        }
    }
    let status = child.wait().map_err(|e| format!("waiting {shown}: {e}"))?;
    Ok((all, status.success()))
}

/// Builds every test target and returns the executables.
fn build_test_exes() -> Result<Vec<TestExe>, String> {
    let out = cargo()
        .args([
            "test",
            "--workspace",
            "--all-features",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cargo test --no-run: {e}"))?;
    if !out.status.success() {
        return Err("building the test executables failed".into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut exes = Vec::new();
    for line in text.lines() {
        let (Some(exe), Some(manifest)) = (
            json_str(line, "\"executable\":\""),
            json_str(line, "\"manifest_path\":\""),
        ) else {
            continue;
        };
        let package_dir = Path::new(&manifest)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(workspace_root);
        exes.push(TestExe {
            path: PathBuf::from(exe),
            package_dir,
        });
    }
    Ok(exes)
}

/// The string value following `key` on a JSON line (paths hold no escapes here).
fn json_str(line: &str, key: &str) -> Option<String> {
    let start = line.find(key)? + key.len();
    let end = line[start..].find('"')? + start;
    Some(line[start..end].to_string())
}

/// Names of the ignored tests in one executable.
fn ignored_tests(exe: &TestExe) -> Result<Vec<String>, String> {
    let out = Command::new(&exe.path)
        .args(["--list", "--ignored"])
        .current_dir(&exe.package_dir)
        .output()
        .map_err(|e| format!("{} --list: {e}", exe.path.display()))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect())
}

fn leaf(name: &str) -> &str {
    name.rsplit("::").next().unwrap_or(name)
}

/// What the suite's `cargo doc` denies: what docs.rs would show broken.
const RUSTDOCFLAGS: &str = "-D warnings -D missing_docs -D rustdoc::broken_intra_doc_links";

/// Files every published crate's package must hold besides its sources.
const PACKAGE_FILES: [&str; 3] = ["README.md", "LICENSE-MIT", "LICENSE-APACHE"];

/// The workspace members that are published (no `publish = false`), by
/// package name, read from the manifests.
fn publishable_crates(root: &Path) -> Result<Vec<String>, String> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let top = read(&root.join("Cargo.toml"))?;
    let members = top
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .ok_or("no `members = [...]` in the workspace manifest")?;
    let mut names = Vec::new();
    for dir in members
        .lines()
        .map(|l| l.trim().trim_end_matches(',').trim_matches('"'))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let manifest = read(&root.join(dir).join("Cargo.toml"))?;
        if manifest.lines().any(|l| l.trim() == "publish = false") {
            continue;
        }
        let name = manifest
            .lines()
            .find_map(|l| l.trim().strip_prefix("name = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .ok_or_else(|| format!("no package name in {dir}/Cargo.toml"))?;
        names.push(name.to_string());
    }
    Ok(names)
}

/// `cargo publish --workspace --dry-run --no-verify` (a few seconds: the
/// manifests, the path dependencies' versions and resolution against the
/// crates.io index), then each publishable package's file list must hold
/// its README and both licences. Without `--no-verify` cargo would build
/// every package and its dependencies afresh in `target/package` (minutes
/// on a cold clone, as CI's is) only to compile the same sources the
/// workspace build already compiled; run it so before a release.
pub(crate) fn publish_check() -> Result<(), String> {
    run_status(cargo().args([
        "publish",
        "--workspace",
        "--dry-run",
        "--no-verify",
        "--allow-dirty",
    ]))?;
    for name in publishable_crates(&workspace_root())? {
        let out = cargo()
            .args(["package", "--list", "--allow-dirty", "-p", &name])
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cargo package --list -p {name}: {e}"))?;
        if !out.status.success() {
            return Err(format!("cargo package --list -p {name} failed"));
        }
        let listed = String::from_utf8_lossy(&out.stdout);
        let missing: Vec<&str> = PACKAGE_FILES
            .into_iter()
            .filter(|f| !listed.lines().any(|l| l == *f))
            .collect();
        if !missing.is_empty() {
            return Err(format!("the {name} package lacks {}", missing.join(", ")));
        }
    }
    Ok(())
}

/// `cargo xtask test`
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let lint = !args.iter().any(|a| a == "--no-lint");
    let host_only = args.iter().any(|a| a == "--host-only");
    if !crate::setup::is_root() {
        return Err("the suite runs namespace, raw-socket and VM tests: run it as root".into());
    }
    crate::setup::run()?;
    let mut total = Counts::default();
    let mut failures: Vec<String> = Vec::new();

    if lint {
        eprintln!("== lints");
        run_status(cargo().args(["fmt", "--all", "--", "--check"]))?;
        run_status(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]))?;
        run_status(cargo().env("RUSTDOCFLAGS", RUSTDOCFLAGS).args([
            "doc",
            "--workspace",
            "--no-deps",
            "--all-features",
        ]))?;
        publish_check()?;
    }

    eprintln!("== host tests (unit, property, doc)");
    let (out, ok) = run_echo(cargo().args(["test", "--workspace", "--all-features"]))?;
    let host = Counts::scan(&out);
    total.add(Counts { ignored: 0, ..host });
    if !ok {
        failures.push("host tests".into());
    }

    let exes = build_test_exes()?;
    let mut netns: Vec<(TestExe, usize)> = Vec::new();
    let mut in_vm: Vec<(TestExe, usize)> = Vec::new();
    let mut orphans: Vec<String> = Vec::new();
    for exe in &exes {
        let names = ignored_tests(exe)?;
        let n_netns = names
            .iter()
            .filter(|n| leaf(n).starts_with("netns_"))
            .count();
        let n_vm = names.iter().filter(|n| leaf(n).starts_with("vm_")).count();
        for n in &names {
            let l = leaf(n);
            if !l.starts_with("netns_") && !l.starts_with("vm_") {
                orphans.push(format!("{} ({})", n, exe.path.display()));
            }
        }
        if n_netns > 0 {
            netns.push((exe.clone(), n_netns));
        }
        if n_vm > 0 {
            in_vm.push((exe.clone(), n_vm));
        }
    }
    if !orphans.is_empty() {
        failures.push(format!(
            "ignored tests that no step runs (name them netns_* or vm_*): {}",
            orphans.join(", ")
        ));
    }

    eprintln!("== root + network-namespace tests on the host");
    for (exe, n) in &netns {
        eprintln!("-- {} ({n} tests)", exe.path.display());
        let (out, ok) = run_echo(
            Command::new(&exe.path)
                .args(["--ignored", "--test-threads=1", "netns_"])
                .current_dir(&exe.package_dir),
        )?;
        let c = Counts::scan(&out);
        total.add(Counts { ignored: 0, ..c });
        if !ok || c.passed as usize != *n {
            failures.push(format!(
                "netns tests in {} ({} of {n} passed)",
                exe.path.display(),
                c.passed
            ));
        }
    }

    // The release build it makes is the lab's (same command), done once.
    eprintln!("== the Debian package (cargo xtask package --install-check)");
    match crate::package::run(&["--install-check".to_string()]) {
        Ok(()) => total.passed += 1,
        Err(e) => {
            total.failed += 1;
            failures.push(format!("the Debian package: {e}"));
        }
    }

    if host_only {
        eprintln!("== kernel VM tests NOT run (--host-only was given)");
    } else {
        eprintln!("== kernel VM tests");
        if in_vm.is_empty() {
            failures.push("no vm_* tests were found: the IPVS kernel tests are missing".into());
        } else {
            let c = run_vm_tests(&in_vm, &mut failures)?;
            total.add(c);
        }
    }

    if host_only {
        eprintln!("== the lab NOT run (--host-only was given)");
    } else {
        eprintln!("== the seed lab, end to end, in the kernel VM");
        let c = run_lab(&mut failures)?;
        total.add(c);
    }

    println!();
    println!(
        "xtask test summary: {} passed, {} failed",
        total.passed, total.failed
    );
    println!("{} passed, {} failed", total.passed, total.failed);
    if failures.is_empty() && total.failed == 0 {
        Ok(())
    } else {
        Err(format!("failed: {}", failures.join("; ")))
    }
}

/// Runs every `vm_*` test of `exes` in one boot of the kernel VM.
fn run_vm_tests(exes: &[(TestExe, usize)], failures: &mut Vec<String>) -> Result<Counts, String> {
    let mut script = String::new();
    for (i, (exe, _)) in exes.iter().enumerate() {
        script.push_str(&format!(
            "cd {dir} && {exe} --ignored --test-threads=1 vm_ > \"$RW/{i}.log\" 2>&1; echo $? > \"$RW/{i}.rc\"\n",
            dir = vm::shell_quote(&exe.package_dir.display().to_string()),
            exe = vm::shell_quote(&exe.path.display().to_string()),
        ));
    }
    let outcome = vm::run_script("tests", &script, Duration::from_secs(45 * 60), None)?;
    let mut total = Counts::default();
    for (i, (exe, n)) in exes.iter().enumerate() {
        let log =
            std::fs::read_to_string(outcome.rwdir.join(format!("{i}.log"))).unwrap_or_default();
        let rc = std::fs::read_to_string(outcome.rwdir.join(format!("{i}.rc"))).unwrap_or_default();
        eprintln!("-- in the VM: {} ({n} tests)", exe.path.display());
        print!("{log}");
        let c = Counts::scan(&log);
        total.add(Counts { ignored: 0, ..c });
        if rc.trim() != "0" || c.passed as usize != *n {
            failures.push(format!(
                "VM tests in {} (exit {}, {} of {n} passed)",
                exe.path.display(),
                rc.trim(),
                c.passed
            ));
        }
    }
    Ok(total)
}

/// Builds the example binaries (release, as operators run them and as the
/// demo does: the side-by-side timings with keepalived are then a fair
/// comparison) and runs the whole lab in one VM boot; every verdict counts
/// as a test.
fn run_lab(failures: &mut Vec<String>) -> Result<Counts, String> {
    run_status(cargo().args(["build", "--release", "-p", "lvs-examples", "--bins"]))?;
    let bin = workspace_root().join("target/release/lab");
    let (out, ok) = lab_in_vm(&bin, "lab")?;
    let mut c = Counts::default();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("lab: ") {
            let nums: Vec<u64> = rest
                .split(|ch: char| !ch.is_ascii_digit())
                .filter_map(|w| w.parse().ok())
                .collect();
            if let [p, f] = nums[..] {
                c.passed += p;
                c.failed += f;
            }
        }
    }
    if !ok || c.failed > 0 || c.passed == 0 {
        failures.push(format!(
            "the lab ({} passed, {} failed)",
            c.passed, c.failed
        ));
    }
    Ok(c)
}

/// Runs the lab binary in the VM, its lines echoed as they come; returns
/// its whole output (read back from the shared file, for the summary line)
/// and whether it exited 0.
fn lab_in_vm(bin: &Path, name: &str) -> Result<(String, bool), String> {
    let script = format!(
        "{} > \"$RW/out\" 2>&1; echo $? > \"$RW/rc\"",
        vm::shell_quote(&bin.display().to_string())
    );
    eprintln!("== the lab: about 20 min in the VM, each verdict printed as it comes");
    let outcome = vm::run_script(name, &script, Duration::from_secs(40 * 60), Some("out"))?;
    let out = std::fs::read_to_string(outcome.rwdir.join("out")).unwrap_or_default();
    let rc = std::fs::read_to_string(outcome.rwdir.join("rc")).unwrap_or_default();
    Ok((out, rc.trim() == "0"))
}

/// `cargo xtask demo`: the main demo, inside the kernel VM.
pub(crate) fn demo(_args: &[String]) -> Result<(), String> {
    if !crate::setup::is_root() {
        return Err("the demo builds namespaces and boots the kernel VM: run it as root".into());
    }
    crate::setup::run()?;
    run_status(cargo().args(["build", "--release", "-p", "lvs-examples", "--bins"]))?;
    let bin = workspace_root().join("target/release/lab");
    let (out, ok) = lab_in_vm(&bin, "demo")?;
    if let Some(path) = out.lines().find_map(|l| l.strip_prefix("report: ")) {
        println!("demo: the HTML report is {path}");
    }
    if ok {
        Ok(())
    } else {
        Err("the lab reported failures (see the verdicts above)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_libtest_summaries() {
        let text = "running 3 tests\n\
            test result: ok. 3 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\
            test result: FAILED. 1 passed; 4 failed; 0 ignored; 0 measured; 1 filtered out\n";
        let c = Counts::scan(text);
        assert_eq!((c.passed, c.failed, c.ignored), (4, 4, 2));
    }

    #[test]
    fn json_fields_are_extracted() {
        let line = r#"{"reason":"compiler-artifact","manifest_path":"/w/ipvs/Cargo.toml","executable":"/w/target/debug/deps/x-1"}"#;
        assert_eq!(
            json_str(line, "\"executable\":\"").as_deref(),
            Some("/w/target/debug/deps/x-1")
        );
        assert_eq!(json_str(line, "\"nothing\":\""), None);
    }

    #[test]
    fn the_published_crates_are_the_libraries() {
        let names = publishable_crates(&workspace_root()).unwrap();
        assert_eq!(
            names,
            [
                "lvs-ipvs",
                "lvs-vrrp",
                "lvs-healthcheck",
                "lvs-arpguard",
                "lvs-director",
                "lvs-keepalived-conf",
                "lvs-sys",
            ]
        );
    }

    #[test]
    fn leaf_names() {
        assert_eq!(leaf("tests::vm_add_service"), "vm_add_service");
        assert_eq!(leaf("netns_x"), "netns_x");
    }
}
