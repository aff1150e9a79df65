//! Tracked files and processes (keepalived's `track_file` and
//! `vrrp_track_process`) and the entries instances name them by.

use std::path::PathBuf;
use std::time::Duration;

/// A file holding an integer that moves the priority of the instances
/// that track it (keepalived's `track_file`, `vrrp_track_file`).
///
/// The file is read as keepalived reads it: leading blanks, an optional
/// sign and digits (`0x` hexadecimal and leading-`0` octal too), anything
/// after them ignored; text that is no number, an empty, missing or
/// unreadable file count as 0; a number outside the 32-bit range is
/// ignored (the last value stays). For each tracking instance, see
/// [`lvs_vrrp::TrackKind::Value`]: the value × the weight (negated with
/// `reverse`) is added to the priority, at most +253; a product of -254 or
/// less is a FAULT; with weight 0 a non-zero value is a FAULT (with
/// `reverse`: a zero value). An address owner (priority 255) ignores
/// weighted files, as it ignores weighted scripts.
///
/// ```
/// use lvs_director::{InitFile, TrackFile};
///
/// let f = TrackFile::new("maint", "/run/lvs/maint")
///     .with_weight(-100)
///     .with_init(InitFile::new(0));
/// assert_eq!(f.weight, -100);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackFile {
    /// Its name (keepalived's `track_file NAME`).
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// The multiplier, -254..=254. Default: 1.
    pub weight: i16,
    /// The product's sign is inverted (weight 0: a zero value is the FAULT).
    pub reverse: bool,
    /// Write a value at start (keepalived's `init_file`).
    pub init: Option<InitFile>,
}

/// keepalived's `init_file [VALUE] [overwrite]`: `value` is written to the
/// file when the director starts watching it, if the file does not exist
/// (or always, with `overwrite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitFile {
    /// The value written. Default: 0.
    pub value: i64,
    /// Write it even over an existing file.
    pub overwrite: bool,
}

impl InitFile {
    /// Writes `value` if the file is missing.
    pub fn new(value: i64) -> InitFile {
        InitFile {
            value,
            overwrite: false,
        }
    }

    /// Writes it even over an existing file.
    pub fn with_overwrite(mut self, overwrite: bool) -> InitFile {
        self.overwrite = overwrite;
        self
    }
}

impl TrackFile {
    /// A file tracked with weight 1, not reversed, not initialised.
    pub fn new(name: &str, path: impl Into<PathBuf>) -> TrackFile {
        TrackFile {
            name: name.to_string(),
            path: path.into(),
            weight: 1,
            reverse: false,
            init: None,
        }
    }

    /// Sets the weight.
    pub fn with_weight(mut self, weight: i16) -> TrackFile {
        self.weight = weight;
        self
    }

    /// Sets `reverse`.
    pub fn with_reverse(mut self, reverse: bool) -> TrackFile {
        self.reverse = reverse;
        self
    }

    /// Sets what is written at start.
    pub fn with_init(mut self, init: InitFile) -> TrackFile {
        self.init = Some(init);
        self
    }
}

/// Reads a track file's contents as keepalived does (C's `strtol` with
/// base 0): `None` for a number outside the 32-bit range (keepalived
/// ignores it and keeps the last value), `Some(0)` for no number at all.
///
/// ```
/// use lvs_director::parse_track_file;
///
/// assert_eq!(parse_track_file(" -12\n"), Some(-12));
/// assert_eq!(parse_track_file("0x10"), Some(16));
/// assert_eq!(parse_track_file("010"), Some(8));
/// assert_eq!(parse_track_file("up"), Some(0));
/// assert_eq!(parse_track_file("99999999999"), None);
/// ```
pub fn parse_track_file(text: &str) -> Option<i64> {
    let s = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.starts_with(|c: char| c.is_ascii_hexdigit()) {
            (16, h)
        } else {
            // strtol reads just the "0".
            (10, "0")
        }
    } else if s.starts_with('0') {
        (8, s)
    } else {
        (10, s)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    let digits = &digits[..end];
    if digits.is_empty() {
        return Some(0);
    }
    // More digits than fit is out of range, as strtol's ERANGE.
    let v = i64::from_str_radix(digits, radix).ok()?;
    let v = if neg { -v } else { v };
    (i64::from(i32::MIN)..=i64::from(i32::MAX) + 1)
        .contains(&v)
        .then_some(v)
}

