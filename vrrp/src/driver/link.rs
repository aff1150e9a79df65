//! The [`Driver`](super::Driver)'s optional link watch: an rtnetlink socket
//! subscribed to `RTNLGRP_LINK`, reporting whether the router's interface
//! can carry adverts (administratively up and with carrier).

use std::io;
use std::os::fd::BorrowedFd;

use netlink_packet_core::{NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkFlags, LinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use tokio::io::unix::AsyncFd;

// enum rtnetlink_groups: link changes (RTM_NEWLINK / RTM_DELLINK).
const RTNLGRP_LINK: u32 = 1;
// One datagram of link notifications; the kernel sizes them to a page or so.
const RECV_BUF: usize = 1 << 16;

/// An rtnetlink socket watching one interface, registered with tokio.
#[derive(Debug)]
pub(super) struct LinkWatch {
    socket: AsyncFd<Socket>,
    ifindex: u32,
    seq: u32,
    buf: Vec<u8>,
}

/// A subscribed socket and the interface's state when it was opened; not
/// yet registered with a runtime (it is `Send`, so a namespace-switching
/// thread can hand it over).
struct Opened {
    socket: Socket,
    up: bool,
}

/// Whether a link in this state carries traffic: admin up and carrier.
fn usable(flags: LinkFlags) -> bool {
    flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::LowerUp)
}

fn request_link(socket: &Socket, ifindex: u32, seq: u32) -> io::Result<()> {
    let mut msg = LinkMessage::default();
    msg.header.index = ifindex;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST;
    header.sequence_number = seq;
    let mut packet = NetlinkMessage::new(
        header,
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::GetLink(msg)),
    );
    packet.finalize();
    let mut buf = vec![0u8; packet.buffer_len()];
    packet.serialize(&mut buf);
    socket.send(&buf, 0).map(|_| ())
}

/// What one datagram says about interface `ifindex`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    /// The state in the last message about the interface, if any.
    up: Option<bool>,
    /// The kernel refused request `seq` with this errno.
    refused: Option<i32>,
    /// The answer to request `seq` was in it.
    answered: bool,
}

fn parse(mut data: &[u8], ifindex: u32, seq: u32) -> Seen {
    let mut seen = Seen::default();
    while !data.is_empty() {
        let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(data) else {
            // Undecodable: skip the rest of the datagram, keep watching.
            break;
        };
        let len = msg.header.length as usize;
        if len == 0 {
            break;
        }
        let ours = msg.header.sequence_number == seq;
        match msg.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l))
                if l.header.index == ifindex =>
            {
                seen.up = Some(usable(l.header.flags));
                seen.answered |= ours;
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l))
                if l.header.index == ifindex =>
            {
                seen.up = Some(false);
            }
            NetlinkPayload::Error(e) if ours => {
                seen.refused = e.code.map(|c| -c.get());
                seen.answered = true;
            }
            _ => {}
        }
        data = data.get((len + 3) & !3..).unwrap_or_default();
    }
    seen
}

impl Opened {
    /// Subscribes, then asks for the interface's current state (blocking).
    fn open(ifindex: u32) -> io::Result<Opened> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind(&SocketAddr::new(0, 0))?;
        // Subscribe first: a change after the answer is then never missed.
        socket.add_membership(RTNLGRP_LINK)?;
        let seq = 1;
        request_link(&socket, ifindex, seq)?;
        let mut buf = Vec::with_capacity(RECV_BUF);
        loop {
            buf.clear();
            socket.recv(&mut buf, 0)?;
            let seen = parse(&buf, ifindex, seq);
            if let Some(errno) = seen.refused {
                return Err(io::Error::from_raw_os_error(errno));
            }
            if seen.answered {
                socket.set_non_blocking(true)?;
                return Ok(Opened {
                    socket,
                    up: seen.up.unwrap_or(false),
                });
            }
        }
    }

    fn register(self, ifindex: u32) -> io::Result<(LinkWatch, bool)> {
        // SAFETY: the AsyncFd owns the socket, whose descriptor stays open
        // and the same until the AsyncFd drops it.
        let socket =
            unsafe { AsyncFd::register_with_interest(self.socket, tokio::io::Interest::READABLE) }
                .map_err(|e| io::Error::other(e.to_string()))?;
        let watch = LinkWatch {
            socket,
            ifindex,
            seq: 1,
            buf: Vec::with_capacity(RECV_BUF),
        };
        Ok((watch, self.up))
    }
}

