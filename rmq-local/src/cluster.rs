//! `rmq-local --cluster MODE`: a name server and every broker of one of RocketMQ's deployment
//! modes (2m-noslave, 2m-2s-async, 2m-2s-sync) in one process.
//!
//! The topology is the repository's `conf/<MODE>/*.properties`, compiled in, so `mqbroker -c`
//! on those files and `rmq-local --cluster` start the same brokers on the same ports. Only the
//! store directory (under `--data`), the ports (with `--brokerPortBase`) and the name server (the
//! in-process one unless `--namesrvAddr` is given) are changed here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use rmq_broker::{Broker, BrokerConfig, BrokerRole};
use rmq_config::properties::{self, Property};
use rmq_config::{apply_all, cli};
use rmq_remoting::body::route::ClusterInfo;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{fastjson, RemotingCommand, RequestCode, ResponseCode};
use rmq_store::StoreConfig;
use tokio::net::TcpListener;

/// listenPort of `broker-a` in every mode's files; `--brokerPortBase` moves every broker by
/// the same amount, keeping their spacing.
const FIRST_BROKER_PORT: u16 = 10911;

/// One broker's file: its name in `conf/<mode>/` without `.properties`, and its text.
type BrokerFile = (&'static str, &'static str);

/// The deployment modes and their files, masters before slaves.
const MODES: &[(&str, &[BrokerFile])] = &[
    (
        "2m-noslave",
        &[
            (
                "broker-a",
                include_str!("../../conf/2m-noslave/broker-a.properties"),
            ),
            (
                "broker-b",
                include_str!("../../conf/2m-noslave/broker-b.properties"),
            ),
        ],
    ),
    (
        "2m-2s-async",
        &[
            (
                "broker-a",
                include_str!("../../conf/2m-2s-async/broker-a.properties"),
            ),
            (
                "broker-b",
                include_str!("../../conf/2m-2s-async/broker-b.properties"),
            ),
            (
                "broker-a-s",
                include_str!("../../conf/2m-2s-async/broker-a-s.properties"),
            ),
            (
                "broker-b-s",
                include_str!("../../conf/2m-2s-async/broker-b-s.properties"),
            ),
        ],
    ),
    (
        "2m-2s-sync",
        &[
            (
                "broker-a",
                include_str!("../../conf/2m-2s-sync/broker-a.properties"),
            ),
            (
                "broker-b",
                include_str!("../../conf/2m-2s-sync/broker-b.properties"),
            ),
            (
                "broker-a-s",
                include_str!("../../conf/2m-2s-sync/broker-a-s.properties"),
            ),
            (
                "broker-b-s",
                include_str!("../../conf/2m-2s-sync/broker-b-s.properties"),
            ),
        ],
    ),
];

/// The mode names, for `--help` and error messages.
pub fn mode_names() -> String {
    MODES
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join("|")
}

/// What `--cluster` needs from the command line.
pub struct ClusterOptions {
    /// One of [`MODES`].
    pub mode: String,
    /// Root of every broker's store (`DATA/MODE/FILE`) and the name server's KV file.
    pub data: PathBuf,
    /// Name-server port (0 = any free port).
    pub namesrv_port: u16,
    /// listenPort of broker-a; the others keep their distance from it.
    pub broker_port_base: Option<u16>,
    /// `--KEY VALUE` settings applied to every broker after its file.
    pub overrides: Vec<Property>,
}

/// One broker of the mode, configured and ready to open.
struct Member {
    file: &'static str,
    config: BrokerConfig,
    store: StoreConfig,
}

impl Member {
    fn is_slave(&self) -> bool {
        self.config.broker_role == BrokerRole::Slave
    }

    fn role(&self) -> &'static str {
        match self.config.broker_role {
            BrokerRole::SyncMaster => "SYNC_MASTER",
            BrokerRole::AsyncMaster => "ASYNC_MASTER",
            BrokerRole::Slave => "SLAVE",
        }
    }
}