/// One file an instance tracks (keepalived's `track_file` entry), with an
/// optional override of the file's weight and `reverse`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackedFile {
    /// The file's name in [`DirectorConfig::track_files`](crate::DirectorConfig::track_files).
    pub file: String,
    /// This instance's weight; `None` is the file's.
    pub weight: Option<i16>,
    /// This instance's `reverse`; `None` is the file's.
    pub reverse: Option<bool>,
}

impl TrackedFile {
    /// Tracks the file named `file` with its own weight.
    pub fn new(file: &str) -> TrackedFile {
        TrackedFile {
            file: file.to_string(),
            weight: None,
            reverse: None,
        }
    }

    /// Overrides the weight.
    pub fn with_weight(mut self, weight: i16) -> TrackedFile {
        self.weight = Some(weight);
        self
    }

    /// Overrides `reverse`.
    pub fn with_reverse(mut self, reverse: bool) -> TrackedFile {
        self.reverse = Some(reverse);
        self
    }

    /// The signal's name in [`lvs_vrrp::Router::set_track_value`]: `file:NAME`.
    pub fn track_name(&self) -> String {
        format!("file:{}", self.file)
    }

    /// The router track for this instance, given the file: a value track
    /// with the weight and direction in force.
    pub fn router_track(&self, spec: &TrackFile) -> lvs_vrrp::Track {
        lvs_vrrp::Track::value(
            &self.track_name(),
            self.weight.unwrap_or(spec.weight),
            self.reverse.unwrap_or(spec.reverse),
        )
    }
}

/// How a tracked process's parameters must match (keepalived's `param_match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ParamMatch {
    /// Parameters are not looked at.
    #[default]
    Any,
    /// Exactly the configured parameters (none, if none are configured).
    Exact,
    /// The configured parameters first, more may follow (`partial`).
    Partial,
    /// As `Partial`, and the last configured one may be the start of a
    /// longer one (`initial`).
    Initial,
}

/// Which processes count (keepalived's `process` line with `param_match`
/// and `full_command`): without `full_command` the name is compared with
/// the process name (`/proc/PID/stat`'s, at most 15 bytes); with it (set
/// by parameters or `param_match` too) with the command line's first
/// word, and the parameters with the rest. Exact comparisons, no
/// patterns; zombies never count.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessMatch {
    /// The process name or path.
    pub name: String,
    /// Its parameters.
    pub params: Vec<String>,
    /// How the parameters match.
    pub param_match: ParamMatch,
    /// Compare with the command line instead of the process name.
    pub full_command: bool,
}

impl ProcessMatch {
    /// Processes named `name` (their process name, not the command line).
    pub fn new(name: &str) -> ProcessMatch {
        ProcessMatch {
            name: name.to_string(),
            params: Vec::new(),
            param_match: ParamMatch::Any,
            full_command: false,
        }
    }

    /// Processes run as `name` with exactly these parameters (keepalived:
    /// parameters imply `full_command` and, unless set, an exact match).
    pub fn with_params<S: Into<String>>(
        mut self,
        params: impl IntoIterator<Item = S>,
    ) -> ProcessMatch {
        self.params = params.into_iter().map(Into::into).collect();
        self.full_command = true;
        if self.param_match == ParamMatch::Any {
            self.param_match = ParamMatch::Exact;
        }
        self
    }

    /// Sets how the parameters match (implies `full_command`).
    pub fn with_param_match(mut self, m: ParamMatch) -> ProcessMatch {
        self.param_match = m;
        self.full_command = true;
        self
    }

