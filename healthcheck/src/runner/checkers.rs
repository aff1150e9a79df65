//! The [`AsyncChecker`] trait, [`Blocking`] for blocking checkers, and the
//! native async form of each checker but TCP connect (in `tcp.rs`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use socket2::{Protocol, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};

use super::half_open;
use crate::checker::dns::{DnsCheck, UdpVerdict, next_id};
use crate::checker::exec::ExecCheck;
use crate::checker::http::{HttpCheck, ResponseReader};
use crate::checker::ping::{Echo, PingCheck};
use crate::checker::smtp::{SmtpCheck, Step};
use crate::checker::tcp_half_open::TcpHalfOpenCheck;
use crate::checker::udp::{UdpCheck, UdpReply, connected_socket, error_queue};
use crate::checker::{Checker, ConnectOptions};
#[cfg(doc)]
use crate::engine::EngineConfig;
use crate::outcome::{FailReason, Outcome, Success};

/// A boxed probe future.
pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// A check the runner can await. Implement it for your own checks, or wrap a
/// blocking [`Checker`] in [`Blocking`].
pub trait AsyncChecker: Send + Sync + fmt::Debug {
    /// The de-duplication key (see [`Checker::identity`]).
    fn identity(&self) -> String;
    /// Runs one probe, ending its own work by `deadline` and then reporting
    /// its verdict. The runner waits [`EngineConfig::watchdog_slack`] past
    /// `deadline` for that verdict before it drops the future and counts a
    /// timeout (see the [module docs](super#deadlines)).
    fn check(&self, deadline: Instant) -> ProbeFuture<'_>;
}

/// Runs a blocking [`Checker`] on tokio's blocking thread pool.
///
/// The checker receives the probe's own deadline, unshortened: a verdict it
/// returns at (or shortly after) that deadline counts, within the runner's
/// grace of [`EngineConfig::watchdog_slack`]. A checker still running after
/// the grace is counted as a timeout and its thread left to finish alone.
#[derive(Debug)]
pub struct Blocking<C>(pub Arc<C>);

impl<C: Checker + 'static> AsyncChecker for Blocking<C> {
    fn identity(&self) -> String {
        self.0.identity()
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        let inner = self.0.clone();
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || inner.check(deadline)).await {
                Ok(o) => o,
                Err(e) => Outcome::Failure(FailReason::Io(format!("checker task failed: {e}"))),
            }
        })
    }
}

/// One shared raw socket per address family for every probe.
impl AsyncChecker for TcpHalfOpenCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            match half_open::probe(self, deadline).await {
                Ok(()) => Outcome::Success(Success::SynAcknowledged),
                Err(r) => Outcome::Failure(r),
            }
        })
    }
}

/// A connected UDP socket (with `IP_RECVERR`) registered with tokio.
fn udp_socket(opts: &ConnectOptions) -> Result<tokio::net::UdpSocket, FailReason> {
    let sock = connected_socket(opts).map_err(|e| FailReason::from_io(&e))?;
    tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(sock))
        .map_err(|e| FailReason::Io(e.to_string()))
}

async fn udp_send(sock: &tokio::net::UdpSocket, payload: &[u8]) -> Result<(), FailReason> {
    match sock.send(payload).await {
        Ok(_) => Ok(()),
        Err(e) => Err(error_queue(sock).unwrap_or_else(|| FailReason::from_io(&e))),
    }
}

/// Waits for a datagram, an ICMP error (error queue) or the deadline (silence).
async fn udp_recv(
    sock: &tokio::net::UdpSocket,
    buf: &mut [u8],
    deadline: Instant,
) -> Result<UdpReply, FailReason> {
    let wait = async {
        loop {
            let ready = sock
                .ready(Interest::READABLE | Interest::ERROR)
                .await
                .map_err(|e| FailReason::from_io(&e))?;
            if ready.is_error()
                && let Some(reason) = error_queue(sock)
            {
                return Err(reason);
            }
            match sock.try_recv(buf) {
                Ok(n) => return Ok(UdpReply::Data(n)),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if ready.is_error() {
                        return Err(FailReason::Io("socket error without details".into()));
                    }
                }
                Err(e) => return Err(error_queue(sock).unwrap_or_else(|| FailReason::from_io(&e))),
            }
        }
    };
    tokio::time::timeout_at(deadline.into(), wait)
        .await
        .unwrap_or(Ok(UdpReply::Silent))
}

