//! Which topics and groups a request touches and the permission each needs, as Apache 4.9.7's
//! `PlainAccessValidator.parse` reads them (docs/acl.md has the table).

use std::borrow::Cow;

use rmq_remoting::body::pop::BatchAckMessageRequestBody;
use rmq_remoting::{fastjson, RemotingCommand, RequestCode};
use serde::Deserialize;

use crate::config::RETRY_PREFIX;
use crate::perm::Perm;

/// A topic or a consumer group a request touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource<'a> {
    /// A topic by name.
    Topic(Cow<'a, str>),
    /// A consumer group by name (Apache checks it as its retry topic).
    Group(Cow<'a, str>),
}

impl<'a> Resource<'a> {
    /// A topic named in a request: a retry topic stands for its group, as in Apache.
    pub fn topic(name: Cow<'a, str>) -> Resource<'a> {
        match name {
            Cow::Borrowed(b) => match b.strip_prefix(RETRY_PREFIX) {
                Some(group) => Resource::Group(Cow::Borrowed(group)),
                None => Resource::Topic(Cow::Borrowed(b)),
            },
            Cow::Owned(o) => match o.strip_prefix(RETRY_PREFIX) {
                Some(group) => Resource::Group(Cow::Owned(group.to_owned())),
                None => Resource::Topic(Cow::Owned(o)),
            },
        }
    }
}

impl std::fmt::Display for Resource<'_> {
    /// Apache's `PlainAccessResource.printStr`: `topic:T` or `group:G`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resource::Topic(t) => write!(f, "topic:{t}"),
            Resource::Group(g) => write!(f, "group:{g}"),
        }
    }
}

/// The resources `request` touches with the permission each needs. An error is a request
/// whose needed resources cannot be read (a required header field missing, a heartbeat body
/// that is not JSON): Apache refuses those too.
pub fn needs(request: &RemotingCommand) -> Result<Vec<(Resource<'_>, Perm)>, String> {
    let fields = &request.ext_fields;
    let field = |key: &str| fields.get(key).map(Cow::Borrowed);
    let required =
        |key: &str| field(key).ok_or_else(|| format!("the request has no field `{key}`"));
    let mut needs = Vec::with_capacity(2);
    let code = request.code;
    let is = |wanted: RequestCode| code == wanted.as_i32();
    let send = |topic_key: &str, group_key: &str| match field(topic_key) {
        // Sending to a retry topic is checked as SUB on the group the request names.
        Some(topic) if topic.starts_with(RETRY_PREFIX) => group(field(group_key)),
        Some(topic) => Some((Resource::topic(topic), Perm::PUB)),
        None => None,
    };
    if is(RequestCode::SEND_MESSAGE) || is(RequestCode::SEND_REPLY_MESSAGE) {
        // Apache reads the group of a retry send from `group`, which this header has not.
        needs.extend(send("topic", "group"));
    } else if is(RequestCode::SEND_MESSAGE_V2)
        || is(RequestCode::SEND_BATCH_MESSAGE)
        || is(RequestCode::SEND_REPLY_MESSAGE_V2)
    {
        needs.extend(send("b", "a"));
    } else if is(RequestCode::CONSUMER_SEND_MSG_BACK) {
        needs.extend(group(field("group")));
    } else if is(RequestCode::PULL_MESSAGE) || is(RequestCode::LITE_PULL_MESSAGE) {
        needs.extend(field("topic").map(|t| (Resource::topic(t), Perm::SUB)));
        needs.extend(group(field("consumerGroup")));
    } else if is(RequestCode::POP_MESSAGE)
        || is(RequestCode::ACK_MESSAGE)
        || is(RequestCode::CHANGE_MESSAGE_INVISIBLETIME)
        || is(RequestCode::PEEK_MESSAGE)
        || is(RequestCode::NOTIFICATION)
        || is(RequestCode::POLLING_INFO)
    {
        // Not checked by Apache's ACL 1.0 (only signed); rmq checks them as the pulls they
        // replace. An ack names the pop retry topic `%RETRY%group_topic` for a redelivered
        // message: the group's SUB covers it.
        needs.extend(
            field("topic")
                .filter(|t| !t.starts_with(RETRY_PREFIX))
                .map(|t| (Resource::topic(t), Perm::SUB)),
        );
        needs.extend(group(Some(required("consumerGroup")?)));
    } else if is(RequestCode::BATCH_ACK_MESSAGE) {
        // The acks are in the body: each needs SUB on its (normal) topic and its group.
        let body: BatchAckMessageRequestBody = if request.body.is_empty() {
            BatchAckMessageRequestBody::default()
        } else {
            fastjson::from_slice(&request.body)
                .map_err(|e| format!("the batch ack body is not readable: {e}"))?
        };
        for ack in body.acks {
            needs.push((Resource::topic(Cow::Owned(ack.topic)), Perm::SUB));
            needs.push((Resource::Group(Cow::Owned(ack.consumer_group)), Perm::SUB));
        }
    } else if is(RequestCode::QUERY_MESSAGE) {
        needs.extend(field("topic").map(|t| (Resource::topic(t), Perm::SUB)));
    } else if is(RequestCode::HEART_BEAT) {
        let heartbeat: Heartbeat = fastjson::from_slice(&request.body)
            .map_err(|e| format!("the heartbeat body is not readable: {e}"))?;
        for consumer in heartbeat.consumer_data_set {
            needs.push((Resource::Group(Cow::Owned(consumer.group_name)), Perm::SUB));
            for subscription in consumer.subscription_data_set {
                needs.push((Resource::topic(Cow::Owned(subscription.topic)), Perm::SUB));
            }
        }
    } else if is(RequestCode::UNREGISTER_CLIENT) {
        needs.extend(group(field("consumerGroup")));
    } else if is(RequestCode::GET_CONSUMER_LIST_BY_GROUP) {
        needs.extend(group(Some(required("consumerGroup")?)));
    } else if is(RequestCode::UPDATE_CONSUMER_OFFSET) {
        needs.extend(group(Some(required("consumerGroup")?)));
        needs.push((Resource::topic(required("topic")?), Perm::SUB));
    }
    Ok(needs)
}

