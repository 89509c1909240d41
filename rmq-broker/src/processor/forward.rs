//! GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309): an admin asks the broker
//! about one client of a consumer group, and the broker relays the request over that client's
//! own connection and hands back whatever the client answers. This is how `mqadmin
//! consumerStatus`, `consumeMessage` and the consoles reach consumers they cannot connect to.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rmq_remoting::header::broker::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
};
use rmq_remoting::message::decode_offset_msg_id;
use rmq_remoting::transport::{Connection, HandlerResult, Router, TransportError};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};

use super::handler;
use crate::state::BrokerContext;

/// How long the client may take to answer (Java's `Broker2Client.callClient`).
const CLIENT_ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Clients older than Java's `V3_1_8_SNAPSHOT` cannot answer these requests.
const MIN_CLIENT_VERSION: i32 = 62;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router
        .route(
            RequestCode::GET_CONSUMER_RUNNING_INFO,
            handler(ctx, consumer_running_info),
        )
        .route(
            RequestCode::CONSUME_MESSAGE_DIRECTLY,
            handler(ctx, consume_message_directly),
        )
}

async fn consumer_running_info(
    ctx: Arc<BrokerContext>,
    _: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let h: GetConsumerRunningInfoRequestHeader = req.decode_header()?;
    call_consumer(
        &ctx,
        RequestCode::GET_CONSUMER_RUNNING_INFO,
        req,
        &h.consumer_group,
        &h.client_id,
    )
    .await
}

async fn consume_message_directly(
    ctx: Arc<BrokerContext>,
    _: Connection,
    mut req: RemotingCommand,
) -> HandlerResult {
    let h: ConsumeMessageDirectlyResultRequestHeader = req.decode_header()?;
    // The client names this broker in the queue it hands its listener.
    req.ext_fields
        .insert("brokerName".to_owned(), ctx.config.broker_name.clone());
    let msg_id = h.msg_id.unwrap_or_default();
    let offset = decode_offset_msg_id(&msg_id)
        .map(|(_, offset)| offset)
        .map_err(|e| {
            CommandError::new(
                ResponseCode::SYSTEM_ERROR,
                format!("the message id {msg_id:?} is not an offset message id: {e}"),
            )
        })?;
    let record = ctx.store.look_message_by_offset(offset).ok_or_else(|| {
        CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("no message at the offset {offset} of message id {msg_id}"),
        )
    })?;
    req.body = Bytes::copy_from_slice(record.as_slice());
    let client_id = h.client_id.unwrap_or_default();
    call_consumer(
        &ctx,
        RequestCode::CONSUME_MESSAGE_DIRECTLY,
        req,
        &h.consumer_group,
        &client_id,
    )
    .await
}

/// Relays `req` (its fields and body) to the member `client_id` of `group` and returns its
/// answer unchanged; Java's codes and remarks when the client is absent, too old or silent.
async fn call_consumer(
    ctx: &BrokerContext,
    code: RequestCode,
    req: RemotingCommand,
    group: &str,
    client_id: &str,
) -> HandlerResult {
    let channel = ctx.clients.consumer_group(group).and_then(|g| {
        g.channels
            .into_values()
            .find(|channel| channel.client_id == client_id)
    });
    let Some(channel) = channel else {
        return Err(CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("The Consumer <{group}> <{client_id}> not online"),
        ));
    };
    if channel.version < MIN_CLIENT_VERSION {
        return Err(CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "The Consumer <{group}> Version <{}> too low to finish, please upgrade it to V3_1_8_SNAPSHOT",
                channel.version
            ),
        ));
    }
    let mut relayed = RemotingCommand::request_without_header(code);
    relayed.ext_fields = req.ext_fields;
    relayed.body = req.body;
    match channel.conn.invoke(relayed, CLIENT_ANSWER_TIMEOUT).await {
        Ok(answer) => Ok(answer),
        Err(e @ TransportError::Timeout { .. }) => Err(CommandError::new(
            ResponseCode::CONSUME_MSG_TIMEOUT,
            format!("consumer <{group}> <{client_id}> Timeout: {e}"),
        )),
        Err(e) => Err(CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("invoke consumer <{group}> <{client_id}> Exception: {e}"),
        )),
    }
}
