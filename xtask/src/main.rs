//! Orchestration for the lvs workspace.
fn main() {}
