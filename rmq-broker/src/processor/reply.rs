//! SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325): a replier's answer to a request
//! message is pushed to the requesting client (PUSH_REPLY_MESSAGE_TO_CLIENT, 326) on the
//! connection its heartbeats came from, and stored in the reply topic when
//! `storeReplyMessageEnable` is on, as Apache 4.9's `ReplyMessageProcessor` does
//! (docs/request-reply.md).

use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::body::topic::perm;
use rmq_remoting::header::broker::{
    ReplyMessageRequestHeader, SendMessageRequestHeader, SendMessageResponseHeader,
};
use rmq_remoting::message::{self, keys};
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};
use rmq_store::{PutMessage, PutResult};

use super::send::writable_queue;
use super::{handler, store_refusal, SendProperties};
use crate::schedule::now_ms;
use crate::state::BrokerContext;
use crate::topics::validate_topic_name;

/// How long the requester may take to acknowledge a pushed reply (Apache's `callClient`).
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router
        .route(RequestCode::SEND_REPLY_MESSAGE, handler(ctx, send_reply))
        .route(RequestCode::SEND_REPLY_MESSAGE_V2, handler(ctx, send_reply))
}

fn refuse(code: ResponseCode, remark: impl Into<String>) -> CommandError {
    CommandError::new(code, remark)
}

async fn send_reply(
    ctx: Arc<BrokerContext>,
    conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let header = SendMessageRequestHeader::from_command(&req)?;
    crate::role::refuse_send(&ctx)?;
    if ctx.live.broker_permission() & perm::WRITE == 0 {
        return Err(refuse(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden (brokerPermission={})",
                ctx.broker_addr(),
                ctx.live.broker_permission()
            ),
        ));
    }
    validate_topic_name(&header.topic).map_err(|why| refuse(ResponseCode::SYSTEM_ERROR, why))?;
    let (topic, created) = ctx
        .topics
        .get_or_create_for_send(
            &header.topic,
            &header.default_topic,
            header.default_topic_queue_nums,
            0,
        )
        .map_err(|why| refuse(ResponseCode::TOPIC_NOT_EXIST, why))?;
    if created {
        ctx.topic_changes.announce();
    }
    let queue_id = writable_queue(&topic, header.queue_id, conn.peer_addr())?;
    let pushed = push(&ctx, &conn, &header, &req).await;
    // Apache stores the reply whether or not the push succeeded, with the properties as sent;
    // a failed put is logged and the answer follows the push.
    let stored = if ctx.config.store_reply_message_enable {
        store(&ctx, &conn, &header, queue_id, &req)
            .await
            .map_err(
                |e| tracing::warn!(topic = %header.topic, error = %e.remark, "reply not stored"),
            )
            .ok()
    } else {
        None
    };
    if let Err(remark) = pushed {
        return Err(refuse(ResponseCode::SYSTEM_ERROR, remark));
    }
    let response = SendMessageResponseHeader {
        // Apache answers "0" and offset 0 when the reply was pushed but not stored.
        msg_id: stored
            .as_ref()
            .map_or_else(|| "0".to_owned(), |r| r.msg_id.clone()),
        queue_id,
        queue_offset: stored.as_ref().map_or(0, |r| r.queue_offset),
        transaction_id: None,
        batch_uniq_id: None,
        recall_handle: None,
        delay_time: None,
        msg_region: "DefaultRegion".to_owned(),
        trace_on: true,
    };
    Ok(RemotingCommand::success_with_header(&response))
}

/// Hands the reply to the requester named by `REPLY_TO_CLIENT`; the error is Apache's remark.
async fn push(
    ctx: &BrokerContext,
    replier: &Connection,
    header: &SendMessageRequestHeader,
    req: &RemotingCommand,
) -> Result<(), String> {
    let properties = header.properties.as_deref().unwrap_or_default();
    let Some(requester) = message::property_value(properties, keys::REPLY_TO_CLIENT) else {
        tracing::warn!("a reply without REPLY_TO_CLIENT cannot be pushed");
        return Err(format!(
            "reply message properties[{}] is null",
            keys::REPLY_TO_CLIENT
        ));
    };
    let Some(channel) = ctx.clients.find_producer_channel(requester) else {
        let remark = format!("push reply message fail, channel of <{requester}> not found.");
        tracing::warn!(requester, "{remark}");
        return Err(remark);
    };
    let pushed_at = now_ms().to_string();
    let push = ReplyMessageRequestHeader {
        producer_group: header.producer_group.clone(),
        topic: header.topic.clone(),
        default_topic: header.default_topic.clone(),
        default_topic_queue_nums: header.default_topic_queue_nums,
        queue_id: header.queue_id,
        sys_flag: header.sys_flag,
        born_timestamp: header.born_timestamp,
        flag: header.flag,
        properties: Some(message::edit_properties(
            properties,
            &[(keys::PUSH_REPLY_TIME, &pushed_at)],
            &[],
        )),
        reconsume_times: header.reconsume_times,
        unit_mode: header.unit_mode,
        born_host: replier.peer_addr().to_string(),
        store_host: ctx.store_host.to_string(),
        store_timestamp: now_ms(),
    };
    let request = RemotingCommand::request(RequestCode::PUSH_REPLY_MESSAGE_TO_CLIENT, &push)
        .with_body(req.body.clone());
    let failed = |why: String| {
        tracing::warn!(requester, peer = %channel.peer_addr(), "push reply message failed: {why}");
        format!("push reply message to {requester}fail.")
    };
    match channel.invoke(request, PUSH_TIMEOUT).await {
        Ok(answer) if answer.code == ResponseCode::SUCCESS.as_i32() => Ok(()),
        Ok(answer) => Err(failed(answer.remark.unwrap_or_default())),
        Err(e) => Err(failed(e.to_string())),
    }
}

/// Appends the reply to the reply topic, counted like any put.
async fn store(
    ctx: &BrokerContext,
    replier: &Connection,
    header: &SendMessageRequestHeader,
    queue_id: i32,
    req: &RemotingCommand,
) -> Result<PutResult, CommandError> {
    let put = PutMessage {
        topic: header.topic.clone(),
        queue_id,
        flag: header.flag,
        body: req.body.clone(),
        properties: header.properties.clone().unwrap_or_default(),
        sys_flag: header.sys_flag,
        born_timestamp: header.born_timestamp,
        born_host: replier.peer_addr(),
        store_host: ctx.store_host,
        reconsume_times: header.reconsume_times.unwrap_or(0),
        prepared_transaction_offset: 0,
    };
    let result = ctx.store.put_message(put).await.map_err(store_refusal)?;
    ctx.stats.on_put(
        &header.topic,
        result.msg_num as u64,
        u64::try_from(result.wrote_bytes).unwrap_or(0),
    );
    let properties = SendProperties::read(header.properties.as_deref().unwrap_or_default());
    let kind = crate::metrics::MessageType::of(&properties);
    crate::metrics::on_put(ctx, &header.topic, kind, result.msg_num, result.wrote_bytes);
    Ok(result)
}
