//! GET_BROKER_RUNTIME_INFO: what `mqadmin brokerStatus`, the dashboards and the exporters
//! read, under the keys and in the formats of Apache RocketMQ 4.9.7's broker, every figure
//! computed as Apache computes it (`crate::stats`). What this broker cannot measure is listed in
//! `interop/known-differences.txt` (`broker:stats:*`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::body::route::KvTable;
use rmq_remoting::message::store_timestamp_at;
use rmq_remoting::transport::{Connection, HandlerResult};
use rmq_remoting::RemotingCommand;

use super::admin::{boot_millis, json_answer, BROKER_VERSION_DESC};
use crate::state::BrokerContext;
use crate::stats::runtime::{java_double, Figure};

/// GET_BROKER_RUNTIME_INFO: the store's and the broker's figures under Apache 4.9.7's keys.
pub(super) async fn runtime_info(
    ctx: Arc<BrokerContext>,
    _: Connection,
    _: RemotingCommand,
) -> HandlerResult {
    let stats = ctx.store.stats();
    let runtime = &ctx.stats.runtime;
    let mornings = runtime.mornings();
    let put_times = ctx.store.put_times();
    let boot = boot_millis(&ctx);
    let earliest = ctx
        .store
        .look_message_by_offset(stats.commit_log_min_offset)
        .and_then(|record| store_timestamp_at(record.as_slice()))
        .unwrap_or(0);
    // Apache divides by the put count with 0 read as 1, and reports that 1.
    let times_total = stats.put_message_count.max(1);
    let disk_ratio = java_double(stats.disk_used_ratio);
    let store_config = ctx.store.config();
    let entries: Vec<(String, String)> = [
        ("brokerVersionDesc", BROKER_VERSION_DESC.to_owned()),
        (
            "brokerVersion",
            rmq_remoting::command::RMQ_VERSION.to_string(),
        ),
        ("bootTimestamp", boot.to_string()),
        ("earliestMessageTimeStamp", earliest.to_string()),
        // Apache's brokerConfig value, 0 unless set; this broker has no such setting.
        ("startAcceptSendRequestTimeStamp", "0".to_owned()),
        ("msgPutTotalTodayNow", stats.put_message_count.to_string()),
        ("msgPutTotalTodayMorning", mornings.put_today.to_string()),
        (
            "msgPutTotalYesterdayMorning",
            mornings.put_yesterday.to_string(),
        ),
        ("msgGetTotalTodayNow", ctx.stats.transferred().to_string()),
        ("msgGetTotalTodayMorning", mornings.get_today.to_string()),
        (
            "msgGetTotalYesterdayMorning",
            mornings.get_yesterday.to_string(),
        ),
        ("putTps", runtime.tps_line(Figure::Put)),
        ("getTransferedTps", runtime.tps_line(Figure::Transferred)),
        ("getFoundTps", runtime.tps_line(Figure::Found)),
        ("getMissTps", runtime.tps_line(Figure::Missed)),
        ("getTotalTps", runtime.total_tps_line()),
        ("putMessageTimesTotal", times_total.to_string()),
        ("putMessageSizeTotal", stats.put_message_bytes.to_string()),
        (
            "putMessageAverageSize",
            java_double(stats.put_message_bytes as f64 / times_total as f64),
        ),
        ("putMessageEntireTimeMax", put_times.max_ms.to_string()),
        ("putMessageFailedTimes", put_times.failed.to_string()),
        ("putMessageDistributeTime", runtime.put_distribution_line()),
        ("putLatency99", format!("{:.2}", runtime.put_latency(0.99))),
        (
            "putLatency999",
            format!("{:.2}", runtime.put_latency(0.999)),
        ),
        (
            "getMessageEntireTimeMax",
            ctx.stats.read_time_max_ms().to_string(),
        ),
        // Apache 4.9.7 never sets its dispatchMaxBuffer: it reports 0 always.
        ("dispatchMaxBuffer", "0".to_owned()),
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
        // Dispatch to consume queues and index happens in the append, under the writer lock:
        // no byte is ever written and not yet dispatched when another request looks.
        ("dispatchBehindBytes", "0".to_owned()),
        // Apache's figure when no transient store pool is in use (this store has none).
        ("remainTransientStoreBufferNumbs", i32::MAX.to_string()),
        (
            "runtime",
            uptime(ctx.boot_time.elapsed().unwrap_or_default()),
        ),
        (
            "pageCacheLockTimeMills",
            ctx.store.lock_time_ms().to_string(),
        ),
        // 5.x `clusterList` prints timer figures; this broker has no timer store.
        ("timerReadBehind", "0".to_owned()),
        ("timerOffsetBehind", "0".to_owned()),
        ("timerCongestNum", "0".to_owned()),
        ("timerEnqueueTps", "0.0".to_owned()),
        ("timerDequeueTps", "0.0".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .chain(
        ctx.stats
            .in_flight
            .runtime_info(ctx.config.max_in_flight_per_connection),
    )
    .chain(std::iter::once((
        format!(
            "commitLogDiskRatio_{}",
            store_config.commit_log_dir().display()
        ),
        java_double(stats.disk_used_ratio),
    )))
    .chain(dir_capacity(&store_config.store_path_root_dir))
    .chain(ctx.clock_skew.runtime_info())
    .collect();
    let table = entries
        .into_iter()
        .chain(
            ctx.replication
                .runtime_info(&ctx.store, crate::role::is_slave(&ctx)),
        )
        .collect::<BTreeMap<_, _>>();
    Ok(json_answer(&KvTable { table }))
}

/// `commitLogDirCapacity` as Apache writes it (`Total : 9.8 GiB, Free : 1.2 GiB.`), when the
/// store's root directory exists.
fn dir_capacity(root: &std::path::Path) -> Option<(String, String)> {
    let space = rmq_store::disk_space(root).ok()?;
    Some((
        "commitLogDirCapacity".to_owned(),
        format!(
            "Total : {}, Free : {}.",
            human_bytes(i64::try_from(space.total).unwrap_or(i64::MAX)),
            human_bytes(i64::try_from(space.usable).unwrap_or(i64::MAX))
        ),
    ))
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
