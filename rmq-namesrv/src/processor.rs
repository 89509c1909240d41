//! One handler per name-server request code; each turns a typed header into a call on the
//! route table or the KV store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_remoting::body::route::{KvTable, RegisterBrokerBody, TopicList, TopicRouteData};
use rmq_remoting::body::topic::{DataVersion, TopicConfigSerializeWrapper};
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::namesrv::*;
use rmq_remoting::transport::{Connection, Handler, HandlerResult, Router};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};

use crate::kv_store::{KvStore, ORDER_TOPIC_CONFIG};
use crate::route_table::{Registration, RouteTable};

/// Clients of this version or later get routes in standard JSON (Java's `V4_9_4`).
const STANDARD_JSON_SINCE_VERSION: i32 = 401;

/// Brokers older than `V3_0_11` send a bare topic table instead of `RegisterBrokerBody`.
const REGISTER_BODY_SINCE_VERSION: i32 = 37;

/// What the handlers share.
pub(crate) struct State {
    pub routes: RouteTable,
    pub kv: KvStore,
    pub live: crate::live_config::LiveConfig,
}

/// Request codes the name server logs in the audit log (docs/admin-safety.md).
pub(crate) const ADMIN_CODES: &[RequestCode] = &[
    RequestCode::PUT_KV_CONFIG,
    RequestCode::DELETE_KV_CONFIG,
    RequestCode::WIPE_WRITE_PERM_OF_BROKER,
    RequestCode::ADD_WRITE_PERM_OF_BROKER,
    RequestCode::DELETE_TOPIC_IN_NAMESRV,
    RequestCode::REGISTER_TOPIC_IN_NAMESRV,
    RequestCode::UPDATE_NAMESRV_CONFIG,
];

/// `TopicSysFlag` bits: a unit topic, and a topic with unit subscriptions.
const FLAG_UNIT: i32 = 0x1;
const FLAG_UNIT_SUB: i32 = 0x2;

/// The router serving every name-server command.
pub(crate) fn router(state: Arc<State>) -> Router {
    let closing = state.clone();
    Router::new()
        .guard(rmq_remoting::audit::guard(ADMIN_CODES))
        .route(
            RequestCode::REGISTER_BROKER,
            handler(&state, register_broker),
        )
        .route(
            RequestCode::UNREGISTER_BROKER,
            handler(&state, unregister_broker),
        )
        .route(
            RequestCode::BROKER_HEARTBEAT,
            handler(&state, broker_heartbeat),
        )
        .route(
            RequestCode::QUERY_DATA_VERSION,
            handler(&state, query_data_version),
        )
        .route(
            RequestCode::GET_ROUTEINFO_BY_TOPIC,
            handler(&state, route_by_topic),
        )
        .route(
            RequestCode::GET_BROKER_CLUSTER_INFO,
            handler(&state, cluster_info),
        )
        .route(
            RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
            handler(&state, all_topics),
        )
        .route(
            RequestCode::GET_TOPICS_BY_CLUSTER,
            handler(&state, topics_by_cluster),
        )
        .route(
            RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS,
            handler(&state, system_topics),
        )
        .route(
            RequestCode::DELETE_TOPIC_IN_NAMESRV,
            handler(&state, delete_topic),
        )
        .route(
            RequestCode::WIPE_WRITE_PERM_OF_BROKER,
            handler(&state, wipe_write_perm),
        )
        .route(
            RequestCode::ADD_WRITE_PERM_OF_BROKER,
            handler(&state, add_write_perm),
        )
        .route(RequestCode::PUT_KV_CONFIG, handler(&state, put_kv))
        .route(RequestCode::GET_KV_CONFIG, handler(&state, get_kv))
        .route(RequestCode::DELETE_KV_CONFIG, handler(&state, delete_kv))
        .route(
            RequestCode::GET_KVLIST_BY_NAMESPACE,
            handler(&state, kv_list),
        )
        .route(
            RequestCode::REGISTER_TOPIC_IN_NAMESRV,
            handler(&state, register_topic),
        )
        .route(
            RequestCode::GET_UNIT_TOPIC_LIST,
            handler(&state, |s, _, _| {
                unit_topics(s, |flag| flag & FLAG_UNIT != 0)
            }),
        )
        .route(
            RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST,
            handler(&state, |s, _, _| {
                unit_topics(s, |flag| flag & FLAG_UNIT_SUB != 0)
            }),
        )
        .route(
            RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
            handler(&state, |s, _, _| {
                unit_topics(s, |flag| flag & FLAG_UNIT == 0 && flag & FLAG_UNIT_SUB != 0)
            }),
        )
        .route(
            RequestCode::GET_NAMESRV_CONFIG,
            handler(&state, crate::live_config::get_config),
        )
        .route(
            RequestCode::UPDATE_NAMESRV_CONFIG,
            handler(&state, crate::live_config::update_config),
        )
        .on_close(move |conn| {
            for addr in closing.routes.connection_closed(conn.id()) {
                tracing::info!(broker = %addr, "broker removed: its connection closed");
            }
        })
}

