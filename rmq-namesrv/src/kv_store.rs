//! The name server's only persistent state: a namespaced key/value table, stored in Java's
//! `kvConfig.json` format so an existing file keeps working.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rmq_config::persist;
use serde::{Deserialize, Serialize};

/// Why the KV file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KvStoreError {
    /// The file exists but could not be read or parsed; rmq refuses to start rather than
    /// overwrite it.
    #[error("cannot load KV configuration from {path}: {reason}; fix or move the file (or point kvConfigPath elsewhere)")]
    Load { path: PathBuf, reason: String },
    /// The file could not be written.
    #[error("cannot write KV configuration to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Java's on-disk shape: `{"configTable":{namespace:{key:value}}}`.
#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KvFile {
    #[serde(default)]
    config_table: BTreeMap<String, BTreeMap<String, String>>,
}

/// The KV table, persisted after every change.
pub struct KvStore {
    path: PathBuf,
    table: Mutex<BTreeMap<String, BTreeMap<String, String>>>,
}

impl KvStore {
    /// Loads the table from `path`; a missing file is an empty table.
    pub fn open(path: &Path) -> Result<Self, KvStoreError> {
        let load_error = |reason: String| KvStoreError::Load {
            path: path.to_owned(),
            reason,
        };
        let table = match persist::read_if_present(path).map_err(|e| load_error(e.to_string()))? {
            None => BTreeMap::new(),
            Some(bytes) => {
                let file: KvFile = rmq_remoting::fastjson::from_slice(&bytes)
                    .map_err(|e| load_error(e.to_string()))?;
                file.config_table
            }
        };
        Ok(KvStore {
            path: path.to_owned(),
            table: Mutex::new(table),
        })
    }

    /// Sets a value and persists the table; on a write failure the change is undone.
    pub fn put(&self, namespace: &str, key: &str, value: &str) -> Result<(), KvStoreError> {
        let mut table = self.lock();
        let previous = table
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
        if let Err(err) = self.persist(&table) {
            let ns = table.entry(namespace.to_owned()).or_default();
            match previous {
                Some(old) => ns.insert(key.to_owned(), old),
                None => ns.remove(key),
            };
            return Err(err);
        }
        Ok(())
    }

    /// A value, if present.
    pub fn get(&self, namespace: &str, key: &str) -> Option<String> {
        self.lock()
            .get(namespace)
            .and_then(|ns| ns.get(key))
            .cloned()
    }

    /// Removes a value and persists the table.
    pub fn delete(&self, namespace: &str, key: &str) -> Result<(), KvStoreError> {
        let mut table = self.lock();
        let Some(ns) = table.get_mut(namespace) else {
            return Ok(());
        };
        // An emptied namespace stays (listing it answers an empty table), as in RocketMQ.
        let Some(old) = ns.remove(key) else {
            return Ok(());
        };
        if let Err(err) = self.persist(&table) {
            table
                .entry(namespace.to_owned())
                .or_default()
                .insert(key.to_owned(), old);
            return Err(err);
        }
        Ok(())
    }

    /// Every entry of a namespace, or `None` if it was never written.
    pub fn namespace(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        self.lock().get(namespace).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeMap<String, String>>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn persist(
        &self,
        table: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Result<(), KvStoreError> {
        let file = KvFile {
            config_table: table.clone(),
        };
        let text = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other);
        text.and_then(|bytes| persist::write_atomically(&self.path, &bytes))
            .map_err(|source| KvStoreError::Write {
                path: self.path.clone(),
                source,
            })
    }
}

/// The KV namespace holding `brokerName:queueCount;…` per ordered topic.
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_reopen_and_reads_java_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/kvConfig.json");
        let store = KvStore::open(&path).unwrap();
        store.put("ORDER_TOPIC_CONFIG", "T", "broker-a:4").unwrap();
        store.put("ns", "k", "v").unwrap();
        store.delete("ns", "k").unwrap();
        let reopened = KvStore::open(&path).unwrap();
        assert_eq!(
            reopened.get("ORDER_TOPIC_CONFIG", "T").as_deref(),
            Some("broker-a:4")
        );
        assert_eq!(reopened.namespace("ns"), Some(BTreeMap::new()));
        assert_eq!(reopened.namespace("never"), None);

        std::fs::write(&path, br#"{"configTable":{"ns":{"a":"1"}}}"#).unwrap();
        assert_eq!(
            KvStore::open(&path).unwrap().get("ns", "a").as_deref(),
            Some("1")
        );
    }

    #[test]
    fn a_corrupt_file_is_refused_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        std::fs::write(&path, b"{not json").unwrap();
        let err = KvStore::open(&path).err().unwrap();
        assert!(err.to_string().contains("kvConfig.json"));
        assert_eq!(std::fs::read(&path).unwrap(), b"{not json");
    }
}
