//! Servers shared by the integration tests.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lvs_healthcheck::checker::dns::DnsCheck;
use lvs_healthcheck::{Checker, ConnectOptions};

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

pub fn soon(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

/// A port on 127.0.0.1 with nothing listening (TCP and UDP).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = l.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
    drop(l);
    port
}

/// Echoes every datagram back.
pub fn udp_echo(sock: UdpSocket) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let _ = sock.send_to(&buf[..n], from);
        }
    });
}

/// A dnsmasq on 127.0.0.1:`port`, killed on drop.
pub struct Dnsmasq {
    child: Child,
    pub port: u16,
}

impl Dnsmasq {
    pub fn start() -> Dnsmasq {
        lvs_testenv::require_program("dnsmasq");
        let port = closed_port();
        let big: Vec<String> = ["a", "b", "c"].iter().map(|c| c.repeat(250)).collect();
        let child = Command::new("dnsmasq")
            .args([
                "--no-daemon",
                "--conf-file=/dev/null",
                "--pid-file=",
                "--port",
                &port.to_string(),
                "--listen-address",
                "127.0.0.1",
                "--bind-interfaces",
                "--no-resolv",
                "--no-hosts",
                "--address=/www.lab/172.20.0.85",
                // No address: only locally known names exist, others are NXDOMAIN.
                "--address=/nx.lab/",
                &format!("--txt-record=big.lab,{},{},{}", big[0], big[1], big[2]),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start dnsmasq: {e}"));
        let d = Dnsmasq { child, port };
        // Wait until it answers (it binds within milliseconds).
        let probe = d.check("www.lab");
        let until = Instant::now() + Duration::from_secs(10);
        while !probe.check(soon(200)).is_success() {
            assert!(
                Instant::now() < until,
                "dnsmasq did not start answering on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    pub fn check(&self, name: &str) -> DnsCheck {
        DnsCheck::new(
            ConnectOptions::new(addr(&format!("127.0.0.1:{}", self.port))),
            name,
        )
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A tiny HTTP/1.1 server: `/ok` → 200 "www1\n", `/err` → 500, `/chunked`
/// → 200 chunked "www1\n". Records the Host headers it saw.
pub fn http_server() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let a = l.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let hosts = Arc::new(Mutex::new(Vec::new()));
    let h = hosts.clone();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&req).into_owned();
            let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
            if let Some(host) = text
                .lines()
                .find_map(|l| l.strip_prefix("Host: ").map(str::to_string))
            {
                h.lock().unwrap_or_else(|e| e.into_inner()).push(host);
            }
            let resp: &[u8] = match path.as_str() {
                "/ok" => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nwww1\n",
                "/chunked" => {
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nwww\r\n2\r\n1\n\r\n0\r\n\r\n"
                }
                _ => b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops",
            };
            let _ = s.write_all(resp);
        }
    });
    (a, hosts)
}
