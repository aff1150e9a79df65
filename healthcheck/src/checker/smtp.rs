//! `SMTP_CHECK`: the SMTP conversation keepalived holds with a mail server —
//! a `220` greeting, `HELO name` answered by `250`, then `QUIT` answered by
//! any reply — after which the server counts as up.
//!
//! The conversation is a sans-IO [`SmtpDialog`] fed with the bytes read;
//! the blocking client here and the async one in the runner drive it.

use std::time::Instant;

use socket2::{Protocol, Type};

use super::{Checker, ConnectOptions, connect_blocking, recv_some, send_all};
use crate::outcome::{FailReason, Outcome, Success};

/// keepalived's default `helo_name`.
pub const DEFAULT_HELO: &str = "smtpchecker.keepalived.org";

/// Longest reply accepted (keepalived reads lines into a small buffer too).
const MAX_REPLY: usize = 16 * 1024;

/// One SMTP conversation with a server.
///
/// Build it with [`SmtpCheck::new`] and the `with_*` setters (new fields
/// may be added):
///
/// ```
/// use lvs_healthcheck::{ConnectOptions, checker::smtp::SmtpCheck};
///
/// let check = SmtpCheck::new(ConnectOptions::new("192.0.2.25:25".parse().unwrap()))
///     .with_helo_name("lb1.example.com".into());
/// assert_eq!(check.helo_name, "lb1.example.com");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SmtpCheck {
    /// Destination and socket options.
    pub connect: ConnectOptions,
    /// The name sent with `HELO` (keepalived `helo_name`; default [`DEFAULT_HELO`]).
    pub helo_name: String,
}

with_setters!(SmtpCheck {
    with_helo_name(helo_name: String),
});

impl SmtpCheck {
    /// An SMTP check of `connect.destination()` with keepalived's HELO name.
    pub fn new(connect: ConnectOptions) -> Self {
        SmtpCheck {
            connect,
            helo_name: DEFAULT_HELO.to_string(),
        }
    }

