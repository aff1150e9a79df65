//! When to probe and how many results flip a backend: rise/fall thresholds,
//! intervals, jitter, and keepalived's `delay_loop` / `retry` /
//! `delay_before_retry` mapping.

use std::time::Duration;

/// The health a backend starts with, before any probe result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InitialState {
    /// In the pool from the start (keepalived's default).
    Up,
    /// Out of the pool until it passes (keepalived's `alpha`).
    Down,
    /// Out of the pool; the first result decides either way.
    Unknown,
}

/// The health of a backend as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    /// Passing.
    Up,
    /// Failing.
    Down,
    /// No result counted yet.
    Unknown,
}

/// `up`, `down` or `unknown`, for logs and status output.
impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Health::Up => "up",
            Health::Down => "down",
            Health::Unknown => "unknown",
        })
    }
}

/// A configuration the policy cannot run with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// `rise` or `fall` was zero.
    #[error("{0} must be at least 1")]
    ZeroThreshold(&'static str),
    /// An interval or the timeout was zero.
    #[error("{0} must be greater than zero")]
    ZeroDuration(&'static str),
}

/// How one check is scheduled and judged. All times are relative; the
/// engine adds them to the `now` it is given.
///
/// By default the next probe is scheduled from the moment the previous
/// *result* arrives (as keepalived's socket checkers do), so a probe that
/// times out delays the next one by its timeout; see [`Policy::from_start`].
///
/// New fields may be added: start from [`Policy::new`], [`Policy::default`]
/// (keepalived's `TCP_CHECK`) or [`KeepalivedTiming::policy`] and chain the
/// `with_*` setters:
///
/// ```
/// use std::time::Duration;
/// use lvs_healthcheck::{InitialState, Policy};
///
/// let p = Policy::new(Duration::from_secs(2), Duration::from_millis(500))
///     .with_fast_interval(Duration::from_millis(500))
///     .with_fall(3)
///     .with_initial(InitialState::Down);
/// assert_eq!((p.rise, p.fall), (1, 3));
/// assert!(p.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Policy {
    /// Delay between probes while up and passing (keepalived `delay_loop`).
    pub interval: Duration,
    /// Delay between probes while up with failures counting toward `fall`
    /// (keepalived `delay_before_retry`: the retry delay).
    pub fast_interval: Duration,
    /// Delay between probes while down with successes counting toward
    /// `rise` (keepalived's `HTTP_GET` re-checks after `delay_loop`).
    pub rise_interval: Duration,
    /// Delay between probes while down (keepalived: `delay_loop` again).
    pub down_interval: Duration,
    /// Deadline of one probe (keepalived `connect_timeout`).
    pub timeout: Duration,
    /// Consecutive successes that bring a down backend up (keepalived: 1).
    pub rise: u32,
    /// Consecutive failures that take an up backend down (keepalived: `retry` + 1).
    pub fall: u32,
    /// Health before the first result.
    pub initial: InitialState,
    /// The first counted result decides the state on its own (keepalived: a
    /// first failure takes a server down at once, without retries). With
    /// [`InitialState::Unknown`] the first result always decides.
    pub first_result_decides: bool,
    /// Failures seen within this time after registration do not count
    /// (a backend still booting); successes do.
    pub startup_grace: Duration,
    /// Fixed delay before the first probe (keepalived: 1 s bootstrap delay).
    pub initial_delay: Duration,
    /// Uniform random extra delay in `[0, initial_jitter)` before the first
    /// probe (keepalived `warmup`, which defaults to `delay_loop`).
    pub initial_jitter: Duration,
    /// Uniform random extra delay in `[0, interval_jitter)` added to every
    /// later interval, so probes started together drift apart.
    pub interval_jitter: Duration,
    /// Count intervals from the probe's start instead of its result
    /// (keepalived's `MISC_CHECK` does; its socket checkers count from the result).
    pub from_start: bool,
}

impl Default for Policy {
    /// keepalived's `TCP_CHECK` defaults: `delay_loop 60`, `retry 1`,
    /// `delay_before_retry 1`, `connect_timeout 5`. Field by field:
    ///
    /// | field | value |
    /// |---|---|
    /// | `interval`, `rise_interval`, `down_interval` | 60 s |
    /// | `fast_interval` (retry delay) | 1 s |
    /// | `timeout` | 5 s |
    /// | `rise` / `fall` | 1 / 2 |
    /// | `initial` | [`InitialState::Up`]: members start **up** |
    /// | `first_result_decides` | `true` (a first failure takes a member down at once) |
    /// | `startup_grace` | 0 |
    /// | `initial_delay` | 1 s |
    /// | `initial_jitter` | 60 s (keepalived's `warmup` = `delay_loop`) |
    /// | `interval_jitter` | 0 |
    /// | `from_start` | `false` (intervals count from the result) |
    fn default() -> Self {
        KeepalivedTiming::new(KeepalivedCheck::Tcp).policy()
    }
}

