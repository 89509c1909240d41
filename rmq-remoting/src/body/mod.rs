//! Typed command bodies (JSON documents in the fastjson dialect), shared by servers and clients.

pub mod route;
pub mod topic;
