//! Small Linux helpers shared by the lvs crates, so each is written once.
//!
//! The lvs libraries (`lvs-ipvs`, `lvs-vrrp`, `lvs-healthcheck`,
//! `lvs-arpguard`) each need a few OS calls that neither `std` nor a socket
//! crate wraps in the shape they need. This crate holds one definition of
//! each, built on [`rustix`] and [`socket2`] where they have a safe wrapper:
//!
//! - [`in_netns`]: run a closure inside a network namespace, given as a
//!   [`BorrowedFd`] of `/run/netns/NAME` or `/proc/PID/ns/net`, on a helper
//!   thread, so the caller's thread never changes namespace. Sockets keep
//!   the namespace they were created in, so this is how the crates open
//!   sockets "in" a namespace. [`enter_netns`] moves the calling thread
//!   itself, for a thread that is to live there (a probe runner's).
//! - [`ifindex`]: an interface's index by name (`SIOCGIFINDEX`).
//! - [`poll_until`]: wait for events on one descriptor until a deadline.
//! - [`set_int_option`]: a plain `int` socket option that neither rustix nor
//!   socket2 names (`SO_TIMESTAMPNS`, `IP_RECVERR`, `IPV6_CHECKSUM`, …).
//! - [`recv_msg`], [`cmsgs`] and [`put_cmsg`]: `recvmsg(2)` with a control
//!   buffer, and reading / writing control messages as bytes, for the ones
//!   (`IP_PKTINFO`, `IPV6_HOPLIMIT`, `SCM_TIMESTAMPNS`, `IP_RECVERR`) that
//!   rustix's typed ancillary messages do not cover.
//! - [`create_fifo`], [`open_fifo_writer`], [`write_some`] and [`unlink`]:
//!   a named pipe made if missing and held open for writing without ever
//!   blocking (keepalived's notify FIFOs); [`terminate`] sends `SIGTERM`.
//! - [`NetnsName`]: which network namespace the process is in (the host's,
//!   one `ip netns` named, or another by inode), to name per-namespace
//!   files; [`PidFile`]: a `flock`ed pid file, one daemon per file;
//!   [`raise_nofile_limit`], [`nofile_limit`] and [`set_realtime_rr`] (`SCHED_RR`) for a
//!   daemon's process settings.
//!
//! Link-local IPv6 checks need no helper: use
//! [`std::net::Ipv6Addr::is_unicast_link_local`].
//!
//! A datagram with its control messages, no privileges needed:
//!
//! ```
//! use std::net::UdpSocket;
//! use std::os::fd::AsFd;
//! use std::time::{Duration, Instant};
//! use lvs_sys::{PollFlags, cmsgs, poll_until, recv_msg, set_int_option};
//!
//! assert_eq!(lvs_sys::ifindex("lo")?, 1);
//! let rx = UdpSocket::bind("127.0.0.1:0")?;
//! // Ask for the destination address of each datagram (IP_PKTINFO).
//! set_int_option(rx.as_fd(), libc::SOL_IP, libc::IP_PKTINFO, 1)?;
//! UdpSocket::bind("127.0.0.1:0")?.send_to(b"ping", rx.local_addr()?)?;
//! let ready = poll_until(rx.as_fd(), PollFlags::IN, Instant::now() + Duration::from_secs(5))?;
//! assert!(ready.contains(PollFlags::IN));
//!
//! let (mut buf, mut control) = ([0u8; 64], [0u8; 64]);
//! let got = recv_msg(rx.as_fd(), &mut buf, &mut control, 0)?;
//! assert_eq!(&buf[..got.len], b"ping");
//! let pktinfo = cmsgs(&control[..got.control_len])
//!     .find(|c| (c.level, c.ty) == (libc::SOL_IP, libc::IP_PKTINFO))
//!     .expect("asked for");
//! assert_eq!(pktinfo.data[8..12], [127, 0, 0, 1]); // in_pktinfo.ipi_addr
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Opening a socket in another namespace (needs `CAP_SYS_ADMIN`; without it
//! [`in_netns`] returns `PermissionDenied` and runs nothing):
//!
//! ```no_run
//! use std::fs::File;
//! use std::net::UdpSocket;
//! use std::os::fd::AsFd;
//!
//! let ns = File::open("/run/netns/node01")?;
//! let sock = lvs_sys::in_netns(ns.as_fd(), || UdpSocket::bind("0.0.0.0:0"))??;
//! // `sock` lives in node01's namespace; this thread never left its own.
//! # Ok::<(), std::io::Error>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

/// This crate's README, whose examples run as doctests so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::time::Instant;

pub use rustix::event::PollFlags;

mod netns_name;
mod pid_file;
mod process;
pub use netns_name::{NetnsName, NsId};
pub use pid_file::{PidFile, PidFileError};
pub use process::{lower_thread_priority, nofile_limit, raise_nofile_limit, set_realtime_rr};

/// Runs `f` on a helper thread that first joined the network namespace
/// `ns`, and returns what `f` returns.
///
/// The calling thread's namespace never changes. Sockets `f` creates stay
/// in `ns` after the thread ends, so this is how to open a socket in
/// another namespace. `Err` only when joining the namespace failed
/// (`ns` is not a network namespace, or no `CAP_SYS_ADMIN`); a panic in `f`
/// is resumed on the caller's thread.
pub fn in_netns<T, F>(ns: BorrowedFd<'_>, f: F) -> io::Result<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            enter_netns(ns)?;
            Ok(f())
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Moves the calling thread into the network namespace `ns` for good.
///
/// For a thread that is to live in `ns`: the sockets it opens from then
/// on, and the threads and processes it starts, are in `ns`. Other threads
/// keep their namespace. For a one-off, prefer [`in_netns`], which never
/// moves the caller. `Err` when `ns` is not a network namespace or without
/// `CAP_SYS_ADMIN`; the thread is then where it was.
pub fn enter_netns(ns: BorrowedFd<'_>) -> io::Result<()> {
    rustix::thread::move_into_link_name_space(ns, Some(rustix::thread::LinkNameSpaceType::Network))
        .map_err(io::Error::from)
}

/// The index of the network interface `name` in the calling thread's
/// namespace; `NotFound` if there is none of that name.
pub fn ifindex(name: &str) -> io::Result<u32> {
    // SIOCGIFINDEX needs some socket of the namespace; any datagram one does.
    let sock = rustix::net::socket(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::DGRAM,
        None,
    )?;
    rustix::net::netdevice::name_to_index(&sock, name).map_err(|e| {
        if e == rustix::io::Errno::NODEV {
            io::Error::new(io::ErrorKind::NotFound, format!("no interface {name:?}"))
        } else {
            e.into()
        }
    })
}

/// Waits until `fd` reports any of `events` or `deadline` passes, and
/// returns the events it reported (empty on timeout). A deadline in the past
/// polls once without waiting. Signals (`EINTR`) do not end the wait early.
pub fn poll_until(
    fd: BorrowedFd<'_>,
    events: PollFlags,
    deadline: Instant,
) -> io::Result<PollFlags> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = rustix::event::Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = [rustix::event::PollFd::from_borrowed_fd(fd, events)];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(0) => return Ok(PollFlags::empty()),
            Ok(_) => return Ok(fds[0].revents()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Sets the `int` socket option `level`/`name` to `value`.
///
/// For options that have a typed setter in socket2 or rustix, use that; this
/// is for the rest (e.g. `SO_TIMESTAMPNS`, `IP_RECVERR`, `IPV6_RECVPKTINFO`).
pub fn set_int_option(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the pointer and length describe `value`, a live c_int, for the
    // duration of the call; the kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// What [`recv_msg`] received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecvMsg {
    /// Bytes of payload written to the buffer.
    pub len: usize,
    /// How many bytes of the control buffer the kernel filled.
    pub control_len: usize,
    /// The sender, when the kernel named one and it is an IP socket address.
    pub from: Option<SocketAddr>,
    /// The payload did not fit the buffer (`MSG_TRUNC`).
    pub truncated: bool,
}

/// `recvmsg(2)` of one datagram into `buf`, with its control messages into
/// `control` (read them with [`cmsgs`]`(&control[..r.control_len])`).
/// `flags` are `MSG_*` flags such as `MSG_DONTWAIT` or `MSG_ERRQUEUE`.
pub fn recv_msg(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    control: &mut [u8],
    flags: libc::c_int,
) -> io::Result<RecvMsg> {
    let sock = socket2::SockRef::from(&fd);
    // A placeholder the kernel overwrites when it names a sender. socket2
    // does not hand back the returned name length, so an untouched
    // placeholder ([::]:0, never a real sender) is how "no sender" shows.
    let placeholder = SocketAddr::from(([0u8; 16], 0));
    let mut from = socket2::SockAddr::from(placeholder);
    let mut bufs = [socket2::MaybeUninitSlice::new(as_uninit(buf))];
    let mut msg = socket2::MsgHdrMut::new()
        .with_addr(&mut from)
        .with_buffers(&mut bufs)
        .with_control(as_uninit(control));
    let len = sock.recvmsg(&mut msg, flags)?;
    let control_len = msg.control_len();
    let recv_flags = msg.flags();
    Ok(RecvMsg {
        len,
        control_len,
        from: from.as_socket().filter(|a| *a != placeholder),
        truncated: recv_flags.is_truncated(),
    })
}

/// Views an initialised byte buffer as possibly-uninitialised memory, for
/// the socket2 calls that take one.
fn as_uninit(buf: &mut [u8]) -> &mut [std::mem::MaybeUninit<u8>] {
    // SAFETY: MaybeUninit<u8> has the layout of u8, and every caller hands
    // the slice to a syscall that writes only initialised bytes (it never
    // writes `uninit`), so `buf` stays initialised for its owner.
    unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast(), buf.len()) }
}

/// One control message: its level (`SOL_*`, `IPPROTO_*`), type and data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cmsg<'a> {
    /// `cmsg_level`, e.g. `SOL_SOCKET` or `IPPROTO_IPV6`.
    pub level: libc::c_int,
    /// `cmsg_type`, e.g. `SCM_TIMESTAMPNS` or `IPV6_PKTINFO`.
    pub ty: libc::c_int,
    /// The message data (`CMSG_DATA` .. `cmsg_len`).
    pub data: &'a [u8],
}

// struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }, each
// message padded to the alignment of size_t (CMSG_ALIGN).
const ALIGN: usize = std::mem::size_of::<usize>();
const HDR_LEN: usize = cmsg_align(std::mem::size_of::<usize>() + 8);

const fn cmsg_align(len: usize) -> usize {
    (len + ALIGN - 1) & !(ALIGN - 1)
}

/// `CMSG_SPACE(data_len)`: the control-buffer bytes one message with
/// `data_len` bytes of data takes.
pub const fn cmsg_space(data_len: usize) -> usize {
    HDR_LEN + cmsg_align(data_len)
}

/// The control messages in `control`, the part of a control buffer that
/// `recvmsg` filled ([`RecvMsg::control_len`] bytes). Stops at the first
/// malformed header.
pub fn cmsgs(control: &[u8]) -> impl Iterator<Item = Cmsg<'_>> {
    let mut rest = control;
    std::iter::from_fn(move || {
        let hdr = rest.get(..HDR_LEN)?;
        let (len, tail) = hdr.split_at(ALIGN);
        let len = usize::from_ne_bytes(len.try_into().ok()?);
        let level = libc::c_int::from_ne_bytes(tail[..4].try_into().ok()?);
        let ty = libc::c_int::from_ne_bytes(tail[4..8].try_into().ok()?);
        if len < HDR_LEN || len > rest.len() {
            rest = &[];
            return None;
        }
        let data = &rest[HDR_LEN..len];
        rest = rest.get(cmsg_align(len)..).unwrap_or(&[]);
        Some(Cmsg { level, ty, data })
    })
}

