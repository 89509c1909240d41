//! Appending: validation, encoding a record in place under the writer lock, dispatching it
//! into its consume queue and the index, and waiting for the flush (SYNC_FLUSH) or a replica.

use super::*;

pub(super) struct Appended {
    result: PutResult,
    /// The record's queue (its topic and id are what long polling is told).
    queue: Arc<ConsumeQueue>,
    last_tag_code: i64,
    dispatched: bool,
    /// The queue's max offset after the append (what long polling is told).
    queue_max: i64,
}

impl Inner {
    pub(super) fn validate(&self, m: &PutMessage) -> Result<()> {
        if !valid_topic(&m.topic) {
            return Err(StoreError::MessageIllegal(format!(
                "topic {:?} is empty, longer than 255 bytes or has characters outside [A-Za-z0-9%|_-]",
                m.topic
            )));
        }
        if m.queue_id < 0 {
            return Err(StoreError::MessageIllegal(format!(
                "queue id {} is negative",
                m.queue_id
            )));
        }
        if m.body.len() > self.config.max_message_size {
            return Err(StoreError::MessageIllegal(format!(
                "body is {} bytes, more than maxMessageSize={}",
                m.body.len(),
                self.config.max_message_size
            )));
        }
        if m.properties.len() > MAX_PROPERTIES_LEN {
            return Err(StoreError::PropertiesSizeExceeded(m.properties.len()));
        }
        let size = record_size(
            host_flags(m),
            m.topic.len(),
            m.body.len(),
            m.properties.len(),
        ) as u64;
        if size + END_FILE_MIN_BLANK_LENGTH > self.config.mapped_file_size_commit_log {
            return Err(StoreError::MessageIllegal(format!(
                "record of {size} bytes does not fit in a commit-log file of mappedFileSizeCommitLog={} bytes",
                self.config.mapped_file_size_commit_log
            )));
        }
        Ok(())
    }

    pub(super) fn check_writable(&self) -> Result<()> {
        if self.shutdown.load(Ordering::Acquire) {
            return Err(StoreError::NotAvailable("message store has been shut down"));
        }
        if let Some(e) = self.failure() {
            return Err(e);
        }
        if self.disk_full.load(Ordering::Acquire) {
            return Err(self.disk_full_error());
        }
        Ok(())
    }

    /// Appends records under the writer lock and dispatches them.
    pub(super) fn append(&self, msgs: &[PutMessage]) -> Result<Appended> {
        let first = msgs
            .first()
            .ok_or_else(|| StoreError::MessageIllegal("empty batch".into()))?;
        for m in msgs {
            self.validate(m)?;
            if m.topic != first.topic || m.queue_id != first.queue_id {
                return Err(StoreError::MessageIllegal(
                    "a batch must target one topic and queue".into(),
                ));
            }
        }
        let mut w = lock(&self.writer);
        // One clock read under the lock: the records' store time and the lock's start.
        let store_ts = now_ms();
        let _held = self.put_times.hold_lock(store_ts);
        self.check_writable()?;
        let cq = self.queue_or_create(&first.topic, first.queue_id)?;
        let (log_end, queue_end) = (self.commit_log.max_offset(), cq.max_offset());
        let appended = match self.write_batch(msgs, &cq, store_ts) {
            Ok(a) => a,
            Err(e) => {
                self.roll_back(log_end, &cq, queue_end);
                self.put_times.failed();
                return Err(self.fail(e));
            }
        };
        let end = appended.result.end_offset;
        self.dispatched.store(end, Ordering::Release);
        self.publish_written(end);
        let sec = store_ts / 1000;
        let slot = &mut w.tps[(sec as usize) % 16];
        if slot.0 != sec {
            *slot = (sec, 0);
        }
        slot.1 += msgs.len() as u64;
        drop(w);
        self.maybe_request_writeback(log_end, end as u64);
        self.put_count
            .fetch_add(msgs.len() as u64, Ordering::Relaxed);
        self.put_bytes
            .fetch_add(appended.result.wrote_bytes as u64, Ordering::Relaxed);
        Ok(appended)
    }

    /// Undoes a batch that failed half way (a write error, no space for a new file): the
    /// commit log goes back to `log_end` and the queue to `queue_end`, so neither readers nor a
    /// later recovery see a record of an append that was answered with an error. Index entries
    /// written meanwhile point past the end or at later records; look-ups verify and skip them.
    fn roll_back(&self, log_end: u64, cq: &ConsumeQueue, queue_end: u64) {
        let undone = self
            .commit_log
            .truncate(log_end)
            .and_then(|()| cq.cut(queue_end));
        if let Err(e) = undone {
            // Zeroing the failed record's bytes could not be made durable either.
            self.fail(e);
        }
    }

