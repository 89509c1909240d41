//! clusterList, brokerStatus.

use anyhow::Context;
use clap::{ArgGroup, Args};
use rmq_client::Admin;

use super::now_millis;

/// Flags of `brokerStatus`.
#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub struct BrokerStatusArgs {
    /// The broker (ip:port).
    #[arg(short = 'b', long = "brokerAddr")]
    broker_addr: Option<String>,
    /// Every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster_name: Option<String>,
}

/// The first number of a "12.5 11.0 10.2"-style TPS figure.
fn first_number(text: Option<&String>) -> f64 {
    text.and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0)
}

pub(super) async fn list(admin: &Admin) -> anyhow::Result<()> {
    let info = admin
        .cluster_info()
        .await
        .context("fetch the cluster info")?;
    println!(
        "{:<16}  {:<22}  {:<4}  {:<22} {:<16} {:>19} {:>19} {:>10} {:>5} {:>6}  #HA",
        "#Cluster Name",
        "#Broker Name",
        "#BID",
        "#Addr",
        "#Version",
        "#InTPS(LOAD)",
        "#OutTPS(LOAD)",
        "#PCWait(ms)",
        "#Hour",
        "#SPACE"
    );
    for (cluster, names) in &info.cluster_addr_table {
        for name in names {
            let Some(data) = info.broker_addr_table.get(name) else {
                continue;
            };
            let mut group = Vec::new();
            for (id, addr) in &data.broker_addrs {
                let stats = admin.broker_runtime_stats(addr).await.unwrap_or_default();
                group.push((id, addr, stats));
            }
            let master_max = group
                .iter()
                .find(|(id, _, _)| **id == 0)
                .and_then(|(_, _, s)| s.get("commitLogMaxOffset")?.parse::<i64>().ok());
            for (id, addr, stats) in &group {
                let get = |k: &str| stats.get(k).cloned().unwrap_or_default();
                let hour = stats
                    .get("earliestMessageTimeStamp")
                    .and_then(|t| t.parse::<i64>().ok())
                    .map_or(0.0, |t| (now_millis() - t) as f64 / 3_600_000.0);
                let space: f64 = get("commitLogDiskRatio").parse().unwrap_or(0.0);
                println!(
                    "{:<16}  {:<22}  {:<4}  {:<22} {:<16} {:>19} {:>19} {:>10} {:>5} {:>6}  {}",
                    cluster,
                    name,
                    id,
                    addr,
                    get("brokerVersionDesc"),
                    format!(
                        "{:9.2}({},{}ms)",
                        first_number(stats.get("putTps")),
                        get("sendThreadPoolQueueSize"),
                        get("sendThreadPoolQueueHeadWaitTimeMills")
                    ),
                    format!(
                        "{:9.2}({},{}ms)",
                        first_number(stats.get("getTransferedTps")),
                        get("pullThreadPoolQueueSize"),
                        get("pullThreadPoolQueueHeadWaitTimeMills")
                    ),
                    get("pageCacheLockTimeMills"),
                    format!("{hour:2.2}"),
                    format!("{space:.4}"),
                    ha_column(stats, master_max)
                );
            }
        }
    }
    Ok(())
}

/// Replication at a glance: on a master, how many slaves are connected and in sync; on a slave,
/// how many bytes of its master's commit log it lacks. Empty for brokers that report no HA
/// figures (Apache's).
fn ha_column(
    stats: &std::collections::BTreeMap<String, String>,
    master_max: Option<i64>,
) -> String {
    if let (Some(count), Some(in_sync)) = (
        stats.get("haConnectionCount"),
        stats.get("haInSyncSlaveNums"),
    ) {
        return format!("slaves {count}, in sync {in_sync}");
    }
    let Some(slave_max) = stats
        .get("haSlaveMaxOffset")
        .and_then(|m| m.parse::<i64>().ok())
    else {
        return String::new();
    };
    let connected = stats.get("haConnected").is_some_and(|c| c == "true");
    match master_max {
        Some(m) => format!(
            "{} {} bytes behind",
            if connected {
                "replicating,"
            } else {
                "disconnected,"
            },
            (m - slave_max).max(0)
        ),
        None => "master gone".to_owned(),
    }
}

pub(super) async fn broker_status(admin: &Admin, args: &BrokerStatusArgs) -> anyhow::Result<()> {
    if let Some(addr) = &args.broker_addr {
        let stats = admin
            .broker_runtime_stats(addr)
            .await
            .with_context(|| format!("fetch the status of broker {addr}"))?;
        for (k, v) in &stats {
            println!("{k:<32}: {v}");
        }
        return Ok(());
    }
    let cluster = args
        .cluster_name
        .as_deref()
        .context("pass -b brokerAddr or -c clusterName")?;
    for addr in admin.cluster_master_addrs(cluster).await? {
        let stats = admin
            .broker_runtime_stats(&addr)
            .await
            .with_context(|| format!("fetch the status of broker {addr}"))?;
        for (k, v) in &stats {
            println!("{addr:<24} {k:<32}: {v}");
        }
    }
    Ok(())
}
