//! The rmq broker: serves producers and consumers over the RocketMQ remoting protocol on top of
//! `rmq-store`.
//!
//! Under construction (issue 4): the settings, topic table, consumer offsets and name-server
//! registration exist; the request handlers and the `mqbroker` binary follow.

pub mod config;
pub mod consumer_offsets;
pub mod registration;
pub mod topics;
