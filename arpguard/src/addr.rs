//! Addresses: typed listing, the VIP on a backend (`lo` or a dummy, /32 or
//! /128) and the VIP on a director's interface (optionally labelled).

use std::net::IpAddr;
use std::time::Duration;

use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};

use crate::error::{Error, Result};
use crate::rtnl::{Change, Rtnl};

// Kernel's IFNAMSIZ minus the terminating NUL: the longest label.
const MAX_LABEL_LEN: usize = 15;
// Lifetime the kernel reports for "forever".
const INFINITY_LIFE_TIME: u32 = u32::MAX;

/// Flags of an address, the ones `ip addr` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddressState {
    /// Not permanent: it has a finite lifetime (DHCP, SLAAC, `valid_lft N`).
    /// `ip addr` prints `dynamic`.
    pub dynamic: bool,
    /// `IFA_F_PERMANENT`: configured by hand, never expires.
    pub permanent: bool,
    /// A secondary address in an already covered subnet.
    pub secondary: bool,
    /// Preferred lifetime ran out.
    pub deprecated: bool,
    /// IPv6 duplicate address detection still running.
    pub tentative: bool,
    /// IPv6 duplicate address detection failed.
    pub dad_failed: bool,
    /// Added with `nodad`.
    pub nodad: bool,
}

/// One address of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// Interface name.
    pub iface: String,
    /// Interface index.
    pub index: u32,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// IPv4 label when it differs from the interface name (e.g. `ens18:0`).
    pub label: Option<String>,
    /// Flags.
    pub state: AddressState,
    /// Remaining valid lifetime; `None` is forever.
    pub valid_lifetime: Option<Duration>,
    /// Remaining preferred lifetime; `None` is forever.
    pub preferred_lifetime: Option<Duration>,
}

impl InterfaceAddress {
    pub(crate) fn from_message(msg: &AddressMessage, iface: String) -> Option<InterfaceAddress> {
        let mut local = None;
        let mut address = None;
        let mut label = None;
        let mut flags = AddressFlags::from_bits_retain(u32::from(msg.header.flags.bits()));
        let mut valid = None;
        let mut preferred = None;
        for attr in &msg.attributes {
            match attr {
                AddressAttribute::Local(a) => local = Some(*a),
                AddressAttribute::Address(a) => address = Some(*a),
                AddressAttribute::Label(l) => label = Some(l.clone()),
                AddressAttribute::Flags(f) => flags = *f,
                AddressAttribute::CacheInfo(ci) => {
                    valid = lifetime(ci.ifa_valid);
                    preferred = lifetime(ci.ifa_preferred);
                }
                _ => {}
            }
        }
        let addr = local.or(address)?;
        let label = label.filter(|l| *l != iface);
        let permanent = flags.contains(AddressFlags::Permanent);
        Some(InterfaceAddress {
            iface,
            index: msg.header.index,
            addr,
            prefix_len: msg.header.prefix_len,
            label,
            state: AddressState {
                dynamic: !permanent,
                permanent,
                secondary: flags.contains(AddressFlags::Secondary),
                deprecated: flags.contains(AddressFlags::Deprecated),
                tentative: flags.contains(AddressFlags::Tentative),
                dad_failed: flags.contains(AddressFlags::Dadfailed),
                nodad: flags.contains(AddressFlags::Nodad),
            },
            valid_lifetime: valid,
            preferred_lifetime: preferred,
        })
    }

    /// The `ip` command that removes this address.
    pub fn del_command(&self) -> String {
        format!(
            "ip addr del {}/{} dev {}",
            self.addr, self.prefix_len, self.iface
        )
    }
}

fn lifetime(secs: u32) -> Option<Duration> {
    (secs != INFINITY_LIFE_TIME).then(|| Duration::from_secs(u64::from(secs)))
}

pub(crate) fn new_address_message(
    index: u32,
    addr: IpAddr,
    prefix_len: u8,
    label: Option<&str>,
    nodad: bool,
) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    msg.header.prefix_len = prefix_len;
    msg.header.index = index;
    if nodad {
        msg.header.flags = AddressHeaderFlags::Nodad;
        msg.attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
    if addr.is_ipv4() {
        msg.attributes.push(AddressAttribute::Local(addr));
    }
    msg.attributes.push(AddressAttribute::Address(addr));
    if let Some(label) = label {
        msg.attributes
            .push(AddressAttribute::Label(label.to_string()));
    }
    msg
}

fn host_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn check_prefix(addr: IpAddr, prefix_len: u8) -> Result<()> {
    if prefix_len > host_prefix(addr) {
        return Err(Error::InvalidPrefix { addr, prefix_len });
    }
    Ok(())
}

