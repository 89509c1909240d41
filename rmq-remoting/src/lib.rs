//! The RocketMQ "remoting" protocol, as the official Java, Go and C++ clients speak it.
//!
//! Everything except [`transport`] is pure: functions take bytes and return values, with no
//! sockets, tasks or clocks, so they can be fuzzed and property-tested directly.
//!
//! A bare section number (§2.5) in this crate's comments is a section of
//! docs/remoting-protocol.md.

pub mod acl;
pub mod audit;
pub mod body;
pub mod code;
pub mod command;
pub mod error;
pub mod ext_fields;
pub mod fastjson;
pub mod field_map;
pub mod frame;
pub mod header;
pub mod header_codec;
mod header_scan;
pub mod message;
pub mod time;
pub mod transport;

pub use code::{RequestCode, ResponseCode};
pub use command::{LanguageCode, RemotingCommand, SerializeType};
pub use error::{CommandError, FrameError, HeaderError};
pub use field_map::ExtFields;
