//! [`VirtualServer`] and [`VirtualServerEntry`]: a service with its destinations, one entry of a table.

use super::destination::{Destination, DestinationEntry};
use super::service::{Service, ServiceEntry};

/// A service with its destinations: one entry of a desired table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServer {
    /// The service.
    pub service: Service,
    /// Its destinations.
    pub destinations: Vec<Destination>,
}

/// A service with its destinations as the kernel reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServerEntry {
    /// The service.
    pub service: ServiceEntry,
    /// Its destinations.
    pub destinations: Vec<DestinationEntry>,
}

impl VirtualServerEntry {
    /// The configuration part, comparable with a [`VirtualServer`].
    pub fn config(&self) -> VirtualServer {
        VirtualServer {
            service: self.service.service.clone(),
            destinations: self.destinations.iter().map(|d| d.dest).collect(),
        }
    }
}
