//! `DNS_CHECK`: ask a question over UDP (TCP if the answer is truncated) and
//! judge the answer: same ID, same question, accepted RCODE, optionally an
//! expected address. Messages are built and parsed with `simple-dns`.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use simple_dns::rdata::RData;
use simple_dns::{CLASS, Name, Packet, PacketFlag, QCLASS, QTYPE, Question, TYPE};
use socket2::{Protocol, Type};

use super::udp::{UdpReply, connected_socket, exchange};
use super::{Checker, ConnectOptions, connect_blocking, recv_some, send_all};
use crate::outcome::{FailReason, Outcome, Success};
use crate::rng::SplitMix64;

/// RCODE 0, NOERROR.
pub const RCODE_NOERROR: u16 = 0;
/// RCODE 3, NXDOMAIN.
pub const RCODE_NXDOMAIN: u16 = 3;

/// Asks `name`/`qtype` and checks the answer.
///
/// Build it with [`DnsCheck::new`] or [`DnsCheck::keepalived`] and the
/// `with_*` setters (new fields may be added).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DnsCheck {
    /// Destination and socket options.
    pub connect: ConnectOptions,
    /// The name asked (keepalived `name`, default `.`).
    pub name: String,
    /// The query type as its number (`TYPE::A.into()` = 1); keepalived's
    /// default is SOA (6).
    pub qtype: u16,
    /// Response codes that count as up (default: NOERROR only).
    pub accepted_rcodes: Vec<u16>,
    /// If set, some A/AAAA answer must carry this address.
    pub expect_address: Option<IpAddr>,
    /// Set the RD bit (ask for recursion).
    pub recursion_desired: bool,
}

with_setters!(DnsCheck {
    with_qtype(qtype: u16),
    with_accepted_rcodes(accepted_rcodes: Vec<u16>),
    with_expect_address(expect_address: IpAddr) => Some,
    with_recursion_desired(recursion_desired: bool),
});

impl DnsCheck {
    /// An `A` query for `name`, NOERROR accepted.
    pub fn new(connect: ConnectOptions, name: &str) -> Self {
        DnsCheck {
            connect,
            name: name.to_string(),
            qtype: TYPE::A.into(),
            accepted_rcodes: vec![RCODE_NOERROR],
            expect_address: None,
            recursion_desired: true,
        }
    }

    /// keepalived's `DNS_CHECK` defaults: `name` `.` and `type` SOA unless
    /// given. (In the lab, dnsmasq refuses `.` SOA: give `type A` and a name.)
    pub fn keepalived(connect: ConnectOptions, name: Option<&str>, qtype: Option<TYPE>) -> Self {
        DnsCheck {
            name: name.unwrap_or(".").to_string(),
            qtype: qtype.unwrap_or(TYPE::SOA).into(),
            ..DnsCheck::new(connect, ".")
        }
    }

    /// The wire query with transaction `id`.
    pub fn query(&self, id: u16) -> Result<Vec<u8>, FailReason> {
        let name = Name::new(&self.name)
            .map_err(|e| FailReason::Io(format!("bad query name {:?}: {e}", self.name)))?;
        let qtype = QTYPE::try_from(self.qtype)
            .map_err(|e| FailReason::Io(format!("bad query type {}: {e}", self.qtype)))?;
        let mut packet = Packet::new_query(id);
        if self.recursion_desired {
            packet.set_flags(PacketFlag::RECURSION_DESIRED);
        }
        packet
            .questions
            .push(Question::new(name, qtype, QCLASS::CLASS(CLASS::IN), false));
        packet
            .build_bytes_vec()
            .map_err(|e| FailReason::Io(format!("cannot encode query: {e}")))
    }

