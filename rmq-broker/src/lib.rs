//! The rmq broker: serves producers and consumers over the RocketMQ remoting protocol on top of
//! `rmq-store`.
//!
//! Not built yet (issue 4). This crate exists so the workspace has the shape the design card fixes.
