//! queryMsgTraceById: a message's trace (send, then each consumer group's consumptions), read
//! from the trace topic and printed in Apache mqadmin's layout.

use std::collections::BTreeMap;

use anyhow::Context;
use clap::Args;
use rmq_client::{Admin, TraceType, TraceView, RMQ_SYS_TRACE_TOPIC};

use super::format::human_seconds;

/// Flags of `queryMsgTraceById`.
#[derive(Args)]
pub struct QueryTraceArgs {
    /// Message id (the id the producer got back).
    #[arg(short = 'i', long = "msgId")]
    msg_id: String,
    /// The trace topic, if the clients wrote to a custom one.
    #[arg(short = 't', long = "traceTopic", default_value = RMQ_SYS_TRACE_TOPIC)]
    trace_topic: String,
}

pub(super) async fn query(admin: &Admin, args: &QueryTraceArgs) -> anyhow::Result<()> {
    let msg_id = args.msg_id.trim();
    let topic = args.trace_topic.trim();
    let views = admin
        .query_trace(topic, msg_id)
        .await
        .with_context(|| format!("cannot read the trace of {msg_id} from {topic}"))?;
    print!("{}", render(&views));
    Ok(())
}

/// One row of the table.
fn row(kind: &str, group: &str, host: &str, time: &str, cost: &str, status: &str) -> String {
    format!("{kind:<10} {group:<20} {host:<20} {time:<20} {cost:<10} {status:<10}\n")
}

/// Java's layout: each Pub record under its own header, then one table per consumer group of
/// its SubAfter records (groups in name order).
fn render(views: &[TraceView]) -> String {
    let status = |v: &TraceView| {
        if v.record.success {
            "success"
        } else {
            "failed"
        }
    };
    let line = |kind: &str, v: &TraceView| {
        row(
            kind,
            &v.record.group,
            &v.client_host,
            &human_seconds(v.record.timestamp),
            &format!("{}ms", v.record.cost_time),
            status(v),
        )
    };
    let mut out = String::new();
    let mut consumers: BTreeMap<&str, Vec<&TraceView>> = BTreeMap::new();
    for v in views {
        match v.record.trace_type {
            TraceType::Pub => {
                out += &row(
                    "#Type",
                    "#ProducerGroup",
                    "#ClientHost",
                    "#SendTime",
                    "#CostTimes",
                    "#Status",
                );
                out += &line("Pub", v);
                out += "\n";
            }
            TraceType::SubAfter => consumers.entry(&v.record.group).or_default().push(v),
            TraceType::SubBefore | TraceType::EndTransaction => {}
        }
    }
    for subs in consumers.values() {
        out += &row(
            "#Type",
            "#ConsumerGroup",
            "#ClientHost",
            "#ConsumerTime",
            "#CostTimes",
            "#Status",
        );
        for v in subs {
            out += &line("Sub", v);
        }
        out += "\n";
    }
    out
}
