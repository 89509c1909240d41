//! The typed settings bound from [`Properties`]: rocketmq-spring-boot-starter's `rocketmq.*`
//! properties with its defaults, `server.*` and `logging.*`, plus the report of unknown
//! `rocketmq.` keys with a "did you mean" suggestion.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use rmq_client::Credentials;

use crate::error::StarterError;
use crate::properties::{relaxed, Properties};

/// A property the starter knows, and whether it has an effect in rmq.
pub(crate) struct KnownKey {
    /// The canonical (kebab-case) spelling.
    pub name: &'static str,
    /// `None` when the property is used; otherwise why it is accepted without effect.
    pub ignored: Option<&'static str>,
}

const fn used(name: &'static str) -> KnownKey {
    KnownKey {
        name,
        ignored: None,
    }
}

const fn ignored(name: &'static str, why: &'static str) -> KnownKey {
    KnownKey {
        name,
        ignored: Some(why),
    }
}

const UNUSED_IN_SPRING: &str =
    "rocketmq-spring-boot-starter 2.2.3+ binds it but never uses it; listeners take these from #[rocketmq_listener]";

/// Every property the starter recognises (relaxed matching applies to all of them).
pub(crate) const KNOWN_KEYS: &[KnownKey] = &[
    used("rocketmq.name-server"),
    ignored("rocketmq.access-channel", "rmq only has the LOCAL channel"),
    used("rocketmq.producer.group"),
    used("rocketmq.producer.send-message-timeout"),
    used("rocketmq.producer.compress-message-body-threshold"),
    used("rocketmq.producer.max-message-size"),
    used("rocketmq.producer.retry-times-when-send-failed"),
    used("rocketmq.producer.retry-times-when-send-async-failed"),
    used("rocketmq.producer.retry-next-server"),
    used("rocketmq.producer.access-key"),
    used("rocketmq.producer.secret-key"),
    used("rocketmq.producer.enable-msg-trace"),
    used("rocketmq.producer.customized-trace-topic"),
    used("rocketmq.producer.tls-enable"),
    used("rocketmq.producer.namespace"),
    ignored(
        "rocketmq.producer.namespace-v2",
        "namespace v2 is a 5.x proxy feature",
    ),
    used("rocketmq.producer.instance-name"),
    // Not read by the starter itself; listeners use them as `${rocketmq.consumer.group}`.
    used("rocketmq.consumer.group"),
    used("rocketmq.consumer.topic"),
    ignored("rocketmq.consumer.selector-type", UNUSED_IN_SPRING),
    ignored("rocketmq.consumer.selector-expression", UNUSED_IN_SPRING),
    ignored("rocketmq.consumer.pull-batch-size", UNUSED_IN_SPRING),
    ignored("rocketmq.consumer.message-model", UNUSED_IN_SPRING),
    ignored("rocketmq.consumer.instance-name", UNUSED_IN_SPRING),
    used("rocketmq.consumer.access-key"),
    used("rocketmq.consumer.secret-key"),
    // Defaults of every listener's `enable_msg_trace` and `customized_trace_topic`.
    used("rocketmq.consumer.customized-trace-topic"),
    used("rocketmq.consumer.enable-msg-trace"),
    used("rocketmq.consumer.tls-enable"),
    used("rocketmq.consumer.namespace"),
    ignored(
        "rocketmq.consumer.namespace-v2",
        "namespace v2 is a 5.x proxy feature",
    ),
    used("rocketmq.pull-consumer.group"),
    used("rocketmq.pull-consumer.topic"),
    used("rocketmq.pull-consumer.message-model"),
    used("rocketmq.pull-consumer.selector-type"),
    used("rocketmq.pull-consumer.selector-expression"),
    used("rocketmq.pull-consumer.pull-batch-size"),
    used("rocketmq.pull-consumer.namespace"),
    used("rocketmq.pull-consumer.instance-name"),
    used("rocketmq.pull-consumer.access-key"),
    used("rocketmq.pull-consumer.secret-key"),
    used("rocketmq.pull-consumer.enable-msg-trace"),
    used("rocketmq.pull-consumer.customized-trace-topic"),
    used("rocketmq.pull-consumer.tls-enable"),
    ignored(
        "rocketmq.pull-consumer.namespace-v2",
        "namespace v2 is a 5.x proxy feature",
    ),
    used("server.port"),
    used("server.address"),
    used("logging.file.name"),
    used("logging.file.path"),
    used("spring.profiles.active"),
    used("spring.application.name"),
    used("spring.config.name"),
    used("spring.config.location"),
    used("spring.config.additional-location"),
    used("spring.config.activate.on-profile"),
];