/// Maps a kernel CLOCK_REALTIME receive timestamp onto the monotonic clock:
/// now minus the packet's age (clamped to zero if the clocks disagree).
pub fn arrival_instant(ts: Option<libc::timespec>) -> Instant {
    let now = Instant::now();
    let Some(ts) = ts else { return now };
    let Ok(real_now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) else {
        return now;
    };
    let stamp = std::time::Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    );
    let age = real_now.saturating_sub(stamp);
    // A packet is never older than a second here unless the wall clock
    // stepped; then the receive time is the safer guess.
    if age > std::time::Duration::from_secs(1) {
        return now;
    }
    now.checked_sub(age).unwrap_or(now)
}

/// A `struct timespec` from control-message bytes (`SCM_TIMESTAMPNS`'s data).
pub fn timespec_from(data: &[u8]) -> Option<libc::timespec> {
    const S: usize = std::mem::size_of::<libc::time_t>();
    const N: usize = std::mem::size_of::<libc::c_long>();
    Some(libc::timespec {
        tv_sec: libc::time_t::from_ne_bytes(data.get(..S)?.try_into().ok()?),
        tv_nsec: libc::c_long::from_ne_bytes(data.get(S..S + N)?.try_into().ok()?),
    })
}

/// Writes one control message with `data` at the start of `control` and
/// returns the `msg_controllen` to send it with ([`cmsg_space`] of the data
/// length). Panics if `control` is shorter than that.
pub fn put_cmsg(control: &mut [u8], level: libc::c_int, ty: libc::c_int, data: &[u8]) -> usize {
    let space = cmsg_space(data.len());
    let out = &mut control[..space];
    out.fill(0);
    out[..ALIGN].copy_from_slice(&(HDR_LEN + data.len()).to_ne_bytes());
    out[ALIGN..ALIGN + 4].copy_from_slice(&level.to_ne_bytes());
    out[ALIGN + 4..ALIGN + 8].copy_from_slice(&ty.to_ne_bytes());
    out[HDR_LEN..HDR_LEN + data.len()].copy_from_slice(data);
    space
}

