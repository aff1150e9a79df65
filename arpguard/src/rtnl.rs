//! A small blocking rtnetlink client: links and addresses, nothing more.

use std::net::IpAddr;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoData, InfoKind, InfoMacVlan, LinkAttribute,
    LinkFlags, LinkInfo, LinkLayerType, LinkMessage, MacVlanMode,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::addr::InterfaceAddress;
use crate::error::{Error, Result};
use crate::wire::MacAddr;
use std::os::fd::BorrowedFd;

// errno values the idempotent operations treat as "already in that state".
const EEXIST: i32 = libc::EEXIST;
const EADDRNOTAVAIL: i32 = libc::EADDRNOTAVAIL;
const ENOENT: i32 = libc::ENOENT;
const ENODEV: i32 = libc::ENODEV;
const EOPNOTSUPP: i32 = libc::EOPNOTSUPP;

/// A network interface as rtnetlink reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Hardware address, when it is a 6-byte Ethernet one.
    pub mac: Option<MacAddr>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// The loopback device.
    pub loopback: bool,
    /// The link has carrier (`IFLA_CARRIER`; `IFF_LOWER_UP` when the
    /// message has no carrier attribute): a cable, or a veth peer that is
    /// up. [`crate::watch::Watcher`] reports its changes, so nothing needs
    /// to poll `/sys/class/net/*/carrier`.
    pub carrier: bool,
    /// The link's kind (`IFLA_INFO_KIND`: `macvlan`, `veth`, `dummy`, ...);
    /// `None` for a physical interface.
    pub kind: Option<String>,
    /// The index of the interface it sits on (`IFLA_LINK`: a macvlan's or
    /// VLAN's lower device, a veth's peer), when it reports one.
    pub lower: Option<u32>,
    /// A macvlan's mode.
    pub macvlan_mode: Option<MacvlanMode>,
}

/// A macvlan's mode (`IFLA_MACVLAN_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MacvlanMode {
    /// No traffic between macvlans of one lower device; frames from the
    /// wire with a macvlan's own source MAC go to that macvlan only —
    /// keepalived's mode for `use_vmac`.
    Private,
    /// Traffic between macvlans goes out and back through the switch.
    Vepa,
    /// Macvlans of one lower device talk to each other directly.
    Bridge,
    /// One macvlan takes over the lower device.
    Passthrough,
    /// Frames are sorted by source MAC.
    Source,
    /// Anything else (raw value).
    Other(u32),
}

impl From<MacVlanMode> for MacvlanMode {
    fn from(m: MacVlanMode) -> MacvlanMode {
        match m {
            MacVlanMode::Private => MacvlanMode::Private,
            MacVlanMode::Vepa => MacvlanMode::Vepa,
            MacVlanMode::Bridge => MacvlanMode::Bridge,
            MacVlanMode::Passthrough => MacvlanMode::Passthrough,
            MacVlanMode::Source => MacvlanMode::Source,
            other => MacvlanMode::Other(u32::from(other)),
        }
    }
}

/// State of a neighbour cache entry (`ip neigh` prints it in capitals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NeighState {
    /// Resolution in progress.
    Incomplete,
    /// Confirmed recently.
    Reachable,
    /// Usable, to be confirmed on next use (gratuitous ARP/NA leave entries here).
    Stale,
    /// Waiting before probing.
    Delay,
    /// Probing.
    Probe,
    /// Resolution failed.
    Failed,
    /// No resolution needed.
    Noarp,
    /// Static entry.
    Permanent,
    /// Anything else (raw `NUD_*` bits).
    Other(u16),
}

impl From<NeighbourState> for NeighState {
    fn from(s: NeighbourState) -> NeighState {
        match s {
            NeighbourState::Incomplete => NeighState::Incomplete,
            NeighbourState::Reachable => NeighState::Reachable,
            NeighbourState::Stale => NeighState::Stale,
            NeighbourState::Delay => NeighState::Delay,
            NeighbourState::Probe => NeighState::Probe,
            NeighbourState::Failed => NeighState::Failed,
            NeighbourState::Noarp => NeighState::Noarp,
            NeighbourState::Permanent => NeighState::Permanent,
            other => NeighState::Other(u16::from(other)),
        }
    }
}

/// One neighbour cache entry (`ip neigh`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    /// Interface name.
    pub iface: String,
    /// Protocol address.
    pub addr: IpAddr,
    /// Link-layer address, when resolved.
    pub mac: Option<MacAddr>,
    /// Entry state.
    pub state: NeighState,
}