/// Keys under which any sub-key is valid.
const OPEN_PREFIXES: [&str; 2] = ["rocketmq.consumer.listeners.", "logging.level."];

/// The `rocketmq.producer.*` settings of the default template's producer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerProperties {
    /// `rocketmq.producer.group`: without it there is no default `RocketMQTemplate`.
    pub group: Option<String>,
    /// `send-message-timeout` (3000 ms).
    pub send_message_timeout: Duration,
    /// `compress-message-body-threshold` (4096 bytes).
    pub compress_message_body_threshold: usize,
    /// `max-message-size` (4 MiB).
    pub max_message_size: usize,
    /// `retry-times-when-send-failed` (2).
    pub retry_times_when_send_failed: usize,
    /// `retry-times-when-send-async-failed` (2).
    pub retry_times_when_send_async_failed: usize,
    /// `retry-next-server` (false): Java's `retryAnotherBrokerWhenNotStoreOK`.
    pub retry_next_server: bool,
    /// `namespace`: prefixes topics and the group (`namespace%topic`).
    pub namespace: Option<String>,
    /// `instance-name` (`DEFAULT`).
    pub instance_name: String,
    /// `enable-msg-trace` (false): the template's sends are traced.
    pub enable_msg_trace: bool,
    /// `customized-trace-topic` (`RMQ_SYS_TRACE_TOPIC`).
    pub customized_trace_topic: String,
    /// `access-key` and `secret-key`: the template's producer signs with them (ACL).
    pub credentials: Option<Credentials>,
    /// `tls-enable` (false): the template's producer connects with TLS (docs/tls.md).
    pub tls_enable: bool,
}

/// The `rocketmq.consumer.*` settings that act as defaults of every listener.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerProperties {
    /// `access-key`: the default of a listener's `access_key`.
    pub access_key: Option<String>,
    /// `secret-key`: the default of a listener's `secret_key`.
    pub secret_key: Option<String>,
    /// `namespace`: the namespace of listeners that set none.
    pub namespace: Option<String>,
    /// `tls-enable` (false): listeners connect with TLS (docs/tls.md).
    pub tls_enable: bool,
}

/// `rocketmq.pull-consumer.*`: the lite pull consumer behind `RocketMQTemplate::receive`,
/// created when both `group` and `topic` are set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullConsumerProperties {
    /// `group`.
    pub group: Option<String>,
    /// `topic`.
    pub topic: Option<String>,
    /// `message-model`: `CLUSTERING` (default) or `BROADCASTING`.
    pub broadcasting: bool,
    /// `selector-expression`: a tag expression (`*`); `selector-type` must be `TAG`, the only
    /// kind rmq-client's lite pull consumer subscribes with.
    pub selector_expression: String,
    /// `pull-batch-size` (10): messages per pull and most per `receive`.
    pub pull_batch_size: i32,
    /// `namespace`.
    pub namespace: Option<String>,
    /// `instance-name` (`DEFAULT`).
    pub instance_name: String,
    /// `enable-msg-trace` (false): what `receive` pulls is traced.
    pub enable_msg_trace: bool,
    /// `customized-trace-topic` (`RMQ_SYS_TRACE_TOPIC`).
    pub customized_trace_topic: String,
    /// `access-key` and `secret-key`: the pull consumer signs with them (ACL).
    pub credentials: Option<Credentials>,
    /// `tls-enable` (false): the pull consumer connects with TLS (docs/tls.md).
    pub tls_enable: bool,
}