/// The VIP on a real server: a host route (/32 or /128) on `lo` or on a
/// dummy interface, so the kernel accepts packets for it without the
/// segment-facing interface owning it.
///
/// New fields may be added: build it with [`BackendVip::new`],
/// [`BackendVip::on_lo`] or [`BackendVip::on_dummy`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackendVip {
    /// `lo`, or the name of a dummy interface (created if missing).
    pub iface: String,
    /// The VIP.
    pub addr: IpAddr,
}

/// What [`BackendVip::install`] changed, so [`BackendVipUndo::undo`] can
/// revert exactly that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendVipUndo {
    vip: BackendVip,
    /// The dummy interface was created by the install.
    pub link_created: bool,
    /// The address was added by the install (it was not there before).
    pub address_added: bool,
}

impl BackendVip {
    /// The VIP on `iface`: `lo`, or a dummy interface (created if missing).
    pub fn new(iface: &str, addr: IpAddr) -> BackendVip {
        BackendVip {
            iface: iface.into(),
            addr,
        }
    }

    /// The VIP on `lo`.
    pub fn on_lo(addr: IpAddr) -> BackendVip {
        BackendVip {
            iface: "lo".into(),
            addr,
        }
    }

    /// The VIP on a dummy interface `name`.
    pub fn on_dummy(name: &str, addr: IpAddr) -> BackendVip {
        BackendVip {
            iface: name.into(),
            addr,
        }
    }

    /// The prefix length used: 32 or 128.
    pub fn prefix_len(&self) -> u8 {
        host_prefix(self.addr)
    }

    /// Puts the VIP in place (idempotent). Creates the dummy interface when
    /// needed and sets the interface up.
    pub fn install(&self, rtnl: &mut Rtnl) -> Result<BackendVipUndo> {
        let link_created = if self.iface == "lo" {
            rtnl.set_up("lo")?;
            false
        } else {
            rtnl.ensure_dummy(&self.iface)? == Change::Applied
        };
        // IPv6 on lo/dummy: nothing on the segment can answer DAD for it.
        let added = rtnl.add_address(
            &self.iface,
            self.addr,
            self.prefix_len(),
            None,
            self.addr.is_ipv6(),
        )?;
        Ok(BackendVipUndo {
            vip: self.clone(),
            link_created,
            address_added: added == Change::Applied,
        })
    }

    /// Removes the address (absent is fine). Leaves the interface alone.
    pub fn remove(&self, rtnl: &mut Rtnl) -> Result<Change> {
        rtnl.del_address(&self.iface, self.addr, self.prefix_len())
    }

    /// Whether the VIP is on its interface right now.
    pub fn is_present(&self, rtnl: &mut Rtnl) -> Result<bool> {
        Ok(match rtnl.addresses(Some(&self.iface)) {
            Ok(list) => list.iter().any(|a| a.addr == self.addr),
            Err(Error::NoSuchInterface(_)) => false,
            Err(e) => return Err(e),
        })
    }
}

impl BackendVipUndo {
    /// Reverts what the install did: removes the address if it added it,
    /// deletes the dummy interface if it created it.
    pub fn undo(&self, rtnl: &mut Rtnl) -> Result<()> {
        if self.address_added {
            self.vip.remove(rtnl)?;
        }
        if self.link_created {
            rtnl.delete_link(&self.vip.iface)?;
        }
        Ok(())
    }
}

/// The VIP on the active director's segment interface (as keepalived's
/// `virtual_ipaddress` puts it), e.g. `172.20.0.83/24 dev ens18 label ens18:0`.
///
/// New fields may be added: build it with [`DirectorVip::new`] and set the
/// public fields you need:
///
/// ```
/// use lvs_arpguard::DirectorVip;
///
/// let mut vip = DirectorVip::new("ens18", "172.20.0.83".parse().unwrap(), 24);
/// vip.label = Some("ens18:0".into());
/// assert_eq!(vip.prefix_len, 24);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirectorVip {
    /// Interface, e.g. `ens18`.
    pub iface: String,
    /// The VIP.
    pub addr: IpAddr,
    /// Prefix length (the seed used /24).
    pub prefix_len: u8,
    /// IPv4 label, e.g. `ens18:0`; must begin with the interface name.
    pub label: Option<String>,
}

impl DirectorVip {
    /// `addr/prefix_len` on `iface`, without a label.
    pub fn new(iface: &str, addr: IpAddr, prefix_len: u8) -> DirectorVip {
        DirectorVip {
            iface: iface.into(),
            addr,
            prefix_len,
            label: None,
        }
    }

    fn validate(&self) -> Result<()> {
        check_prefix(self.addr, self.prefix_len)?;
        if let Some(label) = &self.label {
            let bad = |reason| Error::InvalidLabel {
                label: label.clone(),
                iface: self.iface.clone(),
                reason,
            };
            if self.addr.is_ipv6() {
                return Err(bad("IPv6 addresses have no labels"));
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(bad("longer than 15 bytes"));
            }
            if !label.starts_with(&self.iface) {
                return Err(bad("a label must begin with the interface name"));
            }
        }
        Ok(())
    }

