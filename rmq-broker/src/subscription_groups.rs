//! Consumer-group settings (`subscriptionGroup.json`): retry policy, whether the group may
//! consume, auto-creation on first contact.

use std::path::PathBuf;
use std::sync::RwLock;

use rmq_remoting::body::stats::{SubscriptionGroupConfig, SubscriptionGroupWrapper};

/// The groups every Apache 4.9.7 broker has from its first start (`SubscriptionGroupManager`'s
/// built-ins, with default settings): consoles list them, and admin tools and legacy clients
/// use them without creating them first.
pub const BUILT_IN_GROUPS: [&str; 7] = [
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
];

/// The group table, persisted after every change.
pub struct SubscriptionGroups {
    path: PathBuf,
    state: RwLock<SubscriptionGroupWrapper>,
    auto_create: bool,
}

impl SubscriptionGroups {
    /// Loads `path` (Java's `subscriptionGroup.json` format) over the [`BUILT_IN_GROUPS`]: a
    /// missing file is the built-ins alone, and a deleted built-in is back after a restart, as
    /// in Apache. Adding them does not change the table's data version.
    pub fn open(path: PathBuf, auto_create: bool) -> Result<Self, String> {
        let mut state: SubscriptionGroupWrapper = crate::state_file::load(&path)?;
        for group in BUILT_IN_GROUPS {
            state
                .subscription_group_table
                .entry(group.to_owned())
                .or_insert_with(|| SubscriptionGroupConfig::new(group));
        }
        Ok(SubscriptionGroups {
            path,
            state: RwLock::new(state),
            auto_create,
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, SubscriptionGroupWrapper> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A group's settings.
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.read().subscription_group_table.get(group).cloned()
    }

    /// A group's settings, created with RocketMQ's defaults on first contact when
    /// `autoCreateSubscriptionGroup` is on.
    pub fn get_or_create(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        if let Some(existing) = self.get(group) {
            return Some(existing);
        }
        if !self.auto_create {
            return None;
        }
        let config = SubscriptionGroupConfig::new(group);
        if let Err(e) = self.put(config.clone()) {
            tracing::warn!(group, error = %e, "cannot persist the auto-created subscription group");
        }
        Some(config)
    }

    /// Creates or replaces a group.
    pub fn put(&self, config: SubscriptionGroupConfig) -> std::io::Result<()> {
        {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            state
                .subscription_group_table
                .insert(config.group_name.clone(), config);
            state.data_version.counter += 1;
        }
        self.persist()
    }

    /// A slave's copy of its master's table (Apache's `SlaveSynchronize`): when the master's
    /// version differs from ours, our groups and version become the master's and are persisted.
    /// Returns whether anything was replaced.
    pub fn replace_with_master(&self, master: SubscriptionGroupWrapper) -> std::io::Result<bool> {
        {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            if state.data_version == master.data_version {
                return Ok(false);
            }
            state.data_version = master.data_version;
            state.subscription_group_table = master.subscription_group_table;
        }
        self.persist()?;
        Ok(true)
    }

    /// Deletes a group; returns whether it existed.
    pub fn remove(&self, group: &str) -> std::io::Result<bool> {
        let existed = {
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            let existed = state.subscription_group_table.remove(group).is_some();
            if existed {
                state.data_version.counter += 1;
            }
            existed
        };
        if existed {
            self.persist()?;
        }
        Ok(existed)
    }

    /// The whole table (GET_ALL_SUBSCRIPTIONGROUP_CONFIG).
    pub fn snapshot(&self) -> SubscriptionGroupWrapper {
        self.read().clone()
    }

    fn persist(&self) -> std::io::Result<()> {
        crate::state_file::save(&self.path, &*self.read())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_auto_created_with_defaults_and_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscriptionGroup.json");
        let groups = SubscriptionGroups::open(path.clone(), true).unwrap();
        let cg = groups.get_or_create("cg").unwrap();
        assert_eq!(
            (cg.retry_max_times, cg.retry_queue_nums, cg.consume_enable),
            (16, 1, true)
        );
        assert!(SubscriptionGroups::open(path, false)
            .unwrap()
            .get("cg")
            .is_some());
        let strict = SubscriptionGroups::open(dir.path().join("other.json"), false).unwrap();
        assert!(strict.get_or_create("new").is_none());
    }

    #[test]
    fn built_in_groups_exist_from_the_start_and_come_back_after_a_delete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscriptionGroup.json");
        let groups = SubscriptionGroups::open(path.clone(), false).unwrap();
        let names: Vec<String> = groups
            .snapshot()
            .subscription_group_table
            .into_keys()
            .collect();
        let mut expected: Vec<String> = BUILT_IN_GROUPS.iter().map(|g| g.to_string()).collect();
        expected.sort();
        assert_eq!(names, expected);
        assert_eq!(groups.snapshot().data_version.counter, 0);
        assert!(groups.remove("TOOLS_CONSUMER").unwrap());
        assert!(groups.get("TOOLS_CONSUMER").is_none());
        let reopened = SubscriptionGroups::open(path, false).unwrap();
        assert_eq!(
            reopened.get("TOOLS_CONSUMER").map(|g| g.retry_max_times),
            Some(16)
        );
    }
}
