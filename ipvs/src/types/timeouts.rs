//! [`Timeouts`]: connection timeouts.

use std::time::Duration;

/// Connection timeouts. On write, a zero duration leaves that timeout as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    /// Established TCP connections.
    pub tcp: Duration,
    /// TCP connections after FIN.
    pub tcp_fin: Duration,
    /// UDP.
    pub udp: Duration,
}