    /// Encodes `msgs` into the commit log one after the other and dispatches each. The caller
    /// holds the writer lock and rolls back on error.
    fn write_batch(
        &self,
        msgs: &[PutMessage],
        cq: &Arc<ConsumeQueue>,
        store_ts: i64,
    ) -> Result<Appended> {
        if msgs.is_empty() {
            return Err(StoreError::MessageIllegal("empty batch".into()));
        }
        let mut next_queue_offset = cq.max_offset() as i64;
        let mut phys_first = -1i64;
        let mut wrote_bytes = 0i64;
        let mut queue_offset_first = -1i64;
        let mut msg_ids = String::new();
        let mut last_tag_code = 0;
        let mut dispatched = false;
        for m in msgs {
            let tx = sys_flag::transaction_type(m.sys_flag);
            let dispatchable =
                tx == sys_flag::TRANSACTION_NOT_TYPE || tx == sys_flag::TRANSACTION_COMMIT;
            let queue_offset = if dispatchable { next_queue_offset } else { 0 };
            let sys = host_flags(m);
            let size = record_size(sys, m.topic.len(), m.body.len(), m.properties.len()) as u64;
            let (file, pos) = loop {
                let next = self.commit_log.max_offset();
                let file = self.commit_log.file_for_write(next)?;
                let pos = file.wrote();
                let remaining = file.size() - pos;
                if size + END_FILE_MIN_BLANK_LENGTH <= remaining {
                    break (file, pos);
                }
                // Pad the rest of the file; the record goes to the next one.
                // SAFETY: single writer, region above the published position.
                if let Some(b) = unsafe { file.bytes_mut(pos, END_FILE_MIN_BLANK_LENGTH) } {
                    b[0..4].copy_from_slice(&(remaining as i32).to_be_bytes());
                    b[4..8].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
                }
                file.set_wrote(file.size());
                wrote_bytes += remaining as i64;
            };
            let phys = (file.start() + pos) as i64;
            let view = RecordView {
                total_size: size as i32,
                magic: if m.topic.len() > 127 {
                    MAGIC_CODE_V2
                } else {
                    MAGIC_CODE_V1
                },
                body_crc: rmq_remoting::message::body_crc32(&m.body),
                queue_id: m.queue_id,
                flag: m.flag,
                queue_offset,
                physical_offset: phys,
                sys_flag: sys,
                born_timestamp: m.born_timestamp,
                born_host: m.born_host,
                store_timestamp: store_ts,
                store_host: m.store_host,
                reconsume_times: m.reconsume_times,
                prepared_transaction_offset: m.prepared_transaction_offset,
                body: &m.body,
                topic: &m.topic,
                properties: &m.properties,
            };
            // SAFETY: single writer (lock held), region above the published position.
            let dst = unsafe { file.bytes_mut(pos, size) }.ok_or(StoreError::NotAvailable(
                "record does not fit the mapped file",
            ))?;
            crate::fault::before_write(file.path()).map_err(|e| StoreError::io(file.path(), e))?;
            write_record(&view, dst).map_err(|e| StoreError::MessageIllegal(e.to_string()))?;
            file.set_wrote(pos + size);
            last_tag_code = self.dispatch(&view, phys, size as i32, Some(cq))?;
            dispatched |= dispatchable;
            if dispatchable {
                next_queue_offset += 1;
            }
            if phys_first < 0 {
                phys_first = phys;
                queue_offset_first = queue_offset;
            }
            let id = encode_offset_msg_id(m.store_host, phys);
            if msg_ids.is_empty() {
                msg_ids = id;
            } else {
                msg_ids.push(',');
                msg_ids.push_str(&id);
            }
            wrote_bytes += size as i64;
        }
        let end = self.commit_log.max_offset() as i64;
        Ok(Appended {
            result: PutResult {
                status: PutStatus::PutOk,
                phys_offset: phys_first,
                wrote_bytes,
                msg_id: msg_ids,
                queue_offset: queue_offset_first,
                store_timestamp: store_ts,
                msg_num: msgs.len(),
                end_offset: end,
            },
            queue: cq.clone(),
            last_tag_code,
            dispatched,
            queue_max: cq.max_offset() as i64,
        })
    }

