//! The broker's topic table (`topics.json`): system topics, auto-creation from `TBW102`,
//! retry topics, and the version stamp name servers use to notice changes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use rmq_remoting::body::topic::{perm, DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use rmq_remoting::message;

use crate::config::BrokerConfig;

/// The template topic producers borrow to create topics on first send.
pub const AUTO_CREATE_TOPIC: &str = "TBW102";
/// Topic brokers answer health probes on.
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
/// Topic of the benchmark tools.
pub const BENCHMARK_TOPIC: &str = "BenchmarkTest";
/// Event topic for offsets that were moved.
pub const OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
/// Holds delayed messages until their time (level messages and timer messages).
pub use rmq_store::{SCHEDULE_TOPIC, TIMER_TOPIC};
/// Prefix of a group's retry topic.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// Prefix of a group's dead-letter topic.
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";

/// Topics Java's `TopicValidator` treats as system topics: admins may not create, change or
/// delete them.
pub(crate) const JAVA_SYSTEM_TOPICS: &[&str] = &[
    AUTO_CREATE_TOPIC,
    SCHEDULE_TOPIC,
    BENCHMARK_TOPIC,
    SELF_TEST_TOPIC,
    OFFSET_MOVED_EVENT,
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
];

/// Prefix of the 5.x internal topics, also reserved.
const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";

/// Whether Java's `TopicValidator` counts `topic` as a system topic (admin refusals, and the
/// `is_system` label of metrics).
pub fn is_java_system_topic(topic: &str) -> bool {
    JAVA_SYSTEM_TOPICS.contains(&topic) || topic.starts_with(SYSTEM_TOPIC_PREFIX)
}

/// Why a topic name is refused (remark text for `MESSAGE_ILLEGAL` / `SYSTEM_ERROR`).
pub fn validate_topic_name(topic: &str) -> Result<(), String> {
    if topic.is_empty() {
        return Err("the topic name is empty".to_owned());
    }
    if topic.len() > 127 {
        return Err(format!(
            "the topic name is {} characters long; at most 127 are allowed",
            topic.len()
        ));
    }
    if let Some(bad) = topic
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')))
    {
        return Err(format!("the topic name {topic:?} contains {bad:?}; only letters, digits, %, |, _ and - are allowed"));
    }
    Ok(())
}

/// The topic table, persisted after every change.
pub struct TopicTable {
    path: PathBuf,
    state: RwLock<TopicConfigSerializeWrapper>,
    auto_create_enabled: bool,
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Settings of a new topic with `queues` read and write queues.
pub fn topic_settings(name: &str, queues: i32, permission: i32) -> TopicConfig {
    TopicConfig {
        order: false,
        perm: permission,
        read_queue_nums: queues,
        topic_filter_type: "SINGLE_TAG".to_owned(),
        topic_name: name.to_owned(),
        topic_sys_flag: 0,
        write_queue_nums: queues,
        attributes: None,
    }
}

impl TopicTable {
    /// Loads `path` (Java's `topics.json` format) and adds the system topics the broker needs.
    pub fn open(path: PathBuf, config: &BrokerConfig) -> Result<Self, String> {
        let mut state: TopicConfigSerializeWrapper = crate::state_file::load(&path)?;
        let rw = perm::READ | perm::WRITE;
        let mut system = vec![
            topic_settings(SELF_TEST_TOPIC, 1, rw),
            topic_settings(BENCHMARK_TOPIC, 1024, rw),
            topic_settings(OFFSET_MOVED_EVENT, 1, rw),
            topic_settings(SCHEDULE_TOPIC, 18, rw),
            topic_settings(TIMER_TOPIC, 1, rw),
            // Apache creates it with one queue; repliers write to it (docs/request-reply.md).
            topic_settings(&message::reply_topic(&config.broker_cluster_name), 1, rw),
        ];
        if config.auto_create_topic_enable {
            system.push(topic_settings(
                AUTO_CREATE_TOPIC,
                config.default_topic_queue_nums,
                perm::INHERIT | rw,
            ));
        } else {
            state.topic_config_table.remove(AUTO_CREATE_TOPIC);
        }
        let cluster_perm = if config.cluster_topic_enable {
            perm::INHERIT | rw
        } else {
            perm::INHERIT
        };
        system.push(topic_settings(
            &config.broker_cluster_name,
            16,
            cluster_perm,
        ));
        let broker_perm = if config.broker_topic_enable {
            perm::INHERIT | rw
        } else {
            perm::INHERIT
        };
        system.push(topic_settings(&config.broker_name, 1, broker_perm));
        if config.trace_topic_enable && !config.msg_trace_topic_name.is_empty() {
            // As Apache's TopicConfigManager: one read and one write queue.
            system.push(topic_settings(&config.msg_trace_topic_name, 1, rw));
        }
        for t in system {
            state.topic_config_table.insert(t.topic_name.clone(), t);
        }
        if state.data_version.timestamp == 0 {
            state.data_version.timestamp = now_millis();
        }
        let table = TopicTable {
            path,
            state: RwLock::new(state),
            auto_create_enabled: config.auto_create_topic_enable,
        };
        table
            .persist()
            .map_err(|e| format!("cannot write {}: {e}", table.path.display()))?;
        Ok(table)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, TopicConfigSerializeWrapper> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, TopicConfigSerializeWrapper> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A topic's settings.
    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.read().topic_config_table.get(topic).cloned()
    }

