//! Shared code of the reference daemons (`director`, `backend`, `ipvsadm`).
#![warn(missing_docs)]

pub mod backend;
pub mod director;
pub mod ipvsadm;
pub mod lab;
