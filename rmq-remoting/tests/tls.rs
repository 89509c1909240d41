//! TLS over real TCP on 127.0.0.1: what each `tls.server.mode` serves on one port, how a
//! hostile first byte or a stalled handshake is handled, certificate checks with real PEM
//! files, and the write-side memory bound over TLS.

#![allow(deprecated)] // rustls::crypto::ring::default_provider, see transport::tls.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use rmq_remoting::frame::encode_frame;
use rmq_remoting::transport::tls::{ClientTls, ServerTls, TlsMode, TlsOptions};
use rmq_remoting::transport::{serve_tls, Connection, RemotingClient, Router, TransportConfig};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Log lines the servers in this test binary wrote.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    let _ = tracing_subscriber::fmt()
        .with_writer(|| LogWriter)
        .with_ansi(false)
        .try_init();
}

fn logged(text: &str) -> bool {
    String::from_utf8_lossy(&LOG.lock().unwrap()).contains(text)
}

/// A server answering GET_KV_CONFIG with its request's body, counting what it handled.
async fn start(tls: ServerTls, config: TransportConfig, body: usize) -> (String, Arc<AtomicUsize>) {
    let handled = Arc::new(AtomicUsize::new(0));
    let counter = handled.clone();
    let router = Router::new().route(
        RequestCode::GET_KV_CONFIG,
        move |_conn: Connection, req: RemotingCommand| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let answer = if body == 0 {
                    req.body.to_vec()
                } else {
                    vec![7u8; body]
                };
                Ok::<_, CommandError>(RemotingCommand::success().with_body(answer))
            }
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve_tls(
        listener,
        router,
        config,
        tls,
        std::future::pending(),
    ));
    (addr, handled)
}

async fn server(mode: TlsMode) -> String {
    let tls = ServerTls::from_options(&TlsOptions::server(mode)).unwrap();
    start(tls, TransportConfig::default(), 0).await.0
}

fn client(tls: bool) -> RemotingClient {
    let tls = ClientTls::from_options(&TlsOptions::client(tls)).unwrap();
    RemotingClient::new(TransportConfig::default(), Router::new()).with_tls(tls)
}

async fn echo(client: &RemotingClient, addr: &str, text: &str) -> Result<String, String> {
    let request = RemotingCommand::request_without_header(RequestCode::GET_KV_CONFIG)
        .with_body(text.as_bytes().to_vec());
    client
        .invoke(addr, request, Duration::from_secs(5))
        .await
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn permissive_serves_tls_and_plaintext_on_one_port() {
    let addr = server(TlsMode::Permissive).await;
    let (tls, plain) = (client(true), client(false));
    for i in 0..20 {
        assert_eq!(
            echo(&tls, &addr, &format!("tls {i}")).await.unwrap(),
            format!("tls {i}")
        );
        assert_eq!(
            echo(&plain, &addr, &format!("plain {i}")).await.unwrap(),
            format!("plain {i}")
        );
    }
    // A 1 MiB body crosses many TLS records both ways.
    let big = "x".repeat(1 << 20);
    assert_eq!(echo(&tls, &addr, &big).await.unwrap().len(), big.len());
}

#[tokio::test]
async fn enforcing_refuses_plaintext_with_a_log_line_and_serves_tls() {
    capture_logs();
    let addr = server(TlsMode::Enforcing).await;
    let refused = echo(&client(false), &addr, "plain").await;
    assert!(
        refused.is_err(),
        "a plaintext client was answered: {refused:?}"
    );
    assert!(
        logged("plaintext peer while tls.server.mode=enforcing"),
        "no log line for the refused peer"
    );
    assert_eq!(echo(&client(true), &addr, "tls").await.unwrap(), "tls");
}

#[tokio::test]
async fn disabled_refuses_tls_and_serves_plaintext() {
    let addr = server(TlsMode::Disabled).await;
    let refused = echo(&client(true), &addr, "tls").await;
    assert!(
        refused.is_err(),
        "a TLS client was answered by a disabled server: {refused:?}"
    );
    assert_eq!(echo(&client(false), &addr, "plain").await.unwrap(), "plain");
}

#[tokio::test]
async fn garbage_and_stalled_handshakes_never_stop_the_server() {
    capture_logs();
    for mode in [TlsMode::Permissive, TlsMode::Enforcing] {
        let addr = server(mode).await;
        // A peer that sends the TLS record byte and then nothing holds no other peer up.
        let mut stalled = TcpStream::connect(&addr).await.unwrap();
        stalled.write_all(&[0x16]).await.unwrap();
        for garbage in [
            vec![0x16; 4096],
            vec![0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2, 3],
            vec![0x16, 0x03, 0x03, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00],
            (0..=255u8).cycle().skip(0x16).take(10_000).collect(),
        ] {
            let mut peer = TcpStream::connect(&addr).await.unwrap();
            let _ = peer.write_all(&garbage).await;
            let mut rest = Vec::new();
            let read =
                tokio::time::timeout(Duration::from_secs(5), peer.read_to_end(&mut rest)).await;
            assert!(
                read.is_ok(),
                "{mode:?}: the server kept a garbage handshake open"
            );
        }
        assert!(logged("TLS handshake failed"));
        assert_eq!(
            echo(&client(true), &addr, "still here").await.unwrap(),
            "still here"
        );
        drop(stalled);
    }
}

#[tokio::test]
async fn peers_in_their_handshake_count_against_max_connections() {
    let tls = ServerTls::from_options(&TlsOptions::server(TlsMode::Permissive)).unwrap();
    let config = TransportConfig {
        max_connections: 2,
        ..TransportConfig::default()
    };
    let (addr, _) = start(tls, config, 0).await;
    // Two peers that start a handshake and stall hold both places.
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut peer = TcpStream::connect(&addr).await.unwrap();
        peer.write_all(&[0x16]).await.unwrap();
        stalled.push(peer);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(&addr).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), third.read(&mut byte)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "a third connection was kept while two handshakes held the cap: {read:?}"
    );
    // Once they go, TLS clients are served again.
    drop(stalled);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(echo(&client(true), &addr, "after").await.unwrap(), "after");
}

