//! Pluggable backend health checkers and a sans-IO rise/fall policy.
#![warn(missing_docs)]
