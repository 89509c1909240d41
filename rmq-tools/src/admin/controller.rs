//! Controller-mode commands (RocketMQ 5): getControllerMetaData, getSyncStateSet,
//! getBrokerEpoch, electMaster. They talk to a controller (`-a`) or to the brokers directly,
//! and print in the layout of Apache's tool.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{ArgGroup, Args, Subcommand};
use rmq_client::{Admin, ClientConfig};
use rmq_remoting::body::controller::{
    BrokerReplicasInfo, ElectMasterResponseBody, EpochEntryCache, ReplicaIdentity,
};
use rmq_remoting::fastjson;
use rmq_remoting::header::controller::{
    ElectMasterRequestHeader, GetMetaDataResponseHeader, MasterInfoHeader,
};
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

const TIMEOUT: Duration = Duration::from_secs(5);

/// The controller-mode commands, named as in RocketMQ 5.
#[derive(Subcommand)]
#[command(rename_all = "camelCase")]
pub enum ControllerCommand {
    /// Get controller cluster's metadata.
    GetControllerMetaData(ControllerAddrArgs),
    /// Fetch syncStateSet for target brokers.
    GetSyncStateSet(SyncStateSetArgs),
    /// Fetch broker epoch entries.
    GetBrokerEpoch(BrokerEpochArgs),
    /// Re-elect the specified broker as master.
    ElectMaster(ElectMasterArgs),
}

/// Runs one controller command; `namesrv` is needed only to list a cluster's brokers.
pub(super) async fn run(
    command: &ControllerCommand,
    namesrv: Option<String>,
) -> anyhow::Result<()> {
    let admin = match (command, namesrv) {
        (ControllerCommand::GetBrokerEpoch(_), None) => {
            bail!("getBrokerEpoch finds the brokers through the name server: pass -n host:port or set NAMESRV_ADDR")
        }
        (
            ControllerCommand::GetBrokerEpoch(_) | ControllerCommand::GetSyncStateSet(_),
            Some(addr),
        ) => Some(
            Admin::start(ClientConfig {
                namesrv_addr: addr,
                ..ClientConfig::default()
            })
            .await?,
        ),
        _ => None,
    };
    let result = match command {
        ControllerCommand::GetControllerMetaData(args) => metadata(args).await,
        ControllerCommand::GetSyncStateSet(args) => sync_state_set(admin.as_ref(), args).await,
        ControllerCommand::GetBrokerEpoch(args) => match &admin {
            Some(admin) => broker_epoch(admin, args).await,
            None => bail!("getBrokerEpoch needs the name server"),
        },
        ControllerCommand::ElectMaster(args) => elect_master(args).await,
    };
    if let Some(admin) = admin {
        admin.shutdown().await;
    }
    result
}

/// Flags of `getControllerMetaData`.
#[derive(Args)]
pub struct ControllerAddrArgs {
    /// The controller (ip:port).
    #[arg(short = 'a', long = "controllerAddress")]
    controller: String,
}

/// Flags of `getSyncStateSet`.
#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_name", "cluster_name"])))]
pub struct SyncStateSetArgs {
    /// The controller (ip:port; the first of a ';'-separated list is used).
    #[arg(short = 'a', long = "controllerAddress")]
    controller: String,
    /// One broker group.
    #[arg(short = 'b', long = "brokerName")]
    broker_name: Option<String>,
    /// Every broker group of this cluster (needs -n).
    #[arg(short = 'c', long = "clusterName")]
    cluster_name: Option<String>,
}

/// Flags of `getBrokerEpoch`.
#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_name", "cluster_name"])))]
pub struct BrokerEpochArgs {
    /// One broker group.
    #[arg(short = 'b', long = "brokerName")]
    broker_name: Option<String>,
    /// Every broker group of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster_name: Option<String>,
}

/// Flags of `electMaster`.
#[derive(Args)]
pub struct ElectMasterArgs {
    /// The controller (ip:port).
    #[arg(short = 'a', long = "controllerAddress")]
    controller: String,
    /// The cluster of the broker group.
    #[arg(short = 'c', long = "clusterName")]
    cluster_name: String,
    /// The broker group (Apache's `-bn`).
    #[arg(long = "brokerName", alias = "bn")]
    broker_name: String,
    /// The controller id of the replica that should become master (Apache's `-b`).
    #[arg(short = 'b', long = "brokerId", short_alias = 'i')]
    broker_id: i64,
}

