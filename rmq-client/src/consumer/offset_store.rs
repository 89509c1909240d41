//! Where a consumer group's progress lives: on the broker for clustering (Java
//! `RemoteBrokerOffsetStore`), in a local file for broadcasting (`LocalFileOffsetStore`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rmq_remoting::body::client::MessageQueue;
use rmq_remoting::body::route::MASTER_ID;
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::broker::{
    OffsetResponseHeader, QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};
use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};
use crate::instance::{refused, ClientInstance};

/// The file layout Java writes (`OffsetSerializeWrapper`): queues as object keys.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OffsetFile {
    #[serde(default, with = "rmq_remoting::fastjson::object_keys")]
    offset_table: BTreeMap<MessageQueue, i64>,
}

enum Backend {
    Broker,
    File(PathBuf),
}

/// The consumer's in-memory offsets ("next offset to consume" per queue) and their durable
/// copy.
pub(crate) struct OffsetStore {
    instance: Arc<ClientInstance>,
    group: String,
    backend: Backend,
    table: Mutex<HashMap<MessageQueue, i64>>,
}

impl OffsetStore {
    /// Offsets kept by the brokers (clustering).
    pub(crate) fn remote(instance: Arc<ClientInstance>, group: &str) -> Self {
        Self::with(instance, group, Backend::Broker)
    }

    /// Offsets kept in `path` (broadcasting).
    pub(crate) fn local(instance: Arc<ClientInstance>, group: &str, path: PathBuf) -> Self {
        Self::with(instance, group, Backend::File(path))
    }

    fn with(instance: Arc<ClientInstance>, group: &str, backend: Backend) -> Self {
        OffsetStore {
            instance,
            group: group.to_owned(),
            backend,
            table: Mutex::default(),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<MessageQueue, i64>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the in-memory offset; with `increase_only`, never moves it backwards.
    pub(crate) fn update(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        let mut table = self.table();
        // a lookup first: the entry API would clone the queue (two strings) on every commit
        match table.get_mut(mq) {
            Some(entry) if !increase_only || offset > *entry => *entry = offset,
            Some(_) => {}
            None => {
                table.insert(mq.clone(), offset);
            }
        }
    }

    /// The in-memory offset.
    pub(crate) fn read_memory(&self, mq: &MessageQueue) -> Option<i64> {
        self.table().get(mq).copied()
    }

    /// Forgets a queue that is no longer assigned.
    pub(crate) fn remove(&self, mq: &MessageQueue) {
        self.table().remove(mq);
    }

    /// The durable offset (broker or file); `None` when the group has none for this queue.
    /// Adopts it in memory.
    pub(crate) async fn read_from_store(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        let found = match &self.backend {
            Backend::Broker => self.query_broker(mq).await?,
            Backend::File(path) => read_file(path).await?.offset_table.get(mq).copied(),
        };
        if let Some(offset) = found {
            self.update(mq, offset, false);
        }
        Ok(found)
    }

    async fn query_broker(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        let addr = self.broker(mq).await?;
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: self.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            set_zero_if_not_found: None,
            bname: None,
        };
        let req = RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET, &header);
        let timeout = self.instance.config().mq_client_api_timeout;
        let resp = self.instance.remoting().invoke(&addr, req, timeout).await?;
        if resp.code == ResponseCode::QUERY_NOT_FOUND.as_i32() {
            return Ok(None);
        }
        if resp.code != ResponseCode::SUCCESS.as_i32() {
            return Err(refused(&addr, resp));
        }
        let h: OffsetResponseHeader = resp.decode_header().map_err(|e| ClientError::Protocol {
            addr,
            reason: format!("consumer offset: {e}"),
        })?;
        Ok(Some(h.offset))
    }

