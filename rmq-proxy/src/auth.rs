//! ACL 1.0 for gRPC clients, as Apache's proxy 5.0-5.3.2 checks it with `enableACL=true`
//! (docs/grpc-proxy.md, "ACL"): the 5.x SDKs sign the `x-mq-date-time` header with HMAC-SHA1
//! under the account's secret and send `authorization: MQv2-HMAC-SHA1 Credential=AK,
//! SignedHeaders=x-mq-date-time, Signature=HEX`; every request (every telemetry command) is
//! decided by rmq-acl under the same `plain_acl.yml` as the brokers', with the topics and
//! groups Apache's `PlainAccessResource.parse` reads from each RPC. A refusal is gRPC
//! PERMISSION_DENIED, as Apache's interceptor answers it.
//!
//! Toward brokers with ACL on, the proxy signs its remoting requests with its own account
//! (`enableAclRpcHookForClusterMode`), not the client's, as Apache's cluster mode does.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use rmq_acl::{AclFiles, Perm, Resource, SignedContent};
use rmq_remoting::acl::Credentials;
use rmq_remoting::RequestCode;
use tonic::metadata::MetadataMap;
use tonic::{Request, Status};

use crate::config::ProxyConfig;
use crate::proto::v2::{self, settings::PubSub, telemetry_command::Command};

/// The metadata key of the signature header.
pub const AUTHORIZATION: &str = "authorization";
/// The metadata key of the signed time (`yyyyMMdd'T'HHmmss'Z'`).
pub const DATE_TIME: &str = "x-mq-date-time";

/// The ACL of a proxy with `enableACL=true`: the rules of its home's files, reloaded while
/// any clone lives.
#[derive(Clone)]
pub struct Acl {
    files: AclFiles,
    _watch: Arc<Watch>,
}

/// Stops watching the files when the proxy goes.
struct Watch(tokio::task::JoinHandle<()>);

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Acl {
    /// The ACL of `config` (`None` when `enableACL` is false), loaded now and reloaded when the
    /// files change: unreadable rules, or ACL on without a home, stop the proxy from starting.
    /// Must run inside a tokio runtime.
    pub fn open(config: &ProxyConfig) -> Result<Option<Acl>, String> {
        if !config.enable_acl {
            return Ok(None);
        }
        let home = config.rocketmq_home.trim();
        if home.is_empty() {
            return Err(
                "enableACL=true needs rocketmqHome (or ROCKETMQ_HOME in the \
                        environment): the rules are read from $ROCKETMQ_HOME/conf/plain_acl.yml"
                    .to_owned(),
            );
        }
        let files = AclFiles::open(Path::new(home)).map_err(|e| format!("ACL rules: {e}"))?;
        let watch = Arc::new(Watch(files.watch()));
        Ok(Some(Acl {
            files,
            _watch: watch,
        }))
    }

    /// Decides `message` from `caller`: PERMISSION_DENIED with the reason when refused.
    pub fn check<M: Touches>(&self, caller: &Caller, message: &M) -> Result<(), Status> {
        let (code, needs) = match message.touches() {
            Ok(touched) => touched,
            Err(why) => return Err(refuse(caller, why)),
        };
        let signed = match &caller.authorization {
            Ok(signed) => signed,
            Err(why) => return Err(refuse(caller, why.clone())),
        };
        let content = SignedContent {
            access_key: signed.as_ref().map(|s| s.access_key.as_str()),
            content: caller.date_time.as_bytes(),
            mac: signed.as_ref().and_then(|s| s.mac.as_deref()),
        };
        let peer = caller.peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        self.files
            .with_rules(|rules| rules.check_signed(peer, &content, code.as_i32(), &needs))
            .map_err(|denial| refuse(caller, denial.to_string()))
    }
}

fn refuse(caller: &Caller, why: String) -> Status {
    tracing::debug!(peer = ?caller.peer, "ACL refused a gRPC request: {why}");
    Status::permission_denied(why)
}