    /// The whole table with its version, for registration and GET_ALL_TOPIC_CONFIG.
    pub fn snapshot(&self) -> TopicConfigSerializeWrapper {
        self.read().clone()
    }

    /// The current version stamp.
    pub fn data_version(&self) -> DataVersion {
        self.read().data_version.clone()
    }

    /// A slave's copy of its master's table (Apache's `SlaveSynchronize`): when the master's
    /// version differs from ours, our table and version become the master's and are persisted.
    /// Returns whether anything was replaced.
    pub fn replace_with_master(
        &self,
        master: TopicConfigSerializeWrapper,
    ) -> std::io::Result<bool> {
        {
            let mut state = self.write();
            if state.data_version == master.data_version {
                return Ok(false);
            }
            *state = master;
        }
        self.persist()?;
        Ok(true)
    }

    /// Creates or replaces a topic; returns the stored settings.
    pub fn put(&self, config: TopicConfig) -> std::io::Result<TopicConfig> {
        {
            let mut state = self.write();
            state
                .topic_config_table
                .insert(config.topic_name.clone(), config.clone());
            bump(&mut state.data_version);
        }
        self.persist()?;
        Ok(config)
    }

    /// Deletes a topic; returns whether it existed.
    pub fn remove(&self, topic: &str) -> std::io::Result<bool> {
        let existed = {
            let mut state = self.write();
            let existed = state.topic_config_table.remove(topic).is_some();
            if existed {
                bump(&mut state.data_version);
            }
            existed
        };
        if existed {
            self.persist()?;
        }
        Ok(existed)
    }

    /// The topic for a send, creating it from `default_topic` (normally TBW102) when the
    /// producer asks and the template allows it. `Err` carries the reason for the refusal.
    pub fn get_or_create_for_send(
        &self,
        topic: &str,
        default_topic: &str,
        client_queue_nums: i32,
        sys_flag: i32,
    ) -> Result<(TopicConfig, bool), String> {
        if let Some(existing) = self.get(topic) {
            return Ok((existing, false));
        }
        let Some(template) = self.get(default_topic) else {
            return Err(
                if default_topic == AUTO_CREATE_TOPIC && !self.auto_create_enabled {
                    format!(
                    "topic[{topic}] not exist, and autoCreateTopicEnable=false on this broker: create it with \
                     `mqadmin updateTopic -t {topic} -c <cluster>` or set autoCreateTopicEnable=true in broker.conf"
                )
                } else {
                    format!("topic[{topic}] not exist, and the default topic[{default_topic}] to create it from does not exist either")
                },
            );
        };
        if template.perm & perm::INHERIT == 0 {
            return Err(format!(
                "topic[{topic}] not exist, and the default topic[{default_topic}] may not be inherited (perm {})",
                template.perm
            ));
        }
        let queues = client_queue_nums.clamp(1, template.write_queue_nums.max(1));
        let mut created = topic_settings(topic, queues, template.perm & !perm::INHERIT);
        created.topic_sys_flag = sys_flag;
        let created = self
            .put(created)
            .map_err(|e| format!("cannot persist the new topic[{topic}]: {e}"))?;
        tracing::info!(topic, from = default_topic, queues, "topic auto-created");
        Ok((created, true))
    }

    /// The retry topic of a consumer group, created on first use.
    pub fn get_or_create_retry_topic(
        &self,
        group: &str,
        retry_queue_nums: i32,
    ) -> std::io::Result<(TopicConfig, bool)> {
        self.get_or_create_group_topic(
            &format!("{RETRY_GROUP_TOPIC_PREFIX}{group}"),
            retry_queue_nums,
            perm::READ | perm::WRITE,
        )
    }

    /// The dead-letter topic of a consumer group, created on first use readable and writable
    /// (perm 6), as Apache 4.9.x and 5.x do, so operators can consume their dead letters.
    pub fn get_or_create_dlq_topic(&self, group: &str) -> std::io::Result<(TopicConfig, bool)> {
        self.get_or_create_group_topic(
            &format!("{DLQ_GROUP_TOPIC_PREFIX}{group}"),
            1,
            perm::READ | perm::WRITE,
        )
    }

