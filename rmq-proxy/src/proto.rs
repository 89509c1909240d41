//! The code generated from `proto/apache/rocketmq/v2` (build.rs): messages, the
//! `MessagingService` server trait and a client, under the protocol's package name.

/// Package `apache.rocketmq.v2`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod v2 {
    tonic::include_proto!("apache.rocketmq.v2");
}
