//! The admin audit log shared by the broker and the name server (docs/admin-safety.md): every
//! request that changes topics, groups, offsets, permissions, KV entries or settings is logged
//! at INFO on target `rmq::audit` with its code name, the peer's address, the account that
//! signed it (the `AccessKey` field, "-" when unsigned) and what it changes.
//!
//! It is a router guard that never refuses: it runs before the handler, so an attempt is
//! logged even when an ACL guard added after it, or the handler, refuses it.

use crate::command::RemotingCommand;
use crate::transport::Connection;
use crate::RequestCode;

/// The tracing target of audit lines, so they can be routed to their own file
/// (`RUST_LOG=rmq::audit=info`).
pub const TARGET: &str = "rmq::audit";

/// Header fields that name what a request changes, in the order they are reported.
const RESOURCE_FIELDS: &[&str] = &[
    "topic",
    "group",
    "consumerGroup",
    "groupName",
    "producerGroup",
    "srcGroup",
    "destGroup",
    "brokerName",
    "clusterName",
    "namespace",
    "key",
    "queueId",
    "timestamp",
    "offset",
];

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Apache's name of the request code.
    pub request: &'static str,
    /// The account that signed the request, "-" when unsigned.
    pub account: String,
    /// What the request changes: `field=value` pairs, or the keys of a settings update.
    pub resource: String,
}

/// The entry for `request` when its code is one of `admin_codes`, `None` for other requests.
pub fn describe(admin_codes: &[RequestCode], request: &RemotingCommand) -> Option<AuditEntry> {
    let code = admin_codes
        .iter()
        .find(|c| c.as_i32() == request.code)
        .copied()?;
    let account = request
        .ext_fields
        .get("AccessKey")
        .filter(|k| !k.is_empty())
        .unwrap_or("-")
        .to_owned();
    let mut parts: Vec<String> = RESOURCE_FIELDS
        .iter()
        .filter_map(|f| request.ext_fields.get(f).map(|v| format!("{f}={v}")))
        .collect();
    match code {
        RequestCode::UPDATE_BROKER_CONFIG | RequestCode::UPDATE_NAMESRV_CONFIG => {
            let keys: Vec<String> =
                rmq_config::properties::parse(&String::from_utf8_lossy(&request.body))
                    .into_iter()
                    .map(|p| p.key)
                    .collect();
            parts.push(format!("keys={}", keys.join(",")));
        }
        RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
            if let Some(name) = serde_json::from_slice::<serde_json::Value>(&request.body)
                .ok()
                .and_then(|v| v.get("groupName")?.as_str().map(str::to_owned))
            {
                parts.push(format!("groupName={name}"));
            }
        }
        _ => {}
    }
    Some(AuditEntry {
        request: code.name(),
        account,
        resource: if parts.is_empty() {
            "-".to_owned()
        } else {
            parts.join(" ")
        },
    })
}

/// A router guard logging every request whose code is in `admin_codes`; it never refuses.
pub fn guard(
    admin_codes: &'static [RequestCode],
) -> impl Fn(&Connection, &RemotingCommand) -> Result<(), crate::CommandError> + Send + Sync + 'static
{
    move |conn, request| {
        if let Some(entry) = describe(admin_codes, request) {
            tracing::info!(
                target: TARGET,
                request = entry.request,
                peer = %conn.peer_addr(),
                account = %entry.account,
                resource = %entry.resource,
                "admin request"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::broker::CreateTopicRequestHeader;

    const CODES: &[RequestCode] = &[
        RequestCode::UPDATE_AND_CREATE_TOPIC,
        RequestCode::UPDATE_BROKER_CONFIG,
        RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
    ];

    fn create_topic() -> RemotingCommand {
        RemotingCommand::request(
            RequestCode::UPDATE_AND_CREATE_TOPIC,
            &CreateTopicRequestHeader {
                topic: "Orders".into(),
                default_topic: "TBW102".into(),
                read_queue_nums: 4,
                write_queue_nums: 4,
                perm: 6,
                topic_filter_type: "SINGLE_TAG".into(),
                topic_sys_flag: 0,
                order: false,
                attributes: None,
                force: None,
            },
        )
    }

    #[test]
    fn an_unsigned_topic_creation_names_the_topic_and_no_account() {
        let entry = describe(CODES, &create_topic()).unwrap();
        assert_eq!(entry.request, "UPDATE_AND_CREATE_TOPIC");
        assert_eq!(entry.account, "-");
        assert_eq!(entry.resource, "topic=Orders");
    }

    #[test]
    fn a_signed_request_names_its_account_and_never_the_signature() {
        let mut request = create_topic();
        request
            .ext_fields
            .insert("AccessKey".into(), "rocketmq2".into());
        request
            .ext_fields
            .insert("Signature".into(), "c2VjcmV0".into());
        let entry = describe(CODES, &request).unwrap();
        assert_eq!(entry.account, "rocketmq2");
        assert!(!format!("{entry:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn config_updates_list_their_keys_and_group_updates_their_group() {
        let update = RemotingCommand::request_without_header(RequestCode::UPDATE_BROKER_CONFIG)
            .with_body(b"brokerPermission=4\nstorePathRootDir=/x\n".to_vec());
        assert_eq!(
            describe(CODES, &update).unwrap().resource,
            "keys=brokerPermission,storePathRootDir"
        );
        let group = RemotingCommand::request_without_header(
            RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
        )
        .with_body(br#"{"groupName":"cg","consumeEnable":true}"#.to_vec());
        assert_eq!(describe(CODES, &group).unwrap().resource, "groupName=cg");
    }

    #[test]
    fn other_requests_are_not_audited() {
        let pull = RemotingCommand::request_without_header(RequestCode::PULL_MESSAGE);
        assert_eq!(describe(CODES, &pull), None);
    }
}