/// Native async UDP: the socket error queue is read when tokio reports an error.
impl AsyncChecker for UdpCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            let sock = match udp_socket(&self.connect) {
                Ok(s) => s,
                Err(r) => return Outcome::Failure(r),
            };
            let mut buf = vec![0u8; 65_536];
            let result = match udp_send(&sock, &self.payload).await {
                Ok(()) => udp_recv(&sock, &mut buf, deadline).await,
                Err(r) => Err(r),
            };
            self.judge(result, &buf)
        })
    }
}

/// Native async DNS over UDP; the rare TCP fallback runs on the blocking pool.
impl AsyncChecker for DnsCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            let id = next_id();
            let query = match self.query(id) {
                Ok(q) => q,
                Err(r) => return Outcome::Failure(r),
            };
            let sock = match udp_socket(&self.connect) {
                Ok(s) => s,
                Err(r) => return Outcome::Failure(r),
            };
            if let Err(r) = udp_send(&sock, &query).await {
                return Outcome::Failure(r);
            }
            let mut buf = vec![0u8; 65_536];
            loop {
                match udp_recv(&sock, &mut buf, deadline).await {
                    Ok(UdpReply::Data(n)) => match self.after_udp(id, &buf[..n]) {
                        UdpVerdict::Done(o) => return o,
                        UdpVerdict::Stray => continue,
                        UdpVerdict::Truncated => {
                            let me = self.clone();
                            let tcp = tokio::task::spawn_blocking(move || {
                                me.over_tcp(id, &query, deadline)
                            })
                            .await;
                            return match tcp {
                                Ok(Ok(s)) => Outcome::Success(s),
                                Ok(Err(r)) => Outcome::Failure(r),
                                Err(e) => Outcome::Failure(FailReason::Io(format!(
                                    "TCP fallback task failed: {e}"
                                ))),
                            };
                        }
                    },
                    Ok(UdpReply::Silent) => return Outcome::Failure(FailReason::Timeout),
                    Err(r) => return Outcome::Failure(r),
                }
            }
        })
    }
}

/// Connects a TCP stream registered with tokio, within the connect deadline.
async fn tcp_stream(
    opts: &ConnectOptions,
    deadline: Instant,
) -> Result<tokio::net::TcpStream, FailReason> {
    let sock = opts
        .socket(Type::STREAM, Protocol::TCP)
        .map_err(|e| FailReason::from_io(&e))?;
    match sock.connect(&socket2::SockAddr::from(opts.destination())) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(FailReason::from_io(&e)),
    }
    let stream = tokio::net::TcpStream::from_std(std::net::TcpStream::from(sock))
        .map_err(|e| FailReason::Io(e.to_string()))?;
    match tokio::time::timeout_at(opts.connect_deadline(deadline).into(), stream.writable()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(FailReason::from_io(&e)),
        Err(_) => return Err(FailReason::Timeout),
    }
    match stream.take_error() {
        Ok(None) => Ok(stream),
        Ok(Some(e)) | Err(e) => Err(FailReason::from_io(&e)),
    }
}

/// Native async HTTP GET, sharing the response parser with the blocking client.
impl AsyncChecker for HttpCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            let fetch = async {
                let mut stream = tcp_stream(&self.connect, deadline).await?;
                if self.tls.is_some() {
                    return fetch_tls(self, &mut stream).await;
                }
                stream
                    .write_all(&self.request())
                    .await
                    .map_err(|e| FailReason::from_io(&e))?;
                let mut reader = ResponseReader::new(self);
                let mut chunk = [0u8; 8192];
                loop {
                    let n = stream
                        .read(&mut chunk)
                        .await
                        .map_err(|e| FailReason::from_io(&e))?;
                    if n == 0 {
                        return reader.eof();
                    }
                    if let Some(r) = reader.feed(&chunk[..n])? {
                        return Ok(r);
                    }
                }
            };
            let result = tokio::time::timeout_at(deadline.into(), fetch)
                .await
                .unwrap_or(Err(FailReason::Timeout));
            match result.and_then(|r| self.judge(&r)) {
                Ok(s) => Outcome::Success(s),
                Err(r) => Outcome::Failure(r),
            }
        })
    }
}

