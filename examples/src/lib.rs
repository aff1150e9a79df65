//! Shared code of the reference programs (`backend`, `ipvsadm`, `lab`) and
//! their command-line definitions (`cli`).
#![warn(missing_docs)]

pub mod backend;
pub mod cli;
pub mod ipvsadm;
pub mod lab;

/// The README's examples, compiled as doctests (they use every crate).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
