//! The async transport: connections that multiplex requests in both directions, a router that
//! dispatches incoming requests by code, a server accept loop with graceful shutdown, and a
//! client that keeps one connection per peer address.
//!
//! This is the only part of the crate that does I/O; it sits on the pure codec in
//! [`crate::frame`]. What a hostile peer can cost a server is bounded by [`TransportConfig`];
//! docs/connection-limits.md explains each cap.

mod client;
mod connection;
mod limits;
pub mod local;
mod router;
mod server;
pub mod tls;
mod writer;

pub use client::{RemotingClient, RequestHook};
pub use connection::Connection;
pub use limits::{open_file_limit, raise_open_file_limit};
pub use local::LocalListener;
pub use router::{with_state, Guard, Handler, HandlerResult, RequestObserver, Router};
pub use server::{serve, serve_tls, serve_with};

use std::time::Duration;

use crate::error::FrameError;
use crate::frame::DEFAULT_MAX_FRAME_LEN;

/// Limits that keep a connection's memory bounded whatever the peer sends.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Largest frame accepted, length prefix included (Java's `frameMaxLength`, 16 MiB).
    pub max_frame_len: usize,
    /// Requests from one peer handled at once; further frames wait in the socket, which pushes
    /// back on the peer through TCP flow control (`maxInFlightPerConnection`).
    pub max_in_flight_per_connection: usize,
    /// Frames queued for writing on one connection before senders wait.
    pub write_queue_len: usize,
    /// Bytes of frames queued for writing on one connection before senders wait: a peer that
    /// stops reading its responses stops having its requests read (a frame larger than this
    /// waits for the queue to empty, then goes alone).
    pub max_queued_bytes_per_connection: usize,
    /// How long writing queued frames to a peer may take before the connection is closed as
    /// not reading (`writeStallTimeoutMillis`).
    pub write_stall_timeout: Duration,
    /// Connections a server holds at once; further ones are closed as soon as accepted
    /// (`maxConnections`). Lowered at start to leave an eighth of the open-file limit free.
    pub max_connections: usize,
    /// How long graceful shutdown waits for in-flight requests before closing connections.
    pub shutdown_grace: Duration,
    /// How long the client waits for a connection to be established (the TLS handshake
    /// included).
    pub connect_timeout: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            max_in_flight_per_connection: 256,
            // 256 frames and 1 MiB: enough to batch writes (the socket buffer in front holds
            // more), small enough that 200 peers that never read cost ~200 MiB, not ~500 MiB
            // (measured with bench/hostile.sh and 2 KiB answers at 1024 frames / 4 MiB).
            write_queue_len: 256,
            max_queued_bytes_per_connection: 1024 * 1024,
            write_stall_timeout: Duration::from_secs(30),
            max_connections: 65_536,
            shutdown_grace: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
        }
    }
}

/// Why a call through the transport did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The TCP connection could not be established.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    /// The connection attempt did not finish within `connect_timeout`.
    #[error("connecting to {addr} timed out after {timeout:?}")]
    ConnectTimeout { addr: String, timeout: Duration },
    /// No response arrived within the call's timeout.
    #[error("no response from {addr} within {timeout:?}")]
    Timeout { addr: String, timeout: Duration },
    /// The connection closed before the response arrived or while sending.
    #[error("connection to {0} closed")]
    Closed(String),
    /// The peer sent bytes that are not a valid frame.
    #[error(transparent)]
    Frame(#[from] FrameError),
}
