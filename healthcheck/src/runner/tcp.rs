//! The TCP connect probe, natively async, with its fast paths: a
//! zero-timeout poll before the reactor, and sockets reused from
//! [`tcp_pool`](super::tcp_pool) by probes that close with a reset.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use lvs_sys::PollFlags;
use socket2::{Protocol, Type};
use tokio::io::Interest;

use super::checkers::{AsyncChecker, ProbeFuture};
use super::tcp_pool;
use crate::checker::Checker;
use crate::checker::tcp::TcpCheck;
use crate::outcome::{FailReason, Outcome, Success};

/// Native async TCP connect: no thread per probe.
impl AsyncChecker for TcpCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            match self.connect_async(deadline).await {
                Ok(()) => Outcome::Success(Success::Connected),
                Err(r) => Outcome::Failure(r),
            }
        })
    }
}

impl TcpCheck {
    /// Whether probes may reuse sockets from [`tcp_pool`]: they close with a
    /// reset anyway, and nothing is bound that a reused socket would carry.
    fn pooled(&self) -> bool {
        self.reset_on_close
            && self.connect.bind_addr.is_none()
            && self.connect.bind_device.is_none()
    }

    async fn connect_async(&self, deadline: Instant) -> Result<(), FailReason> {
        let sock = if self.pooled() {
            tcp_pool::take(&self.connect)
        } else {
            self.connect
                .socket(Type::STREAM, Protocol::TCP)
                .and_then(|s| {
                    if self.reset_on_close {
                        s.set_linger(Some(Duration::ZERO))?;
                    }
                    Ok(s)
                })
        }
        .map_err(|e| FailReason::Io(e.to_string()))?;
        let (result, sock) = self.connect_on(sock, deadline).await;
        if self.pooled()
            && let Some(sock) = sock
        {
            tcp_pool::give(&self.connect, sock);
        }
        result
    }

