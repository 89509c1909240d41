//! The broker settings an admin may change while the broker runs (UPDATE_BROKER_CONFIG), and
//! the refusal of every other key (docs/admin-safety.md).
//!
//! Only keys whose new value takes effect at once are on the allowlist: each is kept in an
//! atomic that the code using it reads on every request or round. Everything else is refused,
//! the whole request with it, naming each key: paths, addresses, ports, commands and ACL or TLS
//! switches could reach the file system or the network (CVE-2023-33246 came through
//! `filterServerNums`), and the other keys are read once at start, so accepting them would be
//! a lie. Applied changes are written to `<storePathRootDir>/config/runtimeConfig.properties`
//! and applied again at the next start, over `broker.conf`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rmq_config::properties::Property;
use rmq_config::Settings;
use rmq_remoting::body::topic::DataVersion;
use rmq_store::StoreConfig;

use crate::config::BrokerConfig;

/// The file, under the store's `config` directory, holding the values UPDATE_BROKER_CONFIG set.
pub const RUNTIME_CONFIG_FILE: &str = "runtimeConfig.properties";

macro_rules! live_settings {
    ($( $(#[doc = $doc:literal])+ $field:ident : $ty:ty as $atomic:ident => $key:literal, )*) => {
        /// The allowlisted settings' current values, read by the code they steer.
        struct LiveValues {
            $( $field: $atomic, )*
        }

        impl LiveValues {
            fn of(config: &BrokerConfig) -> Self {
                LiveValues { $( $field: $atomic::new(config.$field), )* }
            }

            fn publish(&self, config: &BrokerConfig) {
                $( self.$field.store(config.$field, Ordering::Relaxed); )*
            }
        }

        impl LiveConfig {
            $(
                $(#[doc = $doc])+
                pub fn $field(&self) -> $ty {
                    self.values.$field.load(Ordering::Relaxed)
                }
            )*
        }

        /// The keys UPDATE_BROKER_CONFIG may change, each with what it does at once.
        pub const ALLOWLIST: &[(&str, &str)] = &[ $( ($key, concat!($($doc),+)) ),* ];
    };
}

live_settings! {
    /// Permission bits (2 write, 4 read): sends and pulls are checked against it on every
    /// request, and the broker registers again at once so routes carry it.
    broker_permission: i32 as AtomicI32 => "brokerPermission",
    /// Whether a pull that finds nothing is held until a message arrives (read per pull).
    long_polling_enable: bool as AtomicBool => "longPollingEnable",
    /// Milliseconds a pull is held when long polling is off (read per pull).
    short_polling_time_mills: u64 as AtomicU64 => "shortPollingTimeMills",
    /// Whether pull answers may send consumers to a slave (read per pull).
    slave_read_enable: bool as AtomicBool => "slaveReadEnable",
    /// The lag, in percent of memory, past which a consumer counts as reading from disk (read per pull).
    access_message_in_memory_max_ratio: i32 as AtomicI32 => "accessMessageInMemoryMaxRatio",
    /// Whether consumers hear of group membership changes (read per change).
    notify_consumer_ids_changed_enable: bool as AtomicBool => "notifyConsumerIdsChangedEnable",
    /// Whether half (transactional) messages are refused (read per send).
    reject_transaction_message: bool as AtomicBool => "rejectTransactionMessage",
    /// Whether SQL92 subscriptions are accepted (read per heartbeat and pull).
    enable_property_filter: bool as AtomicBool => "enablePropertyFilter",
    /// Milliseconds a half message waits before it is checked back (read per check round).
    transaction_time_out: u64 as AtomicU64 => "transactionTimeOut",
    /// Check-backs per half message before it is discarded (read per check round).
    transaction_check_max: i32 as AtomicI32 => "transactionCheckMax",
}

/// Keys that reach the file system, the network or a process: never changed remotely, whatever
/// rmq does with them. Other keys with these words in their names are refused for the same
/// reason (see [`refusal`]).
const DANGEROUS: &[&str] = &[
    "storePathRootDir",
    "storePathCommitLog",
    "storePathConsumeQueue",
    "storePathIndex",
    "storeCheckpoint",
    "abortFile",
    "rocketmqHome",
    "kvConfigPath",
    "configStorePath",
    "brokerConfigPath",
    "configBlackList",
    "namesrvAddr",
    "brokerIP1",
    "brokerIP2",
    "haMasterAddress",
    "controllerAddr",
    "listenPort",
    "haListenPort",
    "filterServerNums",
    "messageStorePlugIn",
    "rmqAddressServerDomain",
    "rmqAddressServerSubGroup",
    "fetchNamesrvAddrByAddressServer",
    "aclEnable",
    "enableControllerMode",
];

/// Why UPDATE_BROKER_CONFIG refuses `key`, or `None` when it is allowlisted.
pub fn refusal(key: &str) -> Option<&'static str> {
    rmq_config::remote::refusal::<(BrokerConfig, StoreConfig)>(key, ALLOWLIST, DANGEROUS)
}

/// Why an UPDATE_BROKER_CONFIG request changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// Keys outside the allowlist, each with its reason.
    #[error("{}", rmq_config::remote::refusal_remark(.0, ALLOWLIST))]
    Refused(Vec<(String, &'static str)>),
    /// An allowlisted key with a value that does not parse or is out of range.
    #[error("`{key}` has the value {value:?}, which is not valid; expected {accepted}. Nothing was changed")]
    Invalid {
        /// The key.
        key: String,
        /// The value sent.
        value: String,
        /// What would be accepted.
        accepted: String,
    },
    /// The change could not be written, so it was not applied.
    #[error("cannot write {path}: {source}; nothing was changed")]
    Persist {
        /// The runtime config file.
        path: String,
        /// The write error.
        source: std::io::Error,
    },
}

struct State {
    config: BrokerConfig,
    /// What the runtime file holds: every key an update set, with its value.
    changed: BTreeMap<String, String>,
    version: DataVersion,
}

/// The broker's settings as they are now: the allowlisted values for the code they steer, the
/// whole configuration for GET_BROKER_CONFIG, and its version.
pub struct LiveConfig {
    values: LiveValues,
    state: Mutex<State>,
    path: PathBuf,
}

impl LiveConfig {
    /// The settings `config` (already carrying the runtime file's values, see
    /// [`apply_persisted`]) started with; updates are written to `config_dir`'s runtime file.
    pub fn new(config: &BrokerConfig, config_dir: &Path, boot: SystemTime) -> Self {
        let path = config_dir.join(RUNTIME_CONFIG_FILE);
        let changed = read_runtime_file(&path)
            .unwrap_or_default()
            .into_iter()
            .filter(|p| refusal(&p.key).is_none())
            .map(|p| (p.key, p.value))
            .collect();
        LiveConfig {
            values: LiveValues::of(config),
            state: Mutex::new(State {
                config: config.clone(),
                changed,
                version: DataVersion {
                    timestamp: millis_since_epoch(boot),
                    counter: 0,
                    state_version: None,
                },
            }),
            path,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The whole configuration as it is now, and its version.
    pub fn current(&self) -> (BrokerConfig, DataVersion) {
        let state = self.lock();
        (state.config.clone(), state.version.clone())
    }

    /// Applies `properties` all or nothing: every key must be allowlisted and every value
    /// valid; the runtime file is written before anything is published. Returns the keys
    /// whose value changed.
    pub fn update(&self, properties: &[Property]) -> Result<Vec<String>, UpdateError> {
        let refused: Vec<(String, &'static str)> = properties
            .iter()
            .filter_map(|p| refusal(&p.key).map(|why| (p.key.clone(), why)))
            .collect();
        if !refused.is_empty() {
            return Err(UpdateError::Refused(refused));
        }
        let mut state = self.lock();
        let mut candidate = state.config.clone();
        let mut changed = state.changed.clone();
        for p in properties {
            let invalid = |accepted: String| UpdateError::Invalid {
                key: p.key.clone(),
                value: p.value.clone(),
                accepted,
            };
            match candidate.set(&p.key, &p.value) {
                Some(Ok(())) => {}
                Some(Err(accepted)) => return Err(invalid(accepted)),
                None => return Err(invalid("a key the broker has".to_owned())),
            }
            check_range(&candidate).map_err(invalid)?;
            changed.insert(p.key.clone(), p.value.clone());
        }
        let before = state.config.values();
        let moved: Vec<String> = candidate
            .values()
            .into_iter()
            .zip(before)
            .filter(|((_, new), (_, old))| new != old)
            .map(|((key, _), _)| key.to_owned())
            .collect();
        rmq_config::persist::write_atomically(&self.path, runtime_file_text(&changed).as_bytes())
            .map_err(|source| UpdateError::Persist {
            path: self.path.display().to_string(),
            source,
        })?;
        self.values.publish(&candidate);
        state.config = candidate;
        state.changed = changed;
        state.version.counter += 1;
        state.version.timestamp =
            millis_since_epoch(SystemTime::now()).max(state.version.timestamp);
        Ok(moved)
    }
}

/// Ranges the parser does not know: permission bits and a percentage.
fn check_range(config: &BrokerConfig) -> Result<(), String> {
    if config.broker_permission & !7 != 0 || config.broker_permission < 0 {
        return Err(
            "permission bits: 6 (read and write), 4 (read only), 2 (write only) or 0".into(),
        );
    }
    if !(0..=100).contains(&config.access_message_in_memory_max_ratio) {
        return Err("a percentage from 0 to 100".into());
    }
    Ok(())
}

fn runtime_file_text(changed: &BTreeMap<String, String>) -> String {
    let mut text = String::from(
        "# Set by UPDATE_BROKER_CONFIG (mqadmin updateBrokerConfig); applied over broker.conf at start.\n\
         # Delete a line to return to broker.conf's value.\n",
    );
    for (key, value) in changed {
        text.push_str(&rmq_config::remote::property_line(key, value));
    }
    text
}

fn read_runtime_file(path: &Path) -> Result<Vec<Property>, String> {
    match rmq_config::persist::read_if_present(path) {
        Ok(Some(bytes)) => Ok(rmq_config::properties::parse(&String::from_utf8_lossy(
            &bytes,
        ))),
        Ok(None) => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Applies the runtime file under `config_dir` to `config` at start; returns what to log. Keys
/// outside the allowlist (the file was edited by hand) are skipped with a warning; a bad value
/// stops the start, naming the file.
pub fn apply_persisted(
    config: &mut BrokerConfig,
    config_dir: &Path,
) -> Result<Vec<String>, String> {
    let path = config_dir.join(RUNTIME_CONFIG_FILE);
    let mut notes = Vec::new();
    for p in read_runtime_file(&path)? {
        if let Some(why) = refusal(&p.key) {
            notes.push(format!(
                "{}:{}: `{}` skipped: {why}",
                path.display(),
                p.line,
                p.key
            ));
            continue;
        }
        let accepted = match config.set(&p.key, &p.value) {
            Some(Ok(())) if check_range(config).is_ok() => {
                notes.push(format!(
                    "{}:{}: {}={} (set by UPDATE_BROKER_CONFIG) overrides broker.conf",
                    path.display(),
                    p.line,
                    p.key,
                    p.value
                ));
                continue;
            }
            Some(Ok(())) => check_range(config).err().unwrap_or_default(),
            Some(Err(accepted)) => accepted,
            None => "a key the broker has".to_owned(),
        };
        return Err(format!(
            "{}:{}: `{}` has the value {:?}, which is not valid; expected {accepted}",
            path.display(),
            p.line,
            p.key,
            p.value
        ));
    }
    Ok(notes)
}

fn millis_since_epoch(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use rmq_config::properties::parse;

    use super::*;

    fn live(dir: &Path) -> LiveConfig {
        LiveConfig::new(&BrokerConfig::default(), dir, UNIX_EPOCH)
    }

    #[test]
    fn every_allowlisted_key_is_a_broker_key_and_not_dangerous() {
        for (key, why) in ALLOWLIST {
            assert!(BrokerConfig::keys().iter().any(|k| k.key == *key), "{key}");
            assert!(!why.is_empty());
            let lower = key.to_ascii_lowercase();
            assert!(
                !rmq_config::remote::DANGEROUS_WORDS
                    .iter()
                    .any(|w| lower.contains(w)),
                "{key}"
            );
        }
    }

    #[test]
    fn paths_addresses_and_the_filter_server_door_are_refused_as_dangerous() {
        for key in [
            "storePathRootDir",
            "rocketmqHome",
            "filterServerNums",
            "namesrvAddr",
            "brokerConfigPath",
            "tlsServerCertPath",
            "metricsPromExporterPort",
            "someNewDirSetting",
        ] {
            let why = refusal(key).unwrap();
            assert!(why.contains("never changed remotely"), "{key}: {why}");
        }
        assert!(refusal("fileReservedTime").is_some());
        assert_eq!(
            refusal("defaultTopicQueueNums"),
            Some(rmq_config::remote::START_ONLY)
        );
        assert_eq!(refusal("noSuchKey"), Some(rmq_config::remote::UNKNOWN));
    }

    #[test]
    fn a_mixed_request_changes_nothing_and_names_each_refused_key() {
        let dir = tempfile::tempdir().unwrap();
        let live = live(dir.path());
        let err = live
            .update(&parse(
                "brokerPermission=4\nstorePathRootDir=/tmp/x\nfilterServerNums=1\n",
            ))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("Can not update config in black list"),
            "{err}"
        );
        assert!(
            err.contains("storePathRootDir (") && err.contains("filterServerNums ("),
            "{err}"
        );
        assert!(!err.contains("brokerPermission ("), "{err}");
        assert_eq!(live.broker_permission(), 6);
        assert_eq!(live.current().1.counter, 0);
        assert!(!dir.path().join(RUNTIME_CONFIG_FILE).exists());
    }

    #[test]
    fn a_bad_value_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let live = live(dir.path());
        for text in [
            "longPollingEnable=false\nbrokerPermission=9\n",
            "slaveReadEnable=maybe\n",
        ] {
            let err = live.update(&parse(text)).unwrap_err();
            assert!(matches!(err, UpdateError::Invalid { .. }), "{err}");
        }
        assert!(live.long_polling_enable());
        assert!(!dir.path().join(RUNTIME_CONFIG_FILE).exists());
    }

    #[test]
    fn an_update_is_published_versioned_persisted_and_applied_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let live = live(dir.path());
        let moved = live
            .update(&parse("brokerPermission=4\nlongPollingEnable=true\n"))
            .unwrap();
        assert_eq!(moved, vec!["brokerPermission"]);
        assert_eq!(live.broker_permission(), 4);
        let (config, version) = live.current();
        assert_eq!(config.broker_permission, 4);
        assert_eq!(version.counter, 1);
        assert!(version.timestamp > 0);
        let mut next = BrokerConfig::default();
        let notes = apply_persisted(&mut next, dir.path()).unwrap();
        assert_eq!(next.broker_permission, 4);
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn a_hand_edited_runtime_file_cannot_smuggle_a_path_in() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(RUNTIME_CONFIG_FILE),
            "namesrvAddr=10.0.0.1:9876\nslaveReadEnable=true\n",
        )
        .unwrap();
        let mut config = BrokerConfig::default();
        let notes = apply_persisted(&mut config, dir.path()).unwrap();
        assert!(config.slave_read_enable);
        assert_ne!(config.namesrv_addr, "10.0.0.1:9876");
        assert!(notes[0].contains("`namesrvAddr` skipped"), "{notes:?}");
        std::fs::write(
            dir.path().join(RUNTIME_CONFIG_FILE),
            "slaveReadEnable=maybe\n",
        )
        .unwrap();
        let err = apply_persisted(&mut config, dir.path()).unwrap_err();
        assert!(err.contains("runtimeConfig.properties:1"), "{err}");
    }
}