    /// A fresh conversation for this check.
    pub fn dialog(&self) -> SmtpDialog {
        SmtpDialog {
            stage: Stage::Greeting,
            buf: Vec::new(),
            helo: format!("HELO {}\r\n", self.helo_name).into_bytes(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Greeting,
    Helo,
    Quit,
    Done,
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Read more bytes and [`feed`](SmtpDialog::feed) them.
    Read,
    /// Send these bytes, then read.
    Send(Vec<u8>),
    /// The conversation succeeded (the driver closes the connection).
    Done,
}

/// The SMTP conversation, sans-IO: feed it what the server sent.
#[derive(Debug, Clone)]
pub struct SmtpDialog {
    stage: Stage,
    buf: Vec<u8>,
    helo: Vec<u8>,
}

impl SmtpDialog {
    /// Takes bytes read from the server; says what to do next. A failed
    /// step is an error naming it.
    pub fn feed(&mut self, data: &[u8]) -> Result<Step, FailReason> {
        self.buf.extend_from_slice(data);
        let Some((code, len)) = complete_reply(&self.buf)? else {
            if self.buf.len() > MAX_REPLY {
                return Err(FailReason::BadReply("SMTP reply longer than 16 KiB".into()));
            }
            return Ok(Step::Read);
        };
        self.buf.drain(..len);
        match self.stage {
            Stage::Greeting if code == 220 => {
                self.stage = Stage::Helo;
                Ok(Step::Send(self.helo.clone()))
            }
            Stage::Greeting => Err(FailReason::BadReply(format!(
                "SMTP greeting {code}, not 220"
            ))),
            Stage::Helo if code == 250 => {
                self.stage = Stage::Quit;
                Ok(Step::Send(b"QUIT\r\n".to_vec()))
            }
            Stage::Helo => Err(FailReason::BadReply(format!(
                "SMTP HELO answered {code}, not 250"
            ))),
            // keepalived takes any answer to QUIT.
            Stage::Quit | Stage::Done => {
                self.stage = Stage::Done;
                Ok(Step::Done)
            }
        }
    }

    /// The server closed the connection before the conversation ended.
    pub fn eof(&self) -> FailReason {
        let during = match self.stage {
            Stage::Greeting => "before its greeting",
            Stage::Helo => "before answering HELO",
            Stage::Quit | Stage::Done => "before answering QUIT",
        };
        FailReason::BadReply(format!("SMTP server closed the connection {during}"))
    }
}

/// A complete reply at the start of `buf`: its code and length. Multi-line
/// replies (`250-...` lines, then `250 ...`) end at the line without a dash.
fn complete_reply(buf: &[u8]) -> Result<Option<(u16, usize)>, FailReason> {
    let mut start = 0;
    while let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') {
        let line = &buf[start..start + nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let code = line
            .get(..3)
            .filter(|c| c.iter().all(u8::is_ascii_digit))
            .and_then(|c| std::str::from_utf8(c).ok()?.parse::<u16>().ok())
            .ok_or_else(|| {
                FailReason::BadReply(format!(
                    "not an SMTP reply: {:?}",
                    String::from_utf8_lossy(&line[..line.len().min(80)])
                ))
            })?;
        start += nl + 1;
        if line.get(3) != Some(&b'-') {
            return Ok(Some((code, start)));
        }
    }
    Ok(None)
}

impl Checker for SmtpCheck {
    fn identity(&self) -> String {
        format!("{self:?}")
    }

    fn check(&self, deadline: Instant) -> Outcome {
        match self.converse(deadline) {
            Ok(()) => Outcome::Success(Success::SmtpHelo),
            Err(r) => Outcome::Failure(r),
        }
    }
}

impl SmtpCheck {
    fn converse(&self, deadline: Instant) -> Result<(), FailReason> {
        let sock = self
            .connect
            .socket(Type::STREAM, Protocol::TCP)
            .map_err(|e| FailReason::from_io(&e))?;
        connect_blocking(
            &sock,
            self.connect.destination(),
            self.connect.connect_deadline(deadline),
        )?;
        let mut dialog = self.dialog();
        let mut chunk = [0u8; 4096];
        let mut input: &[u8] = &[];
        loop {
            match dialog.feed(input)? {
                Step::Done => return Ok(()),
                Step::Send(bytes) => send_all(&sock, &bytes, deadline)?,
                Step::Read => {}
            }
            let n = recv_some(&sock, &mut chunk, deadline)?;
            if n == 0 {
                return Err(dialog.eof());
            }
            input = &chunk[..n];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> SmtpCheck {
        SmtpCheck::new(ConnectOptions::new(
            "127.0.0.1:25".parse().unwrap_or_else(|e| panic!("{e}")),
        ))
    }

    #[test]
    fn the_conversation_of_a_healthy_server() {
        let mut d = check().with_helo_name("lb.lab".into()).dialog();
        assert_eq!(d.feed(b""), Ok(Step::Read));
        assert_eq!(d.feed(b"220-mx.lab ESMTP\r\n220 "), Ok(Step::Read));
        assert_eq!(
            d.feed(b"ready\r\n"),
            Ok(Step::Send(b"HELO lb.lab\r\n".to_vec()))
        );
        assert_eq!(
            d.feed(b"250 mx.lab hello\r\n"),
            Ok(Step::Send(b"QUIT\r\n".to_vec()))
        );
        assert_eq!(d.feed(b"221 2.0.0 bye\n"), Ok(Step::Done));
    }

    #[test]
    fn wrong_codes_garbage_and_early_close_fail() {
        assert_eq!(check().helo_name, "smtpchecker.keepalived.org");
        let mut d = check().dialog();
        assert!(
            matches!(d.feed(b"554 no service\r\n"), Err(FailReason::BadReply(m)) if m.contains("554"))
        );
        let mut d = check().dialog();
        assert!(d.feed(b"220 hi\r\n").is_ok());
        assert!(
            matches!(d.feed(b"501 bad\r\n"), Err(FailReason::BadReply(m)) if m.contains("HELO"))
        );
        let mut d = check().dialog();
        assert!(d.feed(b"SSH-2.0-OpenSSH\r\n").is_err());
        let d = check().dialog();
        assert!(matches!(d.eof(), FailReason::BadReply(m) if m.contains("greeting")));
    }
}