    /// Connects `sock`; hands the socket back unless the reactor kept it.
    async fn connect_on(
        &self,
        sock: socket2::Socket,
        deadline: Instant,
    ) -> (Result<(), FailReason>, Option<socket2::Socket>) {
        match sock.connect(&socket2::SockAddr::from(self.connect.destination())) {
            Ok(()) => return (Ok(()), Some(sock)),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return (Err(FailReason::from_io(&e)), Some(sock)),
        }
        // Fast path: over loopback or a veth the handshake (or the RST) is
        // often already done when connect() returns; a zero-timeout poll
        // then saves registering with the reactor and a task wake-up.
        let ready = match lvs_sys::poll_until(sock.as_fd(), PollFlags::OUT, Instant::now()) {
            Ok(r) => r,
            Err(e) => return (Err(FailReason::from_io(&e)), Some(sock)),
        };
        if ready.is_empty() {
            // A connecting socket is a stream fd like any other for the reactor.
            let stream = match tokio::net::TcpStream::from_std(std::net::TcpStream::from(sock)) {
                Ok(s) => s,
                Err(e) => return (Err(FailReason::Io(e.to_string())), None),
            };
            let connect_deadline = self.connect.connect_deadline(deadline);
            let wait = stream.ready(Interest::WRITABLE | Interest::ERROR);
            let result = match tokio::time::timeout_at(connect_deadline.into(), wait).await {
                // Writable with neither error nor hang-up: connected, no
                // `SO_ERROR` query needed (as in the fast path below).
                Ok(Ok(r)) if r.is_writable() && !r.is_error() && !r.is_write_closed() => Ok(()),
                Ok(Ok(_)) => match stream.take_error() {
                    Ok(None) => Ok(()),
                    Ok(Some(e)) | Err(e) => Err(FailReason::from_io(&e)),
                },
                Ok(Err(e)) => Err(FailReason::from_io(&e)),
                Err(_) => Err(FailReason::Timeout),
            };
            // Leaving the reactor costs the same epoll_ctl as dropping would.
            let sock = stream.into_std().ok().map(socket2::Socket::from);
            return (result, sock);
        }
        // Writable with neither error nor hang-up: the handshake completed,
        // and `SO_ERROR` would only say 0 again (one syscall per probe saved).
        if ready == PollFlags::OUT {
            return (Ok(()), Some(sock));
        }
        let result = match sock.take_error() {
            Ok(None) => Ok(()),
            Ok(Some(e)) | Err(e) => Err(FailReason::from_io(&e)),
        };
        (result, Some(sock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::ConnectOptions;
    use socket2::{Domain, SockAddr, Socket};
    use std::net::SocketAddr;

    /// A loopback listener with a full accept queue: it drops SYNs, so a
    /// probe cannot finish inside `connect()` and waits on the reactor.
    fn full_listener() -> (Socket, SocketAddr, std::net::TcpStream) {
        let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap_or_else(|e| panic!("{e}"));
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        l.bind(&SockAddr::from(any))
            .unwrap_or_else(|e| panic!("{e}"));
        l.listen(0).unwrap_or_else(|e| panic!("{e}"));
        let addr = l
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or_else(|| panic!("no local address"));
        // Backlog 0 holds one connection; with it queued, the queue is full.
        let queued = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
        (l, addr, queued)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn tcp_probe_on_the_reactor_times_out_connects_or_is_refused() {
        let (listener, addr, _queued) = full_listener();
        let check = TcpCheck::new(ConnectOptions::new(addr));

        let start = Instant::now();
        let outcome = AsyncChecker::check(&check, start + Duration::from_millis(300)).await;
        assert_eq!(outcome, Outcome::Failure(FailReason::Timeout));
        assert!(start.elapsed() >= Duration::from_millis(300));

        // Room in the queue while a probe waits: its retransmitted SYN
        // (about 1 s later) connects, reported without an SO_ERROR query.
        let freer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            listener.accept().map(|_| listener)
        });
        let start = Instant::now();
        let outcome = AsyncChecker::check(&check, start + Duration::from_secs(5)).await;
        assert_eq!(outcome, Outcome::Success(Success::Connected));
        assert!(
            start.elapsed() >= Duration::from_millis(500),
            "connected after {:?}: not the reactor path",
            start.elapsed()
        );
        let listener = freer
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
            .unwrap_or_else(|e| panic!("accept: {e}"));

        // The queue is full again (that probe's connection waits in it). The
        // listener closes while the next probe waits: the retransmitted SYN
        // meets a reset, reported from the socket error.
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(listener);
        });
        let start = Instant::now();
        let outcome = AsyncChecker::check(&check, start + Duration::from_secs(5)).await;
        assert_eq!(outcome, Outcome::Failure(FailReason::Refused));
        assert!(start.elapsed() >= Duration::from_millis(500));
        closer
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn reset_probes_reuse_one_socket_and_still_reset() {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("{e}"));
        let (full, full_addr, _queued) = full_listener();
        let mut up = TcpCheck::new(ConnectOptions::new(addr));
        up.reset_on_close = true;
        let mut refused = TcpCheck::new(ConnectOptions::new(closed));
        refused.reset_on_close = true;
        let mut silent = TcpCheck::new(ConnectOptions::new(full_addr));
        silent.reset_on_close = true;
        let soon = || Instant::now() + Duration::from_secs(5);

        for _ in 0..3 {
            assert_eq!(
                AsyncChecker::check(&up, soon()).await,
                Outcome::Success(Success::Connected)
            );
            // The server's side was reset, as a close with SO_LINGER 0 does.
            let (mut conn, _) = listener.accept().unwrap_or_else(|e| panic!("{e}"));
            conn.set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap_or_else(|e| panic!("{e}"));
            let read = conn.read(&mut [0u8; 1]);
            assert_eq!(
                read.map_err(|e| e.kind()),
                Err(std::io::ErrorKind::ConnectionReset)
            );
            // A refusal, then a timeout on the reactor path: neither leaves
            // an error behind for the next probe on the same socket.
            assert_eq!(
                AsyncChecker::check(&refused, soon()).await,
                Outcome::Failure(FailReason::Refused)
            );
            let deadline = Instant::now() + Duration::from_millis(100);
            assert_eq!(
                AsyncChecker::check(&silent, deadline).await,
                Outcome::Failure(FailReason::Timeout)
            );
        }
        // One socket served all nine probes.
        assert_eq!(tcp_pool::idle(Domain::IPV4), 1);
        drop(full);
    }
}