    /// Compares with the command line.
    pub fn with_full_command(mut self, full: bool) -> ProcessMatch {
        self.full_command = full;
        self
    }

    /// Whether a process with process name `comm` and command line
    /// `cmdline` (`/proc/PID/cmdline`: NUL-terminated words) counts.
    ///
    /// ```
    /// use lvs_director::{ParamMatch, ProcessMatch};
    ///
    /// let m = ProcessMatch::new("/usr/sbin/haproxy").with_params(["-f"]);
    /// assert!(m.matches("haproxy", b"/usr/sbin/haproxy\0-f\0"));
    /// assert!(!m.matches("haproxy", b"/usr/sbin/haproxy\0-f\0x.cfg\0"));
    /// let m = m.with_param_match(ParamMatch::Partial);
    /// assert!(m.matches("haproxy", b"/usr/sbin/haproxy\0-f\0x.cfg\0"));
    /// assert!(ProcessMatch::new("sshd").matches("sshd", b""));
    /// assert!(!ProcessMatch::new("ssh").matches("sshd", b""));
    /// ```
    pub fn matches(&self, comm: &str, cmdline: &[u8]) -> bool {
        if !self.full_command {
            return comm == self.name;
        }
        let mut words = cmdline.split(|&b| b == 0);
        if words.next() != Some(self.name.as_bytes()) {
            return false;
        }
        // cmdline ends with a NUL: the split leaves one empty word after it.
        let mut got: Vec<&[u8]> = words.collect();
        if got.last() == Some(&&b""[..]) {
            got.pop();
        }
        let want: Vec<&[u8]> = self.params.iter().map(|p| p.as_bytes()).collect();
        match self.param_match {
            ParamMatch::Any => true,
            ParamMatch::Exact => got == want,
            ParamMatch::Partial => got.len() >= want.len() && got[..want.len()] == want[..],
            ParamMatch::Initial => {
                let Some((last, head)) = want.split_last() else {
                    return true;
                };
                got.len() >= want.len()
                    && got[..head.len()] == *head
                    && got[head.len()].starts_with(last)
            }
        }
    }
}

/// Processes whose number moves the priority of the instances that track
/// them (keepalived's `vrrp_track_process`): the process is up while
/// [`quorum`](Self::quorum) ≤ the number of matching processes ≤
/// [`quorum_max`](Self::quorum_max); a change is reported after
/// [`fork_delay`](Self::fork_delay) (the number went up) or
/// [`terminate_delay`](Self::terminate_delay) (it went down), and not at
/// all if it changes back first. The weight works as a tracked script's
/// ([`TrackScript`](crate::TrackScript)): weight 0: FAULT while down;
/// weight > 0 added while up; weight < 0 added while down; `reverse` the
/// other way.
///
/// ```
/// use std::time::Duration;
/// use lvs_director::{ProcessMatch, TrackProcess};
///
/// let p = TrackProcess::new("haproxy", ProcessMatch::new("haproxy"))
///     .with_quorum(2, 4)
///     .with_delay(Duration::from_millis(500))
///     .with_weight(-30);
/// assert!(p.in_quorum(3) && !p.in_quorum(1) && !p.in_quorum(5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackProcess {
    /// Its name (keepalived's `vrrp_track_process NAME`).
    pub name: String,
    /// Which processes count.
    pub process: ProcessMatch,
    /// Priority adjustment, -254..=254; 0 means down is a FAULT.
    /// Default: 0 (keepalived's code; its manual says 1).
    pub weight: i16,
    /// The adjustment goes the other way.
    pub reverse: bool,
    /// Fewest matching processes that are up. Default: 1.
    pub quorum: u32,
    /// Most matching processes that are up. Default: no limit.
    pub quorum_max: u32,
    /// Wait this long before reporting a change the number going up made.
    pub fork_delay: Duration,
    /// Wait this long before reporting a change the number going down made.
    pub terminate_delay: Duration,
}