    /// Adds the VIP (idempotent).
    pub fn add(&self, rtnl: &mut Rtnl) -> Result<Change> {
        self.validate()?;
        rtnl.add_address(
            &self.iface,
            self.addr,
            self.prefix_len,
            self.label.as_deref(),
            self.addr.is_ipv6(),
        )
    }

    /// Removes the VIP (absent is fine).
    pub fn remove(&self, rtnl: &mut Rtnl) -> Result<Change> {
        self.validate()?;
        rtnl.del_address(&self.iface, self.addr, self.prefix_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn labels_are_checked_before_the_kernel_sees_them() {
        let mut vip = DirectorVip {
            iface: "ens18".into(),
            addr: IpAddr::V4(Ipv4Addr::new(172, 20, 0, 83)),
            prefix_len: 24,
            label: Some("eth0:0".into()),
        };
        assert!(matches!(vip.validate(), Err(Error::InvalidLabel { .. })));
        vip.label = Some("ens18:0".into());
        assert!(vip.validate().is_ok());
        vip.label = Some("ens18:0123456789ab".into());
        assert!(matches!(vip.validate(), Err(Error::InvalidLabel { .. })));
        vip.label = None;
        vip.prefix_len = 33;
        assert!(matches!(vip.validate(), Err(Error::InvalidPrefix { .. })));
    }

    // RTM_NEWADDR replies captured from a 6.18 kernel (AF_NETLINK dump in a
    // namespace) after `ip addr add 172.20.0.83/24 dev ens18 label ens18:0`
    // and `ip addr add 172.20.0.97/24 dev ens18 valid_lft 300 preferred_lft 300`.
    const CAPTURED_LABELLED_VIP: &str = "5000000014000200010000009e1e0000021881000300000008000100ac14005308000200ac1400530c000300656e7331383a3000080008008100000014000600fffffffffffffffffbba0200fbba0200";
    const CAPTURED_DHCP_GHOST: &str = "5000000014000200010000009e1e0000021801000300000008000100ac14006108000200ac1400610a000300656e7331380000000800080001000000140006002c0100002c010000fbba0200fbba0200";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn parse_captured(hex: &str) -> (Vec<u8>, AddressMessage) {
        use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
        use netlink_packet_route::RouteNetlinkMessage;
        let bytes = unhex(hex);
        let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).unwrap();
        // Emitting the parsed message gives the kernel's bytes back.
        let mut again = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut again);
        assert_eq!(again, bytes);
        match msg.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(a)) => (bytes, a),
            other => panic!("not RTM_NEWADDR: {other:?}"),
        }
    }

    #[test]
    fn captured_kernel_messages_give_typed_addresses() {
        let (_, vip) = parse_captured(CAPTURED_LABELLED_VIP);
        let vip = InterfaceAddress::from_message(&vip, "ens18".into()).unwrap();
        assert_eq!(vip.addr, "172.20.0.83".parse::<IpAddr>().unwrap());
        assert_eq!((vip.prefix_len, vip.index), (24, 3));
        assert_eq!(vip.label.as_deref(), Some("ens18:0"));
        assert!(vip.state.permanent && vip.state.secondary && !vip.state.dynamic);
        assert_eq!((vip.valid_lifetime, vip.preferred_lifetime), (None, None));

        let (_, ghost) = parse_captured(CAPTURED_DHCP_GHOST);
        let ghost = InterfaceAddress::from_message(&ghost, "ens18".into()).unwrap();
        assert_eq!(ghost.addr, "172.20.0.97".parse::<IpAddr>().unwrap());
        assert!(ghost.state.dynamic && !ghost.state.permanent && ghost.state.secondary);
        assert_eq!(ghost.valid_lifetime, Some(Duration::from_secs(300)));
        assert_eq!(ghost.preferred_lifetime, Some(Duration::from_secs(300)));
        assert_eq!(
            ghost.label, None,
            "label equal to the interface name is no label"
        );
        assert_eq!(ghost.del_command(), "ip addr del 172.20.0.97/24 dev ens18");
    }

    #[test]
    fn a_message_without_flags_attribute_uses_header_flags() {
        let mut msg = new_address_message(2, "10.0.0.1".parse().unwrap(), 24, Some("x:1"), false);
        msg.header.flags = AddressHeaderFlags::Permanent | AddressHeaderFlags::Secondary;
        let a = InterfaceAddress::from_message(&msg, "x".into()).unwrap();
        assert!(a.state.permanent && a.state.secondary && !a.state.dynamic);
        assert_eq!(a.label.as_deref(), Some("x:1"));
        assert_eq!(a.del_command(), "ip addr del 10.0.0.1/24 dev x");
    }
}