/// Who sent a request: its address and what its metadata says about its account. Read once
/// per unary call, once per telemetry stream.
#[derive(Debug, Clone)]
pub struct Caller {
    peer: Option<IpAddr>,
    /// `Ok(None)`: unsigned; `Err`: an `authorization` header that cannot be read.
    authorization: Result<Option<Authorization>, String>,
    date_time: String,
}

#[derive(Debug, Clone)]
struct Authorization {
    access_key: String,
    /// The signature's bytes; `None` when the header has none.
    mac: Option<Vec<u8>>,
}

impl Caller {
    /// The caller of `request`.
    pub fn of<T>(request: &Request<T>) -> Caller {
        Caller::from_parts(request.remote_addr(), request.metadata())
    }

    /// The caller connected from `peer` with `metadata`.
    pub fn from_parts(peer: Option<SocketAddr>, metadata: &MetadataMap) -> Caller {
        let text = |key: &str| metadata.get(key).and_then(|v| v.to_str().ok());
        Caller {
            peer: peer.map(|p| p.ip()),
            authorization: text(AUTHORIZATION).map(parse_authorization).transpose(),
            date_time: text(DATE_TIME).unwrap_or_default().to_owned(),
        }
    }
}

/// Reads `MQv2-HMAC-SHA1 Credential=AK[/...], SignedHeaders=x-mq-date-time, Signature=HEX` as
/// Apache's `AuthorizationHeader` does (the method word is not checked; items in any order).
fn parse_authorization(header: &str) -> Result<Authorization, String> {
    let Some((_method, items)) = header.split_once(' ') else {
        return Err("authorization header is incorrect".to_owned());
    };
    let mut access_key = None;
    let mut mac = None;
    for item in items.split(',') {
        let Some((key, value)) = item.trim().split_once('=') else {
            return Err("authorization keyValues length is incorrect".to_owned());
        };
        match key {
            "Credential" => {
                access_key = Some(value.split('/').next().unwrap_or_default().to_owned())
            }
            "Signature" => mac = Some(decode_hex(value)?),
            _ => {}
        }
    }
    let access_key = access_key
        .filter(|ak| !ak.is_empty())
        .ok_or_else(|| "authorization header has no Credential".to_owned())?;
    Ok(Authorization { access_key, mac })
}

fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let digit = |c: u8| (c as char).to_digit(16);
    if text.len() % 2 != 0 {
        return Err("the signature is not hexadecimal: odd number of characters".to_owned());
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| match (digit(pair[0]), digit(pair[1])) {
            (Some(high), Some(low)) => Ok((high * 16 + low) as u8),
            _ => Err("the signature is not hexadecimal".to_owned()),
        })
        .collect()
}

/// What the proxy's remoting clients sign with toward brokers, as Apache's cluster mode:
/// nothing unless `enableAclRpcHookForClusterMode`; then the keys of
/// `innerClientAuthenticationCredentials` (`{"accessKey":"..","secretKey":".."}`), else those
/// of `$ROCKETMQ_HOME/conf/tools.yml` (none there: unsigned).
pub fn broker_credentials(config: &ProxyConfig) -> Result<Option<Credentials>, String> {
    if !config.enable_acl_rpc_hook_for_cluster_mode {
        return Ok(None);
    }
    let inner = config.inner_client_authentication_credentials.trim();
    if !inner.is_empty() {
        let value: serde_json::Value = serde_json::from_str(inner).map_err(|e| {
            format!("innerClientAuthenticationCredentials is not a JSON object: {e}")
        })?;
        let key = |name: &str| value[name].as_str().unwrap_or_default().trim().to_owned();
        let (ak, sk) = (key("accessKey"), key("secretKey"));
        return Ok((!ak.is_empty() && !sk.is_empty()).then(|| Credentials::new(ak, sk)));
    }
    let home = config.rocketmq_home.trim();
    if home.is_empty() {
        return Ok(None);
    }
    rmq_acl::tools_yml(&Path::new(home).join("conf").join("tools.yml")).map_err(|e| e.to_string())
}