impl LinkWatch {
    /// Watches `ifindex` in the current network namespace; returns the
    /// watch and whether the link is usable now. Inside a tokio runtime.
    pub(super) fn open(ifindex: u32) -> io::Result<(LinkWatch, bool)> {
        Opened::open(ifindex)?.register(ifindex)
    }

    /// [`open`](Self::open) with the socket created inside `netns`.
    pub(super) fn open_in_netns(
        netns: BorrowedFd<'_>,
        ifindex: u32,
    ) -> io::Result<(LinkWatch, bool)> {
        let opened = lvs_sys::in_netns(netns, || Opened::open(ifindex))??;
        opened.register(ifindex)
    }

    /// Waits for news about the interface; returns whether it is usable.
    /// A notification queue overrun (`ENOBUFS`: events were lost) asks the
    /// kernel for the state afresh. Cancel-safe.
    pub(super) async fn changed(&mut self) -> io::Result<bool> {
        loop {
            let mut guard = self.socket.readable().await?;
            let buf = &mut self.buf;
            buf.clear();
            match guard.try_io(|s| s.get_ref().recv(buf, 0)) {
                Ok(Ok(_)) => {
                    // A refused re-query means the interface is gone.
                    let seen = parse(buf, self.ifindex, self.seq);
                    if seen.refused.is_some() {
                        return Ok(false);
                    }
                    if let Some(up) = seen.up {
                        return Ok(up);
                    }
                }
                Ok(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.seq = self.seq.wrapping_add(1);
                    request_link(self.socket.get_ref(), self.ifindex, self.seq)?;
                }
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::ErrorMessage;

    fn link(index: u32, flags: LinkFlags, seq: u32, del: bool) -> Vec<u8> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = flags;
        let inner = if del {
            RouteNetlinkMessage::DelLink(msg)
        } else {
            RouteNetlinkMessage::NewLink(msg)
        };
        let mut header = NetlinkHeader::default();
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(inner));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        buf
    }

    #[test]
    fn the_last_message_about_our_interface_wins() {
        let up = LinkFlags::Up | LinkFlags::LowerUp | LinkFlags::Running;
        let mut dgram = link(7, up, 0, false);
        dgram.extend(link(3, LinkFlags::empty(), 0, false));
        assert_eq!(parse(&dgram, 7, 1).up, Some(true));
        // Admin up without carrier, then a change on another interface.
        dgram.extend(link(7, LinkFlags::Up, 0, false));
        dgram.extend(link(3, up, 0, false));
        assert_eq!(parse(&dgram, 7, 1).up, Some(false));
        assert_eq!(parse(&dgram, 9, 1), Seen::default());
        assert_eq!(parse(&link(7, up, 0, true), 7, 1).up, Some(false));
    }

    #[test]
    fn answers_and_refusals_are_matched_by_sequence_number() {
        let up = LinkFlags::Up | LinkFlags::LowerUp;
        let answer = parse(&link(7, up, 5, false), 7, 5);
        assert_eq!((answer.up, answer.answered), (Some(true), true));
        assert!(!parse(&link(7, up, 4, false), 7, 5).answered);
        let mut err = ErrorMessage::default();
        err.code = std::num::NonZeroI32::new(-libc::ENODEV);
        let mut header = NetlinkHeader::default();
        header.sequence_number = 5;
        let mut packet =
            NetlinkMessage::<RouteNetlinkMessage>::new(header, NetlinkPayload::Error(err));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        assert_eq!(parse(&buf, 7, 5).refused, Some(libc::ENODEV));
        assert_eq!(
            parse(&buf[..3], 7, 5),
            Seen::default(),
            "garbage is skipped"
        );
    }
}