/// `rocketmq.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RocketMqProperties {
    /// `rocketmq.name-server`: `host:port` list separated by `;`.
    pub name_server: Option<String>,
    /// `rocketmq.producer.*`.
    pub producer: ProducerProperties,
    /// `rocketmq.consumer.*`.
    pub consumer: ConsumerProperties,
    /// `rocketmq.pull-consumer.*`.
    pub pull_consumer: PullConsumerProperties,
}

/// `server.*`: where the HTTP server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerProperties {
    /// `server.port`; `None` means the application's default; 0 picks a free port.
    pub port: Option<u16>,
    /// `server.address` (`0.0.0.0`).
    pub address: String,
}

/// `logging.*`: levels per module and an optional log file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoggingProperties {
    /// `logging.level.<target>` pairs; `root` sets the default level.
    pub levels: Vec<(String, String)>,
    /// `logging.file.name`, or `spring.log` in `logging.file.path`.
    pub file: Option<PathBuf>,
}

/// Everything the starter binds, read once at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `rocketmq.*`.
    pub rocketmq: RocketMqProperties,
    /// `server.*`.
    pub server: ServerProperties,
    /// `logging.*`.
    pub logging: LoggingProperties,
}

impl Settings {
    /// Binds and validates the properties; a value of the wrong type is an error naming the key,
    /// the value and where it came from.
    pub fn bind(props: &Properties) -> Result<Settings, StarterError> {
        let text = |key: &str| {
            props
                .value(key)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        // Keys often come from elsewhere (`secret-key: ${ROCKETMQ_SECRET_KEY}`), as in Spring.
        let key_text = |key: &str| props.resolve_placeholders(&text(key).unwrap_or_default(), key);
        let producer = ProducerProperties {
            group: text("rocketmq.producer.group"),
            send_message_timeout: Duration::from_millis(parse_or(
                props,
                "rocketmq.producer.send-message-timeout",
                3000u64,
            )?),
            compress_message_body_threshold: parse_or(
                props,
                "rocketmq.producer.compress-message-body-threshold",
                4096,
            )?,
            max_message_size: parse_or(
                props,
                "rocketmq.producer.max-message-size",
                4 * 1024 * 1024,
            )?,
            retry_times_when_send_failed: parse_or(
                props,
                "rocketmq.producer.retry-times-when-send-failed",
                2,
            )?,
            retry_times_when_send_async_failed: parse_or(
                props,
                "rocketmq.producer.retry-times-when-send-async-failed",
                2,
            )?,
            retry_next_server: parse_or(props, "rocketmq.producer.retry-next-server", false)?,
            namespace: text("rocketmq.producer.namespace"),
            instance_name: text("rocketmq.producer.instance-name")
                .unwrap_or_else(|| rmq_client::DEFAULT_INSTANCE_NAME.to_owned()),
            enable_msg_trace: parse_or(props, "rocketmq.producer.enable-msg-trace", false)?,
            customized_trace_topic: text("rocketmq.producer.customized-trace-topic")
                .unwrap_or_else(|| rmq_client::RMQ_SYS_TRACE_TOPIC.to_owned()),
            credentials: credentials(
                "rocketmq.producer",
                &key_text("rocketmq.producer.access-key")?,
                &key_text("rocketmq.producer.secret-key")?,
            ),
            tls_enable: parse_or(props, "rocketmq.producer.tls-enable", false)?,
        };
        let consumer = ConsumerProperties {
            access_key: text("rocketmq.consumer.access-key"),
            secret_key: text("rocketmq.consumer.secret-key"),
            namespace: text("rocketmq.consumer.namespace"),
            tls_enable: parse_or(props, "rocketmq.consumer.tls-enable", false)?,
        };
        let broadcasting = match text("rocketmq.pull-consumer.message-model")
            .map(|m| m.to_uppercase())
            .as_deref()
        {
            None | Some("CLUSTERING") => false,
            Some("BROADCASTING") => true,
            Some(_) => {
                return Err(invalid(
                    props,
                    "rocketmq.pull-consumer.message-model",
                    "CLUSTERING or BROADCASTING",
                ))
            }
        };
        if let Some(kind) = text("rocketmq.pull-consumer.selector-type") {
            if !kind.eq_ignore_ascii_case("TAG") {
                return Err(invalid(
                    props,
                    "rocketmq.pull-consumer.selector-type",
                    "TAG (rmq-client's lite pull consumer filters by tag only)",
                ));
            }
        }
        let pull_consumer = PullConsumerProperties {
            group: text("rocketmq.pull-consumer.group"),
            topic: text("rocketmq.pull-consumer.topic"),
            broadcasting,
            selector_expression: text("rocketmq.pull-consumer.selector-expression")
                .unwrap_or_else(|| "*".to_owned()),
            pull_batch_size: parse_or(props, "rocketmq.pull-consumer.pull-batch-size", 10)?,
            namespace: text("rocketmq.pull-consumer.namespace"),
            instance_name: text("rocketmq.pull-consumer.instance-name")
                .unwrap_or_else(|| rmq_client::DEFAULT_INSTANCE_NAME.to_owned()),
            enable_msg_trace: parse_or(props, "rocketmq.pull-consumer.enable-msg-trace", false)?,
            customized_trace_topic: text("rocketmq.pull-consumer.customized-trace-topic")
                .unwrap_or_else(|| rmq_client::RMQ_SYS_TRACE_TOPIC.to_owned()),
            credentials: credentials(
                "rocketmq.pull-consumer",
                &key_text("rocketmq.pull-consumer.access-key")?,
                &key_text("rocketmq.pull-consumer.secret-key")?,
            ),
            tls_enable: parse_or(props, "rocketmq.pull-consumer.tls-enable", false)?,
        };
        let port = match props.get("server.port") {
            Some(_) => Some(parse_or(props, "server.port", 0u16)?),
            None => None,
        };
        let mut levels: Vec<(String, String)> = props
            .iter()
            .filter_map(|(k, v)| {
                let target = k.strip_prefix("logging.level.")?;
                Some((target.to_owned(), v.value.to_lowercase()))
            })
            .collect();
        for (target, level) in &levels {
            if !["trace", "debug", "info", "warn", "error", "off"].contains(&level.as_str()) {
                let key = format!("logging.level.{target}");
                return Err(invalid(
                    props,
                    &key,
                    "one of trace, debug, info, warn, error, off",
                ));
            }
        }
        levels.sort();
        let file = text("logging.file.name")
            .map(PathBuf::from)
            .or_else(|| text("logging.file.path").map(|d| PathBuf::from(d).join("spring.log")));
        Ok(Settings {
            rocketmq: RocketMqProperties {
                name_server: text("rocketmq.name-server"),
                producer,
                consumer,
                pull_consumer,
            },
            server: ServerProperties {
                port,
                address: text("server.address").unwrap_or_else(|| "0.0.0.0".to_owned()),
            },
            logging: LoggingProperties { levels, file },
        })
    }
}

/// The keys a client signs with, as rocketmq-spring's `RocketMQUtil.getRPCHookByAkSk` decides:
/// both set means signing, anything else none. Only one of the two set is a warning naming
/// `owner` (a property prefix or a listener), never the secret.
pub(crate) fn credentials(owner: &str, access_key: &str, secret_key: &str) -> Option<Credentials> {
    let (access_key, secret_key) = (access_key.trim(), secret_key.trim());
    match (access_key.is_empty(), secret_key.is_empty()) {
        (false, false) => Some(Credentials::new(access_key, secret_key)),
        (true, true) => None,
        (false, true) => {
            tracing::warn!(
                owner,
                access_key,
                "an access key without a secret key: requests are not signed"
            );
            None
        }
        (true, false) => {
            tracing::warn!(
                owner,
                "a secret key without an access key: requests are not signed"
            );
            None
        }
    }
}

/// `rocketmq.consumer.listeners.<group>.<topic>`: `false` switches that listener off.
pub fn listener_enabled(
    props: &Properties,
    group: &str,
    topic: &str,
) -> Result<bool, StarterError> {
    parse_or(
        props,
        &format!("rocketmq.consumer.listeners.{group}.{topic}"),
        true,
    )
}

/// The name server, or an error telling where to set it (`needed_by` says what needs it).
pub fn require_name_server<'a>(
    settings: &'a Settings,
    props: &Properties,
    needed_by: &str,
) -> Result<&'a str, StarterError> {
    settings
        .rocketmq
        .name_server
        .as_deref()
        .ok_or_else(|| StarterError::MissingNameServer {
            needed_by: needed_by.to_owned(),
            hints: unknown_keys(props)
                .into_iter()
                .filter(|u| u.suggestion == Some("rocketmq.name-server"))
                .map(|u| u.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        })
}