/// Reads the mode's files and the overrides into one configuration per broker.
fn members(opts: &ClusterOptions) -> anyhow::Result<Vec<Member>> {
    let Some((_, files)) = MODES.iter().find(|(name, _)| *name == opts.mode) else {
        anyhow::bail!(
            "--cluster {:?} is not a deployment mode; use one of {}",
            opts.mode,
            mode_names()
        );
    };
    let mut out = Vec::new();
    for (file, text) in files.iter() {
        let origin = format!("conf/{}/{file}.properties", opts.mode);
        let mut settings = (BrokerConfig::default(), StoreConfig::default());
        for warning in apply_all(&mut settings, &properties::parse(text), &origin, false)?
            .warnings
            .into_iter()
            .chain(apply_all(&mut settings, &opts.overrides, "command line", true)?.warnings)
        {
            tracing::warn!("{warning}");
        }
        let (mut config, mut store) = settings;
        store.store_path_root_dir = opts.data.join(&opts.mode).join(file);
        if let Some(base) = opts.broker_port_base {
            let shift = config
                .listen_port
                .checked_sub(FIRST_BROKER_PORT)
                .with_context(|| {
                    format!(
                        "{origin}: listenPort {} is below {FIRST_BROKER_PORT}",
                        config.listen_port
                    )
                })?;
            config.listen_port = base
                .checked_add(shift)
                .with_context(|| format!("--brokerPortBase {base} puts {file} above port 65535"))?;
        }
        out.push(Member {
            file,
            config,
            store,
        });
    }
    Ok(out)
}

/// Runs the name server and every broker of the mode until SIGINT/SIGTERM.
pub async fn run(opts: ClusterOptions) -> anyhow::Result<()> {
    let mut members = members(&opts)?;
    let own_namesrv = !opts.overrides.iter().any(|p| p.key == "namesrvAddr");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut stop = stop_rx.clone();
        async move {
            let _ = stop.wait_for(|s| *s).await;
        }
    };

    let mut tasks = Vec::new();
    // The name server stops after the brokers, so they can unregister.
    let (ns_stop_tx, ns_stop_rx) = tokio::sync::watch::channel(false);
    let mut namesrv = None;
    let namesrv_addr = if own_namesrv {
        let config = rmq_namesrv::NamesrvConfig {
            listen_port: opts.namesrv_port,
            kv_config_path: opts.data.join(&opts.mode).join("namesrv/kvConfig.json"),
            ..rmq_namesrv::NamesrvConfig::default()
        };
        let listener = bind(opts.namesrv_port, "the name server (--namesrvPort)").await?;
        let addr = format!("127.0.0.1:{}", listener.local_addr()?.port());
        let server = rmq_namesrv::NameServer::new(&config)?;
        let mut stop = ns_stop_rx;
        namesrv = Some(tokio::spawn(server.serve(listener, async move {
            let _ = stop.wait_for(|s| *s).await;
        })));
        for m in &mut members {
            m.config.namesrv_addr = addr.clone();
        }
        addr
    } else {
        members[0].config.namesrv_addr.clone()
    };

    // Bind every port before opening any store, so a taken port fails the start at once.
    let mut bound = Vec::new();
    for m in members {
        let what = format!("{} (listenPort of {})", m.file, m.config.broker_name);
        let listener = bind(m.config.listen_port, &what).await?;
        bound.push((m, listener));
    }
    let shutdown = cli::shutdown_signal();
    let mut lines = vec![format!(
        "rmq-local: cluster {} ({} brokers), data in {}\n  name server  {namesrv_addr}{}\n",
        opts.mode,
        bound.len(),
        opts.data.join(&opts.mode).display(),
        if own_namesrv { "" } else { " (external)" }
    )];
    // Masters first: a slave learns its master's replication address from its registration
    // answer, so the masters must be registered when the slaves register.
    let (masters, slaves): (Vec<_>, Vec<_>) = bound.into_iter().partition(|(m, _)| !m.is_slave());
    let mut master_names = Vec::new();
    for group in [masters, slaves] {
        let slaves_now = group.first().is_some_and(|(m, _)| m.is_slave());
        if slaves_now && own_namesrv {
            await_registered(&namesrv_addr, &master_names).await;
        }
        for (m, listener) in group {
            let port = listener.local_addr()?.port();
            let ip = m
                .config
                .broker_ip1
                .parse()
                .with_context(|| format!("{}: brokerIP1 must be an IP address", m.file))?;
            let addr = SocketAddr::new(ip, port);
            let (name, id, role, store) = (
                m.config.broker_name.clone(),
                m.config.broker_id,
                m.role(),
                m.store.store_path_root_dir.clone(),
            );
            if !m.is_slave() {
                master_names.push(name.clone());
            }
            let mut broker = Broker::open(m.config, m.store, addr)
                .with_context(|| format!("cannot open {}", m.file))?;
            broker.listen_on_fast_channel().await;
            lines.push(format!(
                "  {name:<10}  {role:<12} brokerId {id}  {addr}  HA {}  store {}\n",
                SocketAddr::new(ip, broker.ha_port()),
                store.display()
            ));
            tasks.push(tokio::spawn(broker.serve(listener, stopped())));
        }
    }
    lines.push("rmq-local: cluster ready; Ctrl-C stops every broker and the name server\n".into());
    cli::print(&lines.concat());

    shutdown.await;
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    let _ = ns_stop_tx.send(true);
    if let Some(task) = namesrv {
        let _ = task.await;
    }
    Ok(())
}

