//! GET_ALL_DELAY_OFFSET: how far delayed delivery has got, in the shape Apache RocketMQ 4.9's
//! `ScheduleMessageService` encodes it (`{"offsetTable":{level:offset}}`), for slaves that copy
//! it from their master (rmq's and Apache's). The timer's filing progress is left out: it is
//! meaningless without the master's timer wheel (see docs/replication.md).

use std::sync::Arc;

use rmq_remoting::body::stats::DelayOffsetSerializeWrapper;
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::transport::{Connection, HandlerResult, Router};
use rmq_remoting::{RemotingCommand, RequestCode};

use super::handler;
use crate::state::BrokerContext;

pub(super) fn register(router: Router, ctx: &Arc<BrokerContext>) -> Router {
    router.route(
        RequestCode::GET_ALL_DELAY_OFFSET,
        handler(ctx, all_delay_offsets),
    )
}

async fn all_delay_offsets(
    ctx: Arc<BrokerContext>,
    _: Connection,
    _: RemotingCommand,
) -> HandlerResult {
    let body = DelayOffsetSerializeWrapper {
        data_version: None,
        offset_table: ctx.schedule_progress.snapshot().offset_table,
    };
    Ok(RemotingCommand::success().with_body(fastjson::to_vec(&body, KeyStyle::Fastjson)))
}
