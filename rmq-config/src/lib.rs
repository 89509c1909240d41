//! Configuration files in the Java-properties format RocketMQ users already have
//! (`namesrv.conf`, `broker.conf`), bound to typed settings.
//!
//! [`properties`] parses text with Java's rules and flags the traps those rules hide (inline
//! comments, trailing blanks). [`settings!`] declares a settings struct once, with RocketMQ's
//! key names, defaults and documentation, and derives from that single table the `Default`
//! impl, the `--help` listing, and binding that names the key, the file and the accepted
//! values when a value is wrong.

pub mod cli;
pub mod persist;
pub mod properties;
pub mod remote;
mod settings;
mod value;

pub use settings::{apply_all, Applied, ConfigError, KeyInfo, Settings};
pub use value::ConfigValue;
