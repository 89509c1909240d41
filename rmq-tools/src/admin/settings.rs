//! getBrokerConfig, updateBrokerConfig, getNamesrvConfig, updateNamesrvConfig: Apache's
//! commands, flags and output, over rmq-client's admin (docs/admin-safety.md says which keys a
//! server lets change while it runs).

use anyhow::Context;
use clap::{ArgGroup, Args};
use rmq_client::Admin;

/// Which brokers a config command addresses: one (`-b`) or every member of a cluster (`-c`).
#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub struct BrokerTarget {
    /// The broker (ip:port).
    #[arg(short = 'b', long = "brokerAddr")]
    broker_addr: Option<String>,
    /// Every broker, masters and slaves, of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster_name: Option<String>,
}

/// Flags of `updateBrokerConfig`.
#[derive(Args)]
pub struct UpdateBrokerConfigArgs {
    #[command(flatten)]
    target: BrokerTarget,
    /// The setting's key.
    #[arg(short = 'k', long = "key")]
    key: String,
    /// Its new value.
    #[arg(short = 'v', long = "value")]
    value: String,
}

/// Flags of `updateNamesrvConfig`.
#[derive(Args)]
pub struct UpdateNamesrvConfigArgs {
    /// The setting's key.
    #[arg(short = 'k', long = "key")]
    key: String,
    /// Its new value.
    #[arg(short = 'v', long = "value")]
    value: String,
}

/// The addresses `target` names: the one given, or every broker of the cluster, masters first
/// within each group, as `(banner, address)` with Apache's banners.
async fn brokers(admin: &Admin, target: &BrokerTarget) -> anyhow::Result<Vec<(String, String)>> {
    if let Some(addr) = &target.broker_addr {
        return Ok(vec![(
            format!("============{addr}============"),
            addr.clone(),
        )]);
    }
    let cluster = target
        .cluster_name
        .as_deref()
        .context("pass -b brokerAddr or -c clusterName")?;
    let info = admin
        .cluster_info()
        .await
        .context("fetch the cluster info")?;
    let names = info
        .cluster_addr_table
        .get(cluster)
        .with_context(|| format!("cluster [{cluster}] is not registered with the name server"))?;
    let mut out = Vec::new();
    for data in names.iter().filter_map(|n| info.broker_addr_table.get(n)) {
        let master = data.broker_addrs.get(&0).cloned();
        for (id, addr) in &data.broker_addrs {
            let banner = match (id, &master) {
                (0, _) => format!("============Master: {addr}============"),
                (_, Some(m)) => format!("============My Master: {m}=====Slave: {addr}============"),
                (_, None) => format!("============Slave: {addr}============"),
            };
            out.push((banner, addr.clone()));
        }
    }
    Ok(out)
}

fn print_settings(settings: &[(String, String)]) {
    for (key, value) in settings {
        println!("{key:<50}=  {value}");
    }
    println!();
}

pub(super) async fn get_broker(admin: &Admin, target: &BrokerTarget) -> anyhow::Result<()> {
    for (banner, addr) in brokers(admin, target).await? {
        println!("{banner}");
        let settings = admin
            .broker_config(&addr)
            .await
            .with_context(|| format!("fetch the config of broker {addr}"))?;
        print_settings(&settings);
    }
    Ok(())
}

pub(super) async fn update_broker(
    admin: &Admin,
    args: &UpdateBrokerConfigArgs,
) -> anyhow::Result<()> {
    let setting = [(args.key.trim(), args.value.trim())];
    for (_, addr) in brokers(admin, &args.target).await? {
        admin
            .update_broker_config(&addr, &setting)
            .await
            .with_context(|| format!("update the config of broker {addr}"))?;
        println!("update broker config success, {addr}");
    }
    Ok(())
}

/// The name servers of `-n`, split as Apache splits them.
fn name_servers(namesrv: &str) -> impl Iterator<Item = &str> {
    namesrv.split(';').map(str::trim).filter(|a| !a.is_empty())
}

pub(super) async fn get_namesrv(admin: &Admin, namesrv: &str) -> anyhow::Result<()> {
    for addr in name_servers(namesrv) {
        let settings = admin
            .namesrv_config(addr)
            .await
            .with_context(|| format!("fetch the config of name server {addr}"))?;
        println!("============{addr}============");
        print_settings(&settings);
    }
    Ok(())
}

pub(super) async fn update_namesrv(
    admin: &Admin,
    namesrv: &str,
    args: &UpdateNamesrvConfigArgs,
) -> anyhow::Result<()> {
    let (key, value) = (args.key.trim(), args.value.trim());
    let servers: Vec<&str> = name_servers(namesrv).collect();
    for addr in &servers {
        admin
            .update_namesrv_config(addr, &[(key, value)])
            .await
            .with_context(|| format!("update the config of name server {addr}"))?;
    }
    println!("update name server config success!{servers:?}\n{key} : {value}");
    Ok(())
}
