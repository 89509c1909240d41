//! Reads: records by physical offset, pulls through a consume queue, look-ups through the index.

use super::*;

impl Inner {
    pub(super) fn record_at(&self, phys: i64, size: Option<i32>) -> Option<SelectedBuffer> {
        let p = u64::try_from(phys).ok()?;
        let f = self.commit_log.find(p)?;
        let rel = p - f.start();
        let wrote = f.wrote();
        let head = f.bytes(rel, 8)?;
        if rel + 8 > wrote {
            return None;
        }
        let total = i32::from_be_bytes(head[0..4].try_into().ok()?);
        let magic = u32::from_be_bytes(head[4..8].try_into().ok()?);
        if magic != MAGIC_CODE_V1 && magic != MAGIC_CODE_V2 {
            return None;
        }
        if let Some(s) = size {
            if s != total {
                return None;
            }
        }
        if total <= 0 || rel + total as u64 > wrote {
            return None;
        }
        SelectedBuffer::new(f, rel, total as u64)
    }

    pub(super) fn store_time_of(&self, e: CqEntry) -> Option<i64> {
        let b = self.record_at(e.phys_offset, Some(e.size))?;
        store_timestamp_at(b.as_slice())
    }

    pub(super) fn get_message(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_count: usize,
        max_bytes: usize,
        filter: &dyn MessageFilter,
    ) -> GetMessageResult {
        let mut r = GetMessageResult {
            status: GetMessageStatus::NoMatchedLogicQueue,
            next_begin_offset: 0,
            min_offset: 0,
            max_offset: 0,
            messages: Vec::new(),
            queue_offsets: Vec::new(),
        };
        let Some(q) = self.queue(topic, queue_id) else {
            r.next_begin_offset = offset.max(0);
            return r;
        };
        let (min, max) = (q.min_offset() as i64, q.max_offset() as i64);
        r.min_offset = min;
        r.max_offset = max;
        if max == 0 {
            r.status = GetMessageStatus::NoMessageInQueue;
            return r;
        }
        if offset < min {
            r.status = GetMessageStatus::OffsetTooSmall;
            r.next_begin_offset = min;
            return r;
        }
        if offset == max {
            r.status = GetMessageStatus::OffsetOverflowOne;
            r.next_begin_offset = offset;
            return r;
        }
        if offset > max {
            r.status = GetMessageStatus::OffsetOverflowBadly;
            r.next_begin_offset = if min == 0 { min } else { max };
            return r;
        }
        let max_count = max_count.max(1);
        let scan_limit = (max_count * 20).max(800) as i64;
        let mut next = offset;
        let mut bytes = 0usize;
        let mut removed = false;
        let mut missing = false;
        let mut cur = offset;
        let commit_min = self.commit_log.min_offset() as i64;
        // Entries of an append still in progress (or being rolled back) are not read yet.
        let committed = self.written.load(Ordering::Acquire);
        while cur < max && cur < offset + scan_limit && r.messages.len() < max_count {
            let Some(e) = q
                .entry(cur as u64)
                .filter(|e| e.phys_offset + i64::from(e.size) <= committed)
            else {
                missing = true;
                break;
            };
            next = cur + 1;
            if e.is_hole() {
                cur += 1;
                continue;
            }
            if e.phys_offset < commit_min {
                removed = true;
                cur += 1;
                continue;
            }
            if !r.messages.is_empty() && bytes + e.size as usize > max_bytes {
                next = cur;
                break;
            }
            if !filter.matches_tag_code(e.tag_code) {
                cur += 1;
                continue;
            }
            let Some(buf) = self.record_at(e.phys_offset, Some(e.size)) else {
                removed = true;
                cur += 1;
                continue;
            };
            if !filter.matches_record(buf.as_slice()) {
                cur += 1;
                continue;
            }
            bytes += buf.len();
            r.messages.push(buf);
            r.queue_offsets.push(cur);
            cur += 1;
        }
        r.next_begin_offset = next;
        r.status = if !r.messages.is_empty() {
            GetMessageStatus::Found
        } else if removed {
            GetMessageStatus::MessageWasRemoving
        } else if missing && next == offset {
            GetMessageStatus::OffsetFoundNull
        } else {
            GetMessageStatus::NoMatchedMessage
        };
        r
    }

    pub(super) fn query_message(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> Vec<SelectedBuffer> {
        let mut offsets =
            self.index
                .query(topic, key, max.saturating_mul(4).max(max), begin_ms, end_ms);
        offsets.sort_unstable_by(|a, b| b.cmp(a));
        offsets.dedup();
        let mut out = Vec::new();
        for phys in offsets {
            if out.len() >= max {
                break;
            }
            let Some(buf) = self.record_at(phys, None) else {
                continue;
            };
            let Ok(v) = decode_record(buf.as_slice(), false) else {
                continue;
            };
            if v.topic != topic || v.physical_offset != phys {
                continue;
            }
            let has_key = property_value(v.properties, keys::UNIQ_KEY) == Some(key)
                || property_value(v.properties, keys::KEYS)
                    .is_some_and(|k| k.split(' ').any(|x| x == key));
            if has_key && v.store_timestamp >= begin_ms - 1000 && v.store_timestamp <= end_ms {
                out.push(buf);
            }
        }
        out
    }
}

/// The TOTALSIZE and magic code at `pos` of a commit-log file, if 8 bytes are there.
pub(super) fn record_head(f: &MappedFile, pos: u64) -> Option<(i32, u32)> {
    let head = f.bytes(pos, 8)?;
    Some((
        i32::from_be_bytes([head[0], head[1], head[2], head[3]]),
        u32::from_be_bytes([head[4], head[5], head[6], head[7]]),
    ))
}
