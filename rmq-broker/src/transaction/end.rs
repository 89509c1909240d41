//! END_TRANSACTION: the producer's verdict on a half message (first phase, or its answer to a
//! check-back). Commit re-stores the message to its real topic; both commit and rollback record
//! an op message so the check service leaves the half message alone from then on.

use std::sync::Arc;

use rmq_remoting::header::broker::EndTransactionRequestHeader;
use rmq_remoting::message::{self, decode_record, keys};
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};

use super::{store_committed, write_op, HALF_TOPIC};
use crate::processor::{handler, store_refusal};
use crate::state::BrokerContext;
use crate::stats::in_flight::Family;

/// Adds the END_TRANSACTION route.
pub(crate) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router.route(RequestCode::END_TRANSACTION, handler(ctx, end_transaction))
}

fn refuse(code: ResponseCode, remark: impl Into<String>) -> CommandError {
    CommandError::new(code, remark)
}

async fn end_transaction(
    ctx: Arc<BrokerContext>,
    conn: Connection,
    req: RemotingCommand,
) -> HandlerResult {
    let _serving = ctx.stats.in_flight.enter(Family::EndTransaction);
    let h: EndTransactionRequestHeader = req.decode_header()?;
    crate::role::refuse_end_transaction(&ctx)?;
    let commit = match h.commit_or_rollback {
        EndTransactionRequestHeader::COMMIT_TYPE => true,
        EndTransactionRequestHeader::ROLLBACK_TYPE => false,
        EndTransactionRequestHeader::NOT_TYPE => {
            tracing::debug!(group = %h.producer_group, msg_id = %h.msg_id, from_check = h.from_transaction_check,
                "the producer does not know the outcome yet; the check service will ask again");
            return Ok(RemotingCommand::success());
        }
        other => {
            return Err(refuse(
                ResponseCode::SYSTEM_ERROR,
                format!(
                "commitOrRollback must be 8 (commit), 12 (rollback) or 0 (unknown), not {other}"
            ),
            ))
        }
    };
    let Some(record) = ctx.store.look_message_by_offset(h.commit_log_offset) else {
        return Err(refuse(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "Find prepared transaction message failed: nothing at commit-log offset {}",
                h.commit_log_offset
            ),
        ));
    };
    let half = decode_record(record.as_slice(), false).map_err(|e| {
        refuse(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "the record at commit-log offset {} is unreadable: {e}",
                h.commit_log_offset
            ),
        )
    })?;
    let group = message::property_value(half.properties, keys::PGROUP).unwrap_or_default();
    let wrong = if half.topic != HALF_TOPIC {
        Some(format!(
            "the message at commit-log offset {} is not a half message",
            h.commit_log_offset
        ))
    } else if group != h.producer_group {
        Some(format!(
            "The producer group wrong: the half message belongs to {group:?}, not {:?}",
            h.producer_group
        ))
    } else if half.queue_offset != h.tran_state_table_offset {
        Some(format!(
            "The transaction state table offset wrong: {} instead of {}",
            h.tran_state_table_offset, half.queue_offset
        ))
    } else {
        None
    };
    if let Some(remark) = wrong {
        tracing::warn!(producer = %conn.peer_addr(), %remark, "END_TRANSACTION refused");
        return Err(refuse(ResponseCode::SYSTEM_ERROR, remark));
    }
    if commit {
        store_committed(&ctx, &half).await.map_err(store_refusal)?;
    }
    write_op(&ctx, half.queue_offset)
        .await
        .map_err(store_refusal)?;
    tracing::debug!(group, msg_id = %h.msg_id, commit, from_check = h.from_transaction_check, "transaction ended");
    Ok(RemotingCommand::success())
}
