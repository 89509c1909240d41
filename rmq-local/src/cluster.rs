//! `rmq-local --cluster MODE`: a name server and every broker of one of RocketMQ's deployment
//! modes (2m-noslave, 2m-2s-async, 2m-2s-sync, and RocketMQ 5's controller mode) in one
//! process.
//!
//! The topology is the repository's `conf/<MODE>/` files, compiled in, so `mqbroker -c` and
//! `mqcontroller -c` on those files and `rmq-local --cluster` start the same servers on the same
//! ports. Only the store directories (under `--data`), the ports (with `--brokerPortBase` and
//! `--controllerPortBase`) and the name server (the in-process one unless `--namesrvAddr` is
//! given) are changed here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rmq_broker::{Broker, BrokerConfig, BrokerContext, BrokerRole};
use rmq_config::properties::{self, Property};
use rmq_config::{apply_all, cli, Settings};
use rmq_controller::{Controller, ControllerConfig};
use rmq_remoting::body::route::ClusterInfo;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{fastjson, RemotingCommand, RequestCode, ResponseCode};
use rmq_store::StoreConfig;
use tokio::net::TcpListener;
use tokio::time::Instant;

/// One file of a mode: its name in `conf/<mode>/` without the extension, and its text.
type ConfFile = (&'static str, &'static str);

/// A deployment mode: its broker files (masters before slaves) and, in controller mode, the
/// controllers' files.
struct Mode {
    name: &'static str,
    brokers: &'static [ConfFile],
    controllers: &'static [ConfFile],
}

/// The deployment modes and their files.
const MODES: &[Mode] = &[
    Mode {
        name: "2m-noslave",
        brokers: &[
            (
                "broker-a",
                include_str!("../../conf/2m-noslave/broker-a.properties"),
            ),
            (
                "broker-b",
                include_str!("../../conf/2m-noslave/broker-b.properties"),
            ),
        ],
        controllers: &[],
    },
    Mode {
        name: "2m-2s-async",
        brokers: &[
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
        controllers: &[],
    },
    Mode {
        name: "2m-2s-sync",
        brokers: &[
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
        controllers: &[],
    },
    Mode {
        name: "controller",
        brokers: &[
            (
                "broker-n0",
                include_str!("../../conf/controller/broker-n0.properties"),
            ),
            (
                "broker-n1",
                include_str!("../../conf/controller/broker-n1.properties"),
            ),
            (
                "broker-n2",
                include_str!("../../conf/controller/broker-n2.properties"),
            ),
        ],
        controllers: &[
            (
                "controller-n0",
                include_str!("../../conf/controller/controller-n0.conf"),
            ),
            (
                "controller-n1",
                include_str!("../../conf/controller/controller-n1.conf"),
            ),
            (
                "controller-n2",
                include_str!("../../conf/controller/controller-n2.conf"),
            ),
        ],
    },
];

/// How long the start waits for every broker to have its role and be in the name server's
/// route: controller mode needs a Raft election and a master election first.
const READY_WAIT: Duration = Duration::from_secs(15);

/// Controller keys the mode's files fix; overriding them would break the Raft group.
const FIXED_CONTROLLER_KEYS: &[&str] = &[
    "controllerDLegerPeers",
    "controllerDLegerSelfId",
    "controllerStorePath",
];

/// The mode names, for `--help` and error messages.
pub fn mode_names() -> String {
    MODES.iter().map(|m| m.name).collect::<Vec<_>>().join("|")
}

/// What `--cluster` needs from the command line.
pub struct ClusterOptions {
    /// One of [`MODES`].
    pub mode: String,
    /// Root of every store (`DATA/MODE/FILE`) and the name server's KV file.
    pub data: PathBuf,
    /// Name-server port (0 = any free port).
    pub namesrv_port: u16,
    /// listenPort of the mode's first broker; the others keep their distance from it.
    pub broker_port_base: Option<u16>,
    /// Port of controller n0 in controller mode; the others keep their distance from it.
    pub controller_port_base: Option<u16>,
    /// `--KEY VALUE` settings: controller keys go to every controller, the rest to every broker.
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
        !self.config.enable_controller_mode && self.config.broker_role == BrokerRole::Slave
    }
}

/// One controller of controller mode, configured and ready to start.
struct ControllerNode {
    file: &'static str,
    config: ControllerConfig,
    /// Its entry of `controllerDLegerPeers`, where it listens.
    addr: String,
}

fn role_name(role: BrokerRole) -> &'static str {
    match role {
        BrokerRole::SyncMaster => "SYNC_MASTER",
        BrokerRole::AsyncMaster => "ASYNC_MASTER",
        BrokerRole::Slave => "SLAVE",
    }
}

