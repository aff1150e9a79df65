//! The global `SSL` block: the client certificate every `SSL_GET` presents
//! when a real server asks for one. keepalived loads `ca` too but never
//! verifies a server's certificate, and neither does director (so `ca` is
//! warned about); an encrypted key (`password`) is refused, since rustls
//! reads only unencrypted keys.

use lvs_healthcheck::checker::http::ClientIdentity;

use super::{Builder, nodes};
use crate::error::{ErrorKind, Location};
use crate::lexer::Token;
use crate::parser::Node;

impl Builder<'_> {
    pub(super) fn ssl(&mut self, n: &Node) -> Option<ClientIdentity> {
        let mut certificate: Option<(Vec<u8>, &Token)> = None;
        let mut key: Option<(Vec<u8>, &Token)> = None;
        let mut unreadable = false;
        for c in nodes(n) {
            let slot = match c.keyword() {
                "certificate" => &mut certificate,
                "key" => &mut key,
                _ => {
                    self.unhandled(c);
                    continue;
                }
            };
            let Some(t) = c.args.first() else { continue };
            match std::fs::read(t.text()) {
                Ok(bytes) => *slot = Some((bytes, t)),
                Err(e) => {
                    unreadable = true;
                    self.error(
                        &t.location,
                        ErrorKind::Invalid {
                            message: format!("`{}`: cannot read `{}`: {e}", c.keyword(), t.text()),
                        },
                    )
                }
            }
        }
        match (certificate, key) {
            (Some((cert, ct)), Some((key, _))) => match ClientIdentity::from_pem(cert, key) {
                Ok(id) => Some(id),
                Err(e) => {
                    self.error(
                        &ct.location,
                        ErrorKind::Invalid {
                            message: format!("SSL client certificate and key: {e}"),
                        },
                    );
                    None
                }
            },
            (None, None) => None,
            // The unreadable file was reported where it is named.
            _ if unreadable => None,
            (Some(_), None) | (None, Some(_)) => {
                self.missing_half(n.loc());
                None
            }
        }
    }

    fn missing_half(&mut self, loc: &Location) {
        self.error(
            loc,
            ErrorKind::Invalid {
                message: "an `SSL` block needs both `certificate` and `key` (or neither)".into(),
            },
        );
    }
}
