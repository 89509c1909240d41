//! Typed command bodies (JSON documents in the fastjson dialect), shared by servers and clients.

pub mod client;
pub mod controller;
pub mod pop;
pub mod route;
pub mod running;
pub mod stats;
pub mod topic;
