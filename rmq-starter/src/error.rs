//! The starter's startup errors: each says what is wrong and where to fix it.

use std::path::PathBuf;

/// Why the application could not start (or a setting could not be read).
#[derive(Debug, thiserror::Error)]
pub enum StarterError {
    /// A configuration file exists but cannot be read or parsed.
    #[error("cannot read {}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The parser's explanation.
        source: Box<config::ConfigError>,
    },
    /// A mandatory configuration location (`spring.config.location` or
    /// `spring.config.additional-location` without `optional:`) does not exist.
    #[error("config data location '{location}' does not exist (prefix it with optional: if it may be missing)")]
    ConfigLocation {
        /// The location as written.
        location: String,
    },
    /// A command-line argument is not `--key=value`.
    #[error(
        "command-line argument {arg:?} is not of the form --key=value (e.g. --server.port=8080)"
    )]
    Argument {
        /// The argument.
        arg: String,
    },
    /// A property has a value of the wrong type.
    #[error("property {key} = {value:?} (from {origin}) is invalid: expected {expected}")]
    InvalidValue {
        /// The property.
        key: String,
        /// Its value.
        value: String,
        /// Where it was set.
        origin: String,
        /// What would be accepted.
        expected: String,
    },
    /// No name server is configured but something needs one.
    #[error("rocketmq.name-server is not set, but {needed_by} needs it. Set it in application.yml:\n\n\
             \x20   rocketmq:\n\
             \x20     name-server: 127.0.0.1:9876\n\n\
             or with the environment variable ROCKETMQ_NAME_SERVER, \
             or with --rocketmq.name-server=host:port{}",
             if hints.is_empty() { String::new() } else { format!("\n{hints}") })]
    MissingNameServer {
        /// What needs the name server (the template, a listener).
        needed_by: String,
        /// "Did you mean" notes about keys that look like a misspelt name server.
        hints: String,
    },
    /// A `${...}` placeholder cannot be resolved.
    #[error("could not resolve placeholder {placeholder} in {context}: {reason}")]
    Placeholder {
        /// The placeholder as written.
        placeholder: String,
        /// Where it is used.
        context: String,
        /// Why it failed.
        reason: String,
    },
    /// A listener's attributes cannot be used as they are.
    #[error("listener {listener}: {reason}")]
    Listener {
        /// The listener type.
        listener: String,
        /// What is wrong.
        reason: String,
    },
    /// The application asked for the template, but `rocketmq.producer.group` is not set.
    #[error("no RocketMQTemplate: set rocketmq.producer.group (and rocketmq.name-server) in application.yml, \
             the environment (ROCKETMQ_PRODUCER_GROUP) or on the command line")]
    NoTemplate,
    /// The producer or a consumer could not start.
    #[error("{what} failed to start: {source}")]
    Client {
        /// Which client object.
        what: String,
        /// The client's error.
        source: Box<rmq_client::ClientError>,
    },
    /// Logging could not be set up (e.g. the log file cannot be opened).
    #[error("cannot set up logging: {0}")]
    Logging(String),
    /// The HTTP server could not bind or serve.
    #[error("web server on {addr}: {source}")]
    Http {
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
}
