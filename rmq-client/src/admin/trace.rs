//! Trace lookup (Java `mqadmin queryMsgTraceById`, the console's trace page): the records every
//! producer and consumer wrote about one message.

use std::net::SocketAddr;

use super::Admin;
use crate::error::Result;
use crate::trace::{decode, TraceRecord};

/// Trace messages one lookup asks each broker for (Java's `queryMsgTraceById` asks for 64).
const TRACE_QUERY_MAX: i32 = 64;

/// One trace record about the message looked up, with where the trace message came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceView {
    /// The decoded record.
    pub record: TraceRecord,
    /// The IP of the client that wrote the trace message (Java `TraceView.clientHost`, the
    /// trace message's born host).
    pub client_host: String,
    /// When the broker stored the trace message, ms since the epoch.
    pub trace_stored_at: i64,
}

impl Admin {
    /// The trace records about message `msg_id` (its `UNIQ_KEY`, what producers return) on
    /// `trace_topic` (normally [`crate::RMQ_SYS_TRACE_TOPIC`]): the trace messages indexed
    /// under that id, decoded, keeping the records about that message. Sorted by the trace
    /// messages' store time, then by record order; empty when nothing was traced.
    pub async fn query_trace(&self, trace_topic: &str, msg_id: &str) -> Result<Vec<TraceView>> {
        let end = crate::producer::now_ms();
        let found = self
            .query_messages_by_key(trace_topic, msg_id, TRACE_QUERY_MAX, 0, end)
            .await?;
        let mut views = Vec::new();
        for m in found {
            let client_host = ip_of(m.born_host);
            let body = String::from_utf8_lossy(&m.body);
            views.extend(
                decode(&body)
                    .into_iter()
                    .filter(|r| r.msg_id == msg_id)
                    .map(|record| TraceView {
                        record,
                        client_host: client_host.clone(),
                        trace_stored_at: m.store_timestamp,
                    }),
            );
        }
        Ok(views)
    }
}

/// The address without its port, as Java's `getBornHostString`.
fn ip_of(addr: SocketAddr) -> String {
    addr.ip().to_string()
}
