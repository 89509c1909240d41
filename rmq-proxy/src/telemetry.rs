//! Telemetry: the bidirectional command stream of each client.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::context::ProxyContext;
use crate::proto::v2::TelemetryCommand;

/// The proxy's side of a telemetry stream.
pub type TelemetryStream =
    Pin<Box<dyn Stream<Item = Result<TelemetryCommand, Status>> + Send + 'static>>;

/// Telemetry.
pub async fn telemetry(
    _ctx: &Arc<ProxyContext>,
    _request: Request<Streaming<TelemetryCommand>>,
) -> Result<Response<TelemetryStream>, Status> {
    Err(Status::unimplemented("Telemetry: in progress"))
}
