//! The seed's lab (LAB.md) as code: the five hosts as network namespaces on
//! one bridge, the backends' tiny services, and the client-side probes that
//! measure what an operator would see.

pub mod dns;
pub mod ecmp;
pub mod faults;
pub mod frr;
pub mod harness;
pub mod held;
pub mod html;
pub mod httpd;
pub mod probe;
pub mod report;
pub mod routewatch;
pub mod rss;
pub mod scenarios;
pub mod seed;
pub mod series;
pub mod timeline;
pub mod topology;
pub mod track;
pub mod watch;
