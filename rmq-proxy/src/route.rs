//! QueryRoute: a topic's queues, each reached through the proxy's own endpoints.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::context::ProxyContext;
use crate::proto::v2::{QueryRouteRequest, QueryRouteResponse};

/// QueryRoute.
pub async fn query_route(
    _ctx: &Arc<ProxyContext>,
    _request: Request<QueryRouteRequest>,
) -> Result<Response<QueryRouteResponse>, Status> {
    Err(Status::unimplemented("QueryRoute: in progress"))
}
