//! QueryRoute: a topic's queues as Apache's proxy in cluster mode answers them. Every broker of
//! the route is reached through the proxy itself (the addresses the client used, with the
//! proxy's gRPC port); queue ids, permissions and the accepted message types come from the name
//! server's queue data and the topic's `message.type`.

use std::sync::Arc;

use rmq_remoting::body::topic::perm;
use tonic::{Request, Response, Status};

use crate::context::ProxyContext;
use crate::proto::v2::{
    self, Broker, Endpoints, MessageQueue, Permission, QueryRouteRequest, QueryRouteResponse,
};
use crate::{status, validate};

/// QueryRoute.
pub async fn query_route(
    ctx: &Arc<ProxyContext>,
    request: Request<QueryRouteRequest>,
) -> Result<Response<QueryRouteResponse>, Status> {
    status::answer(route(ctx, request).await)
}

async fn route(
    ctx: &Arc<ProxyContext>,
    request: Request<QueryRouteRequest>,
) -> Result<QueryRouteResponse, v2::Status> {
    let client_id = crate::session::client_id(request.metadata())?;
    ctx.sessions.touch(&client_id);
    let request = request.into_inner();
    let topic = validate::topic(request.topic.as_ref())?;
    let route = ctx
        .cluster
        .route(topic)
        .await
        .map_err(|e| status::from_client_error(&e))?;
    let accepted = ctx.cluster.topic_type(topic).await.accepted();
    let endpoints = proxy_endpoints(ctx, request.endpoints.as_ref());
    let resource = request.topic.clone().unwrap_or_default();
    let mut message_queues = Vec::new();
    for data in &route.queue_datas {
        let Some(broker) = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == data.broker_name)
        else {
            break;
        };
        for id in broker.broker_addrs.keys() {
            let broker = broker_of(&data.broker_name, *id, &endpoints);
            message_queues.extend(
                queues_of(data.perm, data.read_queue_nums, data.write_queue_nums)
                    .into_iter()
                    .enumerate()
                    .map(|(queue_id, permission)| MessageQueue {
                        topic: Some(resource.clone()),
                        id: i32::try_from(queue_id).unwrap_or(i32::MAX),
                        permission: permission as i32,
                        broker: Some(broker.clone()),
                        accept_message_types: accepted.clone(),
                    }),
            );
        }
    }
    Ok(QueryRouteResponse {
        status: Some(status::ok()),
        message_queues,
    })
}

/// The proxy's own endpoints as a client should reach it: the hosts the client named, with the
/// port the proxy serves gRPC on (Apache's default, `useEndpointPortFromRequest=false`).
pub fn proxy_endpoints(ctx: &ProxyContext, requested: Option<&Endpoints>) -> Endpoints {
    let port = i32::from(ctx.config.grpc_server_port);
    let requested = requested.cloned().unwrap_or_default();
    Endpoints {
        scheme: requested.scheme,
        addresses: requested
            .addresses
            .into_iter()
            .map(|a| v2::Address { host: a.host, port })
            .collect(),
    }
}

/// A broker of a route, reached at `endpoints`.
pub fn broker_of(name: &str, id: i64, endpoints: &Endpoints) -> Broker {
    Broker {
        name: name.to_owned(),
        id: i32::try_from(id).unwrap_or(i32::MAX),
        endpoints: Some(endpoints.clone()),
    }
}

/// The permission a route shows for queues with permission bits `bits`.
pub fn permission(bits: i32) -> Permission {
    match (bits & perm::READ != 0, bits & perm::WRITE != 0) {
        (true, true) => Permission::ReadWrite,
        (true, false) => Permission::Read,
        (false, true) => Permission::Write,
        (false, false) => Permission::None,
    }
}

/// The queues of one broker's queue data, in id order, as Apache's proxy lays them out: first
/// the read-only ones, then the write-only ones, then those both readable and writable (a
/// topic whose read and write counts differ has some of each), or NONE queues when the topic
/// is neither.
fn queues_of(bits: i32, read: i32, write: i32) -> Vec<Permission> {
    let (read, write) = (read.max(0) as usize, write.max(0) as usize);
    let (readable, writable) = (bits & perm::READ != 0, bits & perm::WRITE != 0);
    let (mut r, mut w, mut rw, mut none) = (0, 0, 0, 0);
    match (readable, writable) {
        (true, true) => {
            rw = read.min(write);
            r = read - rw;
            w = write - rw;
        }
        (false, true) => w = write,
        (true, false) => r = read,
        (false, false) => none = read.max(write).max(1),
    }
    std::iter::repeat_n(Permission::Read, r)
        .chain(std::iter::repeat_n(Permission::Write, w))
        .chain(std::iter::repeat_n(Permission::ReadWrite, rw))
        .chain(std::iter::repeat_n(Permission::None, none))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_are_laid_out_as_apaches_proxy_lays_them_out() {
        let rw = perm::READ | perm::WRITE;
        assert_eq!(queues_of(rw, 2, 2), vec![Permission::ReadWrite; 2]);
        assert_eq!(
            queues_of(rw, 3, 1),
            vec![Permission::Read, Permission::Read, Permission::ReadWrite]
        );
        assert_eq!(queues_of(perm::WRITE, 8, 2), vec![Permission::Write; 2]);
        assert_eq!(queues_of(0, 0, 0), vec![Permission::None]);
        assert_eq!(permission(perm::READ), Permission::Read);
    }
}
