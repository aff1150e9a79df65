//! `HTTP_GET`: one plain HTTP/1.1 GET with `Connection: close`; the status
//! must fall in an accepted range, and optionally the body must contain a
//! string or have a given MD5 digest (keepalived `digest`).
//!
//! With [`HttpCheck::tls`] set the same request goes over TLS (keepalived
//! `SSL_GET`; needs the crate's `tls` feature): see [`TlsOptions`].
//!
//! The client is written here: a health check needs one request, a status
//! line, two framing headers and a body cap — not a general HTTP stack.

use std::time::Instant;

use md5::{Digest, Md5};
use socket2::{Protocol, Type};

use super::{Checker, ConnectOptions, connect_blocking, recv_some, send_all};
use crate::outcome::{FailReason, Outcome, Success};

/// One GET and its acceptance rules.
///
/// New rules may be added: start from [`HttpCheck::new`] and chain the
/// `with_*` setters:
///
/// ```
/// use lvs_healthcheck::{ConnectOptions, checker::http::HttpCheck};
///
/// let opts = ConnectOptions::new("192.0.2.10:80".parse().unwrap());
/// let check = HttpCheck::new(opts, "/health")
///     .with_virtual_host("www.example.com".into())
///     .with_status(vec![(200, 204)]);
/// assert_eq!(check.status, [(200, 204)]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct HttpCheck {
    /// Destination and socket options.
    pub connect: ConnectOptions,
    /// Request path (keepalived `path`).
    pub path: String,
    /// `Host` header (keepalived `virtualhost`); default: the destination address.
    pub virtual_host: Option<String>,
    /// Accepted status ranges, inclusive (keepalived `status_code`; default 200–299).
    pub status: Vec<(u16, u16)>,
    /// The body must contain these bytes.
    pub body_contains: Option<Vec<u8>>,
    /// The body's MD5 must equal this (keepalived `digest`).
    pub body_md5: Option<[u8; 16]>,
    /// Read at most this many body bytes (longer bodies fail body checks).
    pub max_body: usize,
    /// Speak HTTPS (keepalived `SSL_GET`); `None`: plain HTTP.
    pub tls: Option<TlsOptions>,
}

/// How an HTTPS check uses TLS.
///
/// As keepalived 2.2.7 does, the server's certificate is never verified:
/// self-signed, expired or misnamed certificates pass; a failed handshake
/// fails the check. Without the crate's `tls` feature an HTTPS check fails
/// with [`FailReason::Io`] saying so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TlsOptions {
    /// Send the virtual host as the TLS server name, SNI (keepalived
    /// `enable_sni`); when unset, or the host is an IP address, no SNI is sent.
    pub sni: bool,
    /// A certificate and key to present when the server asks for one
    /// (keepalived's global `SSL { certificate … key … }`).
    pub client_identity: Option<ClientIdentity>,
}

/// A client certificate chain and its private key, as PEM (keepalived's
/// `SSL { certificate FILE key FILE }`). With the crate's `tls` feature
/// [`ClientIdentity::from_pem`] checks both parse, so a bad file is found
/// when the configuration is read, not at the first probe.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientIdentity {
    cert_chain_pem: Vec<u8>,
    key_pem: Vec<u8>,
}

/// A [`ClientIdentity`] that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientIdentityError {
    /// No `CERTIFICATE` block in the certificate PEM.
    #[error("no PEM certificate in it")]
    NoCertificate,
    /// No unencrypted private key (PKCS#8, PKCS#1 or SEC1) in the key PEM.
    #[error("no unencrypted PEM private key in it: {0}")]
    NoKey(String),
    /// The key does not suit rustls (an unsupported algorithm).
    #[error("the private key cannot be used: {0}")]
    Unusable(String),
}

impl ClientIdentity {
    /// The chain (leaf first) and key, each as the bytes of a PEM file.
    pub fn from_pem(
        cert_chain_pem: Vec<u8>,
        key_pem: Vec<u8>,
    ) -> Result<ClientIdentity, ClientIdentityError> {
        let id = ClientIdentity {
            cert_chain_pem,
            key_pem,
        };
        #[cfg(feature = "tls")]
        super::tls::parse_identity(&id)?;
        Ok(id)
    }

    /// The certificate chain, PEM.
    pub fn cert_chain_pem(&self) -> &[u8] {
        &self.cert_chain_pem
    }

    /// The private key, PEM.
    pub fn key_pem(&self) -> &[u8] {
        &self.key_pem
    }
}

