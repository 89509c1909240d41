//! rmq's gRPC proxy: RocketMQ 5's `apache.rocketmq.v2.MessagingService`, so the 5.x clients
//! (Java, Go, C#, C++, Python, Node.js, Rust SDKs of apache/rocketmq-clients) work with rmq and
//! with any RocketMQ brokers. The proxy runs in cluster mode: it speaks remoting to the brokers
//! found through the name servers (with rmq-client), and gRPC to the clients; started inside a
//! broker (`enableProxy=true`, rmq-local) it reaches that broker in memory, as the broker accepts
//! its own process's connections (docs/grpc-proxy.md, "Local mode"). docs/grpc-proxy.md says what
//! is served, the configuration keys and how errors map to codes.

pub mod auth;
pub mod cluster;
pub mod config;
pub mod context;
pub mod convert;
pub mod heartbeat;
pub mod message_type;
pub mod props;
pub mod proto;
pub mod receive;
pub mod route;
pub mod send;
pub mod server;
pub mod service;
pub mod session;
pub mod settings;
pub mod status;
pub mod telemetry;
pub mod tls;
pub mod transaction;
pub mod validate;

pub use config::ProxyConfig;
pub use context::ProxyContext;
pub use server::serve;
