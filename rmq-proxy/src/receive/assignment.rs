//! QueryAssignment as Apache's proxy answers it in cluster mode (`RouteActivity.queryAssignment`):
//! push consumers do not share queues among themselves; each receives from every broker that
//! holds readable queues of the topic, so the assignment is one entry per broker (queue id -1,
//! "any queue"), or every queue when the group consumes orderly (FIFO). Every broker is
//! reached through the proxy: its endpoints are the ones the client asked through.

use std::sync::Arc;

use rmq_remoting::body::route::MASTER_ID;
use rmq_remoting::body::topic::perm;

use crate::context::ProxyContext;
use crate::proto::v2::{
    Assignment, Broker, Code, MessageQueue, Permission, QueryAssignmentRequest,
    QueryAssignmentResponse, Status,
};
use crate::{status, validate};

/// The protobuf permission of remoting permission bits (Apache's `convertToPermission`).
fn permission(bits: i32) -> Permission {
    match (bits & perm::READ != 0, bits & perm::WRITE != 0) {
        (true, true) => Permission::ReadWrite,
        (true, false) => Permission::Read,
        (false, true) => Permission::Write,
        (false, false) => Permission::None,
    }
}

async fn assignments(
    ctx: &ProxyContext,
    request: &QueryAssignmentRequest,
) -> Result<Vec<Assignment>, Status> {
    validate::topic(request.topic.as_ref())?;
    let group = validate::consumer_group(request.group.as_ref())?;
    let topic = request.topic.clone().unwrap_or_default();
    let pop = &ctx.receive.pop;
    let route = pop
        .route(&topic.name)
        .await
        .map_err(|e| status::from_client_error(&e))?;
    let fifo = ctx
        .cluster
        .group_config(group)
        .await
        .and_then(|g| g.consume_message_orderly)
        .unwrap_or(false);
    let mut out = Vec::new();
    for queues in &route.queue_datas {
        if queues.perm & perm::READ == 0 || queues.read_queue_nums <= 0 {
            continue;
        }
        let Some(data) = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == queues.broker_name)
        else {
            continue;
        };
        if !data.broker_addrs.contains_key(&MASTER_ID) {
            continue;
        }
        let broker = Broker {
            name: queues.broker_name.clone(),
            id: i32::try_from(MASTER_ID).unwrap_or(0),
            endpoints: request.endpoints.clone(),
        };
        let ids: Vec<i32> = if fifo {
            (0..queues.read_queue_nums).collect()
        } else {
            vec![-1]
        };
        for id in ids {
            out.push(Assignment {
                message_queue: Some(MessageQueue {
                    topic: Some(topic.clone()),
                    id,
                    permission: permission(queues.perm) as i32,
                    broker: Some(broker.clone()),
                    accept_message_types: Vec::new(),
                }),
            });
        }
    }
    Ok(out)
}

/// QueryAssignment; no readable queue is FORBIDDEN, as Apache answers.
pub(super) async fn query_assignment(
    ctx: &Arc<ProxyContext>,
    request: QueryAssignmentRequest,
) -> QueryAssignmentResponse {
    match assignments(ctx, &request).await {
        Ok(assignments) if assignments.is_empty() => QueryAssignmentResponse {
            status: Some(status::of(Code::Forbidden, "no readable queue")),
            assignments,
        },
        Ok(assignments) => QueryAssignmentResponse {
            status: Some(status::ok()),
            assignments,
        },
        Err(status) => QueryAssignmentResponse {
            status: Some(status),
            assignments: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_follow_the_read_and_write_bits() {
        assert_eq!(permission(6), Permission::ReadWrite);
        assert_eq!(permission(4), Permission::Read);
        assert_eq!(permission(2), Permission::Write);
        assert_eq!(permission(0), Permission::None);
    }
}
