//! Pluggable backend health checkers and a sans-IO rise/fall policy: the
//! part of keepalived that takes a dead real server out of the pool and puts
//! it back when it recovers.
//!
//! Two halves:
//! - [`Engine`] (sans-IO) decides *when* each probe runs and *what* its
//!   results mean: rise/fall thresholds, keepalived's `delay_loop` / `retry`
//!   / `delay_before_retry` ([`KeepalivedTiming`]), jitter, de-duplication of
//!   identical probes, a concurrency budget and a fail-open guard. It never
//!   reads a clock: every call takes `now`.
//! - [`checker`]s do the I/O for one probe: TCP (a full connection, or
//!   half-open: a SYN from a raw socket, for about half the work on both
//!   ends), UDP (with ICMP errors from the socket error queue), DNS, HTTP
//!   GET (HTTPS with the `tls` feature: rustls with its `ring` provider, no
//!   OpenSSL), SMTP (greeting and HELO), ICMP/ICMPv6 echo (a ping socket,
//!   or a raw one where `ping_group_range` excludes us), and program
//!   execution. The
//!   [`Checker`] trait lets you add your own. With the `tokio` feature,
//!   `runner::Runner` drives both and yields events, on the caller's
//!   runtime or (`Runner::spawn_thread`) on a thread and runtime of its
//!   own, optionally inside another network namespace.
//!
//! # Building configuration
//! Config structs that will grow ([`Policy`], [`KeepalivedTiming`],
//! [`EngineConfig`], [`ConnectOptions`], the checkers) are
//! `#[non_exhaustive]`: start from a constructor (`new`, `default`) and
//! chain `with_*` setters, one per public field; the fields stay public to
//! read and to assign.
//!
//! # Driving contract
//! Call [`Engine::handle_timeout`] at [`Engine::poll_timeout`]; run every
//! request from [`Engine::poll_probe`] and report it with
//! [`Engine::handle_result`]; drain [`Engine::poll_event`]. Times are only
//! ever compared, so a virtual clock works as well as a real one.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use lvs_healthcheck::{
//!     Engine, EngineConfig, Event, FailReason, Health, KeepalivedCheck, KeepalivedTiming,
//!     Outcome, ServiceId,
//! };
//!
//! // The seed's tuned TCP_CHECK: delay_loop 2, retry 1, delay_before_retry 2.
//! let policy = KeepalivedTiming::new(KeepalivedCheck::Tcp)
//!     .with_delay_loop(Duration::from_secs(2))
//!     .with_retry(1)
//!     .with_delay_before_retry(Duration::from_secs(2))
//!     .with_connect_timeout(Duration::from_secs(3))
//!     .with_warmup(Duration::ZERO)
//!     .policy();
//! let t0 = Instant::now(); // any instant: the engine only compares times
//! let mut engine = Engine::new(EngineConfig::default());
//! let www1 = engine.add_member(t0, ServiceId(80), "172.20.0.85:80", policy)?;
//!
//! // A backend that refuses every connection: down after two probes.
//! let mut now = t0;
//! let mut down_at = None;
//! while down_at.is_none() {
//!     now = engine.poll_timeout().expect("a probe is always scheduled");
//!     engine.handle_timeout(now);
//!     while let Some(probe) = engine.poll_probe(now) {
//!         engine.handle_result(now, probe.id, Outcome::Failure(FailReason::Refused));
//!     }
//!     while let Some(event) = engine.poll_event() {
//!         if let Event::Transition(t) = event {
//!             assert_eq!((t.member, t.to), (www1, Health::Down));
//!             down_at = Some(t.at);
//!         }
//!     }
//! }
//! // keepalived's first result decides at once: the bootstrap delay is 1 s.
//! assert_eq!(down_at, Some(t0 + Duration::from_secs(1)));
//! # Ok::<(), lvs_healthcheck::PolicyError>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// This crate's README, whose examples run as doctests so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Chainable `with_*` setters for public fields, so a `#[non_exhaustive]`
/// config struct is still built in one expression outside this crate.
/// `with_x(x: T) => Some` stores `Some(value)` in an `Option<T>` field.
macro_rules! with_setters {
    ($ty:ident { $($setter:ident($field:ident: $t:ty) $(=> $wrap:ident)?),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
                #[must_use]
                pub fn $setter(mut self, $field: $t) -> Self {
                    self.$field = $($wrap)?($field);
                    self
                }
            )*
        }
    };
}

pub mod checker;
pub mod engine;
pub mod outcome;
pub mod policy;
mod rng;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod runner;

/// The reply readers the checkers keep private, for the fuzz targets (`fuzz/`).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use crate::FailReason;
    use crate::checker::http::{HttpCheck, Response, ResponseReader};

    /// Reads an HTTP response arriving as `chunks` then end of stream,
    /// as [`HttpCheck`]'s clients do.
    pub fn http_response<'a>(
        check: &HttpCheck,
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Response, FailReason> {
        let mut reader = ResponseReader::new(check);
        for chunk in chunks {
            if let Some(response) = reader.feed(chunk)? {
                return Ok(response);
            }
        }
        reader.eof()
    }
}

pub use checker::{Checker, ConnectOptions};
pub use engine::{
    Engine, EngineConfig, Event, FailOpen, MemberId, MemberState, ProbeId, ProbeRequest, ServiceId,
    Transition,
};
pub use outcome::{FailReason, Outcome, Success, Unreachable};
pub use policy::{Health, InitialState, KeepalivedCheck, KeepalivedTiming, Policy, PolicyError};
/// The DNS message crate used by [`checker::dns`] (for query types).
pub use simple_dns;