/// Makes a FIFO (named pipe) at `path`: mode 0600, or 0644 when
/// `readable_by_all` (before the umask). `Ok(true)` when it was made here,
/// `Ok(false)` when a FIFO is already there (its owner removes it), an
/// error when something else is there or it cannot be made.
pub fn create_fifo(path: &std::path::Path, readable_by_all: bool) -> io::Result<bool> {
    use rustix::fs::{CWD, FileType, Mode};
    let mut mode = Mode::RUSR | Mode::WUSR;
    if readable_by_all {
        mode |= Mode::RGRP | Mode::ROTH;
    }
    match rustix::fs::mknodat(CWD, path, FileType::Fifo, mode, 0) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::EXIST) => {
            let st = rustix::fs::lstat(path)?;
            if FileType::from_raw_mode(st.st_mode) == FileType::Fifo {
                Ok(false)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a FIFO", path.display()),
                ))
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens the FIFO at `path` read-write and non-blocking (close-on-exec, no
/// symlink followed): opening never waits for a reader, and writes never
/// fail with `EPIPE` (or raise `SIGPIPE`) while no reader is there, since
/// this descriptor is a reader itself; a full pipe is `WouldBlock`.
pub fn open_fifo_writer(path: &std::path::Path) -> io::Result<OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    Ok(rustix::fs::open(path, flags, Mode::empty())?)
}

/// One `write(2)` of `buf` to `fd`: the bytes written (`WouldBlock` on a
/// full non-blocking pipe). `EINTR` is retried.
pub fn write_some(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        match rustix::io::write(fd, buf) {
            Err(rustix::io::Errno::INTR) => continue,
            r => return Ok(r?),
        }
    }
}

/// Removes the file at `path`.
pub fn unlink(path: &std::path::Path) -> io::Result<()> {
    Ok(rustix::fs::unlink(path)?)
}

