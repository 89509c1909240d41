//! Command-line tools for rmq and Apache RocketMQ servers alike: `mqbench` (load) and
//! `mqadmin` (administration). Everything here talks to servers over the wire, so it works
//! on rmq and Apache side by side with the same client.

pub mod acl;
pub mod admin;
pub mod bench;
pub mod tls;