async fn bind(port: u16, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(("0.0.0.0", port)).await.with_context(|| {
        format!("cannot listen on port {port} for {what}; is something running there already?")
    })
}

/// Waits (at most 5 s) until the name server lists a master for each of `names`.
async fn await_registered(namesrv: &str, names: &[String]) {
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        let req = RemotingCommand::request_without_header(RequestCode::GET_BROKER_CLUSTER_INFO);
        if let Ok(resp) = client.invoke(namesrv, req, Duration::from_secs(1)).await {
            if resp.code == ResponseCode::SUCCESS.as_i32() {
                if let Ok(info) = fastjson::from_slice::<ClusterInfo>(&resp.body) {
                    let registered = |name: &String| {
                        info.broker_addr_table
                            .get(name)
                            .is_some_and(|b| b.broker_addrs.contains_key(&0))
                    };
                    if names.iter().all(registered) {
                        break;
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client.close_all().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The files' store paths are the ones `--cluster` uses with the default `--data rmq-data`,
    /// and every broker of a mode has its own port pair and store.
    #[test]
    fn files_agree_with_the_launcher_and_do_not_collide() {
        for (mode, files) in MODES {
            let opts = ClusterOptions {
                mode: (*mode).to_owned(),
                data: PathBuf::from("rmq-data"),
                namesrv_port: 9876,
                broker_port_base: None,
                overrides: Vec::new(),
            };
            let from_files: Vec<(BrokerConfig, StoreConfig)> = files
                .iter()
                .map(|(_, text)| {
                    let mut s = (BrokerConfig::default(), StoreConfig::default());
                    apply_all(&mut s, &properties::parse(text), "conf", true).unwrap();
                    s
                })
                .collect();
            let members = members(&opts).unwrap();
            let mut ports = std::collections::BTreeSet::new();
            for (m, (config, store)) in members.iter().zip(&from_files) {
                assert_eq!(
                    m.store.store_path_root_dir, store.store_path_root_dir,
                    "{mode}/{}",
                    m.file
                );
                assert_eq!(m.config.listen_port, config.listen_port);
                assert_eq!(config.namesrv_addr, "127.0.0.1:9876");
                assert_eq!(config.broker_ip1, "127.0.0.1");
                assert!(
                    ports.insert(config.listen_port) && ports.insert(config.listen_port + 1),
                    "{mode}: port clash"
                );
                let slave = m.is_slave();
                assert_eq!(
                    slave,
                    config.broker_id > 0,
                    "{mode}/{}: brokerId vs role",
                    m.file
                );
                let want = match (*mode, slave) {
                    (_, true) => BrokerRole::Slave,
                    ("2m-2s-sync", false) => BrokerRole::SyncMaster,
                    _ => BrokerRole::AsyncMaster,
                };
                assert_eq!(config.broker_role, want, "{mode}/{}", m.file);
            }
        }
    }

    #[test]
    fn port_base_shifts_every_broker_and_bad_modes_are_named() {
        let opts = ClusterOptions {
            mode: "2m-2s-sync".to_owned(),
            data: PathBuf::from("/d"),
            namesrv_port: 0,
            broker_port_base: Some(30000),
            overrides: Vec::new(),
        };
        let ports: Vec<u16> = members(&opts)
            .unwrap()
            .iter()
            .map(|m| m.config.listen_port)
            .collect();
        assert_eq!(ports, vec![30000, 30020, 30010, 30030]);
        let bad = ClusterOptions {
            mode: "3m".to_owned(),
            ..opts
        };
        let err = members(&bad).err().unwrap().to_string();
        assert!(err.contains("2m-noslave|2m-2s-async|2m-2s-sync"), "{err}");
    }
}
