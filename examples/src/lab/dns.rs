//! A DNS probe for the lab's UDP service: each backend's dnsmasq answers
//! `who.lab A` with its own documentation address (192.0.2.85 for WWW1,
//! 192.0.2.86 for WWW2), so the answer names the backend that served it.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use simple_dns::rdata::RData;
use simple_dns::{CLASS, Name, Packet, QCLASS, QTYPE, Question, TYPE};

/// The name every backend answers.
pub const WHO: &str = "who.lab";

/// The documentation address a backend answers `who.lab` with.
pub fn who_address(backend: &str) -> Ipv4Addr {
    match backend {
        "www1" => Ipv4Addr::new(192, 0, 2, 85),
        _ => Ipv4Addr::new(192, 0, 2, 86),
    }
}

/// The backend named by an answer.
pub fn backend_of(addr: Ipv4Addr) -> &'static str {
    match addr.octets()[3] {
        85 => "www1",
        86 => "www2",
        _ => "unknown",
    }
}

/// Asks `who.lab A` from a socket bound to `source` (port 0: any), and
/// returns the backend that answered.
pub fn ask(
    source: SocketAddr,
    server: SocketAddr,
    id: u16,
    deadline: Duration,
) -> Result<&'static str, String> {
    let sock = UdpSocket::bind(source).map_err(|e| format!("bind {source}: {e}"))?;
    sock.set_read_timeout(Some(deadline))
        .map_err(|e| e.to_string())?;
    let mut q = Packet::new_query(id);
    let name = Name::new(WHO).map_err(|e| e.to_string())?;
    q.questions.push(Question::new(
        name,
        QTYPE::TYPE(TYPE::A),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    let bytes = q.build_bytes_vec().map_err(|e| e.to_string())?;
    sock.send_to(&bytes, server)
        .map_err(|e| format!("send: {e}"))?;
    let mut buf = [0u8; 1500];
    let (n, _) = sock
        .recv_from(&mut buf)
        .map_err(|e| format!("no answer: {e}"))?;
    let reply = Packet::parse(&buf[..n]).map_err(|e| format!("bad answer: {e}"))?;
    if reply.id() != id {
        return Err(format!("answer id {} for query {id}", reply.id()));
    }
    reply
        .answers
        .iter()
        .find_map(|rr| match &rr.rdata {
            RData::A(a) => Some(backend_of(Ipv4Addr::from(a.address))),
            _ => None,
        })
        .ok_or_else(|| "answer without an A record".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_name_backends() {
        assert_eq!(backend_of(who_address("www1")), "www1");
        assert_eq!(backend_of(who_address("www2")), "www2");
        assert_eq!(backend_of(Ipv4Addr::new(192, 0, 2, 1)), "unknown");
    }
}