impl TrackProcess {
    /// At least one matching process, no delays, weight 0 (none running is a FAULT).
    pub fn new(name: &str, process: ProcessMatch) -> TrackProcess {
        TrackProcess {
            name: name.to_string(),
            process,
            weight: 0,
            reverse: false,
            quorum: 1,
            quorum_max: u32::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
        }
    }

    /// Sets the weight.
    pub fn with_weight(mut self, weight: i16) -> TrackProcess {
        self.weight = weight;
        self
    }

    /// Sets `reverse`.
    pub fn with_reverse(mut self, reverse: bool) -> TrackProcess {
        self.reverse = reverse;
        self
    }

    /// Sets `quorum` and `quorum_max`.
    pub fn with_quorum(mut self, quorum: u32, quorum_max: u32) -> TrackProcess {
        self.quorum = quorum;
        self.quorum_max = quorum_max;
        self
    }

    /// Sets both delays (keepalived's `delay`).
    pub fn with_delay(mut self, delay: Duration) -> TrackProcess {
        self.fork_delay = delay;
        self.terminate_delay = delay;
        self
    }

    /// Sets `fork_delay`.
    pub fn with_fork_delay(mut self, delay: Duration) -> TrackProcess {
        self.fork_delay = delay;
        self
    }

    /// Sets `terminate_delay`.
    pub fn with_terminate_delay(mut self, delay: Duration) -> TrackProcess {
        self.terminate_delay = delay;
        self
    }

    /// Whether `count` matching processes are up.
    pub fn in_quorum(&self, count: u32) -> bool {
        (self.quorum..=self.quorum_max).contains(&count)
    }
}

/// One process an instance tracks (keepalived's `track_process` entry),
/// with an optional override of the weight and `reverse`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackedProcess {
    /// The name in [`DirectorConfig::track_processes`](crate::DirectorConfig::track_processes).
    pub process: String,
    /// This instance's weight; `None` is the process's.
    pub weight: Option<i16>,
    /// This instance's `reverse`; `None` is the process's.
    pub reverse: Option<bool>,
}

impl TrackedProcess {
    /// Tracks the process named `process` with its own weight.
    pub fn new(process: &str) -> TrackedProcess {
        TrackedProcess {
            process: process.to_string(),
            weight: None,
            reverse: None,
        }
    }

    /// Overrides the weight.
    pub fn with_weight(mut self, weight: i16) -> TrackedProcess {
        self.weight = Some(weight);
        self
    }

    /// Overrides `reverse`.
    pub fn with_reverse(mut self, reverse: bool) -> TrackedProcess {
        self.reverse = Some(reverse);
        self
    }

    /// The signal's name in [`lvs_vrrp::Router::set_track`]: `process:NAME`.
    pub fn track_name(&self) -> String {
        format!("process:{}", self.process)
    }

