//! The global `SSL` block: its certificate and key are read and checked
//! when the file is loaded and every `SSL_GET` presents them; `ca` is
//! warned about (never used to verify, as in keepalived), `password`
//! refused; unreadable or half-given files are errors at their place.

use lvs_director::{Check, DirectorConfig};

mod common;
use common::{ok, refused};

fn pem_files(tag: &str) -> (std::path::PathBuf, String, String) {
    let dir = std::env::temp_dir().join(format!("lvs-ssl-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let c = rcgen::generate_simple_self_signed(vec!["checker".to_string()]).unwrap();
    let cert = dir.join("client.pem");
    let key = dir.join("client.key");
    std::fs::write(&cert, c.cert.pem()).unwrap();
    std::fs::write(&key, c.key_pair.serialize_pem()).unwrap();
    let s = |p: std::path::PathBuf| p.to_str().unwrap().to_string();
    (dir, s(cert), s(key))
}

const SERVICE: &str = "virtual_server 10.0.0.1 443 {
  real_server 10.0.0.2 443 { SSL_GET { url { path / } } }
  real_server 10.0.0.3 443 { HTTP_GET { url { path / } } }
}";

#[test]
fn every_ssl_get_presents_the_client_certificate() {
    let (dir, cert, key) = pem_files("ok");
    let (cfg, warnings) = ok(&format!(
        "SSL {{\n certificate {cert}\n key {key}\n ca {cert}\n}}\n{SERVICE}"
    ));
    assert!(
        warnings
            .iter()
            .any(|w| w.to_string().starts_with("t.conf:4:2:") && w.to_string().contains("`ca`")),
        "{warnings:?}"
    );
    let id = cfg.ssl_identity.clone().expect("identity");
    assert_eq!(id.cert_chain_pem(), std::fs::read(&cert).unwrap());
    let typed = DirectorConfig::try_from(&cfg).unwrap();
    let tls = |rs: usize| match &typed.virtual_servers[0].real_servers[rs].probes[0].check {
        Check::Http(h) => h.tls.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(tls(0).and_then(|t| t.client_identity), Some(id));
    assert_eq!(tls(1), None, "HTTP_GET has no TLS");
    // Without an SSL block, SSL_GET presents nothing.
    let typed = DirectorConfig::try_from(&ok(SERVICE).0).unwrap();
    match &typed.virtual_servers[0].real_servers[0].probes[0].check {
        Check::Http(h) => assert_eq!(h.tls.as_ref().unwrap().client_identity, None),
        other => panic!("{other:?}"),
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_ssl_blocks_are_refused_where_they_are() {
    let (dir, cert, key) = pem_files("bad");
    let first = |text: String| refused(&text)[0].to_string();
    let e = first(format!(
        "SSL {{\n certificate {cert}\n key /nonexistent/k.pem\n}}"
    ));
    assert!(
        e.starts_with("t.conf:3:6:") && e.contains("/nonexistent/k.pem"),
        "{e}"
    );
    let e = first(format!("SSL {{\n certificate {cert}\n}}"));
    assert!(e.starts_with("t.conf:1:1:") && e.contains("both"), "{e}");
    // The key file given as the certificate: no certificate in it.
    let e = first(format!("SSL {{\n certificate {key}\n key {key}\n}}"));
    assert!(
        e.starts_with("t.conf:2:14:") && e.contains("certificate"),
        "{e}"
    );
    let e = first(format!(
        "SSL {{\n certificate {cert}\n key {key}\n password secret\n}}"
    ));
    assert!(
        e.starts_with("t.conf:4:2:") && e.contains("encrypted"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
