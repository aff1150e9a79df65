//! Typed control of the Linux kernel's IPVS over generic netlink.
#![warn(missing_docs)]
