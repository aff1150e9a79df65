//! [`Timeouts`]: connection timeouts.

use std::time::Duration;

/// Connection timeouts. On write, a zero duration leaves that timeout as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Timeouts {
    /// Established TCP connections.
    pub tcp: Duration,
    /// TCP connections after FIN.
    pub tcp_fin: Duration,
    /// UDP.
    pub udp: Duration,
}

impl Timeouts {
    /// Timeouts for established TCP, TCP after FIN, and UDP (as
    /// `ipvsadm --set tcp tcpfin udp`); a zero one is left as is on write.
    pub fn new(tcp: Duration, tcp_fin: Duration, udp: Duration) -> Self {
        Timeouts { tcp, tcp_fin, udp }
    }
}
