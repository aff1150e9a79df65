//! `TCP_CHECK`: the backend is up if a TCP connection opens in time.

use std::time::Instant;

use socket2::{Protocol, Type};

use super::{Checker, ConnectOptions, connect_blocking};
use crate::outcome::{FailReason, Outcome, Success};

/// Connects and closes. Refused and unreachable fail at once; silence fails
/// at the deadline.
///
/// Build it with [`TcpCheck::new`] and the `with_*` setters (new fields
/// may be added).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TcpCheck {
    /// Destination and socket options.
    pub connect: ConnectOptions,
    /// Close with a reset (`SO_LINGER` 0) instead of a FIN, leaving no
    /// `TIME_WAIT` socket behind — useful at high probe rates.
    pub reset_on_close: bool,
}

with_setters!(TcpCheck {
    with_reset_on_close(reset_on_close: bool),
});

impl TcpCheck {
    /// A TCP check of `connect.destination()`.
    pub fn new(connect: ConnectOptions) -> Self {
        TcpCheck {
            connect,
            reset_on_close: false,
        }
    }
}

impl Checker for TcpCheck {
    fn identity(&self) -> String {
        format!("{self:?}")
    }

    fn check(&self, deadline: Instant) -> Outcome {
        let sock = match self.connect.socket(Type::STREAM, Protocol::TCP) {
            Ok(s) => s,
            Err(e) => return Outcome::Failure(FailReason::Io(e.to_string())),
        };
        let result = connect_blocking(
            &sock,
            self.connect.destination(),
            self.connect.connect_deadline(deadline),
        );
        if self.reset_on_close {
            let _ = sock.set_linger(Some(std::time::Duration::ZERO));
        }
        match result {
            Ok(()) => Outcome::Success(Success::Connected),
            Err(r) => Outcome::Failure(r),
        }
    }
}
