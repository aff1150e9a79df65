//! What one probe found: a success with its detail, or a failure with its reason.

use std::fmt;

/// The result of one probe, as a checker reports it to the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The backend passed the check.
    Success(Success),
    /// The backend failed the check.
    Failure(FailReason),
}

impl Outcome {
    /// True for [`Outcome::Success`].
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success(_))
    }
}

/// How a probe succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Success {
    /// A TCP connection was established.
    Connected,
    /// A SYN was answered with a SYN-ACK (a half-open check: no connection
    /// was completed, this host's kernel reset it).
    SynAcknowledged,
    /// A UDP reply arrived and matched the expected length/pattern (if any).
    ReplyMatched,
    /// No UDP reply and no ICMP error before the deadline, and the check was
    /// configured to accept silence (keepalived's `UDP_CHECK` without
    /// `require_reply` does).
    SilentAccepted,
    /// An HTTP response with an accepted status (and body, if checked).
    HttpStatus(u16),
    /// An SMTP server greeted with 220, accepted HELO with 250 and answered QUIT.
    SmtpHelo,
    /// An ICMP or ICMPv6 echo request was answered.
    EchoReply,
    /// A DNS answer with an accepted RCODE (and expected answer, if any).
    Dns {
        /// The response code the server returned.
        rcode: u16,
        /// Number of answer records.
        answers: u16,
        /// The UDP answer was truncated and the query was repeated over TCP.
        over_tcp: bool,
    },
    /// A program exited with success. `weight` is set under keepalived's
    /// `misc_dynamic` convention (exit status 2..=255 means weight status−2).
    Exited {
        /// The weight the program asked for, if it used the dynamic convention.
        weight: Option<u8>,
    },
}

/// Which kind of ICMP "destination unreachable" the kernel reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unreachable {
    /// Port unreachable (nobody listening on the UDP port).
    Port,
    /// Host unreachable (no route to host, or neighbour resolution failed).
    Host,
    /// Network unreachable.
    Net,
    /// Administratively prohibited (a firewall said no).
    Prohibited,
    /// Another ICMP code (v4 code, or v6 code + 256).
    Other(u16),
}

/// Why a probe failed. Carried in transition events so an operator sees the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailReason {
    /// No answer before the deadline.
    Timeout,
    /// The connection was refused (TCP RST).
    Refused,
    /// ICMP destination unreachable, or the equivalent local error
    /// (`EHOSTUNREACH`, `ENETUNREACH`).
    Unreachable(Unreachable),
    /// A UDP check that requires a reply got none (and no ICMP error).
    Silent,
    /// A UDP reply did not match the expected length or pattern.
    ReplyMismatch,
    /// An HTTP status outside the accepted ranges.
    BadStatus(u16),
    /// The HTTP body did not contain the expected text or had the wrong digest.
    BadBody,
    /// A DNS response with a response code outside the accepted set.
    Rcode(u16),
    /// A DNS response with an accepted RCODE but without the expected answer.
    AnswerMismatch,
    /// A reply that was not a valid answer to the question asked (wrong ID,
    /// wrong question, unparsable message, malformed HTTP).
    BadReply(String),
    /// A program exited with a failure status.
    ExitStatus(i32),
    /// A program was killed by a signal (including our own kill at the deadline).
    Signal(i32),
    /// The probe could not be set up or the socket failed otherwise.
    Io(String),
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailReason::Timeout => write!(f, "timeout"),
            FailReason::Refused => write!(f, "connection refused"),
            FailReason::Unreachable(u) => write!(f, "unreachable ({u:?})"),
            FailReason::Silent => write!(f, "no reply"),
            FailReason::ReplyMismatch => write!(f, "reply mismatch"),
            FailReason::BadStatus(s) => write!(f, "bad HTTP status {s}"),
            FailReason::BadBody => write!(f, "unexpected HTTP body"),
            FailReason::Rcode(r) => write!(f, "DNS RCODE {r}"),
            FailReason::AnswerMismatch => write!(f, "DNS answer mismatch"),
            FailReason::BadReply(why) => write!(f, "bad reply: {why}"),
            FailReason::ExitStatus(s) => write!(f, "exit status {s}"),
            FailReason::Signal(s) => write!(f, "killed by signal {s}"),
            FailReason::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl FailReason {
    /// Maps a socket error to a reason: refused and unreachable are told apart
    /// from timeouts so events say what happened.
    pub fn from_io(err: &std::io::Error) -> FailReason {
        match err.raw_os_error() {
            Some(libc::ECONNREFUSED) => FailReason::Refused,
            Some(libc::EHOSTUNREACH) => FailReason::Unreachable(Unreachable::Host),
            Some(libc::ENETUNREACH) => FailReason::Unreachable(Unreachable::Net),
            Some(libc::ETIMEDOUT) => FailReason::Timeout,
            _ => match err.kind() {
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                    FailReason::Timeout
                }
                std::io::ErrorKind::ConnectionRefused => FailReason::Refused,
                _ => FailReason::Io(err.to_string()),
            },
        }
    }
}