type SyncHandler = fn(&State, &Connection, &RemotingCommand) -> HandlerResult;

/// Adapts a synchronous handler: name-server work is in-memory and never waits.
fn handler(state: &Arc<State>, f: SyncHandler) -> impl Handler {
    let state = state.clone();
    move |conn: Connection, request: RemotingCommand| {
        let result = f(&state, &conn, &request);
        async move { result }
    }
}

fn json_body<T: serde::Serialize>(value: &T, style: KeyStyle) -> RemotingCommand {
    RemotingCommand::success().with_body(fastjson::to_vec(value, style))
}

fn bad_body(what: &str, err: impl std::fmt::Display) -> CommandError {
    CommandError::new(
        ResponseCode::SYSTEM_ERROR,
        format!("the {what} body is invalid: {err}"),
    )
}

fn register_broker(state: &State, conn: &Connection, req: &RemotingCommand) -> HandlerResult {
    let header: RegisterBrokerRequestHeader = req.decode_header()?;
    if header.body_crc32 != 0 {
        let crc = (crc32fast::hash(&req.body) & 0x7FFF_FFFF) as i32;
        if crc != header.body_crc32 {
            return Err(CommandError::new(
                ResponseCode::SYSTEM_ERROR,
                "crc32 not match",
            ));
        }
    }
    let topics = if req.body.is_empty() {
        None
    } else if header.compressed {
        let body = RegisterBrokerBody::decode_compressed(&req.body)
            .map_err(|e| bad_body("REGISTER_BROKER", e))?;
        Some(body.topic_config_serialize_wrapper)
    } else if req.version >= REGISTER_BODY_SINCE_VERSION {
        let body: RegisterBrokerBody =
            fastjson::from_slice(&req.body).map_err(|e| bad_body("REGISTER_BROKER", e))?;
        Some(body.topic_config_serialize_wrapper)
    } else {
        Some(
            fastjson::from_slice::<TopicConfigSerializeWrapper>(&req.body)
                .map_err(|e| bad_body("REGISTER_BROKER", e))?,
        )
    };
    let registration = Registration {
        cluster_name: header.cluster_name,
        broker_addr: header.broker_addr,
        broker_name: header.broker_name,
        broker_id: header.broker_id,
        ha_server_addr: header.ha_server_addr,
        topics,
        timeout: header
            .heartbeat_timeout_millis
            .filter(|ms| *ms > 0)
            .map(|ms| Duration::from_millis(ms as u64)),
    };
    tracing::debug!(broker = %registration.broker_addr, name = %registration.broker_name, id = registration.broker_id, "register broker");
    let outcome = state
        .routes
        .register(registration, conn.id(), Instant::now());
    let response = RemotingCommand::success_with_header(&RegisterBrokerResponseHeader {
        ha_server_addr: outcome.ha_server_addr,
        master_addr: outcome.master_addr,
    });
    Ok(match state.kv.namespace(ORDER_TOPIC_CONFIG) {
        Some(table) => response.with_body(fastjson::to_vec(&KvTable { table }, KeyStyle::Fastjson)),
        None => response,
    })
}

fn unregister_broker(state: &State, _: &Connection, req: &RemotingCommand) -> HandlerResult {
    let h: BrokerIdentityHeader = req.decode_header()?;
    state
        .routes
        .unregister(&h.cluster_name, &h.broker_addr, &h.broker_name, h.broker_id);
    tracing::info!(broker = %h.broker_addr, name = %h.broker_name, "broker unregistered");
    Ok(RemotingCommand::success())
}