    /// Where the group's offset of `mq` is read and committed (Java `RemoteBrokerOffsetStore`):
    /// the master; when the route has none, after a fresh look at the route, any broker of the
    /// group, so commits go on to a slave while the master is away.
    async fn broker(&self, mq: &MessageQueue) -> Result<String> {
        let find = |only_master| {
            self.instance
                .find_broker_in_subscribe(&mq.broker_name, MASTER_ID, only_master)
                .map(|found| found.addr)
        };
        if let Some(addr) = find(true) {
            return Ok(addr);
        }
        if let Err(e) = self.instance.update_route(&mq.topic).await {
            tracing::debug!(topic = %mq.topic, error = %e, "route lookup failed");
        }
        find(false).ok_or_else(|| ClientError::BrokerNotFound(mq.broker_name.clone()))
    }

    /// Makes the in-memory offsets of `mqs` durable: UPDATE_CONSUMER_OFFSET per queue (oneway
    /// unless `wait`, which shutdown uses so that the next owner reads the final offsets), or
    /// one write of the whole file.
    pub(crate) async fn persist(&self, mqs: &[MessageQueue], wait: bool) {
        let offsets: Vec<(MessageQueue, i64)> = {
            let table = self.table();
            mqs.iter()
                .filter_map(|mq| table.get(mq).map(|o| (mq.clone(), *o)))
                .collect()
        };
        match &self.backend {
            Backend::Broker => {
                for (mq, offset) in offsets {
                    if let Err(e) = self.update_broker(&mq, offset, wait).await {
                        tracing::warn!(topic = %mq.topic, broker = %mq.broker_name, queue_id = mq.queue_id, offset, error = %e, "cannot persist the consumer offset");
                    }
                }
            }
            Backend::File(path) => {
                let all: BTreeMap<MessageQueue, i64> =
                    self.table().iter().map(|(q, o)| (q.clone(), *o)).collect();
                if let Err(e) = write_file(path, all).await {
                    tracing::warn!(error = %e, "cannot persist the consumer offsets");
                }
            }
        }
    }

    async fn update_broker(&self, mq: &MessageQueue, offset: i64, wait: bool) -> Result<()> {
        let addr = self.broker(mq).await?;
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: self.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            commit_offset: offset,
            bname: None,
        };
        let req = RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET, &header);
        if wait {
            let timeout = self.instance.config().mq_client_api_timeout;
            self.instance.invoke(&addr, req, timeout).await?;
        } else {
            self.instance.remoting().invoke_oneway(&addr, req).await?;
        }
        Ok(())
    }
}

fn file_error(path: &std::path::Path, source: std::io::Error) -> ClientError {
    ClientError::OffsetFile {
        path: path.display().to_string(),
        source,
    }
}

async fn read_file(path: &std::path::Path) -> Result<OffsetFile> {
    let data = match tokio::fs::read(path).await {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(OffsetFile::default()),
        Err(e) => return Err(file_error(path, e)),
    };
    fastjson::from_slice(&data).map_err(|e| {
        file_error(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
        )
    })
}

/// Writes the file atomically (temporary file, then rename), so a crash never leaves half a
/// file.
async fn write_file(path: &std::path::Path, table: BTreeMap<MessageQueue, i64>) -> Result<()> {
    let bytes = fastjson::to_vec(
        &OffsetFile {
            offset_table: table,
        },
        KeyStyle::Fastjson,
    );
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| file_error(dir, e))?;
    }
    let tmp = path.with_extension("json.tmp");
    tokio::fs::write(&tmp, bytes)
        .await
        .map_err(|e| file_error(&tmp, e))?;
    tokio::fs::rename(&tmp, path)
        .await
        .map_err(|e| file_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_file_round_trips_in_javas_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g/offsets.json");
        let mut table = BTreeMap::new();
        table.insert(MessageQueue::new("T", "broker-a", 1), 42);
        write_file(&path, table.clone()).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            r#"{"offsetTable":{{"brokerName":"broker-a","queueId":1,"topic":"T"}:42}}"#
        );
        assert_eq!(read_file(&path).await.unwrap().offset_table, table);
        assert!(read_file(&dir.path().join("none.json"))
            .await
            .unwrap()
            .offset_table
            .is_empty());
    }
}