    /// Weight and direction for this instance, given the process.
    pub fn resolve(&self, spec: &TrackProcess) -> crate::ResolvedTrack {
        crate::ResolvedTrack {
            track_name: self.track_name(),
            weight: self.weight.unwrap_or(spec.weight),
            reverse: self.reverse.unwrap_or(spec.reverse),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_file_text_reads_as_strtol_base_0() {
        assert_eq!(parse_track_file(""), Some(0));
        assert_eq!(parse_track_file("\n"), Some(0));
        assert_eq!(parse_track_file("5"), Some(5));
        assert_eq!(parse_track_file("  +7 apples"), Some(7));
        assert_eq!(parse_track_file("-0x1f"), Some(-31));
        assert_eq!(parse_track_file("0x"), Some(0));
        assert_eq!(parse_track_file("09"), Some(0));
        assert_eq!(parse_track_file("2147483648"), Some(2_147_483_648));
        assert_eq!(parse_track_file("2147483649"), None);
        assert_eq!(parse_track_file("-2147483648"), Some(-2_147_483_648));
        assert_eq!(parse_track_file("-2147483649"), None);
        assert_eq!(parse_track_file("1234567890123456789012345"), None);
    }

    #[test]
    fn initial_match_lets_the_last_parameter_be_longer() {
        let m = ProcessMatch::new("/bin/sleep")
            .with_params(["10"])
            .with_param_match(ParamMatch::Initial);
        assert!(m.matches("sleep", b"/bin/sleep\x00100\x00"));
        assert!(m.matches("sleep", b"/bin/sleep\x0010\x00x\x00"));
        assert!(!m.matches("sleep", b"/bin/sleep\x001\x00"));
        assert!(!m.matches("sleep", b"/bin/sleep\x00"));
        let none = ProcessMatch::new("/bin/sleep").with_param_match(ParamMatch::Exact);
        assert!(none.matches("sleep", b"/bin/sleep\x00"));
        assert!(!none.matches("sleep", b"/bin/sleep\x001\x00"));
        let full = ProcessMatch::new("/bin/sleep").with_full_command(true);
        assert!(full.matches("x", b"/bin/sleep\x00anything\x00"));
        assert!(!full.matches("sleep", b"sleep\x00"));
    }
}

/// A real server's probe fed by a tracked file (keepalived's `FILE_CHECK`):
/// not run by the health-check runner, it follows the value the core holds
/// for the file (the same record its VRRP tracking uses).
///
/// With weight 0 the real server is down while the value is non-zero
/// (with `reverse`: while it is zero). Otherwise value × weight (negated
/// with `reverse`) is added to the real server's IPVS weight — with any
/// other file check's, on top of its configured (or `misc_dynamic`)
/// weight, the sum kept within 0..=`i32::MAX` — and a product at or below
/// `i32::MIN` takes it down, as keepalived's `IPVS_WEIGHT_FAULT` does.
/// Until the file's first value is known the real server is down.
///
/// ```
/// use lvs_director::{FileCheck, TrackFile};
///
/// let file = TrackFile::new("maint", "/run/maint").with_weight(0);
/// let own = FileCheck::new("maint").with_weight(-10, false);
/// let (weight, reverse) = own.resolve(&file);
/// assert_eq!(own.effect(2, weight, reverse), Some(-20));
/// // The file's weight 0: a non-zero value takes the real server down.
/// let plain = FileCheck::new("maint");
/// let (weight, reverse) = plain.resolve(&file);
/// assert_eq!(plain.effect(1, weight, reverse), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileCheck {
    /// The file's name in [`DirectorConfig::track_files`](crate::DirectorConfig::track_files).
    pub file: String,
    /// This check's weight and `reverse`; `None` is the file's own
    /// (keepalived: a `weight` line sets both, `reverse` absent is false).
    pub weight: Option<(i32, bool)>,
}

impl FileCheck {
    /// Follows the file named `file` with the file's weight.
    pub fn new(file: &str) -> FileCheck {
        FileCheck {
            file: file.to_string(),
            weight: None,
        }
    }

    /// Its own weight (`-i32::MAX..=i32::MAX`) and direction.
    pub fn with_weight(mut self, weight: i32, reverse: bool) -> FileCheck {
        self.weight = Some((weight, reverse));
        self
    }

    /// The weight and direction in force, given the file's.
    pub fn resolve(&self, spec: &TrackFile) -> (i32, bool) {
        self.weight
            .unwrap_or((i32::from(spec.weight), spec.reverse))
    }

    /// What `value` does to the real server under `weight` / `reverse`
    /// (see [`resolve`](Self::resolve)): `None` takes it down, `Some(w)`
    /// adds `w` to its weight.
    pub fn effect(&self, value: i64, weight: i32, reverse: bool) -> Option<i64> {
        if weight == 0 {
            return ((value != 0) == reverse).then_some(0);
        }
        let sign = if reverse { -1 } else { 1 };
        // A file value is within i32::MIN..=i32::MAX + 1: no overflow in i128.
        let product = i128::from(value) * i128::from(weight) * sign;
        let product = product.clamp(i128::from(i32::MIN), i128::from(i32::MAX));
        (product > i128::from(i32::MIN)).then_some(product as i64)
    }
}
