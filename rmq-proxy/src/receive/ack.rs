//! AckMessage, ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue: each decodes the
//! client's receipt handle (receipt.rs) and sends ACK_MESSAGE, CHANGE_MESSAGE_INVISIBLETIME or
//! CONSUMER_SEND_MSG_BACK to the message's broker, answering as Apache's proxy answers
//! (`AckMessageActivity`, `ChangeInvisibleDurationActivity`, `ForwardMessageToDLQActivity`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use rmq_client::ClientError;

use super::receipt::ReceiptHandle;
use crate::context::ProxyContext;
use crate::convert::now_ms;
use crate::proto::v2::{
    AckMessageRequest, AckMessageResponse, AckMessageResultEntry, ChangeInvisibleDurationRequest,
    ChangeInvisibleDurationResponse, Code, ForwardMessageToDeadLetterQueueRequest,
    ForwardMessageToDeadLetterQueueResponse, Resource, Status,
};
use crate::{status, validate};

/// `handle` if it is still in flight, else the status Apache's proxy answers: a handle past its
/// invisible time is expired (the broker may have handed the message out again).
fn live(handle: ReceiptHandle) -> Result<ReceiptHandle, Status> {
    if handle.next_visible_time() <= now_ms() {
        return Err(status::of(
            Code::InvalidReceiptHandle,
            "receipt handle is expired",
        ));
    }
    Ok(handle)
}

/// The handle to act on: the newest one when the proxy was renewing the message for this client
/// (taking it out of renewal, as Apache's proxy does on ack, change and forward), else the
/// client's own `text`, decoded.
async fn current_handle(
    ctx: &ProxyContext,
    client_id: &str,
    group: &str,
    msg_id: &str,
    text: &str,
) -> Result<ReceiptHandle, Status> {
    let handle = ReceiptHandle::decode(text)
        .ok_or_else(|| status::of(Code::InvalidReceiptHandle, "receipt handle is malformed"))?;
    let renewals = &ctx.receive.renewals;
    Ok(renewals
        .take(client_id, group, msg_id, &handle)
        .await
        .unwrap_or(handle))
}

/// The names of a request's topic and group, each checked as Apache's `GrpcValidator` does.
fn names(topic: Option<&Resource>, group: Option<&Resource>) -> Result<(String, String), Status> {
    let topic = validate::topic(topic)?.to_owned();
    Ok((topic, validate::consumer_group(group)?.to_owned()))
}

/// Acks one message; `Ok` unless the broker or the network failed.
pub(super) async fn ack_one(
    ctx: &Arc<ProxyContext>,
    group: &str,
    topic: &str,
    handle: &ReceiptHandle,
) -> Result<(), Status> {
    match ctx.receive.pop.ack(group, topic, &handle.info).await {
        Ok(()) => Ok(()),
        Err(e) => Err(ack_failure(&e, "ack failed: status is abnormal")),
    }
}

/// A broker's refusal is Apache's "status is abnormal" (its client turns any non-success code
/// into `AckStatus.NO_EXIST`); a transport failure keeps its own mapping.
fn ack_failure(e: &ClientError, abnormal: &str) -> Status {
    match e {
        ClientError::Refused { .. } => status::of(Code::InternalServerError, abnormal),
        other => status::from_client_error(other),
    }
}

/// AckMessage: each entry acked on its own; the response status is the entries' common code,
/// or MULTIPLE_RESULTS when they differ.
pub(super) async fn ack_message(
    ctx: &Arc<ProxyContext>,
    client_id: &str,
    request: AckMessageRequest,
) -> AckMessageResponse {
    let (topic, group) = match names(request.topic.as_ref(), request.group.as_ref()) {
        Ok(names) => names,
        Err(status) => {
            return AckMessageResponse {
                status: Some(status),
                entries: Vec::new(),
            }
        }
    };
    let acks = request.entries.iter().map(|entry| {
        let (topic, group) = (&topic, &group);
        async move {
            let (msg_id, text) = (&entry.message_id, &entry.receipt_handle);
            let handle = current_handle(ctx, client_id, group, msg_id, text).await;
            let outcome = match handle.and_then(live) {
                Ok(handle) => ack_one(ctx, group, topic, &handle).await,
                Err(status) => Err(status),
            };
            AckMessageResultEntry {
                message_id: entry.message_id.clone(),
                receipt_handle: entry.receipt_handle.clone(),
                status: Some(outcome.err().unwrap_or_else(status::ok)),
            }
        }
    });
    let entries = futures::future::join_all(acks).await;
    let codes: BTreeSet<i32> = entries
        .iter()
        .filter_map(|e| e.status.as_ref().map(|s| s.code))
        .collect();
    let status = match codes.len() {
        0 => status::of(Code::InternalServerError, "ack message result is empty"),
        1 => {
            let code = codes
                .first()
                .and_then(|c| Code::try_from(*c).ok())
                .unwrap_or(Code::InternalServerError);
            status::of(code, code.as_str_name())
        }
        _ => status::of(Code::MultipleResults, Code::MultipleResults.as_str_name()),
    };
    AckMessageResponse {
        status: Some(status),
        entries,
    }
}

