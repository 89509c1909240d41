//! GET_BROKER_RUNTIME_INFO: what `mqadmin brokerStatus` and the dashboards read, under the keys
//! and in the formats of Apache RocketMQ 4.9.7's broker. Figures this broker does not measure
//! yet are reported as such in `interop/known-differences.txt` (`broker:stats:*`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::body::route::KvTable;
use rmq_remoting::message::store_timestamp_at;
use rmq_remoting::transport::{Connection, HandlerResult};
use rmq_remoting::RemotingCommand;

use super::admin::{boot_millis, json_answer, BROKER_VERSION_DESC};
use crate::state::BrokerContext;

/// A double the way Java's `String.valueOf(double)` writes it in most cases (`0.0`, `12.5`).
fn java_double(value: f64) -> String {
    format!("{value:?}")
}

/// GET_BROKER_RUNTIME_INFO: the store's and the broker's figures under Apache 4.9.7's keys.
pub(super) async fn runtime_info(
    ctx: Arc<BrokerContext>,
    _: Connection,
    _: RemotingCommand,
) -> HandlerResult {
    let stats = ctx.store.stats();
    let boot = boot_millis(&ctx);
    let earliest = ctx
        .store
        .look_message_by_offset(stats.commit_log_min_offset)
        .and_then(|record| store_timestamp_at(record.as_slice()))
        .unwrap_or(0);
    // The store measures put TPS over 10 s only; Java reports 10 s, 60 s and 600 s figures
    // separated by spaces, and tools read the first.
    let put_tps = java_double(stats.put_tps);
    let put_tps = format!("{put_tps} {put_tps} {put_tps}");
    let untracked_tps = "0.0 0.0 0.0".to_owned();
    let average_size = stats
        .put_message_bytes
        .checked_div(stats.put_message_count)
        .unwrap_or(0);
    let disk_ratio = java_double(stats.disk_used_ratio);
    let entries: Vec<(&str, String)> = vec![
        ("brokerVersionDesc", BROKER_VERSION_DESC.to_owned()),
        (
            "brokerVersion",
            rmq_remoting::command::RMQ_VERSION.to_string(),
        ),
        ("bootTimestamp", boot.to_string()),
        ("earliestMessageTimeStamp", earliest.to_string()),
        ("startAcceptSendRequestTimeStamp", "0".to_owned()),
        // Put counters start at broker start; midnight snapshots are not kept, so today's
        // count is everything since start.
        ("msgPutTotalTodayNow", stats.put_message_count.to_string()),
        ("msgPutTotalTodayMorning", "0".to_owned()),
        ("msgPutTotalYesterdayMorning", "0".to_owned()),
        // Deliveries are not counted yet.
        ("msgGetTotalTodayNow", "0".to_owned()),
        ("msgGetTotalTodayMorning", "0".to_owned()),
        ("msgGetTotalYesterdayMorning", "0".to_owned()),
        ("putTps", put_tps),
        ("getTransferedTps", untracked_tps.clone()),
        ("getFoundTps", untracked_tps.clone()),
        ("getMissTps", untracked_tps.clone()),
        ("getTotalTps", untracked_tps),
        ("putMessageTimesTotal", stats.put_message_count.to_string()),
        ("putMessageSizeTotal", stats.put_message_bytes.to_string()),
        ("putMessageAverageSize", average_size.to_string()),
        ("commitLogDiskRatio", disk_ratio.clone()),
        ("consumeQueueDiskRatio", disk_ratio),
        (
            "commitLogMinOffset",
            stats.commit_log_min_offset.to_string(),
        ),
        (
            "commitLogMaxOffset",
            stats.commit_log_max_offset.to_string(),
        ),
        (
            "remainHowManyDataToFlush",
            human_bytes(stats.commit_log_max_offset - stats.commit_log_flushed_offset),
        ),
        // Dispatch to consume queues and index happens in the append: nothing waits.
        ("dispatchBehindBytes", "0".to_owned()),
        ("dispatchMaxBuffer", "0".to_owned()),
        // Apache's figure when no transient store pool is in use (this store has none).
        ("remainTransientStoreBufferNumbs", i32::MAX.to_string()),
        (
            "runtime",
            uptime(ctx.boot_time.elapsed().unwrap_or_default()),
        ),
        ("pageCacheLockTimeMills", "0".to_owned()),
        ("sendThreadPoolQueueSize", "0".to_owned()),
        ("sendThreadPoolQueueHeadWaitTimeMills", "0".to_owned()),
        ("pullThreadPoolQueueSize", "0".to_owned()),
        ("pullThreadPoolQueueHeadWaitTimeMills", "0".to_owned()),
        ("queryThreadPoolQueueSize", "0".to_owned()),
        // 5.x `clusterList` prints timer figures; this broker has no timer store.
        ("timerReadBehind", "0".to_owned()),
        ("timerOffsetBehind", "0".to_owned()),
        ("timerCongestNum", "0".to_owned()),
        ("timerEnqueueTps", "0.0".to_owned()),
        ("timerDequeueTps", "0.0".to_owned()),
    ];
    let table = entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .chain(
            ctx.replication
                .runtime_info(&ctx.store, crate::role::is_slave(&ctx)),
        )
        .collect::<BTreeMap<_, _>>();
    Ok(json_answer(&KvTable { table }))
}

/// A byte count as Java's `MixAll.humanReadableByteCount(bytes, false)` writes it: `0 B`,
/// `7.9 KiB`, `1.0 GiB`.
fn human_bytes(bytes: i64) -> String {
    const UNIT: f64 = 1024.0;
    let bytes = bytes.max(0);
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let value = bytes as f64;
    let exp = ((value.ln() / UNIT.ln()) as usize).clamp(1, 6);
    let prefix = "KMGTPE".as_bytes()[exp - 1] as char;
    format!("{:.1} {prefix}iB", value / UNIT.powi(exp as i32))
}

/// Time since start as Apache's store reports it: `[ 0 days, 1 hours, 2 minutes, 3 seconds ]`.
fn uptime(elapsed: Duration) -> String {
    let s = elapsed.as_secs();
    format!(
        "[ {} days, {} hours, {} minutes, {} seconds ]",
        s / 86_400,
        s % 86_400 / 3_600,
        s % 3_600 / 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_like_javas() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(-5), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(8_100), "7.9 KiB");
        assert_eq!(human_bytes(1 << 30), "1.0 GiB");
    }

    #[test]
    fn uptime_reads_like_javas() {
        assert_eq!(
            uptime(Duration::from_secs(11)),
            "[ 0 days, 0 hours, 0 minutes, 11 seconds ]"
        );
        assert_eq!(
            uptime(Duration::from_secs(2 * 86_400 + 3 * 3_600 + 4 * 60 + 5)),
            "[ 2 days, 3 hours, 4 minutes, 5 seconds ]"
        );
    }
}