impl TlsOptions {
    /// TLS without SNI.
    pub fn new() -> Self {
        TlsOptions::default()
    }

    /// Sets [`TlsOptions::sni`].
    pub fn with_sni(mut self, sni: bool) -> Self {
        self.sni = sni;
        self
    }

    /// Sets [`TlsOptions::client_identity`].
    pub fn with_client_identity(mut self, id: ClientIdentity) -> Self {
        self.client_identity = Some(id);
        self
    }
}

with_setters!(HttpCheck {
    with_virtual_host(virtual_host: String) => Some,
    with_status(status: Vec<(u16, u16)>),
    with_body_contains(body_contains: Vec<u8>) => Some,
    with_body_md5(body_md5: [u8; 16]) => Some,
    with_max_body(max_body: usize),
    with_tls(tls: TlsOptions) => Some,
});

impl HttpCheck {
    /// GET `path`, any 2xx passes.
    pub fn new(connect: ConnectOptions, path: &str) -> Self {
        HttpCheck {
            connect,
            path: path.to_string(),
            virtual_host: None,
            status: vec![(200, 299)],
            body_contains: None,
            body_md5: None,
            max_body: 1 << 20,
            tls: None,
        }
    }

    /// Parses a keepalived-style hex digest (32 hex digits).
    pub fn parse_md5_hex(hex: &str) -> Option<[u8; 16]> {
        let hex = hex.trim();
        if hex.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(out)
    }

    /// The request bytes.
    pub(crate) fn request(&self) -> Vec<u8> {
        let host = match &self.virtual_host {
            Some(h) => h.clone(),
            None => {
                let d = self.connect.destination();
                match d.ip() {
                    std::net::IpAddr::V6(ip) => format!("[{ip}]:{}", d.port()),
                    std::net::IpAddr::V4(ip) => format!("{ip}:{}", d.port()),
                }
            }
        };
        format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: lvs-healthcheck\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            self.path
        )
        .into_bytes()
    }

    fn wants_body(&self) -> bool {
        self.body_contains.is_some() || self.body_md5.is_some()
    }

    /// Judges a complete response (head and as much body as was read).
    pub fn judge(&self, response: &Response) -> Result<Success, FailReason> {
        if !self
            .status
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&response.status))
        {
            return Err(FailReason::BadStatus(response.status));
        }
        if let Some(needle) = &self.body_contains
            && !needle.is_empty()
            && !response
                .body
                .windows(needle.len())
                .any(|w| w == needle.as_slice())
        {
            return Err(FailReason::BadBody);
        }
        if let Some(want) = self.body_md5 {
            let got: [u8; 16] = Md5::digest(&response.body).into();
            if got != want {
                return Err(FailReason::BadBody);
            }
        }
        Ok(Success::HttpStatus(response.status))
    }
}

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// The body, de-chunked, possibly capped.
    pub body: Vec<u8>,
}

/// Framing found in the head.
#[derive(Debug)]
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// Parses the status line and framing headers; returns status, framing and head length.
fn parse_head(buf: &[u8]) -> Result<Option<(u16, Framing, usize)>, FailReason> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > 64 * 1024 {
            return Err(FailReason::BadReply("HTTP head longer than 64 KiB".into()));
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end])
        .map_err(|_| FailReason::BadReply("HTTP head is not UTF-8".into()))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(FailReason::BadReply(format!(
            "not an HTTP/1 status line: {status_line:?}"
        )));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..=999).contains(s))
        .ok_or_else(|| FailReason::BadReply(format!("bad status line: {status_line:?}")))?;
    let mut framing = Framing::UntilClose;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            framing = Framing::Chunked;
        } else if name.eq_ignore_ascii_case("content-length")
            && !matches!(framing, Framing::Chunked)
        {
            let n = value
                .parse::<usize>()
                .map_err(|_| FailReason::BadReply(format!("bad Content-Length {value:?}")))?;
            framing = Framing::Length(n);
        }
    }
    Ok(Some((status, framing, end + 4)))
}

/// Decodes a chunked body: the bytes of the complete chunks so far, and
/// whether the last chunk was seen (or `cap` reached).
fn dechunk(mut data: &[u8], cap: usize) -> Result<(Vec<u8>, bool), FailReason> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return Ok((out, false));
        };
        let size_text = std::str::from_utf8(&data[..eol])
            .map_err(|_| FailReason::BadReply("bad chunk size".into()))?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| FailReason::BadReply(format!("bad chunk size {size_text:?}")))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok((out, true));
        }
        if data.len() < size + 2 {
            return Ok((out, false));
        }
        out.extend_from_slice(&data[..size]);
        if out.len() >= cap {
            out.truncate(cap);
            return Ok((out, true));
        }
        data = &data[size + 2..];
    }
}