fn find_mode(name: &str) -> anyhow::Result<&'static Mode> {
    MODES.iter().find(|m| m.name == name).with_context(|| {
        format!(
            "--cluster {name:?} is not a deployment mode; use one of {}",
            mode_names()
        )
    })
}

/// Applies a mode's file (lenient, as `mqbroker -c` reads it), then the command-line
/// overrides (strict: a typo stops the start), logging what either warns about.
fn configure<S: Settings>(
    settings: &mut S,
    text: &str,
    origin: &str,
    overrides: &[Property],
) -> anyhow::Result<()> {
    let from_file = apply_all(settings, &properties::parse(text), origin, false)?.warnings;
    let from_command_line = apply_all(settings, overrides, "command line", true)?.warnings;
    for warning in from_file.into_iter().chain(from_command_line) {
        tracing::warn!("{warning}");
    }
    Ok(())
}

/// True for keys that configure a controller rather than a broker.
fn is_controller_key(key: &str) -> bool {
    ControllerConfig::keys().iter().any(|k| k.key == key)
}

/// `port + shift`, or an error naming the option that moved it out of range.
fn shifted(port: u16, shift: i32, option: &str, what: &str) -> anyhow::Result<u16> {
    u16::try_from(i32::from(port) + shift)
        .ok()
        .filter(|p| *p > 0)
        .with_context(|| {
            format!("{option} moves {what} off the port range (1-65535); pick another base")
        })
}

/// Reads the mode's controller files and the controller overrides into one configuration per
/// controller (none outside controller mode).
fn controllers(opts: &ClusterOptions) -> anyhow::Result<Vec<ControllerNode>> {
    let mode = find_mode(&opts.mode)?;
    if mode.controllers.is_empty() {
        if opts.controller_port_base.is_some() {
            anyhow::bail!("--controllerPortBase needs --cluster controller");
        }
        return Ok(Vec::new());
    }
    let overrides: Vec<Property> = opts
        .overrides
        .iter()
        .filter(|p| is_controller_key(&p.key))
        .cloned()
        .collect();
    if let Some(p) = overrides
        .iter()
        .find(|p| FIXED_CONTROLLER_KEYS.contains(&p.key.as_str()))
    {
        anyhow::bail!(
            "--{} cannot be changed with --cluster {}: conf/{}/ fixes the controllers' ids and addresses \
             (move them with --controllerPortBase) and --data places their stores",
            p.key,
            mode.name,
            mode.name
        );
    }
    let mut out = Vec::new();
    for (file, text) in mode.controllers {
        let origin = format!("conf/{}/{file}.conf", mode.name);
        let mut config = ControllerConfig::default();
        configure(&mut config, text, &origin, &overrides)?;
        config.controller_store_path = opts.data.join(mode.name).join(file).display().to_string();
        let mut peers = config.peers(&origin)?;
        if let Some(base) = opts.controller_port_base {
            let first = peers.first().map_or(0, |p| port_of(&p.addr));
            let shift = i32::from(base) - i32::from(first);
            for p in &mut peers {
                let host = p.addr.rsplit_once(':').map_or("", |(h, _)| h).to_owned();
                let what = format!("controller {}", p.name);
                let port = shifted(port_of(&p.addr), shift, "--controllerPortBase", &what)?;
                p.addr = format!("{host}:{port}");
            }
            config.controller_dleger_peers = peers
                .iter()
                .map(|p| format!("{}-{}", p.name, p.addr))
                .collect::<Vec<_>>()
                .join(";");
        }
        let addr = config.self_peer(&peers, &origin)?.addr.clone();
        out.push(ControllerNode { file, config, addr });
    }
    Ok(out)
}

/// The port of a `host:port` that [`ControllerConfig::peers`] has validated.
fn port_of(addr: &str) -> u16 {
    addr.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(0)
}