/// Sends `SIGTERM` to process `pid`.
pub fn terminate(pid: u32) -> io::Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a process id"))?;
    Ok(rustix::process::kill_process(
        pid,
        rustix::process::Signal::TERM,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, UdpSocket};
    use std::os::fd::AsFd;
    use std::time::Duration;

    #[test]
    fn fifo_made_once_held_open_without_a_reader_and_full_without_blocking() {
        let dir = std::env::temp_dir().join(format!("lvs-sys-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let _ = std::fs::remove_file(&path);
        assert!(create_fifo(&path, false).unwrap(), "made");
        assert!(!create_fifo(&path, true).unwrap(), "already there");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "owner only: {mode:o}");
        let fd = open_fifo_writer(&path).unwrap();
        // No reader: writes go to the pipe buffer until it is full, then WouldBlock.
        let chunk = [b'x'; 4096];
        let mut total = 0;
        loop {
            match write_some(fd.as_fd(), &chunk) {
                Ok(n) => total += n,
                Err(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
                    break;
                }
            }
            assert!(total < 64 << 20, "a pipe is never this large");
        }
        assert!(total >= 4096);
        unlink(&path).unwrap();
        let file = dir.join("plain");
        std::fs::write(&file, b"").unwrap();
        assert_eq!(
            create_fifo(&file, false).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ifindex_of_loopback_and_a_missing_interface() {
        assert_eq!(ifindex("lo").unwrap(), 1);
        let err = ifindex("no-such-if0").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn layout_matches_the_kernel_on_64_bit() {
        // CMSG_LEN / CMSG_SPACE as glibc computes them on x86_64 and aarch64.
        assert_eq!(HDR_LEN, 16);
        for (len, space) in [(0, 16), (1, 24), (4, 24), (12, 32), (16, 32), (20, 40)] {
            assert_eq!(cmsg_space(len), space, "CMSG_SPACE({len})");
        }
    }

    #[test]
    fn put_then_parse_round_trips() {
        let mut control = [0xffu8; 128];
        let n = put_cmsg(
            &mut control,
            libc::SOL_IP,
            libc::IP_PKTINFO,
            &[1, 2, 3, 4, 5],
        );
        let m = put_cmsg(&mut control[n..], libc::SOL_SOCKET, 7, &[9; 8]);
        let got: Vec<_> = cmsgs(&control[..n + m]).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].level, got[0].ty, got[0].data),
            (libc::SOL_IP, libc::IP_PKTINFO, &[1u8, 2, 3, 4, 5][..])
        );
        assert_eq!(
            (got[1].level, got[1].ty, got[1].data),
            (libc::SOL_SOCKET, 7, &[9u8; 8][..])
        );
    }

    #[test]
    fn malformed_header_ends_the_walk() {
        let mut control = [0u8; 64];
        let n = put_cmsg(&mut control, 1, 2, &[0; 4]);
        // A length past the end of the buffer.
        control[..ALIGN].copy_from_slice(&1000usize.to_ne_bytes());
        assert_eq!(cmsgs(&control[..n]).count(), 0);
        assert_eq!(cmsgs(&control[..3]).count(), 0);
    }

    #[test]
    fn recv_msg_reads_payload_sender_and_pktinfo() {
        let rx = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        set_int_option(rx.as_fd(), libc::SOL_IP, libc::IP_PKTINFO, 1).unwrap();
        let tx = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        tx.send_to(b"hello", rx.local_addr().unwrap()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let ready = poll_until(rx.as_fd(), PollFlags::IN, deadline).unwrap();
        assert!(ready.contains(PollFlags::IN));

        let mut buf = [0u8; 3];
        let mut control = [0u8; 128];
        let r = recv_msg(rx.as_fd(), &mut buf, &mut control, 0).unwrap();
        assert_eq!(&buf, b"hel");
        assert!(r.truncated);
        assert_eq!(r.from, Some(tx.local_addr().unwrap()));
        let info = cmsgs(&control[..r.control_len])
            .find(|c| (c.level, c.ty) == (libc::SOL_IP, libc::IP_PKTINFO))
            .expect("IP_PKTINFO was asked for");
        // struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst, ipi_addr; }
        assert_eq!(info.data.len(), 12);
        assert_eq!(info.data[8..12], [127, 0, 0, 1]);
    }

    #[test]
    fn in_netns_refuses_a_file_that_is_not_a_namespace() {
        let not_ns = std::fs::File::open("/proc/self/stat").unwrap();
        let ran = std::sync::atomic::AtomicBool::new(false);
        let err = in_netns(not_ns.as_fd(), || {
            ran.store(true, std::sync::atomic::Ordering::SeqCst)
        })
        .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    }

    /// Deletes the named namespace on drop.
    struct TempNetns(String);

    impl Drop for TempNetns {
        fn drop(&mut self) {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", &self.0])
                .status();
        }
    }

    fn ip(args: &[&str]) {
        let st = std::process::Command::new("ip")
            .args(args)
            .status()
            .unwrap();
        assert!(st.success(), "ip {}", args.join(" "));
    }

    #[test]
    #[ignore = "needs root + netns (cargo xtask test)"]
    fn netns_in_netns_runs_inside_and_leaves_the_caller_where_it_was() {
        assert!(rustix::process::geteuid().is_root(), "needs root");
        let ns = TempNetns(format!("lvssys{}", std::process::id()));
        ip(&["netns", "add", &ns.0]);
        ip(&[
            "-n", &ns.0, "link", "add", "lvsd0", "type", "veth", "peer", "name", "lvsd1",
        ]);
        let file = std::fs::File::open(format!("/run/netns/{}", ns.0)).unwrap();
        let inside = in_netns(file.as_fd(), || ifindex("lvsd0")).unwrap();
        assert!(inside.is_ok(), "{inside:?}");
        // This thread never moved: the veth is not here.
        assert_eq!(
            ifindex("lvsd0").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        // A socket made inside stays there.
        let sock = in_netns(file.as_fd(), || UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)))
            .unwrap()
            .unwrap();
        let ours = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        ours.send_to(b"x", sock.local_addr().unwrap()).unwrap();
        let ready = poll_until(
            sock.as_fd(),
            PollFlags::IN,
            Instant::now() + Duration::from_millis(200),
        )
        .unwrap();
        assert!(
            ready.is_empty(),
            "a datagram crossed namespaces over loopback"
        );
    }

    #[test]
    fn poll_until_times_out_empty() {
        let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let start = Instant::now();
        let got = poll_until(
            sock.as_fd(),
            PollFlags::IN,
            start + Duration::from_millis(30),
        )
        .unwrap();
        assert!(got.is_empty());
        assert!(start.elapsed() >= Duration::from_millis(30));
    }
}