/// Reads an HTTP response from bytes as they arrive (sans-IO): shared by the
/// blocking and the async client.
#[derive(Debug)]
pub(crate) struct ResponseReader {
    buf: Vec<u8>,
    head: Option<(u16, Framing, usize)>,
    /// How much of `buf` has been searched for the end of the head.
    head_scanned: usize,
    wants_body: bool,
    max_body: usize,
}

impl ResponseReader {
    pub(crate) fn new(check: &HttpCheck) -> Self {
        ResponseReader {
            buf: Vec::with_capacity(4096),
            head: None,
            head_scanned: 0,
            wants_body: check.wants_body(),
            max_body: check.max_body,
        }
    }

    /// Takes more bytes; returns the response once it is complete enough.
    pub(crate) fn feed(&mut self, data: &[u8]) -> Result<Option<Response>, FailReason> {
        self.buf.extend_from_slice(data);
        if self.head.is_none() {
            // Search only the new bytes (and the 3 before them) for the end
            // of the head: a head arriving a byte at a time must not be
            // rescanned from its start each time (quadratic in its length).
            let from = self.head_scanned.saturating_sub(3);
            let ended = self.buf[from..].windows(4).any(|w| w == b"\r\n\r\n");
            self.head_scanned = self.buf.len();
            if ended || self.buf.len() > 64 * 1024 {
                self.head = parse_head(&self.buf)?;
            }
        }
        let Some((status, framing, start)) = &self.head else {
            return Ok(None);
        };
        let status = *status;
        if !self.wants_body {
            return Ok(Some(Response {
                status,
                body: Vec::new(),
            }));
        }
        let body = &self.buf[*start..];
        let cap = self.max_body;
        Ok(match framing {
            Framing::Length(n) if body.len() >= (*n).min(cap) => Some(Response {
                status,
                body: body[..body.len().min(*n).min(cap)].to_vec(),
            }),
            Framing::Chunked => {
                let (decoded, complete) = dechunk(body, cap)?;
                // Chunk framing costs a little: give up on the rest past twice the cap.
                if complete || body.len() > cap.saturating_mul(2).max(64 * 1024) {
                    Some(Response {
                        status,
                        body: decoded,
                    })
                } else {
                    None
                }
            }
            Framing::UntilClose if body.len() >= cap => Some(Response {
                status,
                body: body[..cap].to_vec(),
            }),
            _ => None,
        })
    }

    /// The peer closed the connection.
    pub(crate) fn eof(&self) -> Result<Response, FailReason> {
        match &self.head {
            Some((status, Framing::UntilClose, start)) => Ok(Response {
                status: *status,
                body: self.buf[*start..].to_vec(),
            }),
            Some(_) => Err(FailReason::BadReply(
                "connection closed inside the body".into(),
            )),
            None => Err(FailReason::BadReply(
                "connection closed before a response".into(),
            )),
        }
    }
}

impl Checker for HttpCheck {
    fn identity(&self) -> String {
        format!("{self:?}")
    }

    fn check(&self, deadline: Instant) -> Outcome {
        match self.fetch(deadline).and_then(|r| self.judge(&r)) {
            Ok(s) => Outcome::Success(s),
            Err(r) => Outcome::Failure(r),
        }
    }
}

impl HttpCheck {
    /// Runs the request and reads the response (body only if a body rule needs it).
    pub fn fetch(&self, deadline: Instant) -> Result<Response, FailReason> {
        let sock = self
            .connect
            .socket(Type::STREAM, Protocol::TCP)
            .map_err(|e| FailReason::from_io(&e))?;
        connect_blocking(
            &sock,
            self.connect.destination(),
            self.connect.connect_deadline(deadline),
        )?;
        if self.tls.is_some() {
            return self.fetch_tls(&sock, deadline);
        }
        send_all(&sock, &self.request(), deadline)?;
        let mut reader = ResponseReader::new(self);
        let mut chunk = [0u8; 8192];
        loop {
            let n = recv_some(&sock, &mut chunk, deadline)?;
            if n == 0 {
                return reader.eof();
            }
            if let Some(r) = reader.feed(&chunk[..n])? {
                return Ok(r);
            }
        }
    }
}

