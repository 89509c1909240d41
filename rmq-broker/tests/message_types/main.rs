//! 5.x message types on the real `mqbroker`, one test binary: topic attributes
//! (`+message.type=FIFO`, Apache's refusals, kept across a restart; `attributes`) and the
//! `message_type` label of the incoming-message metrics (`metrics`).

#[path = "../common/mod.rs"]
mod common;

mod attributes;
mod metrics;
