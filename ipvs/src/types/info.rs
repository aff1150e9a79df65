//! [`Info`]: general IPVS information.

/// General IPVS information.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// Version, `0x00MMmmpp` (1.2.1 is `0x010201`).
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_table_size: u32,
}

impl Info {
    /// The version as `(major, minor, patch)`.
    pub fn version_triple(&self) -> (u8, u8, u8) {
        let [_, a, b, c] = self.version.to_be_bytes();
        (a, b, c)
    }
}