/// The request and response of an HTTPS check over a connected stream.
#[cfg(feature = "tls")]
async fn fetch_tls(
    check: &HttpCheck,
    stream: &mut tokio::net::TcpStream,
) -> Result<crate::checker::http::Response, FailReason> {
    let mut tls = crate::checker::tls::TlsSession::new(check)?;
    let mut reader = ResponseReader::new(check);
    let mut chunk = [0u8; 8192];
    let mut plain = Vec::new();
    loop {
        let out = tls.outgoing();
        if !out.is_empty() {
            stream
                .write_all(&out)
                .await
                .map_err(|e| FailReason::from_io(&e))?;
        }
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| FailReason::from_io(&e))?;
        let ended = tls.incoming(&chunk[..n], &mut plain)?;
        if !plain.is_empty() {
            if let Some(r) = reader.feed(&plain)? {
                return Ok(r);
            }
            plain.clear();
        }
        if ended {
            return reader.eof();
        }
    }
}

#[cfg(not(feature = "tls"))]
async fn fetch_tls(
    _check: &HttpCheck,
    _stream: &mut tokio::net::TcpStream,
) -> Result<crate::checker::http::Response, FailReason> {
    Err(crate::checker::http::tls_unavailable())
}

/// Native async ping. The ICMP socket is registered as a tokio `UdpSocket`:
/// that type only needs a connected datagram socket's send and recv.
impl AsyncChecker for PingCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            let ping = async {
                let (sock, raw) = self.socket().map_err(|e| FailReason::from_io(&e))?;
                let sock = tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(sock))
                    .map_err(|e| FailReason::Io(e.to_string()))?;
                let echo = Echo::new(self.connect.destination().ip(), raw);
                sock.send(&echo.request())
                    .await
                    .map_err(|e| FailReason::from_io(&e))?;
                let mut buf = [0u8; 1500];
                loop {
                    let n = sock
                        .recv(&mut buf)
                        .await
                        .map_err(|e| FailReason::from_io(&e))?;
                    if echo.is_reply(&buf[..n]) {
                        return Ok(());
                    }
                }
            };
            match tokio::time::timeout_at(deadline.into(), ping).await {
                Ok(Ok(())) => Outcome::Success(Success::EchoReply),
                Ok(Err(r)) => Outcome::Failure(r),
                Err(_) => Outcome::Failure(FailReason::Timeout),
            }
        })
    }
}

/// Native async SMTP conversation, sharing the dialog with the blocking client.
impl AsyncChecker for SmtpCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            let converse = async {
                let mut stream = tcp_stream(&self.connect, deadline).await?;
                let mut dialog = self.dialog();
                let mut chunk = [0u8; 4096];
                let mut n = 0;
                loop {
                    match dialog.feed(&chunk[..n])? {
                        Step::Done => return Ok(()),
                        Step::Send(bytes) => stream
                            .write_all(&bytes)
                            .await
                            .map_err(|e| FailReason::from_io(&e))?,
                        Step::Read => {}
                    }
                    n = stream
                        .read(&mut chunk)
                        .await
                        .map_err(|e| FailReason::from_io(&e))?;
                    if n == 0 {
                        return Err(dialog.eof());
                    }
                }
            };
            match tokio::time::timeout_at(deadline.into(), converse).await {
                Ok(Ok(())) => Outcome::Success(Success::SmtpHelo),
                Ok(Err(r)) => Outcome::Failure(r),
                Err(_) => Outcome::Failure(FailReason::Timeout),
            }
        })
    }
}

/// Native async program execution (tokio's child reaper, no thread per probe).
impl AsyncChecker for ExecCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            let mut cmd = tokio::process::Command::new(&self.program);
            if let Some(r) = self.run_as {
                cmd.uid(r.uid).gid(r.gid);
            }
            cmd.args(&self.args)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .process_group(0)
                .kill_on_drop(true);
            let mut child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) => {
                    return Outcome::Failure(FailReason::Io(format!(
                        "cannot run {}: {e}",
                        self.program
                    )));
                }
            };
            match tokio::time::timeout_at(deadline.into(), child.wait()).await {
                Ok(Ok(status)) => self.judge(status),
                Ok(Err(e)) => Outcome::Failure(FailReason::Io(e.to_string())),
                Err(_) => {
                    // The child leads the process group we created for it.
                    let group = child.id().and_then(|p| i32::try_from(p).ok());
                    if let Some(group) = group.and_then(rustix::process::Pid::from_raw) {
                        let _ = rustix::process::kill_process_group(
                            group,
                            rustix::process::Signal::KILL,
                        );
                    }
                    let _ = child.wait().await;
                    Outcome::Failure(FailReason::Timeout)
                }
            }
        })
    }
}
