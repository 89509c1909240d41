//! TLS on the gRPC port, as Apache's proxy serves it: the 5.x SDKs connect with TLS by default
//! (the Java client's `enableSsl` is true) and trust any certificate, and plaintext clients
//! connect to the same port. Each connection is sniffed: a first byte opening a TLS handshake
//! (0x16) gets a TLS session (ALPN `h2`) with the certificate of `tlsCertPath`/`tlsKeyPath`, or a
//! self-signed one in test mode (`tlsTestModeEnable`, default true); anything else is plaintext
//! HTTP/2. The certificate handling is rmq's (docs/tls.md), through rmq-remoting.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rmq_remoting::transport::tls::{ServerTls, TlsConfigError, TlsMode, TlsOptions};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::config::ProxyConfig;

/// First byte of a TLS handshake record.
const HANDSHAKE_RECORD: u8 = 0x16;
/// How long a client may take to open or finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the proxy cannot serve TLS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate or key settings are wrong.
    #[error(transparent)]
    Config(#[from] TlsConfigError),
    /// rmq-remoting built no server configuration (it does for every mode but disabled).
    #[error("no TLS server configuration was built")]
    Unconfigured,
}

/// The acceptor for TLS clients, from the proxy's settings.
pub fn acceptor(config: &ProxyConfig) -> Result<TlsAcceptor, TlsError> {
    let path = |p: &str| (!p.is_empty()).then(|| PathBuf::from(p));
    let mut options = TlsOptions::server(TlsMode::Permissive);
    options.test_mode = config.tls_test_mode_enable;
    options.server_cert_path = path(&config.tls_cert_path);
    options.server_key_path = path(&config.tls_key_path);
    let server = ServerTls::from_options(&options)?;
    let mut rustls = server
        .rustls_config()
        .map(|c| (*c).clone())
        .ok_or(TlsError::Unconfigured)?;
    rustls.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(rustls)))
}

/// A client connection, plaintext or TLS.
pub enum Conn {
    /// Plaintext HTTP/2.
    Plain(TcpStream),
    /// HTTP/2 over TLS.
    Tls(Box<TlsStream<TcpStream>>),
}

/// Accepts connections on `listener` and hands them on once each is known to be plaintext or
/// has finished its TLS handshake; failed handshakes are logged and dropped.
pub fn incoming(
    listener: TcpListener,
    acceptor: TlsAcceptor,
) -> ReceiverStream<Result<Conn, io::Error>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            if tx.is_closed() {
                break;
            }
            let (conns, acceptor) = (tx.clone(), acceptor.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, open(stream, acceptor)).await {
                    Ok(Ok(conn)) => {
                        let _ = conns.send(Ok(conn)).await;
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "connection dropped"),
                    Err(_) => tracing::debug!(%peer, "no TLS handshake in time"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

async fn open(stream: TcpStream, acceptor: TlsAcceptor) -> io::Result<Conn> {
    // An answer is several small writes (headers, data, trailers): with Nagle on, the last one
    // waits for the client's delayed ACK, 40 ms (bench/grpc-proxy.sh showed it at p99).
    stream.set_nodelay(true)?;
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await? == 1 && first[0] == HANDSHAKE_RECORD {
        Ok(Conn::Tls(Box::new(acceptor.accept(stream).await?)))
    } else {
        Ok(Conn::Plain(stream))
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        match self {
            Conn::Plain(s) => s.connect_info(),
            Conn::Tls(s) => s.get_ref().0.connect_info(),
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
