//! The decision on one request, in the order of Apache 4.9.7's
//! `PlainPermissionManager.validate`: global whitelist, account, account whitelist, signature,
//! admin-only codes, then every resource's permission.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use rmq_remoting::acl::{signature_of_sorted, ACCESS_KEY, SIGNATURE};
use rmq_remoting::RemotingCommand;
use sha1::Sha1;

use crate::config::{Account, Rules};
use crate::perm::{is_admin_code, Perm};
use crate::resource::{needs, Resource};

/// Left out of the signed content by Apache's verifier besides `Signature` (`MixAll`'s
/// `UNIQUE_MSG_QUERY_FLAG`, which the Java client adds after signing).
const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";

/// The topic message traces go to; Apache lets any signed account publish to it.
const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// Why a request was refused. The wording is Apache's `AclException` message where it has
/// one; every variant names the account when there is one, none shows a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// Not whitelisted and not signed.
    #[error("No accessKey is configured")]
    NoAccessKey,
    /// Signed by an access key no file defines.
    #[error("No acl config for {0}")]
    UnknownAccount(String),
    /// The signature does not match the account's secret.
    #[error("Check signature failed for accessKey={0}")]
    BadSignature(String),
    /// An admin-only code from an account that is not admin.
    #[error("Need admin permission for request code={code}, but accessKey={access_key} is not")]
    NeedAdmin {
        /// The request code.
        code: i32,
        /// The account.
        access_key: String,
    },
    /// A topic or group the account may not use so.
    #[error(
        "No default permission for {resource}: accessKey={access_key} needs {needed}, has {owned}"
    )]
    NoPermission {
        /// The account.
        access_key: String,
        /// `topic:T` or `group:G`.
        resource: String,
        /// What the request needs.
        needed: Perm,
        /// What the account has on it.
        owned: Perm,
    },
    /// The request's topics or groups could not be read.
    #[error("{why} (accessKey={access_key})")]
    Unreadable {
        /// The account.
        access_key: String,
        /// What could not be read.
        why: String,
    },
}

/// A request signed over something other than a remoting command's fields: RocketMQ 5's gRPC
/// requests sign their `x-mq-date-time` header (docs/grpc-proxy.md, "ACL").
#[derive(Debug, Clone, Copy)]
pub struct SignedContent<'a> {
    /// The account the request names, if any.
    pub access_key: Option<&'a str>,
    /// What was signed.
    pub content: &'a [u8],
    /// The HMAC-SHA1 the client sent (raw bytes, not text), if any.
    pub mac: Option<&'a [u8]>,
}

impl Rules {
    /// Decides `request` from a peer at `peer`.
    pub fn check(&self, peer: IpAddr, request: &RemotingCommand) -> Result<(), Denial> {
        let access_key = request.ext_fields.get(ACCESS_KEY);
        let Some(account) = self.authenticate(peer, access_key, |account| {
            signature_matches(account, request)
        })?
        else {
            return Ok(());
        };
        let needs = needs(request).map_err(|why| Denial::Unreadable {
            access_key: account.access_key.clone(),
            why,
        })?;
        account.permits(request.code, &needs)
    }

