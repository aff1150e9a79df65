//! The parts of the `director` program besides its event loop: the command
//! line and control socket protocol ([`cli`]), one director per network
//! namespace ([`instance`]), `status --json` ([`json`]) and systemd's
//! notify protocol ([`notify`]).

pub mod cli;
pub mod instance;
pub mod json;
pub mod notify;
