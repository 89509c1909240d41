//! The broker's admin requests, logged by [`rmq_remoting::audit`] on target `rmq::audit`
//! (docs/admin-safety.md): what changes topics, groups, offsets, settings or stored files.
//! Consumers' own offset commits (UPDATE_CONSUMER_OFFSET) are not admin requests: every
//! consumer sends them every few seconds.

use rmq_remoting::RequestCode;

/// Request codes a broker logs in the audit log.
pub const ADMIN_CODES: &[RequestCode] = &[
    RequestCode::UPDATE_AND_CREATE_TOPIC,
    RequestCode::DELETE_TOPIC_IN_BROKER,
    RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
    RequestCode::DELETE_SUBSCRIPTIONGROUP,
    RequestCode::UPDATE_BROKER_CONFIG,
    RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
    RequestCode::CLONE_GROUP_OFFSET,
    RequestCode::DELETE_EXPIRED_COMMITLOG,
    RequestCode::CLEAN_EXPIRED_CONSUMEQUEUE,
    RequestCode::CLEAN_UNUSED_TOPIC,
];
