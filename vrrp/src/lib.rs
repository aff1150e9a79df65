//! Sans-IO VRRPv2/v3 codec and state machine.
#![warn(missing_docs)]