    /// Judges a reply to the query with `id`. `Ok(None)` means "truncated,
    /// ask again over TCP".
    pub fn judge(&self, id: u16, reply: &[u8]) -> Result<Option<Success>, FailReason> {
        if reply.len() < 12 {
            return Err(FailReason::BadReply(format!(
                "DNS message of {} bytes",
                reply.len()
            )));
        }
        let got_id = u16::from_be_bytes([reply[0], reply[1]]);
        if got_id != id {
            return Err(FailReason::BadReply(format!(
                "DNS ID {got_id:#06x}, asked {id:#06x}"
            )));
        }
        if reply[2] & 0x80 == 0 {
            return Err(FailReason::BadReply("DNS message is not a response".into()));
        }
        if reply[2] & 0x02 != 0 {
            return Ok(None);
        }
        let rcode = u16::from(reply[3] & 0x0f);
        let packet = Packet::parse(reply)
            .map_err(|e| FailReason::BadReply(format!("unparsable DNS response: {e}")))?;
        let same_question = packet.questions.len() == 1
            && packet.questions.iter().all(|q| {
                same_name(&q.qname.to_string(), &self.name)
                    && u16::from(q.qtype) == self.qtype
                    && q.qclass == QCLASS::CLASS(CLASS::IN)
            });
        if !same_question {
            return Err(FailReason::BadReply(
                "DNS response to another question".into(),
            ));
        }
        if !self.accepted_rcodes.contains(&rcode) {
            return Err(FailReason::Rcode(rcode));
        }
        if let Some(want) = self.expect_address {
            let found = packet.answers.iter().any(|rr| match (&rr.rdata, want) {
                (RData::A(a), IpAddr::V4(w)) => u32::from(w) == a.address,
                (RData::AAAA(a), IpAddr::V6(w)) => u128::from(w) == a.address,
                _ => false,
            });
            if !found {
                return Err(FailReason::AnswerMismatch);
            }
        }
        Ok(Some(Success::Dns {
            rcode,
            answers: packet.answers.len().min(usize::from(u16::MAX)) as u16,
            over_tcp: false,
        }))
    }