    fn get_or_create_group_topic(
        &self,
        name: &str,
        queues: i32,
        permission: i32,
    ) -> std::io::Result<(TopicConfig, bool)> {
        if let Some(existing) = self.get(name) {
            return Ok((existing, false));
        }
        Ok((
            self.put(topic_settings(name, queues.max(1), permission))?,
            true,
        ))
    }

    fn persist(&self) -> std::io::Result<()> {
        crate::state_file::save(&self.path, &*self.read())
    }

    /// Number of topics.
    pub fn len(&self) -> usize {
        self.read().topic_config_table.len()
    }

    /// True when no topic exists (never the case once system topics are added).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every topic name.
    pub fn names(&self) -> Vec<String> {
        self.read().topic_config_table.keys().cloned().collect()
    }

    /// The table as a map, for the admin API.
    pub fn table(&self) -> BTreeMap<String, TopicConfig> {
        self.read().topic_config_table.clone()
    }
}

fn bump(version: &mut DataVersion) {
    version.counter += 1;
    version.timestamp = now_millis();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(auto: bool) -> BrokerConfig {
        BrokerConfig {
            auto_create_topic_enable: auto,
            broker_name: "broker-a".into(),
            ..BrokerConfig::default()
        }
    }

    #[test]
    fn system_topics_and_auto_creation_from_tbw102() {
        let dir = tempfile::tempdir().unwrap();
        let table = TopicTable::open(dir.path().join("config/topics.json"), &config(true)).unwrap();
        assert_eq!(table.get(AUTO_CREATE_TOPIC).unwrap().perm, 7);
        assert_eq!(table.get("broker-a").unwrap().write_queue_nums, 1);
        let before = table.data_version().counter;
        let (created, new) = table
            .get_or_create_for_send("Orders", AUTO_CREATE_TOPIC, 4, 0)
            .unwrap();
        assert!(new);
        assert_eq!((created.write_queue_nums, created.perm), (4, 6));
        assert_eq!(table.data_version().counter, before + 1);
        let (_, again) = table
            .get_or_create_for_send("Orders", AUTO_CREATE_TOPIC, 4, 0)
            .unwrap();
        assert!(!again);

        let reopened =
            TopicTable::open(dir.path().join("config/topics.json"), &config(true)).unwrap();
        assert!(reopened.get("Orders").is_some(), "persisted");
    }

    #[test]
    fn group_topics_are_readable_and_writable() {
        let dir = tempfile::tempdir().unwrap();
        let table = TopicTable::open(dir.path().join("topics.json"), &config(false)).unwrap();
        let (dlq, _) = table.get_or_create_dlq_topic("g1").unwrap();
        assert_eq!((dlq.topic_name.as_str(), dlq.perm), ("%DLQ%g1", 6));
        let (retry, _) = table.get_or_create_retry_topic("g1", 1).unwrap();
        assert_eq!((retry.topic_name.as_str(), retry.perm), ("%RETRY%g1", 6));
    }

    #[test]
    fn auto_creation_off_names_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let table = TopicTable::open(dir.path().join("topics.json"), &config(false)).unwrap();
        assert!(table.get(AUTO_CREATE_TOPIC).is_none());
        let err = table
            .get_or_create_for_send("Orders", AUTO_CREATE_TOPIC, 4, 0)
            .unwrap_err();
        assert!(err.contains("autoCreateTopicEnable=false"), "{err}");
    }

    #[test]
    fn the_trace_topic_exists_only_when_switched_on() {
        let dir = tempfile::tempdir().unwrap();
        let off = TopicTable::open(dir.path().join("off.json"), &config(false)).unwrap();
        assert!(off.get("RMQ_SYS_TRACE_TOPIC").is_none());
        let on = BrokerConfig {
            trace_topic_enable: true,
            msg_trace_topic_name: "MyTrace".into(),
            ..config(false)
        };
        let table = TopicTable::open(dir.path().join("on.json"), &on).unwrap();
        let t = table.get("MyTrace").unwrap();
        assert_eq!((t.read_queue_nums, t.write_queue_nums, t.perm), (1, 1, 6));
    }

    #[test]
    fn topic_names_are_checked() {
        assert!(validate_topic_name("Topic_A-1%|x").is_ok());
        assert!(validate_topic_name("bad topic")
            .unwrap_err()
            .contains("' '"));
        assert!(validate_topic_name(&"x".repeat(128)).is_err());
        assert!(validate_topic_name("").is_err());
    }
}
