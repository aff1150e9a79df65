//! Shared code of the reference daemons (`director`, `backend`, `ipvsadm`).
#![warn(missing_docs)]

pub mod config;
pub mod lab;