/// ChangeInvisibleDuration: the message hidden for the asked duration from now, answered with
/// its new handle (the old one is stale from then on).
pub(super) async fn change_invisible_duration(
    ctx: &Arc<ProxyContext>,
    client_id: &str,
    request: ChangeInvisibleDurationRequest,
) -> ChangeInvisibleDurationResponse {
    let answer = |status: Status, receipt_handle: String| ChangeInvisibleDurationResponse {
        status: Some(status),
        receipt_handle,
    };
    let (topic, group) = match names(request.topic.as_ref(), request.group.as_ref()) {
        Ok(names) => names,
        Err(status) => return answer(status, String::new()),
    };
    let invisible_ms = request
        .invisible_duration
        .as_ref()
        .map_or(0, super::stream::duration_ms);
    if let Err(status) = super::stream::check_invisible_time(ctx, invisible_ms, 0) {
        return answer(status, String::new());
    }
    let (msg_id, text) = (&request.message_id, &request.receipt_handle);
    let handle = match current_handle(ctx, client_id, &group, msg_id, text)
        .await
        .and_then(live)
    {
        Ok(handle) => handle,
        Err(status) => return answer(status, String::new()),
    };
    let invisible = Duration::from_millis(u64::try_from(invisible_ms).unwrap_or(0));
    match ctx
        .receive
        .pop
        .change_invisible_time(&group, &topic, &handle.info, invisible)
        .await
    {
        Ok(info) => answer(
            status::ok(),
            ReceiptHandle::new(info, handle.commit_log_offset).encode(),
        ),
        Err(e) => answer(
            ack_failure(&e, "changeInvisibleDuration failed: status is abnormal"),
            String::new(),
        ),
    }
}

/// Sends a message to its group's dead-letter queue and acks it (Apache's
/// `ProducerProcessor.forwardMessageToDeadLetterQueue`): CONSUMER_SEND_MSG_BACK with
/// `delayLevel=-1`, then ACK_MESSAGE once the broker took it.
pub(super) async fn dead_letter(
    ctx: &Arc<ProxyContext>,
    group: &str,
    topic: &str,
    handle: &ReceiptHandle,
    msg_id: &str,
) -> Result<(), Status> {
    if handle.commit_log_offset < 0 {
        return Err(status::of(
            Code::InvalidReceiptHandle,
            "commit log offset is empty",
        ));
    }
    let pop = &ctx.receive.pop;
    pop.send_to_dead_letter_queue(group, topic, &handle.info, handle.commit_log_offset, msg_id)
        .await
        .map_err(|e| status::from_client_error(&e))?;
    if let Err(e) = pop.ack(group, topic, &handle.info).await {
        tracing::warn!(group, topic, msg_id, error = %e, "dead-lettered message not acked; it may be delivered again");
    }
    Ok(())
}

/// ForwardMessageToDeadLetterQueue.
pub(super) async fn forward_to_dead_letter_queue(
    ctx: &Arc<ProxyContext>,
    client_id: &str,
    request: ForwardMessageToDeadLetterQueueRequest,
) -> ForwardMessageToDeadLetterQueueResponse {
    let outcome = async {
        let (topic, group) = names(request.topic.as_ref(), request.group.as_ref())?;
        let (msg_id, text) = (&request.message_id, &request.receipt_handle);
        let handle = current_handle(ctx, client_id, &group, msg_id, text).await?;
        dead_letter(ctx, &group, &topic, &handle, &request.message_id).await
    };
    ForwardMessageToDeadLetterQueueResponse {
        status: Some(outcome.await.err().unwrap_or_else(status::ok)),
    }
}
