//! Serving the gRPC endpoint on a bound listener until a shutdown signal.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use crate::context::ProxyContext;
use crate::proto::v2::messaging_service_server::MessagingServiceServer;
use crate::service::Service;

/// Serves `MessagingService` from `ctx` on `listener` until `shutdown` completes.
pub async fn serve(
    ctx: Arc<ProxyContext>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let max_inbound = usize::try_from(ctx.config.max_message_size.max(0))
        .unwrap_or(usize::MAX)
        .saturating_add(1024 * 1024)
        .max(4 * 1024 * 1024);
    let service =
        MessagingServiceServer::new(Service::new(ctx)).max_decoding_message_size(max_inbound);
    tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}
