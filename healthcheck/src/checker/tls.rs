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
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

use super::http::{ClientIdentity, ClientIdentityError, HttpCheck};
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
/// The chain and key of `id`, parsed.
pub(super) fn parse_identity(
    id: &ClientIdentity,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), ClientIdentityError> {
    let certs = CertificateDer::pem_slice_iter(id.cert_chain_pem())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ClientIdentityError::NoCertificate)?;
    if certs.is_empty() {
        return Err(ClientIdentityError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(id.key_pem())
        .map_err(|e| ClientIdentityError::NoKey(e.to_string()))?;
    rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| ClientIdentityError::Unusable(e.to_string()))?;
    Ok((certs, key))
}

/// The client configuration of every probe: TLS 1.2 and 1.3 (old
/// backends still speak 1.2 only), any server certificate, no resumption,
/// and `identity` presented when the server asks for one.
fn build(
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)));
    let mut c = match identity {
        None => builder.with_no_client_auth(),
        Some((certs, key)) => builder
            .with_client_auth_cert(certs, key)
            .map_err(|e| format!("client certificate: {e}"))?,
    };
    c.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(c))
}

/// With a client certificate: built per probe (rare, and cheap next to the
/// handshake it serves).
fn with_identity(id: &ClientIdentity) -> Result<Arc<ClientConfig>, FailReason> {
    let parsed =
        parse_identity(id).map_err(|e| FailReason::Io(format!("TLS client certificate: {e}")))?;
    build(Some(parsed)).map_err(|e| FailReason::Io(format!("TLS set-up: {e}")))
}

/// Without one: built once.
fn config() -> Result<Arc<ClientConfig>, FailReason> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| build(None))
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
        let config = match check.tls.as_ref().and_then(|t| t.client_identity.as_ref()) {
            Some(id) => with_identity(id)?,
            None => config()?,
        };
        let mut conn = ClientConnection::new(config, name).map_err(tls_error)?;
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
