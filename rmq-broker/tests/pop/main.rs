//! 5.x POP on the real `mqbroker` binary over TCP, one test binary (one link) for every POP
//! test: pop, ack and change, revive, restart, dead-letter queue and long polling (`basic`);
//! BATCH_ACK, PEEK, NOTIFICATION and POLLING_INFO (`requests`); FIFO pop (`fifo`); the in-flight
//! and parking limits (`limits`); slaves and deleted topics or groups (`roles`). Messages are
//! counted as multisets: a duplicate shows.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod basic;
mod fifo;
mod limits;
mod requests;
mod roles;
