//! A minimal HTTP/1.0 server for lab backends: every request is answered
//! with `200 OK` and the server's name as the body, so a client can tell
//! which real server it reached (the seed's `www1` / `www2` pages).
//!
//! A compiled server, because under software emulation `python3 -m
//! http.server` times out on ~9 % of requests (LAB.md).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// Serves forever on `addr`, answering every request with `name`.
pub fn serve(addr: SocketAddr, name: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let name = name.to_string();
        std::thread::spawn(move || {
            let _ = answer(stream, &name);
        });
    }
    Ok(())
}

/// Answers one request on `stream` as `name`.
pub(super) fn answer(mut stream: TcpStream, name: &str) -> std::io::Result<()> {
    // Long enough for a request held open across a fault: the longest,
    // the faults part's 60 s of backend flapping.
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut buf = [0u8; 2048];
    let mut seen = Vec::new();
    // Read until the end of the request head; the lab sends no bodies.
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
        if seen.len() > 16 * 1024 {
            break;
        }
    }
    let body = format!("{name}\n");
    let head = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}
