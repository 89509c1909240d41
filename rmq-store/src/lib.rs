//! The rmq message store: commit log, consume queues, index, flush and recovery (issue 3).
//!
//! Layout on disk is RocketMQ's: `commitlog/` (files named by their 20-digit start offset, records
//! in the stored-message layout of `rmq_remoting::message`), `consumequeue/<topic>/<queueId>/`
//! (20-byte entries), `index/` (hash index files), `checkpoint`, `abort`, `lock`.
//!
//! Files are memory-mapped and preallocated. Appends are encoded in place into the mapping under
//! one writer lock and dispatched synchronously into the consume queue and the index, so the
//! store keeps no message data in buffers of its own: memory use is the page cache (which the
//! kernel bounds and reclaims) plus one small fixed structure per consume queue. Reads hand out
//! [`SelectedBuffer`]s that borrow the mapping (zero copy), capped per call by the caller's
//! `max_count` / `max_bytes`.

mod checkpoint;
mod config;
mod consume_queue;
mod delay;
mod error;
#[cfg(feature = "fault-injection")]
pub mod fault;
#[cfg(not(feature = "fault-injection"))]
mod fault;
mod index;
mod mapped_file;
mod store;
mod types;

pub use config::{FlushDiskType, StoreConfig};
pub use consume_queue::CqEntry;
pub use delay::{DelayLevels, SCHEDULE_TOPIC, TIMER_TOPIC};
pub use error::{Result, StoreError};
pub use mapped_file::SelectedBuffer;
pub use store::put_times::{PutTimes, DISTRIBUTION_LABELS, LATENCY_BOUNDS};
pub use store::MessageStore;
pub use types::*;
