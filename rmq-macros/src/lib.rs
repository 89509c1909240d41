//! Attribute macros (`#[rocketmq_listener]`, `#[rocketmq_transaction_listener]`) for `rmq-starter`.
//!
//! Not built yet (issue 7).
