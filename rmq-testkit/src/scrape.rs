//! Scraping a server's Prometheus endpoint the way Prometheus does: one `GET /metrics` over
//! a plain TCP connection, so the metrics tests of every server read the real HTTP answer.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The text `GET /metrics` on `127.0.0.1:port` answers, after asserting it is a 200 in
/// Prometheus's text format (version 0.0.4).
///
/// Panics when the server cannot be reached or answers otherwise: this is test support.
pub async fn scrape_metrics(port: u16) -> String {
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("connecting to the metrics port {port}: {e}"));
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("asking port {port} for /metrics: {e}"));
    let mut raw = String::new();
    conn.read_to_string(&mut raw)
        .await
        .unwrap_or_else(|e| panic!("reading /metrics from port {port}: {e}"));
    let Some((head, body)) = raw.split_once("\r\n\r\n") else {
        panic!("no end of headers in the /metrics answer: {raw}");
    };
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    body.to_owned()
}