/// A request's topics and groups with the permission each needs, and the remoting request code
/// Apache's `RequestMapping` gives the RPC; `Err` names what cannot be read.
pub trait Touches {
    /// The code and the resources; see docs/grpc-proxy.md, "ACL".
    fn touches(&self) -> Result<(RequestCode, Vec<(Resource<'_>, Perm)>), String>;
}

fn topic(resource: Option<&v2::Resource>, perm: Perm) -> (Resource<'_>, Perm) {
    let name = resource.map(|r| r.name.as_str()).unwrap_or_default();
    (Resource::topic(Cow::Borrowed(name)), perm)
}

fn group(resource: Option<&v2::Resource>) -> (Resource<'_>, Perm) {
    let name = resource.map(|r| r.name.as_str()).unwrap_or_default();
    (Resource::Group(Cow::Borrowed(name)), Perm::SUB)
}

/// The needs of an RPC that consumes `topic` as `group`.
fn consumes<'a>(
    code: RequestCode,
    group_name: Option<&'a v2::Resource>,
    topic_name: Option<&'a v2::Resource>,
) -> Result<(RequestCode, Vec<(Resource<'a>, Perm)>), String> {
    Ok((code, vec![group(group_name), topic(topic_name, Perm::SUB)]))
}

impl Touches for v2::QueryRouteRequest {
    fn touches(&self) -> Result<(RequestCode, Vec<(Resource<'_>, Perm)>), String> {
        Ok((
            RequestCode::GET_ROUTEINFO_BY_TOPIC,
            vec![topic(self.topic.as_ref(), Perm::ANY)],
        ))
    }
}

impl Touches for v2::HeartbeatRequest {
    fn touches(&self) -> Result<(RequestCode, Vec<(Resource<'_>, Perm)>), String> {
        let consumer = [v2::ClientType::PushConsumer, v2::ClientType::SimpleConsumer]
            .iter()
            .any(|t| *t as i32 == self.client_type);
        let needs = match (&self.group, consumer) {
            (Some(g), true) => vec![group(Some(g))],
            (None, true) => return Err("Consumer heartbeat doesn't have group".to_owned()),
            (_, false) => Vec::new(),
        };
        Ok((RequestCode::HEART_BEAT, needs))
    }
}

impl Touches for v2::SendMessageRequest {
    fn touches(&self) -> Result<(RequestCode, Vec<(Resource<'_>, Perm)>), String> {
        let Some(first) = self.messages.first() else {
            return Err("SendMessageRequest, messageCount is zero".to_owned());
        };
        if self.messages.iter().any(|m| m.topic != first.topic) {
            return Err("SendMessageRequest, messages' topic is not consistent".to_owned());
        }
        Ok((
            RequestCode::SEND_MESSAGE_V2,
            vec![topic(first.topic.as_ref(), Perm::PUB)],
        ))
    }
}

impl Touches for v2::EndTransactionRequest {
    fn touches(&self) -> Result<(RequestCode, Vec<(Resource<'_>, Perm)>), String> {
        Ok((
            RequestCode::END_TRANSACTION,
            vec![topic(self.topic.as_ref(), Perm::PUB)],
        ))
    }
}

impl Touches for v2::ReceiveMessageRequest {
    fn touches(&self) -> Result<(RequestCode, Vec<(Resource<'_>, Perm)>), String> {
        let queue_topic = self.message_queue.as_ref().and_then(|q| q.topic.as_ref());
        consumes(RequestCode::PULL_MESSAGE, self.group.as_ref(), queue_topic)
    }
}

/// The RPCs that consume a topic as a group, each with the request code Apache's proxy checks
/// it as (one table rather than four like impls).
macro_rules! consumer_rpcs {
    ($($request:ident => $code:ident,)*) => {$(
        impl Touches for v2::$request {
            fn touches(&self) -> Result<(RequestCode, Vec<(Resource<'_>, Perm)>), String> {
                consumes(RequestCode::$code, self.group.as_ref(), self.topic.as_ref())
            }
        }
    )*};
}

consumer_rpcs! {
    AckMessageRequest => UPDATE_CONSUMER_OFFSET,
    ChangeInvisibleDurationRequest => CONSUMER_SEND_MSG_BACK,
    // Apache's mapping names this RPC's response, so the request falls to HEART_BEAT.
    ForwardMessageToDeadLetterQueueRequest => HEART_BEAT,
    QueryAssignmentRequest => GET_ROUTEINFO_BY_TOPIC,
}

impl Touches for v2::NotifyClientTerminationRequest {
    fn touches(&self) -> Result<(RequestCode, Vec<(Resource<'_>, Perm)>), String> {
        let named = self.group.as_ref().filter(|g| !g.name.trim().is_empty());
        Ok((
            RequestCode::UNREGISTER_CLIENT,
            named.map(|g| group(Some(g))).into_iter().collect(),
        ))
    }
}

impl Touches for v2::TelemetryCommand {
    fn touches(&self) -> Result<(RequestCode, Vec<(Resource<'_>, Perm)>), String> {
        let mut needs = Vec::new();
        if let Some(Command::Settings(settings)) = &self.command {
            match &settings.pub_sub {
                Some(PubSub::Publishing(publishing)) => {
                    needs.extend(publishing.topics.iter().map(|t| topic(Some(t), Perm::PUB)))
                }
                Some(PubSub::Subscription(subscription)) => {
                    needs.push(group(subscription.group.as_ref()));
                    needs.extend(
                        subscription
                            .subscriptions
                            .iter()
                            .map(|entry| topic(entry.topic.as_ref(), Perm::SUB)),
                    );
                }
                None => {
                    return Err(
                        "settings command doesn't have publishing or subscription".to_owned()
                    )
                }
            }
        }
        Ok((RequestCode::HEART_BEAT, needs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sdk_header() {
        let read = parse_authorization(
            "MQv2-HMAC-SHA1 Credential=RocketMQ, SignedHeaders=x-mq-date-time, Signature=0aFF10",
        )
        .unwrap();
        assert_eq!(read.access_key, "RocketMQ");
        assert_eq!(read.mac, Some(vec![0x0a, 0xff, 0x10]));
        assert!(parse_authorization("MQv2-HMAC-SHA1").is_err());
        assert!(parse_authorization("M Credential=a, Signature=xyz0").is_err());
        assert!(parse_authorization("M Credential=a, Signature=abc").is_err());
        assert!(parse_authorization("M Credential=a, Broken").is_err());
        let no_signature = parse_authorization("M Credential=ak/region").unwrap();
        assert_eq!(no_signature.access_key, "ak");
        assert_eq!(no_signature.mac, None);
    }

    #[test]
    fn needs_per_rpc() {
        let shown = |touched: Result<(RequestCode, Vec<(Resource<'_>, Perm)>), String>| {
            let (_, needs) = touched.unwrap();
            needs
                .iter()
                .map(|(r, p)| format!("{r}={p}"))
                .collect::<Vec<_>>()
        };
        let res = |name: &str| v2::Resource {
            resource_namespace: String::new(),
            name: name.into(),
        };
        let route = v2::QueryRouteRequest {
            topic: Some(res("t")),
            endpoints: None,
        };
        assert_eq!(shown(route.touches()), ["topic:t=ANY"]);
        let producer = v2::HeartbeatRequest {
            group: None,
            client_type: v2::ClientType::Producer as i32,
        };
        assert!(shown(producer.touches()).is_empty());
        let consumer = v2::HeartbeatRequest {
            group: None,
            client_type: v2::ClientType::SimpleConsumer as i32,
        };
        assert!(consumer.touches().is_err());
        let ack = v2::AckMessageRequest {
            group: Some(res("g")),
            topic: Some(res("t")),
            entries: Vec::new(),
        };
        assert_eq!(shown(ack.touches()), ["group:g=SUB", "topic:t=SUB"]);
        assert!(v2::SendMessageRequest { messages: vec![] }
            .touches()
            .is_err());
        let settings = v2::TelemetryCommand {
            status: None,
            command: Some(Command::Settings(v2::Settings {
                pub_sub: Some(PubSub::Subscription(v2::Subscription {
                    group: Some(res("g")),
                    subscriptions: vec![v2::SubscriptionEntry {
                        topic: Some(res("t")),
                        expression: None,
                    }],
                    ..Default::default()
                })),
                ..Default::default()
            })),
        };
        assert_eq!(shown(settings.touches()), ["group:g=SUB", "topic:t=SUB"]);
    }
}
