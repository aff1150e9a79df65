//! TLS for `HttpCheck` (keepalived `SSL_GET`), with rustls and its `ring`
//! provider: a sans-IO session that the blocking and the async HTTP client
//! both drive with the bytes they move.
//!
//! Like keepalived 2.2.7, the server's certificate is not verified (any
//! chain, any name, any date): the check asks whether the service answers,
//! not whether clients would trust it. The handshake itself is real — the
//! server must prove it holds the key of the certificate it sent — and each
//! probe makes a full handshake (no session resumption), as keepalived does.

use std::io::{self, Read, Write};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

use super::http::HttpCheck;
use crate::outcome::FailReason;

/// Accepts any certificate; checks only the handshake signatures.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The one client configuration every HTTPS probe shares (built once).
fn config() -> Result<Arc<ClientConfig>, FailReason> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut c = ClientConfig::builder_with_provider(provider.clone())
                // TLS 1.2 and 1.3: old backends still speak 1.2 only.
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth();
            c.resumption = rustls::client::Resumption::disabled();
            Ok(Arc::new(c))
        })
        .clone()
        .map_err(|e| FailReason::Io(format!("TLS set-up: {e}")))
}

fn tls_error(e: impl std::fmt::Display) -> FailReason {
    FailReason::BadReply(format!("TLS: {e}"))
}

/// One TLS session carrying one HTTP request: feed it what the socket
/// read, send what it gives back, collect the plaintext it yields.
#[derive(Debug)]
pub(crate) struct TlsSession {
    conn: ClientConnection,
}

impl TlsSession {
    /// Starts the handshake for `check`, with the request queued to go out
    /// once it completes. The SNI is the check's virtual host when
    /// [`TlsOptions::sni`](super::http::TlsOptions::sni) is set and that
    /// host is a DNS name; otherwise none is sent (rustls sends none for
    /// an IP address).
    pub(crate) fn new(check: &HttpCheck) -> Result<Self, FailReason> {
        let sni = check
            .tls
            .as_ref()
            .filter(|t| t.sni)
            .and(check.virtual_host.as_deref())
            .and_then(|h| ServerName::try_from(h.to_string()).ok());
        let name =
            sni.unwrap_or_else(|| ServerName::IpAddress(check.connect.destination().ip().into()));
        let mut conn = ClientConnection::new(config()?, name).map_err(tls_error)?;
        conn.writer()
            .write_all(&check.request())
            .map_err(|e| FailReason::Io(e.to_string()))?;
        Ok(TlsSession { conn })
    }

    /// The TLS bytes to send now (possibly none).
    pub(crate) fn outgoing(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut out).is_err() {
                break;
            }
        }
        out
    }

    /// Takes bytes read from the socket (`data` empty: the peer closed);
    /// appends decrypted bytes to `plain`. Returns whether the plaintext
    /// stream has ended (close_notify, or TCP closed after the handshake).
    pub(crate) fn incoming(
        &mut self,
        mut data: &[u8],
        plain: &mut Vec<u8>,
    ) -> Result<bool, FailReason> {
        let eof = data.is_empty();
        loop {
            // read_tls takes what its buffer holds; the rest goes next round.
            // An empty slice tells rustls the peer closed.
            self.conn.read_tls(&mut data).map_err(tls_error)?;
            self.conn.process_new_packets().map_err(tls_error)?;
            if eof && self.conn.is_handshaking() {
                return Err(tls_error("connection closed during the handshake"));
            }
            if self.drain(plain)? {
                return Ok(true);
            }
            if data.is_empty() {
                // Many servers close without close_notify; the HTTP framing decides.
                return Ok(eof);
            }
        }
    }

    /// Moves decrypted bytes to `plain`; true once the stream has ended.
    fn drain(&mut self, plain: &mut Vec<u8>) -> Result<bool, FailReason> {
        let mut buf = [0u8; 8192];
        loop {
            match self.conn.reader().read(&mut buf) {
                Ok(0) => return Ok(true),
                Ok(n) => plain.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(true),
                Err(e) => return Err(tls_error(e)),
            }
        }
    }
}