#[cfg(feature = "tls")]
impl HttpCheck {
    /// The request and response over TLS on a connected socket.
    fn fetch_tls(&self, sock: &socket2::Socket, deadline: Instant) -> Result<Response, FailReason> {
        let mut tls = super::tls::TlsSession::new(self)?;
        let mut reader = ResponseReader::new(self);
        let mut chunk = [0u8; 8192];
        let mut plain = Vec::new();
        loop {
            let out = tls.outgoing();
            if !out.is_empty() {
                send_all(sock, &out, deadline)?;
            }
            let n = recv_some(sock, &mut chunk, deadline)?;
            let ended = tls.incoming(&chunk[..n], &mut plain)?;
            if !plain.is_empty() {
                if let Some(r) = reader.feed(&plain)? {
                    return Ok(r);
                }
                plain.clear();
            }
            if ended {
                return reader.eof();
            }
        }
    }
}

#[cfg(not(feature = "tls"))]
impl HttpCheck {
    fn fetch_tls(
        &self,
        _sock: &socket2::Socket,
        _deadline: Instant,
    ) -> Result<Response, FailReason> {
        Err(tls_unavailable())
    }
}

/// The failure of an HTTPS check in a build without TLS.
#[cfg(not(feature = "tls"))]
pub(crate) fn tls_unavailable() -> FailReason {
    FailReason::Io("HTTPS needs lvs-healthcheck's `tls` feature".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_and_chunked_body_parse() {
        let raw = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 3\r\n\r\nabc";
        let Ok(Some((status, Framing::Length(3), start))) = parse_head(raw) else {
            panic!("head did not parse");
        };
        assert_eq!((status, &raw[start..]), (503, &b"abc"[..]));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n").is_ok_and(|h| h.is_none()));
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert_eq!(
            dechunk(b"3\r\nwww\r\n1;x=y\r\n1\r\n0\r\n\r\n", 100),
            Ok((b"www1".to_vec(), true))
        );
        assert_eq!(dechunk(b"3\r\nww", 100), Ok((Vec::new(), false)));
        assert_eq!(
            dechunk(b"3\r\nwww\r\n3\r\nxyz\r\n", 4),
            Ok((b"wwwx".to_vec(), true))
        );
    }

    #[test]
    fn a_head_arriving_a_byte_at_a_time_reads_the_same() {
        let check = HttpCheck::new(
            ConnectOptions::new("127.0.0.1:80".parse().unwrap_or_else(|e| panic!("{e}"))),
            "/",
        )
        .with_body_contains(b"ok".to_vec());
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let mut reader = ResponseReader::new(&check);
        let mut got = None;
        for byte in raw.chunks(1) {
            assert!(got.is_none(), "response before its last byte");
            got = reader.feed(byte).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(
            got,
            Some(Response {
                status: 200,
                body: b"ok".to_vec()
            })
        );
        // A head that never ends still fails at 64 KiB, fed in small pieces
        // (and without rescanning it: 64 KiB of 7-byte reads is instant).
        let mut reader = ResponseReader::new(&check);
        let mut failed = false;
        for _ in 0..(70 * 1024 / 7) {
            match reader.feed(b"X-A: b\n") {
                Ok(None) => {}
                Err(FailReason::BadReply(_)) => {
                    failed = true;
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(failed, "an endless head was accepted");
    }

    #[test]
    fn status_ranges_substring_and_digest() {
        let mut c = HttpCheck::new(
            ConnectOptions::new("127.0.0.1:80".parse().unwrap_or_else(|e| panic!("{e}"))),
            "/",
        );
        let ok = Response {
            status: 200,
            body: b"www1\n".to_vec(),
        };
        assert_eq!(c.judge(&ok), Ok(Success::HttpStatus(200)));
        assert_eq!(
            c.judge(&Response {
                status: 500,
                body: vec![]
            }),
            Err(FailReason::BadStatus(500))
        );
        c.body_contains = Some(b"www2".to_vec());
        assert_eq!(c.judge(&ok), Err(FailReason::BadBody));
        c.body_contains = None;
        // md5("www1\n") computed with coreutils md5sum.
        c.body_md5 = HttpCheck::parse_md5_hex("00b071bd22658431cc6ec1d5d9f6f287");
        assert_eq!(c.judge(&ok), Ok(Success::HttpStatus(200)));
        c.body_md5 = HttpCheck::parse_md5_hex("10b071bd22658431cc6ec1d5d9f6f287");
        assert_eq!(c.judge(&ok), Err(FailReason::BadBody));
        assert_eq!(HttpCheck::parse_md5_hex("xyz"), None);
    }
}