with_setters!(Policy {
    with_interval(interval: Duration),
    with_fast_interval(fast_interval: Duration),
    with_rise_interval(rise_interval: Duration),
    with_down_interval(down_interval: Duration),
    with_timeout(timeout: Duration),
    with_rise(rise: u32),
    with_fall(fall: u32),
    with_initial(initial: InitialState),
    with_first_result_decides(first_result_decides: bool),
    with_startup_grace(startup_grace: Duration),
    with_initial_delay(initial_delay: Duration),
    with_initial_jitter(initial_jitter: Duration),
    with_interval_jitter(interval_jitter: Duration),
    with_from_start(from_start: bool),
});

impl Policy {
    /// A plain policy: probe every `interval` in every state, each probe
    /// given `timeout`; one result flips the health (`rise` = `fall` = 1);
    /// health starts [`InitialState::Unknown`]; the first probe is due at
    /// once; no jitter, no startup grace; intervals count from the result.
    pub fn new(interval: Duration, timeout: Duration) -> Policy {
        Policy {
            interval,
            fast_interval: interval,
            rise_interval: interval,
            down_interval: interval,
            timeout,
            rise: 1,
            fall: 1,
            initial: InitialState::Unknown,
            first_result_decides: false,
            startup_grace: Duration::ZERO,
            initial_delay: Duration::ZERO,
            initial_jitter: Duration::ZERO,
            interval_jitter: Duration::ZERO,
            from_start: false,
        }
    }

    /// Checks the values make sense (non-zero thresholds and intervals).
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.rise == 0 {
            return Err(PolicyError::ZeroThreshold("rise"));
        }
        if self.fall == 0 {
            return Err(PolicyError::ZeroThreshold("fall"));
        }
        for (name, d) in [
            ("interval", self.interval),
            ("fast_interval", self.fast_interval),
            ("rise_interval", self.rise_interval),
            ("down_interval", self.down_interval),
            ("timeout", self.timeout),
        ] {
            if d.is_zero() {
                return Err(PolicyError::ZeroDuration(name));
            }
        }
        Ok(())
    }
}

/// Which keepalived checker a [`KeepalivedTiming`] describes: the defaults
/// for `retry` and `delay_before_retry` differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeepalivedCheck {
    /// `TCP_CHECK`: retry 1, delay_before_retry 1 s.
    Tcp,
    /// `UDP_CHECK`: retry 1, delay_before_retry 1 s.
    Udp,
    /// `HTTP_GET` / `SSL_GET` with one `url`: retry 1, delay_before_retry
    /// 3 s; a failed server needs two good answers `delay_loop` apart to come
    /// back, and is probed every max(`delay_loop`, `delay_before_retry`) while down.
    Http,
    /// `DNS_CHECK`: retry 3, delay_before_retry = delay_loop.
    Dns,
    /// `MISC_CHECK`: retry 0; its timeout (`misc_timeout`) defaults to
    /// `delay_loop`; intervals count from the script's start.
    Misc,
}

/// keepalived's timing keywords for one checker, as written in its
/// configuration (`None` = keyword absent, keepalived's default applies).
///
/// [`KeepalivedTiming::policy`] turns them into a [`Policy`] that schedules
/// probes as keepalived 2.x does (`check_tcp.c` `tcp_epilog`, `check_udp.c`,
/// `check_dns.c` `dns_final`, `check_http.c` `epilog`, `check_misc.c`):
/// - up: a failure schedules a retry after `delay_before_retry`; `retry`
///   further failures in a row (so `retry + 1` in all) take it down;
/// - down: probe every `delay_loop`; one success brings it up (`HTTP_GET`:
///   two successes `delay_loop` apart, probing every
///   max(`delay_loop`, `delay_before_retry`) while down);
/// - start: first probe after 1 s plus a random part of `warmup`; the very
///   first result decides alone (a first failure means down, no retries);
/// - `alpha`: start down instead of up;
/// - the next probe is timed from the result, except `MISC_CHECK` (from the
///   script's start).
///
/// One corner is not reproduced: when a failure interrupts an `HTTP_GET`
/// recovery, keepalived probes again after `delay_before_retry`, this policy
/// after the down interval.
///
/// New keywords may be added: start from [`KeepalivedTiming::new`] and
/// chain the `with_*` setters (each stores `Some(value)`):
///
/// ```
/// use std::time::Duration;
/// use lvs_healthcheck::{KeepalivedCheck, KeepalivedTiming};
///
/// let policy = KeepalivedTiming::new(KeepalivedCheck::Tcp)
///     .with_delay_loop(Duration::from_secs(2))
///     .with_connect_timeout(Duration::from_secs(3))
///     .policy();
/// assert_eq!(policy.interval, Duration::from_secs(2));
/// assert_eq!(policy.timeout, Duration::from_secs(3));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeepalivedTiming {
    /// Which checker (for the defaults).
    pub check: KeepalivedCheck,
    /// `delay_loop` (default 60 s).
    pub delay_loop: Option<Duration>,
    /// `retry` (default per checker).
    pub retry: Option<u32>,
    /// `delay_before_retry` (default per checker).
    pub delay_before_retry: Option<Duration>,
    /// `connect_timeout` (default 5 s); for `MISC_CHECK`, `misc_timeout`
    /// (default `delay_loop`).
    pub connect_timeout: Option<Duration>,
    /// `warmup` (default `delay_loop`).
    pub warmup: Option<Duration>,
    /// `alpha`: start down.
    pub alpha: bool,
}