/// Reads the mode's broker files and the broker overrides into one configuration per broker;
/// in controller mode each broker lists `controllers`.
fn members(opts: &ClusterOptions, controllers: &[ControllerNode]) -> anyhow::Result<Vec<Member>> {
    let mode = find_mode(&opts.mode)?;
    let overrides: Vec<Property> = opts
        .overrides
        .iter()
        .filter(|p| controllers.is_empty() || !is_controller_key(&p.key))
        .cloned()
        .collect();
    if !controllers.is_empty() && overrides.iter().any(|p| p.key == "controllerAddr") {
        anyhow::bail!(
            "--controllerAddr cannot be changed with --cluster {}: the brokers use the controllers \
             this process runs; move those with --controllerPortBase",
            mode.name
        );
    }
    let mut out = Vec::new();
    let mut first_port = None;
    for (file, text) in mode.brokers {
        let origin = format!("conf/{}/{file}.properties", mode.name);
        let mut settings = (BrokerConfig::default(), StoreConfig::default());
        configure(&mut settings, text, &origin, &overrides)?;
        let (mut config, mut store) = settings;
        store.store_path_root_dir = opts.data.join(mode.name).join(file);
        if !controllers.is_empty() {
            config.controller_addr = controllers
                .iter()
                .map(|c| c.addr.as_str())
                .collect::<Vec<_>>()
                .join(";");
        }
        if let Some(base) = opts.broker_port_base {
            // The first file's port moves to `base`; the others keep their distance from it.
            let first = *first_port.get_or_insert(config.listen_port);
            let shift = i32::from(base) - i32::from(first);
            config.listen_port = shifted(config.listen_port, shift, "--brokerPortBase", file)?;
        }
        out.push(Member {
            file,
            config,
            store,
        });
    }
    Ok(out)
}

/// A broker that is serving, for the summary printed once the cluster is ready.
struct Started {
    name: String,
    addr: SocketAddr,
    ha: SocketAddr,
    store: PathBuf,
    ctx: Arc<BrokerContext>,
}

/// A controller that is serving, for the summary.
struct RunningController {
    addr: String,
    store: PathBuf,
    node: Arc<Controller>,
}