/// A `rocketmq.` key the starter does not know, with the closest known key if one is close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// The key as written.
    pub key: String,
    /// Where it was set.
    pub origin: String,
    /// The known key it most resembles.
    pub suggestion: Option<&'static str>,
}

impl std::fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown property {} (from {})", self.key, self.origin)?;
        match self.suggestion {
            Some(s) => write!(f, "; did you mean {s}?"),
            None => write!(f, "; it is not a rocketmq-spring-boot-starter property"),
        }
    }
}

/// Every unknown `rocketmq.` key, with "did you mean" suggestions.
pub fn unknown_keys(props: &Properties) -> Vec<UnknownKey> {
    props
        .iter()
        .filter(|(k, _)| relaxed(k).starts_with("rocketmq."))
        .filter(|(k, _)| {
            let r = relaxed(k);
            !KNOWN_KEYS.iter().any(|known| relaxed(known.name) == r)
                && !OPEN_PREFIXES.iter().any(|p| r.starts_with(&relaxed(p)))
        })
        .map(|(k, v)| {
            let r = relaxed(k);
            let suggestion = KNOWN_KEYS
                .iter()
                .map(|known| (strsim::jaro_winkler(&relaxed(known.name), &r), known.name))
                .filter(|(score, _)| *score >= 0.85)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, name)| name);
            UnknownKey {
                key: k.to_owned(),
                origin: v.origin.clone(),
                suggestion,
            }
        })
        .collect()
}