/// keepalived's `BOOTSTRAP_DELAY`: one second before the first probe.
pub const KEEPALIVED_BOOTSTRAP_DELAY: Duration = Duration::from_secs(1);
/// keepalived's default `delay_loop`.
pub const KEEPALIVED_DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
/// keepalived's default `connect_timeout`.
pub const KEEPALIVED_DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

with_setters!(KeepalivedTiming {
    with_delay_loop(delay_loop: Duration) => Some,
    with_retry(retry: u32) => Some,
    with_delay_before_retry(delay_before_retry: Duration) => Some,
    with_connect_timeout(connect_timeout: Duration) => Some,
    with_warmup(warmup: Duration) => Some,
    with_alpha(alpha: bool),
});

impl KeepalivedTiming {
    /// All keywords absent.
    pub fn new(check: KeepalivedCheck) -> Self {
        KeepalivedTiming {
            check,
            delay_loop: None,
            retry: None,
            delay_before_retry: None,
            connect_timeout: None,
            warmup: None,
            alpha: false,
        }
    }

    /// The policy keepalived would follow with these keywords.
    pub fn policy(&self) -> Policy {
        let delay_loop = self.delay_loop.unwrap_or(KEEPALIVED_DEFAULT_DELAY_LOOP);
        let (default_retry, default_dbr) = match self.check {
            KeepalivedCheck::Tcp | KeepalivedCheck::Udp => (1, Duration::from_secs(1)),
            KeepalivedCheck::Http => (1, Duration::from_secs(3)),
            KeepalivedCheck::Dns => (3, delay_loop),
            KeepalivedCheck::Misc => (0, Duration::from_secs(1)),
        };
        let retry = self.retry.unwrap_or(default_retry);
        let timeout = self.connect_timeout.unwrap_or(match self.check {
            KeepalivedCheck::Misc => delay_loop,
            _ => KEEPALIVED_DEFAULT_CONNECT_TIMEOUT,
        });
        let dbr = self.delay_before_retry.unwrap_or(default_dbr);
        let http = self.check == KeepalivedCheck::Http;
        Policy {
            interval: delay_loop,
            fast_interval: dbr,
            rise_interval: delay_loop,
            down_interval: if http {
                delay_loop.max(dbr)
            } else {
                delay_loop
            },
            timeout,
            rise: if http { 2 } else { 1 },
            fall: retry.saturating_add(1),
            initial: if self.alpha {
                InitialState::Down
            } else {
                InitialState::Up
            },
            first_result_decides: true,
            startup_grace: Duration::ZERO,
            initial_delay: KEEPALIVED_BOOTSTRAP_DELAY,
            initial_jitter: self.warmup.unwrap_or(delay_loop),
            interval_jitter: Duration::ZERO,
            from_start: self.check == KeepalivedCheck::Misc,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn default_policy_is_what_its_doc_says() {
        let p = super::Policy::default();
        assert_eq!(p.interval, Duration::from_secs(60));
        assert_eq!((p.rise_interval, p.down_interval), (p.interval, p.interval));
        assert_eq!(p.fast_interval, Duration::from_secs(1));
        assert_eq!(p.timeout, Duration::from_secs(5));
        assert_eq!((p.rise, p.fall), (1, 2));
        assert_eq!(p.initial, super::InitialState::Up);
        assert!(p.first_result_decides && !p.from_start);
        assert_eq!(
            (p.startup_grace, p.interval_jitter),
            (Duration::ZERO, Duration::ZERO)
        );
        assert_eq!(p.initial_delay, Duration::from_secs(1));
        assert_eq!(p.initial_jitter, Duration::from_secs(60));
    }

    #[test]
    fn health_displays_in_lower_case() {
        use super::Health;
        let shown: Vec<String> = [Health::Up, Health::Down, Health::Unknown]
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["up", "down", "unknown"]);
    }

    use super::*;

    #[test]
    fn seed_tuned_values_map_to_fall_two_and_two_second_retry() {
        let t = KeepalivedTiming {
            delay_loop: Some(Duration::from_secs(2)),
            retry: Some(1),
            delay_before_retry: Some(Duration::from_secs(2)),
            connect_timeout: Some(Duration::from_secs(3)),
            ..KeepalivedTiming::new(KeepalivedCheck::Tcp)
        };
        let p = t.policy();
        assert_eq!(p.fall, 2);
        assert_eq!(p.rise, 1);
        assert_eq!(p.interval, Duration::from_secs(2));
        assert_eq!(p.fast_interval, Duration::from_secs(2));
        assert_eq!(p.timeout, Duration::from_secs(3));
        assert_eq!(p.initial_jitter, Duration::from_secs(2));
        assert_eq!(p.initial, InitialState::Up);
        assert!(p.validate().is_ok());
    }

    #[test]
    fn per_checker_defaults_follow_keepalived() {
        let dns = KeepalivedTiming {
            delay_loop: Some(Duration::from_secs(7)),
            ..KeepalivedTiming::new(KeepalivedCheck::Dns)
        }
        .policy();
        assert_eq!(dns.fall, 4);
        assert_eq!(dns.fast_interval, Duration::from_secs(7));
        let http = KeepalivedTiming {
            delay_loop: Some(Duration::from_secs(2)),
            ..KeepalivedTiming::new(KeepalivedCheck::Http)
        }
        .policy();
        assert_eq!(http.fast_interval, Duration::from_secs(3));
        assert_eq!(http.timeout, Duration::from_secs(5));
        assert_eq!((http.rise, http.rise_interval), (2, Duration::from_secs(2)));
        assert_eq!(http.down_interval, Duration::from_secs(3));
        assert!(!http.from_start);
        let misc = KeepalivedTiming::new(KeepalivedCheck::Misc).policy();
        assert_eq!(misc.fall, 1);
        assert_eq!(misc.timeout, Duration::from_secs(60));
        assert!(misc.from_start);
        let alpha = KeepalivedTiming {
            alpha: true,
            ..KeepalivedTiming::new(KeepalivedCheck::Tcp)
        }
        .policy();
        assert_eq!(alpha.initial, InitialState::Down);
    }

    #[test]
    fn each_setter_sets_its_own_field() {
        let ms = Duration::from_millis;
        let built = Policy::new(ms(1), ms(2))
            .with_interval(ms(10))
            .with_fast_interval(ms(11))
            .with_rise_interval(ms(12))
            .with_down_interval(ms(13))
            .with_timeout(ms(14))
            .with_rise(2)
            .with_fall(3)
            .with_initial(InitialState::Down)
            .with_first_result_decides(true)
            .with_startup_grace(ms(15))
            .with_initial_delay(ms(16))
            .with_initial_jitter(ms(17))
            .with_interval_jitter(ms(18))
            .with_from_start(true);
        let literal = Policy {
            interval: ms(10),
            fast_interval: ms(11),
            rise_interval: ms(12),
            down_interval: ms(13),
            timeout: ms(14),
            rise: 2,
            fall: 3,
            initial: InitialState::Down,
            first_result_decides: true,
            startup_grace: ms(15),
            initial_delay: ms(16),
            initial_jitter: ms(17),
            interval_jitter: ms(18),
            from_start: true,
        };
        assert_eq!(built, literal);
        let t = KeepalivedTiming::new(KeepalivedCheck::Udp)
            .with_delay_loop(ms(1))
            .with_retry(4)
            .with_delay_before_retry(ms(2))
            .with_connect_timeout(ms(3))
            .with_warmup(ms(4))
            .with_alpha(true);
        let literal = KeepalivedTiming {
            check: KeepalivedCheck::Udp,
            delay_loop: Some(ms(1)),
            retry: Some(4),
            delay_before_retry: Some(ms(2)),
            connect_timeout: Some(ms(3)),
            warmup: Some(ms(4)),
            alpha: true,
        };
        assert_eq!(t, literal);
    }

    #[test]
    fn zero_values_are_rejected() {
        let p = Policy {
            fall: 0,
            ..Policy::default()
        };
        assert_eq!(p.validate(), Err(PolicyError::ZeroThreshold("fall")));
        let p = Policy {
            interval: Duration::ZERO,
            ..Policy::default()
        };
        assert_eq!(p.validate(), Err(PolicyError::ZeroDuration("interval")));
    }
}