/// Runs the name server, the controllers (controller mode) and every broker of the mode until
/// SIGINT/SIGTERM.
pub async fn run(opts: ClusterOptions) -> anyhow::Result<()> {
    let controllers = controllers(&opts)?;
    let mut members = members(&opts, &controllers)?;
    let own_namesrv = !opts.overrides.iter().any(|p| p.key == "namesrvAddr");
    // The controllers stop first: a stopping master is not a failure, and controllers that saw
    // it go would elect another one and leave a new epoch behind. Then the brokers, which
    // unregister from the name server, and last the name server.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(0u8);
    let stopped = move |stage: u8| {
        let mut stop = stop_rx.clone();
        async move {
            let _ = stop.wait_for(|s| *s >= stage).await;
        }
    };
    const CONTROLLERS: u8 = 1;
    const BROKERS: u8 = 2;
    const NAMESRV: u8 = 3;

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
        namesrv = Some(tokio::spawn(server.serve(listener, stopped(NAMESRV))));
        for m in &mut members {
            m.config.namesrv_addr = addr.clone();
        }
        addr
    } else {
        members[0].config.namesrv_addr.clone()
    };

    // Bind every port before opening any store, so a taken port fails the start at once.
    let mut controllers_bound = Vec::new();
    for c in controllers {
        let listener = rmq_controller::bind_peer_port(&c.addr).await.with_context(|| {
            format!(
                "cannot listen on {} for {} (its controllerDLegerPeers entry); is something running \
                 there already? --controllerPortBase moves the controllers",
                c.addr, c.file
            )
        })?;
        controllers_bound.push((c, listener));
    }
    let mut bound = Vec::new();
    for m in members {
        let what = format!("{} (listenPort of {})", m.file, m.config.broker_name);
        let listener = bind(m.config.listen_port, &what).await?;
        bound.push((m, listener));
    }
    let shutdown = cli::shutdown_signal();

    let mut controller_tasks = Vec::new();
    let mut running_controllers = Vec::new();
    for (c, listener) in controllers_bound {
        let origin = format!("conf/{}/{}.conf", opts.mode, c.file);
        let store = c.config.store_dir();
        let node = Controller::start(c.config, &origin)
            .await
            .with_context(|| format!("cannot start {}", c.file))?;
        controller_tasks.push(tokio::spawn(
            node.clone().serve(listener, stopped(CONTROLLERS)),
        ));
        running_controllers.push(RunningController {
            addr: c.addr,
            store,
            node,
        });
    }

    // Masters first: a slave learns its master's replication address from its registration
    // answer, so the masters must be registered when the slaves register. (In controller mode
    // every broker starts undecided, and the controller names the master.)
    let (masters, slaves): (Vec<_>, Vec<_>) = bound.into_iter().partition(|(m, _)| !m.is_slave());
    let mut broker_tasks = Vec::new();
    let mut started: Vec<Started> = Vec::new();
    for group in [masters, slaves] {
        let slaves_now = group.first().is_some_and(|(m, _)| m.is_slave());
        if slaves_now && own_namesrv {
            let masters: Vec<(String, usize)> =
                started.iter().map(|s| (s.name.clone(), 1)).collect();
            await_registered(&namesrv_addr, &masters, Instant::now() + READY_WAIT).await;
        }
        for (m, listener) in group {
            let port = listener.local_addr()?.port();
            let ip = m
                .config
                .broker_ip1
                .parse()
                .with_context(|| format!("{}: brokerIP1 must be an IP address", m.file))?;
            let addr = SocketAddr::new(ip, port);
            let (name, store) = (
                m.config.broker_name.clone(),
                m.store.store_path_root_dir.clone(),
            );
            let mut broker = Broker::open(m.config, m.store, addr)
                .with_context(|| format!("cannot open {}", m.file))?;
            broker.listen_on_fast_channel().await;
            started.push(Started {
                name,
                addr,
                ha: SocketAddr::new(ip, broker.ha_port()),
                store,
                ctx: broker.context().clone(),
            });
            broker_tasks.push(tokio::spawn(broker.serve(listener, stopped(BROKERS))));
        }
    }
    let ready = await_ready(&started, own_namesrv.then_some(namesrv_addr.as_str())).await;

    let mut lines = vec![format!(
        "rmq-local: cluster {} ({} brokers{}), data in {}\n  name server  {namesrv_addr}{}\n",
        opts.mode,
        started.len(),
        if running_controllers.is_empty() {
            String::new()
        } else {
            format!(", {} controllers", running_controllers.len())
        },
        opts.data.join(&opts.mode).display(),
        if own_namesrv { "" } else { " (external)" }
    )];
    for c in &running_controllers {
        lines.push(format!(
            "  controller  {}  {}  store {}{}\n",
            c.node.self_name(),
            c.addr,
            c.store.display(),
            if c.node.is_leader() {
                "  (Raft leader)"
            } else {
                ""
            }
        ));
    }
    for b in &started {
        let role = b.ctx.role();
        let role_text = if role.decided {
            role_name(role.role)
        } else {
            "UNDECIDED"
        };
        lines.push(format!(
            "  {:<10}  {role_text:<12} brokerId {}  {}  HA {}  store {}\n",
            b.name,
            role.broker_id,
            b.addr,
            b.ha,
            b.store.display()
        ));
    }
    let stops = if running_controllers.is_empty() {
        "every broker and the name server"
    } else {
        "every broker, the controllers and the name server"
    };
    if ready {
        lines.push(format!("rmq-local: cluster ready; Ctrl-C stops {stops}\n"));
    } else {
        tracing::warn!(
            "not every broker had its role and was in the name server's route within {READY_WAIT:?}; \
             they keep trying (see the log above)"
        );
        lines.push(format!(
            "rmq-local: cluster started, not every broker is registered yet; Ctrl-C stops {stops}\n"
        ));
    }
    cli::print(&lines.concat());

    shutdown.await;
    for (stage, tasks) in [(CONTROLLERS, controller_tasks), (BROKERS, broker_tasks)] {
        let _ = stop_tx.send(stage);
        for task in tasks {
            let _ = task.await;
        }
    }
    let _ = stop_tx.send(NAMESRV);
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

/// Waits (at most [`READY_WAIT`]) until every broker has its role (in controller mode, once
/// the controller named the master) and, given the in-process name server, until it lists
/// every broker of every group, master included. False if the time ran out.
async fn await_ready(started: &[Started], namesrv: Option<&str>) -> bool {
    let deadline = Instant::now() + READY_WAIT;
    for b in started {
        let mut role = b.ctx.role.subscribe();
        let decided = tokio::time::timeout_at(deadline, role.wait_for(|r| r.decided)).await;
        if !matches!(decided, Ok(Ok(_))) {
            return false;
        }
    }
    let Some(namesrv) = namesrv else {
        return true;
    };
    let mut groups: Vec<(String, usize)> = Vec::new();
    for b in started {
        match groups.iter_mut().find(|(name, _)| *name == b.name) {
            Some((_, count)) => *count += 1,
            None => groups.push((b.name.clone(), 1)),
        }
    }
    await_registered(namesrv, &groups, deadline).await
}