/// Known keys that are set but have no effect in rmq, with the reason.
pub fn ignored_keys(props: &Properties) -> Vec<(String, &'static str)> {
    KNOWN_KEYS
        .iter()
        .filter_map(|k| Some((k, k.ignored?)))
        .filter(|(k, _)| props.get(k.name).is_some())
        .map(|(k, why)| (k.name.to_owned(), why))
        .collect()
}

fn parse_or<T: FromStr>(props: &Properties, key: &str, default: T) -> Result<T, StarterError> {
    match props.get(key) {
        None => Ok(default),
        Some(v) if v.value.trim().is_empty() => Ok(default),
        Some(v) => v.value.trim().parse().map_err(|_| {
            invalid(
                props,
                key,
                match std::any::type_name::<T>() {
                    "bool" => "true or false",
                    "u16" => "a port number (0-65535)",
                    _ => "a non-negative whole number",
                },
            )
        }),
    }
}

fn invalid(props: &Properties, key: &str, expected: &str) -> StarterError {
    let (value, origin) = props
        .get(key)
        .map(|v| (v.value.clone(), v.origin.clone()))
        .unwrap_or_default();
    StarterError::InvalidValue {
        key: key.to_owned(),
        value,
        origin,
        expected: expected.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spring_starter() {
        let s = Settings::bind(&Properties::default()).unwrap();
        assert_eq!(s.rocketmq.name_server, None);
        assert_eq!(
            s.rocketmq.producer.send_message_timeout,
            Duration::from_secs(3)
        );
        assert_eq!(s.rocketmq.producer.max_message_size, 4 * 1024 * 1024);
        assert_eq!(s.rocketmq.producer.compress_message_body_threshold, 4096);
        assert_eq!(s.rocketmq.producer.retry_times_when_send_failed, 2);
        assert!(!s.rocketmq.producer.retry_next_server);
        assert_eq!(s.server.port, None);
    }

    #[test]
    fn bad_values_name_key_value_and_origin() {
        let props = Properties::from_pairs([("rocketmq.producer.sendMessageTimeout", "3s")]);
        let err = Settings::bind(&props).unwrap_err().to_string();
        assert!(
            err.contains("rocketmq.producer.send-message-timeout") && err.contains("\"3s\""),
            "{err}"
        );
        let props = Properties::from_pairs([("logging.level.rmq_client", "loud")]);
        assert!(Settings::bind(&props).is_err());
        let props = Properties::from_pairs([("rocketmq.pull-consumer.selector-type", "SQL92")]);
        let err = Settings::bind(&props).unwrap_err().to_string();
        assert!(err.contains("TAG"), "{err}");
    }

    #[test]
    fn tls_enable_keys_switch_each_client_and_refuse_non_booleans() {
        let props = Properties::from_pairs([
            ("rocketmq.producer.tlsEnable", "true"),
            ("rocketmq.pull-consumer.tls-enable", "true"),
        ]);
        let s = Settings::bind(&props).unwrap();
        assert!(s.rocketmq.producer.tls_enable && s.rocketmq.pull_consumer.tls_enable);
        assert!(!s.rocketmq.consumer.tls_enable);
        let props = Properties::from_pairs([("rocketmq.consumer.tls-enable", "yes")]);
        let err = Settings::bind(&props).unwrap_err().to_string();
        assert!(err.contains("rocketmq.consumer.tls-enable"), "{err}");
    }

    #[test]
    fn unknown_keys_get_suggestions() {
        let props = Properties::from_pairs([
            ("rocketmq.name-sever", "x"),
            ("rocketmq.producer.grup", "g"),
            ("rocketmq.totally.unrelated.thing", "1"),
            ("rocketmq.consumer.listeners.g.t", "false"),
            ("server.port", "1"),
        ]);
        let unknown = unknown_keys(&props);
        let by_key = |k: &str| unknown.iter().find(|u| u.key == k).map(|u| u.suggestion);
        assert_eq!(
            by_key("rocketmq.name-sever"),
            Some(Some("rocketmq.name-server"))
        );
        assert_eq!(
            by_key("rocketmq.producer.grup"),
            Some(Some("rocketmq.producer.group"))
        );
        assert_eq!(by_key("rocketmq.totally.unrelated.thing"), Some(None));
        assert_eq!(unknown.len(), 3);
        let settings = Settings::bind(&props).unwrap();
        let err = require_name_server(&settings, &props, "the template")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ROCKETMQ_NAME_SERVER") && err.contains("did you mean"),
            "{err}"
        );
    }

    #[test]
    fn keys_sign_only_in_pairs_and_are_no_longer_ignored() {
        let props = Properties::from_pairs([
            ("rocketmq.producer.access-key", "ak"),
            ("rocketmq.producer.secretKey", "${app.sk}"),
            ("app.sk", " sk "),
            ("rocketmq.pull-consumer.access-key", "pull-ak"),
        ]);
        let s = Settings::bind(&props).unwrap();
        assert_eq!(
            s.rocketmq.producer.credentials,
            Some(Credentials::new("ak", "sk"))
        );
        assert_eq!(s.rocketmq.pull_consumer.credentials, None, "no secret key");
        assert!(
            ignored_keys(&props).is_empty(),
            "{:?}",
            ignored_keys(&props)
        );
        assert!(unknown_keys(&props).is_empty());
        let none = Settings::bind(&Properties::default()).unwrap();
        assert_eq!(none.rocketmq.producer.credentials, None);
        assert_eq!(credentials("x", "", "sk"), None);
        assert_eq!(credentials("x", "a", "b"), Some(Credentials::new("a", "b")));
    }

    #[test]
    fn listeners_can_be_switched_off() {
        let props = Properties::from_pairs([("rocketmq.consumer.listeners.g1.t1", "false")]);
        assert!(!listener_enabled(&props, "g1", "t1").unwrap());
        assert!(listener_enabled(&props, "g1", "t2").unwrap());
    }
}