/// A route-netlink socket bound to one network namespace.
///
/// The socket is created inside the namespace given to [`Rtnl::open`] and
/// stays bound to it, so the handle can then be used from any thread.
#[derive(Debug)]
pub struct Rtnl {
    socket: Socket,
    seq: u32,
}

/// What an idempotent operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The state was changed.
    Applied,
    /// The state already was as asked; nothing was done.
    Unchanged,
}

impl Rtnl {
    /// Opens a socket in `ns`.
    pub fn open(ns: Option<BorrowedFd<'_>>) -> Result<Rtnl> {
        crate::netns::run(ns, || {
            let mut socket =
                Socket::new(NETLINK_ROUTE).map_err(|e| Error::io("socket(NETLINK_ROUTE)", e))?;
            socket
                .bind_auto()
                .map_err(|e| Error::io("bind netlink socket", e))?;
            socket
                .connect(&SocketAddr::new(0, 0))
                .map_err(|e| Error::io("connect netlink socket", e))?;
            Ok(Rtnl { socket, seq: 0 })
        })
    }

    /// Sends one request and collects the messages of the reply (dump
    /// parts, or nothing for an acknowledged change). `flags` are added to
    /// `NLM_F_REQUEST`; ask for `NLM_F_ACK` on a change to hear its errno
    /// ([`Error::Netlink`]). Public so that other rtnetlink users (the
    /// director's routes and rules) share this one socket wrapper;
    /// `operation` names the request in errors.
    pub fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
        operation: &dyn Fn() -> String,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket
            .send(&buf, 0)
            .map_err(|e| Error::io(format!("send {}", operation()), e))?;

        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut out = Vec::new();
        let mut rx: Vec<u8> = Vec::with_capacity(1 << 16);
        loop {
            rx.clear();
            self.socket
                .recv(&mut rx, 0)
                .map_err(|e| Error::io(format!("recv reply to {}", operation()), e))?;
            let mut offset = 0;
            while offset < rx.len() {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rx[offset..])
                    .map_err(|e| Error::Decode {
                        operation: operation(),
                        detail: e.to_string(),
                    })?;
                let len = reply.header.length as usize;
                if len == 0 {
                    return Err(Error::Decode {
                        operation: operation(),
                        detail: "zero-length netlink message".into(),
                    });
                }
                offset += (len + 3) & !3;
                if reply.header.sequence_number != self.seq {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(err) => match err.code {
                        None => return Ok(out),
                        Some(code) => {
                            return Err(Error::Netlink {
                                operation: operation(),
                                source: std::io::Error::from_raw_os_error(-code.get()),
                            });
                        }
                    },
                    NetlinkPayload::InnerMessage(inner) => {
                        out.push(inner);
                        if !dump && flags & NLM_F_ACK == 0 {
                            return Ok(out);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// All links of the namespace.
    pub fn links(&mut self) -> Result<Vec<Link>> {
        let replies = self.request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
            &|| "RTM_GETLINK dump".to_string(),
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(link) => Some(link_from(&link)),
                _ => None,
            })
            .collect())
    }

    /// The link called `name`.
    pub fn link(&mut self, name: &str) -> Result<Link> {
        self.links()?
            .into_iter()
            .find(|l| l.name == name)
            .ok_or_else(|| Error::NoSuchInterface(name.to_string()))
    }

    /// Creates a dummy interface (idempotent) and sets it up;
    /// [`Change::Applied`] means it was created.
    pub fn ensure_dummy(&mut self, name: &str) -> Result<Change> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Dummy,
            )]));
        let created = match self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            &|| format!("RTM_NEWLINK {name} type dummy"),
        ) {
            Ok(_) => Change::Applied,
            Err(e) if errno(&e) == Some(EEXIST) => Change::Unchanged,
            Err(e) if errno(&e) == Some(EOPNOTSUPP) => {
                return Err(Error::Unsupported(
                    "this kernel has no dummy interface driver (CONFIG_DUMMY); use lo",
                ));
            }
            Err(e) => return Err(e),
        };
        self.set_up(name)?;
        Ok(created)
    }

    /// Deletes an interface; absent is fine.
    pub fn delete_link(&mut self, name: &str) -> Result<Change> {
        let index = match self.link(name) {
            Ok(l) => l.index,
            Err(Error::NoSuchInterface(_)) => return Ok(Change::Unchanged),
            Err(e) => return Err(e),
        };
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        match self.request(RouteNetlinkMessage::DelLink(msg), NLM_F_ACK, &|| {
            format!("RTM_DELLINK {name}")
        }) {
            Ok(_) => Ok(Change::Applied),
            Err(e) if errno(&e) == Some(ENODEV) => Ok(Change::Unchanged),
            Err(e) => Err(e),
        }
    }

    /// Creates a macvlan `name` in private mode on `lower` with hardware
    /// address `mac`, administratively down. An interface called `name`
    /// already there is an error (`EEXIST`); [`Rtnl::set_macvlan`] changes
    /// an existing macvlan instead.
    pub fn add_macvlan(&mut self, name: &str, lower: &str, mac: MacAddr) -> Result<()> {
        let lower_index = self.link(lower)?.index;
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::Link(lower_index));
        msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::MacVlan),
            LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                MacVlanMode::Private,
            )])),
        ]));
        match self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            &|| format!("RTM_NEWLINK {name} link {lower} type macvlan mode private address {mac}"),
        ) {
            Ok(_) => Ok(()),
            Err(e) if errno(&e) == Some(EOPNOTSUPP) => Err(Error::Unsupported(
                "this kernel has no macvlan driver (CONFIG_MACVLAN)",
            )),
            Err(e) => Err(e),
        }
    }

    /// Sets an existing macvlan's hardware address and puts it in private mode.
    pub fn set_macvlan(&mut self, name: &str, mac: MacAddr) -> Result<()> {
        let index = self.link(name)?.index;
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::MacVlan),
            LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                MacVlanMode::Private,
            )])),
        ]));
        self.request(RouteNetlinkMessage::NewLink(msg), NLM_F_ACK, &|| {
            format!("RTM_NEWLINK {name} type macvlan mode private address {mac}")
        })?;
        Ok(())
    }

    /// Stops the kernel from giving `name` IPv6 addresses of its own
    /// (`addrgenmode none`): no link-local address from its MAC. Set before
    /// the link goes up, since one is made the moment it does.
    pub fn set_addr_gen_mode_none(&mut self, name: &str) -> Result<()> {
        let index = self.link(name)?.index;
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes
            .push(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
                vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)],
            )]));
        self.request(RouteNetlinkMessage::SetLink(msg), NLM_F_ACK, &|| {
            format!("RTM_SETLINK {name} addrgenmode none")
        })?;
        Ok(())
    }

    /// Sets an interface administratively up.
    pub fn set_up(&mut self, name: &str) -> Result<Change> {
        self.set_admin(name, true)
    }

    /// Sets an interface administratively down (its peer, for a veth,
    /// then loses carrier).
    pub fn set_down(&mut self, name: &str) -> Result<Change> {
        self.set_admin(name, false)
    }

    fn set_admin(&mut self, name: &str, up: bool) -> Result<Change> {
        let link = self.link(name)?;
        if link.up == up {
            return Ok(Change::Unchanged);
        }
        let mut msg = LinkMessage::default();
        msg.header.index = link.index;
        if up {
            msg.header.flags = LinkFlags::Up;
        }
        msg.header.change_mask = LinkFlags::Up;
        let state = if up { "up" } else { "down" };
        self.request(RouteNetlinkMessage::SetLink(msg), NLM_F_ACK, &|| {
            format!("RTM_SETLINK {name} {state}")
        })?;
        Ok(Change::Applied)
    }

    /// Neighbour cache entries (IPv4 and IPv6) of one interface or of all.
    pub fn neighbours(&mut self, iface: Option<&str>) -> Result<Vec<Neighbour>> {
        let links = self.links()?;
        let wanted = index_of(&links, iface)?;
        let replies = self.request(
            RouteNetlinkMessage::GetNeighbour(NeighbourMessage::default()),
            NLM_F_DUMP,
            &|| "RTM_GETNEIGH dump".to_string(),
        )?;
        let mut out = Vec::new();
        for reply in replies {
            let RouteNetlinkMessage::NewNeighbour(msg) = reply else {
                continue;
            };
            if wanted.is_some_and(|w| w != msg.header.ifindex) {
                continue;
            }
            let mut addr = None;
            let mut mac = None;
            for attr in &msg.attributes {
                match attr {
                    NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => {
                        addr = Some(IpAddr::V4(*a))
                    }
                    NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                        addr = Some(IpAddr::V6(*a))
                    }
                    NeighbourAttribute::LinkLayerAddress(b) => {
                        mac = <[u8; 6]>::try_from(b.as_slice()).ok().map(MacAddr)
                    }
                    _ => {}
                }
            }
            let Some(addr) = addr else { continue };
            out.push(Neighbour {
                iface: links
                    .iter()
                    .find(|l| l.index == msg.header.ifindex)
                    .map(|l| l.name.clone())
                    .unwrap_or_default(),
                addr,
                mac,
                state: msg.header.state.into(),
            });
        }
        Ok(out)
    }

    /// Addresses of one interface (`Some`) or of all (`None`).
    pub fn addresses(&mut self, iface: Option<&str>) -> Result<Vec<InterfaceAddress>> {
        let links = self.links()?;
        let wanted = index_of(&links, iface)?;
        let replies = self.request(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_DUMP,
            &|| "RTM_GETADDR dump".to_string(),
        )?;
        let mut out = Vec::new();
        for reply in replies {
            let RouteNetlinkMessage::NewAddress(msg) = reply else {
                continue;
            };
            if wanted.is_some_and(|w| w != msg.header.index) {
                continue;
            }
            let name = links
                .iter()
                .find(|l| l.index == msg.header.index)
                .map(|l| l.name.clone())
                .unwrap_or_default();
            if let Some(a) = InterfaceAddress::from_message(&msg, name) {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Adds `addr/prefix_len` on `iface` (with an IPv4 `label`); an identical
    /// address already there is [`Change::Unchanged`].
    pub fn add_address(
        &mut self,
        iface: &str,
        addr: IpAddr,
        prefix_len: u8,
        label: Option<&str>,
        nodad: bool,
    ) -> Result<Change> {
        let index = self.link(iface)?.index;
        let msg = crate::addr::new_address_message(index, addr, prefix_len, label, nodad);
        let op = || format!("RTM_NEWADDR {addr}/{prefix_len} dev {iface}");
        match self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            &op,
        ) {
            Ok(_) => Ok(Change::Applied),
            Err(e) if errno(&e) == Some(EEXIST) => Ok(Change::Unchanged),
            Err(e) => Err(e),
        }
    }

    /// Removes `addr/prefix_len` from `iface`; absent is [`Change::Unchanged`].
    pub fn del_address(&mut self, iface: &str, addr: IpAddr, prefix_len: u8) -> Result<Change> {
        let index = match self.link(iface) {
            Ok(l) => l.index,
            Err(Error::NoSuchInterface(_)) => return Ok(Change::Unchanged),
            Err(e) => return Err(e),
        };
        let mut msg = crate::addr::new_address_message(index, addr, prefix_len, None, false);
        msg.attributes
            .retain(|a| matches!(a, AddressAttribute::Local(_) | AddressAttribute::Address(_)));
        let op = || format!("RTM_DELADDR {addr}/{prefix_len} dev {iface}");
        match self.request(RouteNetlinkMessage::DelAddress(msg), NLM_F_ACK, &op) {
            Ok(_) => Ok(Change::Applied),
            Err(e) if matches!(errno(&e), Some(EADDRNOTAVAIL | ENOENT | ENODEV)) => {
                Ok(Change::Unchanged)
            }
            Err(e) => Err(e),
        }
    }
}

fn errno(e: &Error) -> Option<i32> {
    match e {
        Error::Netlink { source, .. } => source.raw_os_error(),
        _ => None,
    }
}

pub(crate) fn link_from(msg: &LinkMessage) -> Link {
    let mut name = String::new();
    let mut mac = None;
    let mut carrier = None;
    let mut kind = None;
    let mut lower = None;
    let mut macvlan_mode = None;
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => name = n.clone(),
            LinkAttribute::Link(i) => lower = Some(*i),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    match info {
                        LinkInfo::Kind(k) => kind = Some(k.to_string()),
                        LinkInfo::Data(InfoData::MacVlan(data)) => {
                            for d in data {
                                if let InfoMacVlan::Mode(m) = d {
                                    macvlan_mode = Some(MacvlanMode::from(*m));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            LinkAttribute::Carrier(c) => carrier = Some(*c != 0),
            LinkAttribute::Address(bytes) => {
                if let Ok(b) = <[u8; 6]>::try_from(bytes.as_slice()) {
                    mac = Some(MacAddr(b));
                }
            }
            _ => {}
        }
    }
    Link {
        index: msg.header.index,
        name,
        mac,
        up: msg.header.flags.contains(LinkFlags::Up),
        loopback: msg.header.link_layer_type == LinkLayerType::Loopback,
        carrier: carrier.unwrap_or_else(|| msg.header.flags.contains(LinkFlags::LowerUp)),
        kind,
        lower,
        macvlan_mode,
    }
}

/// The index of interface `iface` among `links` (`None` when no interface
/// was asked for); an unknown name is an error.
fn index_of(links: &[Link], iface: Option<&str>) -> Result<Option<u32>> {
    iface
        .map(|name| {
            links
                .iter()
                .find(|l| l.name == name)
                .map(|l| l.index)
                .ok_or_else(|| Error::NoSuchInterface(name.to_string()))
        })
        .transpose()
}
