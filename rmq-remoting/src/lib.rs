//! The RocketMQ "remoting" protocol, as the official Java, Go and C++ clients speak it.
//!
//! Everything except [`transport`] is pure: functions take bytes and return values, with no
//! sockets, tasks or clocks, so they can be fuzzed and property-tested directly.

pub mod message;