fn broker_heartbeat(state: &State, _: &Connection, req: &RemotingCommand) -> HandlerResult {
    let h: BrokerHeartbeatRequestHeader = req.decode_header()?;
    state.routes.touch(&h.broker_addr, Instant::now());
    Ok(RemotingCommand::success())
}

fn query_data_version(state: &State, _: &Connection, req: &RemotingCommand) -> HandlerResult {
    let h: BrokerIdentityHeader = req.decode_header()?;
    let version: DataVersion =
        fastjson::from_slice(&req.body).map_err(|e| bad_body("QUERY_DATA_VERSION", e))?;
    let changed = state.routes.data_version_changed(&h.broker_addr, &version);
    if !changed {
        state.routes.touch(&h.broker_addr, Instant::now());
    }
    let response =
        RemotingCommand::success_with_header(&QueryDataVersionResponseHeader { changed });
    Ok(match state.routes.data_version(&h.broker_addr) {
        Some(stored) => response.with_body(fastjson::to_vec(&stored, KeyStyle::Fastjson)),
        None => response,
    })
}

fn route_by_topic(state: &State, _: &Connection, req: &RemotingCommand) -> HandlerResult {
    let h: GetRouteInfoRequestHeader = req.decode_header()?;
    let style = if req.version >= STANDARD_JSON_SINCE_VERSION
        || h.accept_standard_json_only == Some(true)
    {
        KeyStyle::Standard
    } else {
        KeyStyle::Fastjson
    };
    let missing = || {
        CommandError::new(
            ResponseCode::TOPIC_NOT_EXIST,
            state.routes.explain_missing_route(&h.topic),
        )
    };
    if !state.live.order_message_enable() {
        let body = state
            .routes
            .encoded_route(&h.topic, style)
            .ok_or_else(missing)?;
        return Ok(RemotingCommand::success().with_body(body));
    }
    // Ordered-topic settings live in the KV table, outside the route cache.
    let mut route = state.routes.route(&h.topic).ok_or_else(missing)?;
    route.order_topic_conf = state.kv.get(ORDER_TOPIC_CONFIG, &h.topic);
    Ok(json_body(&route, style))
}

fn cluster_info(state: &State, _: &Connection, _: &RemotingCommand) -> HandlerResult {
    Ok(json_body(&state.routes.cluster_info(), KeyStyle::Fastjson))
}

fn all_topics(state: &State, _: &Connection, _: &RemotingCommand) -> HandlerResult {
    if !state.live.enable_all_topic_list() {
        return Err(CommandError::new(
            ResponseCode::SYSTEM_ERROR,
            "disable: enableAllTopicList=false on this name server; set it to true to list topics",
        ));
    }
    Ok(json_body(&state.routes.all_topics(), KeyStyle::Fastjson))
}

fn topics_by_cluster(state: &State, _: &Connection, req: &RemotingCommand) -> HandlerResult {
    let h: GetTopicsByClusterRequestHeader = req.decode_header()?;
    Ok(json_body(
        &state.routes.topics_of_cluster(&h.cluster),
        KeyStyle::Fastjson,
    ))
}

/// GET_SYSTEM_TOPIC_LIST_FROM_NS: Java's name server calls every cluster name and broker name a
/// system topic (each is a topic a broker serves for itself) and names one registered broker,
/// where the caller asks for that broker's own system topics next; consoles hide these names
/// from their topic lists.
fn system_topics(state: &State, _: &Connection, _: &RemotingCommand) -> HandlerResult {
    let info = state.routes.cluster_info();
    let mut list = TopicList::default();
    for (cluster, brokers) in &info.cluster_addr_table {
        list.topic_list.insert(cluster.clone());
        list.topic_list.extend(brokers.iter().cloned());
    }
    list.broker_addr = info
        .broker_addr_table
        .values()
        .find_map(|group| group.broker_addrs.values().next().cloned());
    Ok(json_body(&list, KeyStyle::Fastjson))
}

/// REGISTER_TOPIC_IN_NAMESRV request header (5.x `RegisterTopicRequestHeader`).
#[derive(serde::Deserialize)]
struct RegisterTopicHeader {
    topic: String,
}