    /// Repeats the query over TCP (after a truncated UDP answer).
    pub(crate) fn over_tcp(
        &self,
        id: u16,
        query: &[u8],
        deadline: Instant,
    ) -> Result<Success, FailReason> {
        let sock = self
            .connect
            .socket(Type::STREAM, Protocol::TCP)
            .map_err(|e| FailReason::from_io(&e))?;
        connect_blocking(
            &sock,
            self.connect.destination(),
            self.connect.connect_deadline(deadline),
        )?;
        let len =
            u16::try_from(query.len()).map_err(|_| FailReason::Io("query too long".into()))?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        send_all(&sock, &framed, deadline)?;
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        loop {
            if buf.len() >= 2 {
                let want = usize::from(u16::from_be_bytes([buf[0], buf[1]])) + 2;
                if buf.len() >= want {
                    return match self.judge(id, &buf[2..want])? {
                        Some(Success::Dns { rcode, answers, .. }) => Ok(Success::Dns {
                            rcode,
                            answers,
                            over_tcp: true,
                        }),
                        Some(s) => Ok(s),
                        None => Err(FailReason::BadReply("truncated DNS answer over TCP".into())),
                    };
                }
            }
            let n = recv_some(&sock, &mut chunk, deadline)?;
            if n == 0 {
                return Err(FailReason::BadReply(
                    "DNS server closed the TCP connection".into(),
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// A fresh transaction ID per query: unpredictable enough that a stale
/// answer to an earlier probe is not taken for this one.
pub(crate) fn next_id() -> u16 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (SplitMix64::new(nanos ^ n.rotate_left(32) ^ u64::from(std::process::id())).next_u64() & 0xffff)
        as u16
}

impl Checker for DnsCheck {
    fn identity(&self) -> String {
        format!("{self:?}")
    }

    fn check(&self, deadline: Instant) -> Outcome {
        let id = next_id();
        let query = match self.query(id) {
            Ok(q) => q,
            Err(r) => return Outcome::Failure(r),
        };
        let sock = match connected_socket(&self.connect) {
            Ok(s) => s,
            Err(e) => return Outcome::Failure(FailReason::from_io(&e)),
        };
        let mut buf = vec![0u8; 65_536];
        loop {
            match exchange(&sock, &query, &mut buf, deadline) {
                Ok(UdpReply::Data(n)) => match self.after_udp(id, &buf[..n]) {
                    UdpVerdict::Done(o) => return o,
                    UdpVerdict::Stray => continue,
                    UdpVerdict::Truncated => {
                        return match self.over_tcp(id, &query, deadline) {
                            Ok(s) => Outcome::Success(s),
                            Err(r) => Outcome::Failure(r),
                        };
                    }
                },
                Ok(UdpReply::Silent) => return Outcome::Failure(FailReason::Timeout),
                Err(r) => return Outcome::Failure(r),
            }
        }
    }
}

/// What to do after a UDP datagram arrived.
pub(crate) enum UdpVerdict {
    /// The probe is decided.
    Done(Outcome),
    /// Another transaction's datagram (a late answer to an earlier probe): keep waiting.
    Stray,
    /// TC bit set: ask again over TCP.
    Truncated,
}

impl DnsCheck {
    pub(crate) fn after_udp(&self, id: u16, reply: &[u8]) -> UdpVerdict {
        if reply.len() >= 2 && u16::from_be_bytes([reply[0], reply[1]]) != id {
            return UdpVerdict::Stray;
        }
        match self.judge(id, reply) {
            Ok(Some(s)) => UdpVerdict::Done(Outcome::Success(s)),
            Ok(None) => UdpVerdict::Truncated,
            Err(r) => UdpVerdict::Done(Outcome::Failure(r)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> DnsCheck {
        DnsCheck::new(
            ConnectOptions::new("127.0.0.1:53".parse().unwrap_or_else(|e| panic!("{e}"))),
            "www.lab",
        )
    }

    fn reply(id: u16, rcode: u16, name: &str, addr: Option<[u8; 4]>, tc: bool) -> Vec<u8> {
        let mut p = Packet::new_reply(id);
        *p.rcode_mut() = simple_dns::RCODE::from(rcode);
        if tc {
            p.set_flags(PacketFlag::TRUNCATION);
        }
        let qname = Name::new_unchecked(name);
        p.questions.push(Question::new(
            qname.clone(),
            TYPE::A.into(),
            QCLASS::CLASS(CLASS::IN),
            false,
        ));
        if let Some(a) = addr {
            p.answers.push(simple_dns::ResourceRecord::new(
                qname,
                CLASS::IN,
                60,
                RData::A(simple_dns::rdata::A {
                    address: u32::from_be_bytes(a),
                }),
            ));
        }
        p.build_bytes_vec().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn query_round_trips_through_the_parser() {
        let q = check().query(0x1234).unwrap_or_else(|e| panic!("{e}"));
        let p = Packet::parse(&q).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.id(), 0x1234);
        assert_eq!(p.questions[0].qname.to_string(), "www.lab");
        assert!(p.has_flags(PacketFlag::RECURSION_DESIRED));
    }

    #[test]
    fn judges_id_question_rcode_and_answer() {
        let mut c = check();
        let ok = reply(7, 0, "WWW.lab", Some([172, 20, 0, 85]), false);
        assert_eq!(
            c.judge(7, &ok),
            Ok(Some(Success::Dns {
                rcode: 0,
                answers: 1,
                over_tcp: false,
            }))
        );
        assert!(matches!(c.judge(8, &ok), Err(FailReason::BadReply(_))));
        let other = reply(7, 0, "www2.lab", None, false);
        assert!(matches!(c.judge(7, &other), Err(FailReason::BadReply(_))));
        let nx = reply(7, 3, "www.lab", None, false);
        assert_eq!(c.judge(7, &nx), Err(FailReason::Rcode(RCODE_NXDOMAIN)));
        c.accepted_rcodes.push(RCODE_NXDOMAIN);
        assert!(c.judge(7, &nx).is_ok());
        c.expect_address = Some("172.20.0.86".parse().unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(c.judge(7, &ok), Err(FailReason::AnswerMismatch));
        let tc = reply(7, 0, "www.lab", None, true);
        assert_eq!(c.judge(7, &tc), Ok(None));
        assert!(matches!(
            c.judge(7, &[0u8; 5]),
            Err(FailReason::BadReply(_))
        ));
    }
}