/// Waits until `deadline` for the name server to list, for each `(group, count)`, a master
/// and `count` brokers in all. False if the time ran out.
async fn await_registered(namesrv: &str, groups: &[(String, usize)], deadline: Instant) -> bool {
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let mut done = false;
    while !done && Instant::now() < deadline {
        let req = RemotingCommand::request_without_header(RequestCode::GET_BROKER_CLUSTER_INFO);
        if let Ok(resp) = client.invoke(namesrv, req, Duration::from_secs(1)).await {
            if resp.code == ResponseCode::SUCCESS.as_i32() {
                if let Ok(info) = fastjson::from_slice::<ClusterInfo>(&resp.body) {
                    done = groups.iter().all(|(name, count)| {
                        info.broker_addr_table.get(name).is_some_and(|b| {
                            b.broker_addrs.contains_key(&0) && b.broker_addrs.len() >= *count
                        })
                    });
                }
            }
        }
        if !done {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    client.close_all().await;
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(mode: &str) -> ClusterOptions {
        ClusterOptions {
            mode: mode.to_owned(),
            data: PathBuf::from("rmq-data"),
            namesrv_port: 9876,
            broker_port_base: None,
            controller_port_base: None,
            overrides: Vec::new(),
        }
    }

    fn set(key: &str, value: &str) -> Property {
        properties::parse(&format!("{key}={value}")).remove(0)
    }

    /// The files' store paths are the ones `--cluster` uses with the default `--data rmq-data`,
    /// and every broker of a mode has its own port pair and store.
    #[test]
    fn files_agree_with_the_launcher_and_do_not_collide() {
        for mode in MODES {
            let opts = options(mode.name);
            let from_files: Vec<(BrokerConfig, StoreConfig)> = mode
                .brokers
                .iter()
                .map(|(_, text)| {
                    let mut s = (BrokerConfig::default(), StoreConfig::default());
                    apply_all(&mut s, &properties::parse(text), "conf", true).unwrap();
                    s
                })
                .collect();
            let controllers = controllers(&opts).unwrap();
            let members = members(&opts, &controllers).unwrap();
            let mut ports = std::collections::BTreeSet::new();
            for (m, (config, store)) in members.iter().zip(&from_files) {
                let what = format!("{}/{}", mode.name, m.file);
                assert_eq!(
                    m.store.store_path_root_dir, store.store_path_root_dir,
                    "{what}"
                );
                assert_eq!(m.config.listen_port, config.listen_port);
                assert_eq!(m.config.controller_addr, config.controller_addr, "{what}");
                assert_eq!(config.namesrv_addr, "127.0.0.1:9876");
                assert_eq!(config.broker_ip1, "127.0.0.1");
                assert!(
                    ports.insert(config.listen_port) && ports.insert(config.listen_port + 1),
                    "{what}: port clash"
                );
                if config.enable_controller_mode {
                    assert_eq!(config.broker_id, -1, "{what}: the controller assigns ids");
                    assert!(config.all_ack_in_sync_state_set, "{what}");
                    continue;
                }
                let slave = m.is_slave();
                assert_eq!(slave, config.broker_id > 0, "{what}: brokerId vs role");
                let want = match (mode.name, slave) {
                    (_, true) => BrokerRole::Slave,
                    ("2m-2s-sync", false) => BrokerRole::SyncMaster,
                    _ => BrokerRole::AsyncMaster,
                };
                assert_eq!(config.broker_role, want, "{what}");
            }
            assert_eq!(
                members.iter().any(|m| m.config.enable_controller_mode),
                !controllers.is_empty(),
                "{}: controller-mode brokers need controllers",
                mode.name
            );
        }
    }

    /// The controllers' files form one Raft group on Apache's ports, each with its own id and
    /// store under `--data`.
    #[test]
    fn controller_files_form_one_group() {
        let opts = options("controller");
        let nodes = controllers(&opts).unwrap();
        let addrs: Vec<&str> = nodes.iter().map(|c| c.addr.as_str()).collect();
        assert_eq!(
            addrs,
            ["127.0.0.1:9878", "127.0.0.1:9868", "127.0.0.1:9858"]
        );
        for (i, c) in nodes.iter().enumerate() {
            assert_eq!(c.config.controller_dleger_self_id, format!("n{i}"));
            assert_eq!(
                c.config.controller_dleger_peers,
                nodes[0].config.controller_dleger_peers
            );
            assert_eq!(
                c.config.store_dir(),
                PathBuf::from(format!("rmq-data/controller/controller-n{i}"))
            );
            // the store path in the file is the one the launcher uses by default
            let mut from_file = ControllerConfig::default();
            apply_all(
                &mut from_file,
                &properties::parse(MODES[3].controllers[i].1),
                "conf",
                true,
            )
            .unwrap();
            assert_eq!(from_file.store_dir(), c.config.store_dir());
        }
        let brokers = members(&opts, &nodes).unwrap();
        assert!(brokers
            .iter()
            .all(|b| b.config.controller_addr == addrs.join(";")));
    }

    #[test]
    fn port_bases_shift_brokers_and_controllers_and_bad_modes_are_named() {
        let opts = ClusterOptions {
            broker_port_base: Some(30000),
            ..options("2m-2s-sync")
        };
        let ports: Vec<u16> = members(&opts, &[])
            .unwrap()
            .iter()
            .map(|m| m.config.listen_port)
            .collect();
        assert_eq!(ports, vec![30000, 30020, 30010, 30030]);

        let opts = ClusterOptions {
            broker_port_base: Some(20000),
            controller_port_base: Some(21000),
            ..options("controller")
        };
        let nodes = controllers(&opts).unwrap();
        let addrs: Vec<&str> = nodes.iter().map(|c| c.addr.as_str()).collect();
        assert_eq!(
            addrs,
            ["127.0.0.1:21000", "127.0.0.1:20990", "127.0.0.1:20980"]
        );
        assert!(nodes[2]
            .config
            .controller_dleger_peers
            .contains("n2-127.0.0.1:20980"));
        let brokers = members(&opts, &nodes).unwrap();
        let ports: Vec<u16> = brokers.iter().map(|m| m.config.listen_port).collect();
        assert_eq!(ports, vec![20000, 20010, 20020]);
        assert_eq!(
            brokers[1].config.controller_addr,
            "127.0.0.1:21000;127.0.0.1:20990;127.0.0.1:20980"
        );

        let low = ClusterOptions {
            controller_port_base: Some(15),
            ..options("controller")
        };
        let err = controllers(&low).err().unwrap().to_string();
        assert!(
            err.contains("--controllerPortBase") && err.contains("n2"),
            "{err}"
        );
        let classic = ClusterOptions {
            controller_port_base: Some(20000),
            ..options("2m-noslave")
        };
        let err = controllers(&classic).err().unwrap().to_string();
        assert!(err.contains("--cluster controller"), "{err}");

        let err = controllers(&options("3m")).err().unwrap().to_string();
        assert!(
            err.contains("2m-noslave|2m-2s-async|2m-2s-sync|controller"),
            "{err}"
        );
    }

    /// In controller mode a controller key goes to the controllers, a broker key to the
    /// brokers, and keys that would break the topology are refused by name.
    #[test]
    fn overrides_go_where_they_belong() {
        let opts = ClusterOptions {
            overrides: vec![
                set("scanNotActiveBrokerInterval", "700"),
                set("mappedFileSizeCommitLog", "4194304"),
            ],
            ..options("controller")
        };
        let nodes = controllers(&opts).unwrap();
        assert!(nodes
            .iter()
            .all(|c| c.config.scan_not_active_broker_interval == 700));
        let brokers = members(&opts, &nodes).unwrap();
        assert!(brokers
            .iter()
            .all(|b| b.store.mapped_file_size_commit_log == 4_194_304));

        for key in ["controllerDLegerSelfId", "controllerAddr"] {
            let opts = ClusterOptions {
                overrides: vec![set(key, "n1")],
                ..options("controller")
            };
            let err = controllers(&opts)
                .and_then(|nodes| members(&opts, &nodes))
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.contains(key) && err.contains("--controllerPortBase"),
                "{err}"
            );
        }
        // Outside controller mode a controller key is a broker key the brokers do not know.
        let opts = ClusterOptions {
            overrides: vec![set("scanNotActiveBrokerInterval", "700")],
            ..options("2m-noslave")
        };
        assert!(members(&opts, &[]).is_err());
    }

    /// No key means one thing to a broker and another to a controller.
    #[test]
    fn broker_and_controller_keys_are_distinct() {
        let broker_keys: Vec<&str> = <(BrokerConfig, StoreConfig)>::keys()
            .iter()
            .map(|k| k.key)
            .collect();
        for k in ControllerConfig::keys() {
            assert!(!broker_keys.contains(&k.key), "{} is both", k.key);
        }
    }
}
