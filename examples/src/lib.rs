//! Shared code of the reference daemons (`director`, `backend`, `ipvsadm`).
#![warn(missing_docs)]
