//! Command-line tools for rmq and Apache RocketMQ servers alike: `mqbench` today, `mqadmin`
//! next. Everything here talks to servers over the wire, so it measures rmq and Apache side by
//! side with the same client.

pub mod bench;
