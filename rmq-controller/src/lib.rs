//! The rmq controller: RocketMQ 5's controller mode on openraft.
//!
//! Controllers form a Raft group (`controllerDLegerPeers`) that replicates, per broker group,
//! who the replicas are, who the master is, the master epoch and the in-sync set. Brokers
//! heartbeat to every controller; when a master dies, the Raft leader elects an in-sync
//! replica and tells the group. The wire protocol is Apache's (request codes 1001–1013 and
//! 904), so Apache brokers and `mqadmin` work against it. docs/controller.md describes the
//! design.

pub mod config;
mod controller;
mod elect;
mod failover;
pub mod liveness;
mod log_store;
mod network;
mod processor;
mod record;
pub mod replicas;
mod state_machine;
mod types;

pub use config::{peer_list, ControllerConfig, Peer, PeerConfigError};
pub use controller::{Controller, StartError};

/// Binds the port of a peer address (`host:port` from `controllerDLegerPeers`) on every
/// interface, as Apache's controller does, so the address works from other hosts too.
pub async fn bind_peer_port(addr: &str) -> std::io::Result<tokio::net::TcpListener> {
    let port = addr
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .ok_or_else(|| std::io::Error::other(format!("{addr} has no port")))?;
    tokio::net::TcpListener::bind(("0.0.0.0", port)).await
}
