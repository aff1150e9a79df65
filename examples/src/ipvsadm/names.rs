//! Names for addresses and ports, for listings without `-n` and for ports
//! written as service names (`-t vip:http`).

use lvs_ipvs::Protocol;
use std::net::IpAddr;

fn proto_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

/// `/etc/services` lines as `(name, aliases, port, protocol)`, read once
/// per process (`-R` input may name a port on every line).
fn services() -> &'static [(Vec<String>, u16, String)] {
    static SERVICES: std::sync::OnceLock<Vec<(Vec<String>, u16, String)>> =
        std::sync::OnceLock::new();
    SERVICES.get_or_init(|| {
        let text = std::fs::read_to_string("/etc/services").unwrap_or_default();
        parse_services(&text)
    })
}

fn parse_services(text: &str) -> Vec<(Vec<String>, u16, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let (Some(name), Some(pp)) = (words.next(), words.next()) else {
            continue;
        };
        let Some((port, proto)) = pp.split_once('/') else {
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        let mut names = vec![name.to_string()];
        names.extend(words.map(String::from));
        out.push((names, port, proto.to_string()));
    }
    out
}

/// The port of a service name for `protocol` (`http` → 80).
pub fn service_port(name: &str, protocol: Protocol) -> Option<u16> {
    let proto = proto_name(protocol);
    services()
        .iter()
        .find(|(names, _, p)| p == proto && names.iter().any(|n| n == name))
        .map(|(_, port, _)| *port)
}

/// Resolves addresses and ports to names (what ipvsadm does without `-n`).
pub trait Resolver {
    /// The host name of `ip`, if it has one.
    fn host(&self, ip: IpAddr) -> Option<String>;
    /// The service name of `port` for `protocol` (`None`: fwmark/unknown).
    fn port(&self, port: u16, protocol: Option<Protocol>) -> Option<String>;
}

/// The system's resolver: reverse DNS / `/etc/hosts`, `/etc/services`.
#[derive(Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn host(&self, ip: IpAddr) -> Option<String> {
        reverse_lookup(ip)
    }
    fn port(&self, port: u16, protocol: Option<Protocol>) -> Option<String> {
        let proto = proto_name(protocol?);
        services()
            .iter()
            .find(|(_, p, pr)| *p == port && pr == proto)
            .map(|(names, _, _)| names[0].clone())
    }
}

fn reverse_lookup(ip: IpAddr) -> Option<String> {
    let sa: socket2::SockAddr = std::net::SocketAddr::new(ip, 0).into();
    let mut host = [0 as libc::c_char; 1025];
    // No safe getnameinfo in std or rustix.
    // SAFETY: `sa` is a valid socket address of the given length and `host`
    // a writable buffer of the given size; no service buffer is requested.
    let rc = unsafe {
        libc::getnameinfo(
            sa.as_ptr().cast(),
            sa.len(),
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return None;
    }
    // NUL-terminated on success; read it without another unsafe block.
    let bytes: Vec<u8> = host.iter().map(|&c| c as u8).collect();
    let name = std::ffi::CStr::from_bytes_until_nul(&bytes).ok()?;
    Some(name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_file_parsing() {
        let s = parse_services(
            "# comment\nhttp\t\t80/tcp\t\twww\t# WorldWideWeb\ndomain 53/udp\nbad line\n",
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, vec!["http".to_string(), "www".to_string()]);
        assert_eq!((s[0].1, s[0].2.as_str()), (80, "tcp"));
        assert_eq!((s[1].1, s[1].2.as_str()), (53, "udp"));
    }
}
