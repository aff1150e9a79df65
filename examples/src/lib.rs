//! Shared code of the reference daemons (`director`, `backend`, `ipvsadm`).
#![warn(missing_docs)]

pub mod backend;
pub mod director;
pub mod ipvsadm;
pub mod lab;

/// The README's examples, compiled as doctests (they use every crate).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