/// A CA, and a server certificate it signed, as PEM files in `dir`.
fn write_certificates(dir: &std::path::Path, name: &str) -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["broker.example".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let path = |file: &str| dir.join(format!("{name}-{file}")).display().to_string();
    std::fs::write(path("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(path("cert.pem"), cert.pem()).unwrap();
    std::fs::write(path("key.pem"), key.serialize_pem()).unwrap();
    (path("ca.pem"), path("cert.pem"), path("key.pem"))
}

fn settings(pairs: &[(&str, &str)]) -> TlsOptions {
    use rmq_config::Settings;
    let mut settings = rmq_remoting::transport::tls::TlsSettings::default();
    for (k, v) in pairs {
        settings.set(k, v).unwrap().unwrap();
    }
    // The file is named, so it must exist: an empty one.
    let empty = std::env::temp_dir().join(format!("rmq-tls-empty-{}", std::process::id()));
    std::fs::write(&empty, "").unwrap();
    settings
        .set("tls.config.file", &empty.display().to_string())
        .unwrap()
        .unwrap();
    settings.resolve("test").unwrap()
}

#[tokio::test]
async fn certificates_from_pem_files_are_checked_against_the_clients_trusted_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = write_certificates(dir.path(), "real");
    let (other_ca, ..) = write_certificates(dir.path(), "other");
    let server_options = settings(&[
        ("tls.server.mode", "enforcing"),
        ("tls.test.mode.enable", "false"),
        ("tls.server.certPath", &cert),
        ("tls.server.keyPath", &key),
    ]);
    let (addr, _) = start(
        ServerTls::from_options(&server_options).unwrap(),
        TransportConfig::default(),
        0,
    )
    .await;
    let verifying = |trust: &str| {
        let options = settings(&[
            ("tls.enable", "true"),
            ("tls.test.mode.enable", "false"),
            ("tls.client.authServer", "true"),
            ("tls.client.trustCertPath", trust),
        ]);
        RemotingClient::new(TransportConfig::default(), Router::new())
            .with_tls(ClientTls::from_options(&options).unwrap())
    };
    // Dialled by IP, the certificate names broker.example: the chain is what counts, as in Java.
    assert_eq!(
        echo(&verifying(&ca), &addr, "trusted").await.unwrap(),
        "trusted"
    );
    let refused = echo(&verifying(&other_ca), &addr, "untrusted").await;
    assert!(
        refused.is_err(),
        "a server signed by an untrusted CA was accepted"
    );

    let encrypted = dir.path().join("encrypted.pem");
    std::fs::write(
        &encrypted,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    let encrypted = encrypted.display().to_string();
    let err = ServerTls::from_options(&settings(&[
        ("tls.test.mode.enable", "false"),
        ("tls.server.certPath", &cert),
        ("tls.server.keyPath", &encrypted),
        ("tls.server.keyPassword", "secret"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("tls.server.keyPath")
            && err.contains("openssl pkcs8")
            && err.contains("test:"),
        "{err}"
    );
}

#[tokio::test]
async fn a_tls_peer_that_does_not_read_stops_being_read() {
    const REQUESTS: usize = 3_000;
    let tls = ServerTls::from_options(&TlsOptions::server(TlsMode::Enforcing)).unwrap();
    let (addr, handled) = start(
        tls,
        TransportConfig {
            max_queued_bytes_per_connection: 256 * 1024,
            write_stall_timeout: Duration::from_secs(60),
            ..TransportConfig::default()
        },
        64 * 1024,
    )
    .await;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(TrustAll))
        .with_no_client_auth(),
    ));
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let mut peer = connector
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let mut bytes = BytesMut::new();
    for opaque in 0..REQUESTS {
        let mut request = RemotingCommand::request_without_header(RequestCode::GET_KV_CONFIG);
        request.opaque = opaque as i32;
        encode_frame(&request, &mut bytes);
    }
    // The requests fit the socket buffers; their 64 KiB answers (190 MB) do not.
    tokio::time::timeout(Duration::from_secs(5), peer.write_all(&bytes))
        .await
        .unwrap()
        .unwrap();
    peer.flush().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let while_not_reading = handled.load(Ordering::SeqCst);
    assert!(
        while_not_reading < 500,
        "{while_not_reading} requests handled for a TLS peer that reads nothing"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        handled.load(Ordering::SeqCst),
        while_not_reading,
        "the server kept reading a TLS peer that reads nothing"
    );
    // Reading again gets every answer.
    let mut received = 0usize;
    let mut buffer = vec![0u8; 1 << 20];
    let expected = REQUESTS * (64 * 1024);
    while received < expected {
        let n = tokio::time::timeout(Duration::from_secs(10), peer.read(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed after {received} bytes");
        received += n;
    }
    assert_eq!(handled.load(Ordering::SeqCst), REQUESTS);
}

/// The test's raw TLS peer trusts the self-signed certificate.
#[derive(Debug)]
struct TrustAll;

impl rustls::client::danger::ServerCertVerifier for TrustAll {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