    /// Decides a request from `peer` that signed `signed.content` and touches `needs`; `code`
    /// is the remoting request code it stands for (admin codes need an admin account). The
    /// same order and texts as [`Rules::check`].
    pub fn check_signed(
        &self,
        peer: IpAddr,
        signed: &SignedContent<'_>,
        code: i32,
        needs: &[(Resource<'_>, Perm)],
    ) -> Result<(), Denial> {
        let verify = |account: &Account| {
            signed.mac.is_some_and(|mac| {
                let mut expected =
                    <Hmac<Sha1> as Mac>::new_from_slice(account.secret_key.as_bytes())
                        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
                expected.update(signed.content);
                // `verify_slice` compares in constant time.
                expected.verify_slice(mac).is_ok()
            })
        };
        match self.authenticate(peer, signed.access_key, verify)? {
            Some(account) => account.permits(code, needs),
            None => Ok(()),
        }
    }

    /// Steps 1-5 of docs/acl.md, "The decision": `None` when the peer is whitelisted (allowed
    /// whatever it asks), else the account whose signature `verify` accepted.
    fn authenticate(
        &self,
        peer: IpAddr,
        access_key: Option<&str>,
        verify: impl FnOnce(&Account) -> bool,
    ) -> Result<Option<&Account>, Denial> {
        if self.global_white.iter().any(|white| white.matches(peer)) {
            return Ok(None);
        }
        let access_key = access_key.ok_or(Denial::NoAccessKey)?;
        let account = self
            .accounts
            .get(access_key)
            .ok_or_else(|| Denial::UnknownAccount(access_key.to_owned()))?;
        if account.white_remote_address.matches(peer) {
            return Ok(None);
        }
        if !verify(account) {
            return Err(Denial::BadSignature(access_key.to_owned()));
        }
        Ok(Some(account))
    }
}

impl Account {
    /// Steps 6-9 of docs/acl.md, "The decision": whether this (authenticated) account may send
    /// request `code` touching `needs`.
    fn permits(&self, code: i32, needs: &[(Resource<'_>, Perm)]) -> Result<(), Denial> {
        let trace = (Resource::Topic(TRACE_TOPIC.into()), Perm::PUB);
        if needs.contains(&trace) {
            return Ok(());
        }
        if is_admin_code(code) && !self.admin {
            return Err(Denial::NeedAdmin {
                code,
                access_key: self.access_key.clone(),
            });
        }
        if self.admin && self.topic_perms.is_empty() && self.group_perms.is_empty() {
            return Ok(());
        }
        for (resource, needed) in needs {
            let owned = match resource {
                Resource::Topic(t) => self
                    .topic_perms
                    .get(t.as_ref())
                    .copied()
                    .unwrap_or(self.default_topic_perm),
                Resource::Group(g) => self
                    .group_perms
                    .get(g.as_ref())
                    .copied()
                    .unwrap_or(self.default_group_perm),
            };
            if !needed.granted_by(owned) {
                return Err(Denial::NoPermission {
                    access_key: self.access_key.clone(),
                    resource: resource.to_string(),
                    needed: *needed,
                    owned,
                });
            }
        }
        Ok(())
    }
}

/// Whether the request's `Signature` is the account's signature of its fields (sorted by key,
/// `Signature` and `_UNIQUE_KEY_QUERY` left out) and body; compared in constant time.
fn signature_matches(account: &Account, request: &RemotingCommand) -> bool {
    let Some(given) = request.ext_fields.get(SIGNATURE) else {
        return false;
    };
    let mut fields: Vec<(&str, &str)> = request
        .ext_fields
        .iter()
        .filter(|(key, _)| *key != SIGNATURE && *key != UNIQUE_KEY_QUERY)
        .collect();
    fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let expected = signature_of_sorted(
        fields.iter().map(|(_, value)| *value),
        &request.body,
        &account.secret_key,
    );
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use rmq_remoting::acl::Credentials;
    use rmq_remoting::RequestCode;

    use super::*;

    const RULES: &str = "
globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress: 192.168.0.{1,2}
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      - groupA=DENY
      - groupB=PUB|SUB
      - groupC=SUB
  - accessKey: rocketmq2
    secretKey: 12345678
    admin: true
";

    fn rules() -> Rules {
        Rules::parse("plain_acl.yml", RULES).unwrap()
    }

    fn signed(code: RequestCode, fields: &[(&str, &str)], ak: &str) -> RemotingCommand {
        let mut request = RemotingCommand::request_without_header(code);
        for (k, v) in fields {
            request.ext_fields.insert((*k).into(), (*v).into());
        }
        Credentials::new(ak, "12345678").sign(&mut request);
        request
    }

    fn local() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    #[test]
    fn sends_by_topic_permission() {
        let rules = rules();
        let send = |topic| {
            signed(
                RequestCode::SEND_MESSAGE_V2,
                &[("a", "p"), ("b", topic)],
                "RocketMQ",
            )
        };
        assert_eq!(rules.check(local(), &send("topicB")), Ok(()));
        let denied = rules.check(local(), &send("topicC")).unwrap_err();
        assert_eq!(
            denied.to_string(),
            "No default permission for topic:topicC: accessKey=RocketMQ needs PUB, has SUB"
        );
        assert!(matches!(
            rules.check(local(), &send("topicA")),
            Err(Denial::NoPermission { .. })
        ));
        assert!(
            matches!(
                rules.check(local(), &send("other")),
                Err(Denial::NoPermission { .. })
            ),
            "default DENY"
        );
        assert_eq!(
            rules.check(local(), &send(TRACE_TOPIC)),
            Ok(()),
            "traces always pass"
        );
    }

    #[test]
    fn pulls_need_topic_and_group() {
        let rules = rules();
        let pull = |topic, group| {
            signed(
                RequestCode::PULL_MESSAGE,
                &[("topic", topic), ("consumerGroup", group)],
                "RocketMQ",
            )
        };
        assert_eq!(rules.check(local(), &pull("topicC", "groupC")), Ok(()));
        assert_eq!(
            rules.check(local(), &pull("topicC", "otherGroup")),
            Ok(()),
            "default group SUB"
        );
        let denied = rules.check(local(), &pull("topicC", "groupA")).unwrap_err();
        assert!(denied.to_string().contains("group:groupA"), "{denied}");
    }

    #[test]
    fn admin_codes_need_an_admin() {
        let rules = rules();
        let create = |ak| signed(RequestCode::UPDATE_AND_CREATE_TOPIC, &[("topic", "t")], ak);
        assert_eq!(
            rules
                .check(local(), &create("RocketMQ"))
                .unwrap_err()
                .to_string(),
            "Need admin permission for request code=17, but accessKey=RocketMQ is not"
        );
        assert_eq!(rules.check(local(), &create("rocketmq2")), Ok(()));
        let any_send = signed(RequestCode::SEND_MESSAGE_V2, &[("b", "x")], "rocketmq2");
        assert_eq!(
            rules.check(local(), &any_send),
            Ok(()),
            "an admin without lists may do anything"
        );
    }

    #[test]
    fn signatures_and_accounts() {
        let rules = rules();
        let mut request = signed(RequestCode::SEND_MESSAGE_V2, &[("b", "topicB")], "RocketMQ");
        request
            .ext_fields
            .insert(UNIQUE_KEY_QUERY.into(), "true".into());
        assert_eq!(
            rules.check(local(), &request),
            Ok(()),
            "_UNIQUE_KEY_QUERY is not signed"
        );
        request.ext_fields.insert("b".into(), "topicC".into());
        assert_eq!(
            rules.check(local(), &request),
            Err(Denial::BadSignature("RocketMQ".into()))
        );
        let mut wrong_secret =
            RemotingCommand::request_without_header(RequestCode::SEND_MESSAGE_V2);
        Credentials::new("RocketMQ", "87654321").sign(&mut wrong_secret);
        assert_eq!(
            rules.check(local(), &wrong_secret),
            Err(Denial::BadSignature("RocketMQ".into()))
        );
        let unsigned = RemotingCommand::request_without_header(RequestCode::SEND_MESSAGE_V2);
        assert_eq!(rules.check(local(), &unsigned), Err(Denial::NoAccessKey));
        let stranger = signed(RequestCode::SEND_MESSAGE_V2, &[], "nobody12");
        assert_eq!(
            rules.check(local(), &stranger),
            Err(Denial::UnknownAccount("nobody12".into()))
        );
    }

    #[test]
    fn whitelists_skip_signature_and_permissions() {
        let rules = rules();
        let unsigned =
            RemotingCommand::request_without_header(RequestCode::UPDATE_AND_CREATE_TOPIC);
        assert_eq!(
            rules.check("10.10.103.7".parse().unwrap(), &unsigned),
            Ok(())
        );
        let mut bad = signed(RequestCode::UPDATE_AND_CREATE_TOPIC, &[], "RocketMQ");
        bad.ext_fields.insert(SIGNATURE.into(), "forged".into());
        assert_eq!(rules.check("192.168.0.2".parse().unwrap(), &bad), Ok(()));
        assert_eq!(
            rules.check("192.168.0.3".parse().unwrap(), &bad),
            Err(Denial::BadSignature("RocketMQ".into()))
        );
    }

    /// RocketMQ 5's gRPC signature: HMAC-SHA1 of the `x-mq-date-time` value.
    #[test]
    fn signed_content() {
        let rules = rules();
        let date = b"20261206T230000Z";
        let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(b"12345678").unwrap();
        mac.update(date);
        let mac = mac.finalize().into_bytes();
        let signed = |ak, mac| SignedContent {
            access_key: Some(ak),
            content: date,
            mac,
        };
        let pub_b = [(Resource::topic("topicB".into()), Perm::PUB)];
        let pub_c = [(Resource::topic("topicC".into()), Perm::PUB)];
        let send = RequestCode::SEND_MESSAGE_V2.as_i32();
        let ok = signed("RocketMQ", Some(&mac[..]));
        assert_eq!(rules.check_signed(local(), &ok, send, &pub_b), Ok(()));
        assert_eq!(
            rules
                .check_signed(local(), &ok, send, &pub_c)
                .unwrap_err()
                .to_string(),
            "No default permission for topic:topicC: accessKey=RocketMQ needs PUB, has SUB"
        );
        assert_eq!(
            rules.check_signed(local(), &signed("RocketMQ", Some(&mac[..19])), send, &pub_b),
            Err(Denial::BadSignature("RocketMQ".into()))
        );
        assert_eq!(
            rules.check_signed(local(), &signed("RocketMQ", None), send, &pub_b),
            Err(Denial::BadSignature("RocketMQ".into()))
        );
        assert_eq!(
            rules.check_signed(local(), &signed("nobody12", Some(&mac[..])), send, &pub_b),
            Err(Denial::UnknownAccount("nobody12".into()))
        );
        let anonymous = SignedContent {
            access_key: None,
            content: b"",
            mac: None,
        };
        assert_eq!(
            rules.check_signed(local(), &anonymous, send, &pub_b),
            Err(Denial::NoAccessKey)
        );
        assert_eq!(
            rules.check_signed("10.10.103.1".parse().unwrap(), &anonymous, send, &pub_c),
            Ok(()),
            "whitelisted"
        );
        let group_retry = [(Resource::topic("%RETRY%groupA".into()), Perm::SUB)];
        assert!(matches!(
            rules.check_signed(local(), &ok, send, &group_retry),
            Err(Denial::NoPermission { .. })
        ));
    }
}