fn client() -> RemotingClient {
    RemotingClient::new(TransportConfig::default(), Router::new())
}

/// Sends `request` and insists on SUCCESS, naming the code and remark otherwise.
async fn call(
    client: &RemotingClient,
    addr: &str,
    request: RemotingCommand,
    what: &str,
) -> anyhow::Result<RemotingCommand> {
    let answer = client
        .invoke(addr, request, TIMEOUT)
        .await
        .with_context(|| format!("{what}: cannot reach {addr}"))?;
    if answer.code != ResponseCode::SUCCESS.as_i32() {
        let code = ResponseCode::from_i32(answer.code)
            .map_or_else(|| answer.code.to_string(), |c| c.to_string());
        bail!(
            "{what} refused by {addr}: {code}: {}",
            answer.remark.unwrap_or_default()
        );
    }
    Ok(answer)
}

async fn metadata(args: &ControllerAddrArgs) -> anyhow::Result<()> {
    let request =
        RemotingCommand::request_without_header(RequestCode::CONTROLLER_GET_METADATA_INFO);
    let answer = call(
        &client(),
        &args.controller,
        request,
        "getControllerMetaData",
    )
    .await?;
    let h: GetMetaDataResponseHeader = answer.decode_header()?;
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "null".to_owned());
    print!("\n#ControllerGroup\t{}", show(&h.group));
    print!("\n#ControllerLeaderId\t{}", show(&h.controller_leader_id));
    print!(
        "\n#ControllerLeaderAddress\t{}",
        show(&h.controller_leader_address)
    );
    for peer in h
        .peers
        .iter()
        .flat_map(|p| p.split(';'))
        .filter(|p| !p.is_empty())
    {
        print!("\n#Peer:\t{peer}");
    }
    println!();
    Ok(())
}

/// The broker groups of `cluster`, from the name server.
async fn groups_of(admin: &Admin, cluster: &str) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let info = admin
        .cluster_info()
        .await
        .context("fetch the cluster info")?;
    let Some(names) = info.cluster_addr_table.get(cluster) else {
        bail!(
            "cluster [{cluster}] is not registered with the name server; known clusters: {:?}",
            info.cluster_addr_table.keys().collect::<Vec<_>>()
        );
    };
    Ok(names
        .iter()
        .map(|name| {
            let addrs = info
                .broker_addr_table
                .get(name)
                .map(|d| d.broker_addrs.values().cloned().collect())
                .unwrap_or_default();
            (name.clone(), addrs)
        })
        .collect())
}

fn identity(r: &ReplicaIdentity) -> String {
    format!(
        "ReplicaIdentity{{brokerName='{}', brokerId={}, brokerAddress='{}', alive={}}}",
        r.broker_name, r.broker_id, r.broker_address, r.alive
    )
}

async fn sync_state_set(admin: Option<&Admin>, args: &SyncStateSetArgs) -> anyhow::Result<()> {
    let names: Vec<String> = match (&args.broker_name, &args.cluster_name) {
        (Some(name), _) => vec![name.trim().to_owned()],
        (None, Some(cluster)) => {
            let Some(admin) = admin else {
                bail!("-c needs the name server to list the cluster's broker groups: pass -n host:port or set NAMESRV_ADDR");
            };
            groups_of(admin, cluster.trim())
                .await?
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        }
        (None, None) => bail!("give -b brokerName or -c clusterName"),
    };
    let controller = args.controller.split(';').next().unwrap_or_default().trim();
    let request =
        RemotingCommand::request_without_header(RequestCode::CONTROLLER_GET_SYNC_STATE_DATA)
            .with_body(serde_json::to_vec(&names)?);
    let answer = call(&client(), controller, request, "getSyncStateSet").await?;
    let info: BrokerReplicasInfo = fastjson::from_slice(&answer.body)
        .context("the controller's BrokerReplicasInfo is malformed")?;
    for (name, r) in &info.replicas_info_table {
        print!(
            "\n#brokerName\t{name}\n#MasterBrokerId\t{}\n#MasterAddr\t{}\n#MasterEpoch\t{}\n#SyncStateSetEpoch\t{}\n#SyncStateSetNums\t{}\n",
            r.master_broker_id.map_or_else(|| "null".to_owned(), |id| id.to_string()),
            r.master_address,
            r.master_epoch,
            r.sync_state_set_epoch,
            r.in_sync_replicas.len()
        );
        for member in &r.in_sync_replicas {
            print!("\nInSyncReplica:\t{}\n", identity(member));
        }
        for member in &r.not_in_sync_replicas {
            print!("\nNotInSyncReplica:\t{}\n", identity(member));
        }
    }
    Ok(())
}