/// SUB on the group named by `value`, when there is one.
fn group(value: Option<Cow<'_, str>>) -> Option<(Resource<'_>, Perm)> {
    value.map(|g| (Resource::Group(g), Perm::SUB))
}

/// The part of a HEART_BEAT body ACL reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Heartbeat {
    #[serde(default)]
    consumer_data_set: Vec<Consumer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Consumer {
    group_name: String,
    #[serde(default)]
    subscription_data_set: Vec<Subscription>,
}

#[derive(Deserialize)]
struct Subscription {
    topic: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
        let mut request = RemotingCommand::request_without_header(code);
        for (k, v) in fields {
            request.ext_fields.insert((*k).into(), (*v).into());
        }
        request
    }

    fn shown(request: &RemotingCommand) -> Vec<String> {
        let mut shown: Vec<String> = needs(request)
            .unwrap()
            .iter()
            .map(|(r, p)| format!("{r}={p}"))
            .collect();
        shown.sort();
        shown
    }

    /// The cases of Apache 4.9.7's `PlainAccessValidatorTest` (resources per request code).
    #[test]
    fn per_code() {
        let sends = request(
            RequestCode::SEND_MESSAGE,
            &[("topic", "topicB"), ("producerGroup", "p")],
        );
        assert_eq!(shown(&sends), ["topic:topicB=PUB"]);
        let v2 = request(RequestCode::SEND_MESSAGE_V2, &[("b", "topicC"), ("a", "p")]);
        assert_eq!(shown(&v2), ["topic:topicC=PUB"]);
        let retry_v2 = request(
            RequestCode::SEND_MESSAGE_V2,
            &[("b", "%RETRY%groupB"), ("a", "groupB")],
        );
        assert_eq!(shown(&retry_v2), ["group:groupB=SUB"]);
        let retry_v1 = request(
            RequestCode::SEND_MESSAGE,
            &[("topic", "%RETRY%groupB"), ("producerGroup", "groupB")],
        );
        assert!(
            shown(&retry_v1).is_empty(),
            "Apache reads a `group` field V1 sends lack"
        );
        let back = request(RequestCode::CONSUMER_SEND_MSG_BACK, &[("group", "groupB")]);
        assert_eq!(shown(&back), ["group:groupB=SUB"]);
        let pull = request(
            RequestCode::PULL_MESSAGE,
            &[("topic", "topicC"), ("consumerGroup", "groupC")],
        );
        assert_eq!(shown(&pull), ["group:groupC=SUB", "topic:topicC=SUB"]);
        let query = request(RequestCode::QUERY_MESSAGE, &[("topic", "topicC")]);
        assert_eq!(shown(&query), ["topic:topicC=SUB"]);
        let offset = request(
            RequestCode::UPDATE_CONSUMER_OFFSET,
            &[("topic", "topicC"), ("consumerGroup", "groupC")],
        );
        assert_eq!(shown(&offset), ["group:groupC=SUB", "topic:topicC=SUB"]);
        let list = request(
            RequestCode::GET_CONSUMER_LIST_BY_GROUP,
            &[("consumerGroup", "groupC")],
        );
        assert_eq!(shown(&list), ["group:groupC=SUB"]);
        let unregister = request(RequestCode::UNREGISTER_CLIENT, &[("clientID", "c")]);
        assert!(shown(&unregister).is_empty());
        assert!(needs(&request(
            RequestCode::UPDATE_CONSUMER_OFFSET,
            &[("topic", "t")]
        ))
        .is_err());
        let pop = request(
            RequestCode::POP_MESSAGE,
            &[("topic", "topicC"), ("consumerGroup", "groupC")],
        );
        assert_eq!(shown(&pop), ["group:groupC=SUB", "topic:topicC=SUB"]);
        let ack_retry = request(
            RequestCode::ACK_MESSAGE,
            &[
                ("topic", "%RETRY%groupC_topicC"),
                ("consumerGroup", "groupC"),
            ],
        );
        assert_eq!(shown(&ack_retry), ["group:groupC=SUB"]);
        assert!(needs(&request(
            RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
            &[("topic", "t")]
        ))
        .is_err());
        let peek = request(
            RequestCode::PEEK_MESSAGE,
            &[("topic", "topicC"), ("consumerGroup", "groupC")],
        );
        assert_eq!(shown(&peek), ["group:groupC=SUB", "topic:topicC=SUB"]);
        let mut batch = request(RequestCode::BATCH_ACK_MESSAGE, &[]);
        batch.body = br#"{"acks":[{"b":"AQ==","c":"groupC","it":1,"pt":2,"q":0,"r":"1","rq":0,"so":0,"t":"topicC"}]}"#
            .to_vec()
            .into();
        assert_eq!(shown(&batch), ["group:groupC=SUB", "topic:topicC=SUB"]);
        let admin = request(RequestCode::UPDATE_AND_CREATE_TOPIC, &[("topic", "t")]);
        assert!(shown(&admin).is_empty());
    }

    #[test]
    fn heartbeat_groups_and_subscriptions() {
        let mut heartbeat = request(RequestCode::HEART_BEAT, &[]);
        heartbeat.body = br#"{"clientID":"c","consumerDataSet":[{"groupName":"groupB","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"topic":"topicB","subString":"*"},{"topic":"%RETRY%groupB","subString":"*"}]}],"producerDataSet":[{"groupName":"p"}]}"#.to_vec().into();
        assert_eq!(
            shown(&heartbeat),
            ["group:groupB=SUB", "group:groupB=SUB", "topic:topicB=SUB"]
        );
        heartbeat.body = b"not json".to_vec().into();
        assert!(needs(&heartbeat).is_err());
    }
}