/// REGISTER_TOPIC_IN_NAMESRV (5.x): the body is a `TopicRouteData` whose queue data is added to
/// the topic's route. As Apache 5.x, the answer is SUCCESS even when a broker group it names is
/// not registered (then nothing changes; the name server logs it).
fn register_topic(state: &State, _: &Connection, req: &RemotingCommand) -> HandlerResult {
    let h: RegisterTopicHeader = req.decode_header()?;
    if !req.body.is_empty() {
        let route: TopicRouteData = fastjson::from_slice(&req.body)
            .map_err(|e| bad_body("REGISTER_TOPIC_IN_NAMESRV", e))?;
        state.routes.register_topic(&h.topic, route.queue_datas);
    }
    Ok(RemotingCommand::success())
}

/// GET_UNIT_TOPIC_LIST and its two siblings: topics by their unit flags, as a `TopicList`.
fn unit_topics(state: &State, pick: impl Fn(i32) -> bool) -> HandlerResult {
    Ok(json_body(
        &state.routes.topics_by_sys_flag(pick),
        KeyStyle::Fastjson,
    ))
}

fn delete_topic(state: &State, _: &Connection, req: &RemotingCommand) -> HandlerResult {
    let h: DeleteTopicFromNamesrvRequestHeader = req.decode_header()?;
    state.routes.delete_topic(
        &h.topic,
        h.cluster_name.as_deref().filter(|c| !c.is_empty()),
    );
    Ok(RemotingCommand::success())
}

fn wipe_write_perm(state: &State, _: &Connection, req: &RemotingCommand) -> HandlerResult {
    let h: BrokerNameHeader = req.decode_header()?;
    let wipe_topic_count = state.routes.set_write_perm(&h.broker_name, false);
    tracing::info!(broker = %h.broker_name, topics = wipe_topic_count, "write permission wiped");
    Ok(RemotingCommand::success_with_header(
        &WipeWritePermOfBrokerResponseHeader { wipe_topic_count },
    ))
}

fn add_write_perm(state: &State, _: &Connection, req: &RemotingCommand) -> HandlerResult {
    let h: BrokerNameHeader = req.decode_header()?;
    let add_topic_count = state.routes.set_write_perm(&h.broker_name, true);
    Ok(RemotingCommand::success_with_header(
        &AddWritePermOfBrokerResponseHeader { add_topic_count },
    ))
}

fn kv_error(err: crate::kv_store::KvStoreError) -> CommandError {
    CommandError::new(ResponseCode::SYSTEM_ERROR, err.to_string())
}

fn put_kv(state: &State, _: &Connection, req: &RemotingCommand) -> HandlerResult {
    let h: PutKvConfigRequestHeader = req.decode_header()?;
    state
        .kv
        .put(&h.namespace, &h.key, &h.value)
        .map_err(kv_error)?;
    Ok(RemotingCommand::success())
}

fn get_kv(state: &State, _: &Connection, req: &RemotingCommand) -> HandlerResult {
    let h: KvConfigKeyHeader = req.decode_header()?;
    match state.kv.get(&h.namespace, &h.key) {
        Some(value) => Ok(RemotingCommand::success_with_header(
            &GetKvConfigResponseHeader { value },
        )),
        None => Err(CommandError::new(
            ResponseCode::QUERY_NOT_FOUND,
            format!("No config item, Namespace: {} Key: {}", h.namespace, h.key),
        )),
    }
}

fn delete_kv(state: &State, _: &Connection, req: &RemotingCommand) -> HandlerResult {
    let h: KvConfigKeyHeader = req.decode_header()?;
    state.kv.delete(&h.namespace, &h.key).map_err(kv_error)?;
    Ok(RemotingCommand::success())
}

fn kv_list(state: &State, _: &Connection, req: &RemotingCommand) -> HandlerResult {
    let h: GetKvListByNamespaceRequestHeader = req.decode_header()?;
    match state.kv.namespace(&h.namespace) {
        Some(table) => Ok(json_body(&KvTable { table }, KeyStyle::Fastjson)),
        None => Err(CommandError::new(
            ResponseCode::QUERY_NOT_FOUND,
            format!("No config item, Namespace: {}", h.namespace),
        )),
    }
}