async fn broker_epoch(admin: &Admin, args: &BrokerEpochArgs) -> anyhow::Result<()> {
    let groups = match (&args.broker_name, &args.cluster_name) {
        (Some(name), _) => {
            let info = admin
                .cluster_info()
                .await
                .context("fetch the cluster info")?;
            let Some(data) = info.broker_addr_table.get(name.trim()) else {
                bail!("broker group [{name}] is not registered with the name server");
            };
            vec![(
                name.trim().to_owned(),
                data.broker_addrs.values().cloned().collect(),
            )]
        }
        (None, Some(cluster)) => groups_of(admin, cluster.trim()).await?,
        (None, None) => bail!("give -b brokerName or -c clusterName"),
    };
    let client = client();
    for (_, addrs) in groups {
        let addrs: BTreeSet<String> = addrs.into_iter().collect();
        for addr in addrs {
            let request =
                RemotingCommand::request_without_header(RequestCode::GET_BROKER_EPOCH_CACHE);
            let answer = call(&client, &addr, request, "getBrokerEpoch").await?;
            let cache: EpochEntryCache = fastjson::from_slice(&answer.body)
                .context("the broker's EpochEntryCache is malformed")?;
            print!(
                "\n#clusterName\t{}\n#brokerName\t{}\n#brokerAddr\t{addr}\n#brokerId\t{}",
                cache.cluster_name, cache.broker_name, cache.broker_id
            );
            let last = cache.epoch_list.len().saturating_sub(1);
            for (i, e) in cache.epoch_list.iter().enumerate() {
                // The newest entry ends where the log ends.
                let end = if i == last {
                    cache.max_offset
                } else {
                    e.end_offset
                };
                print!(
                    "\n#Epoch: EpochEntry{{epoch={}, startOffset={}, endOffset={end}}}",
                    e.epoch, e.start_offset
                );
            }
            println!();
        }
    }
    Ok(())
}

async fn elect_master(args: &ElectMasterArgs) -> anyhow::Result<()> {
    let header = ElectMasterRequestHeader {
        cluster_name: args.cluster_name.trim().to_owned(),
        broker_name: args.broker_name.trim().to_owned(),
        broker_id: args.broker_id,
        designate_elect: true,
        invoke_time: Some(super::now_millis()),
    };
    let request = RemotingCommand::request(RequestCode::CONTROLLER_ELECT_MASTER, &header);
    let answer = call(&client(), args.controller.trim(), request, "electMaster").await?;
    let h: MasterInfoHeader = answer.decode_header()?;
    let body: ElectMasterResponseBody = fastjson::from_slice(&answer.body).unwrap_or_default();
    let show = |v: Option<String>| v.unwrap_or_else(|| "null".to_owned());
    print!("\n#ClusterName\t{}", header.cluster_name);
    print!("\n#BrokerName\t{}", header.broker_name);
    print!("\n#BrokerMasterAddr\t{}", show(h.master_address));
    print!(
        "\n#MasterEpoch\t{}",
        show(h.master_epoch.map(|e| e.to_string()))
    );
    println!(
        "\n#SyncStateSetEpoch\t{}",
        show(h.sync_state_set_epoch.map(|e| e.to_string()))
    );
    if let Some(group) = body.broker_member_group {
        for (id, addr) in &group.broker_addrs {
            println!("\t#Broker\t{id}\t{addr}");
        }
    }
    Ok(())
}