    /// Builds the consume-queue entry and the index entries of one record. Used by append (which
    /// passes the record's queue, already looked up) and by recovery (idempotent). Returns the
    /// tag code.
    pub(super) fn dispatch(
        &self,
        v: &RecordView<'_>,
        phys: i64,
        size: i32,
        queue: Option<&Arc<ConsumeQueue>>,
    ) -> Result<i64> {
        let tx = sys_flag::transaction_type(v.sys_flag);
        let [tags, message_keys, uniq_key] =
            property_values(v.properties, [keys::TAGS, keys::KEYS, keys::UNIQ_KEY]);
        let tag_code = crate::delay::delivery_tag_code(
            v.topic,
            v.properties,
            v.store_timestamp,
            &self.config.message_delay_level,
        )
        .unwrap_or_else(|| tags_code(tags));
        if tx == sys_flag::TRANSACTION_NOT_TYPE || tx == sys_flag::TRANSACTION_COMMIT {
            let cq = match queue {
                Some(cq) => cq.clone(),
                None => self.queue_or_create(v.topic, v.queue_id)?,
            };
            cq.put(
                v.queue_offset as u64,
                CqEntry {
                    phys_offset: phys,
                    size,
                    tag_code,
                },
            )?;
        }
        if self.config.message_index_enable
            && tx != sys_flag::TRANSACTION_ROLLBACK
            && phys >= self.index_from.load(Ordering::Acquire)
        {
            // KEYS holds space-separated keys; the index skips empty ones.
            let keys = message_keys
                .into_iter()
                .flat_map(|k| k.split(' '))
                .chain(uniq_key);
            self.index.put(v.topic, keys, phys, v.store_timestamp)?;
        }
        Ok(tag_code)
    }

    pub(super) async fn after_append(&self, a: Appended, wait: bool) -> Result<PutResult> {
        if a.dispatched {
            let listener = self
                .listener
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if let Some(l) = listener {
                l.arriving(
                    a.queue.topic(),
                    a.queue.queue_id(),
                    a.queue_max,
                    a.last_tag_code,
                    a.result.store_timestamp,
                );
            }
        }
        let mut result = a.result;
        if !wait {
            return Ok(result);
        }
        // As RocketMQ, the disk flush and the slave wait run side by side; a replica status
        // (the later one in Java's combination) wins over a flush status.
        let end = result.end_offset;
        // A failed sync answers at once, without waiting for the slave.
        let (flushed, replicated) = tokio::try_join!(self.wait_flushed(end), async {
            Ok(self.wait_replicated(end).await)
        })?;
        if let Some(status) = replicated.or(flushed) {
            result.status = status;
        }
        Ok(result)
    }

    /// In SYNC_FLUSH, waits until the commit log is durable up to `end`; `Some` on timeout, an
    /// error when a sync failed first (the append is not durable and must not be answered OK).
    pub(super) async fn wait_flushed(&self, end: i64) -> Result<Option<PutStatus>> {
        if self.config.flush_disk_type != FlushDiskType::SyncFlush {
            return Ok(None);
        }
        let mut rx = self.flushed_tx.subscribe();
        if *rx.borrow() >= end {
            return Ok(None);
        }
        // A handler's first poll runs inline on its connection's read loop (rmq-remoting), where
        // a sync in place would stop that connection's reading for the sync: one message per
        // sync for all of a client's senders (3.4k against 7-8k sends/s with 8 Java senders).
        // Yielding once sends the rest of this wait to a task of its own.
        tokio::task::yield_now().await;
        if *rx.borrow() >= end {
            return Ok(None);
        }
        if !self.sync_in_place() {
            self.wake_flusher();
        }
        // `fail` pokes the channel, so a failure wakes this wait too.
        let done = |f: &i64| *f >= end || self.failed.get().is_some();
        let waited = tokio::time::timeout(self.config.sync_flush_timeout, rx.wait_for(done))
            .await
            .map(|r| r.is_ok());
        if *rx.borrow() >= end {
            return Ok(None);
        }
        if let Some(e) = self.failure() {
            return Err(e);
        }
        if waited.is_ok() {
            return Err(StoreError::NotAvailable("message store has been shut down"));
        }
        tracing::warn!("sync flush of offset {end} did not finish within syncFlushTimeout");
        Ok(Some(PutStatus::FlushDiskTimeout))
    }

    /// With a replica hook (SYNC_MASTER), waits until a slave holds the commit log up to `end`;
    /// `Some` when it did not within `syncFlushTimeout` or no slave is in sync.
    pub(super) async fn wait_replicated(&self, end: i64) -> Option<PutStatus> {
        let replica = self
            .replica
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()?;
        match replica.wait_for(end, self.config.sync_flush_timeout).await {
            ReplicaAck::Acked => None,
            ReplicaAck::Timeout => Some(PutStatus::FlushSlaveTimeout),
            ReplicaAck::NotAvailable => Some(PutStatus::SlaveNotAvailable),
        }
    }
}

fn host_flags(m: &PutMessage) -> i32 {
    let mut f = m.sys_flag & !(sys_flag::BORNHOST_V6 | sys_flag::STOREHOST_V6);
    if m.born_host.is_ipv6() {
        f |= sys_flag::BORNHOST_V6;
    }
    if m.store_host.is_ipv6() {
        f |= sys_flag::STOREHOST_V6;
    }
    f
}
