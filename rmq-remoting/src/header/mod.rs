//! Typed request and response headers, one struct per command (docs/remoting-protocol.md §6).
//!
//! Each is a serde struct with Java's field names; [`crate::ext_fields`] is the only code that
//! converts them to and from `extFields`.

pub mod broker;
pub mod controller;
pub mod namesrv;
