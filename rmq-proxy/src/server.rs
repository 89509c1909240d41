//! Serving the gRPC endpoint on a bound listener until a shutdown signal: plaintext and TLS
//! clients on the same port (tls.rs).

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::context::ProxyContext;
use crate::proto::v2::messaging_service_server::MessagingServiceServer;
use crate::service::Service;
use crate::tls::{self, TlsError};

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// TLS could not be set up.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// The HTTP/2 server failed.
    #[error(transparent)]
    Transport(#[from] tonic::transport::Error),
}

/// Serves `MessagingService` from `ctx` on `listener` until `shutdown` completes.
pub async fn serve(
    ctx: Arc<ProxyContext>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let acceptor = tls::acceptor(&ctx.config)?;
    let max_inbound = usize::try_from(ctx.config.max_message_size.max(0))
        .unwrap_or(usize::MAX)
        .saturating_add(1024 * 1024)
        .max(4 * 1024 * 1024);
    let service =
        MessagingServiceServer::new(Service::new(ctx)).max_decoding_message_size(max_inbound);
    tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(tls::incoming(listener, acceptor), shutdown)
        .await?;
    Ok(())
}
