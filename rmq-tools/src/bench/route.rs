//! `mqbench route`: topic-route queries (GET_ROUTEINFO_BY_TOPIC) against a name server, the
//! one call every client makes. Works against rmq's name server and Apache's alike.

use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::body::route::RegisterBrokerBody;
use rmq_remoting::body::topic::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::header::namesrv::{GetRouteInfoRequestHeader, RegisterBrokerRequestHeader};
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::{RemotingCommand, RequestCode, ResponseCode};

use super::driver::drive;
use super::report::Report;

/// Settings of a route benchmark.
#[derive(Debug, Clone, clap::Args)]
pub struct RouteArgs {
    /// Name server address, `host:port`.
    #[arg(short = 'n', long, default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Topic to query.
    #[arg(short = 't', long, default_value = "BenchmarkTest")]
    pub topic: String,
    /// TCP connections (each carries many requests in flight).
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Requests in flight per connection.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds to measure (after a one-second warm-up).
    #[arg(short = 'd', long, default_value_t = 10)]
    pub duration: u64,
    /// First register a fake broker holding the topic, so queries return a real route (the
    /// registration's connection stays open for the run).
    #[arg(long)]
    pub register: bool,
    /// `--tls`: every connection TLS (the name server must be permissive or enforcing).
    #[command(flatten)]
    pub tls: crate::tls::TlsArg,
}

/// Runs the benchmark and returns its report.
pub async fn run(args: &RouteArgs) -> anyhow::Result<Report> {
    let tls = args.tls.client_tls()?;
    let registrar =
        RemotingClient::new(TransportConfig::default(), Router::new()).with_tls(tls.clone());
    if args.register {
        let response = registrar
            .invoke(
                &args.namesrv,
                register_command(&args.topic),
                Duration::from_secs(5),
            )
            .await?;
        anyhow::ensure!(
            response.code == 0,
            "registering the benchmark broker failed: {:?}",
            response.remark
        );
    }
    let clients: Vec<Arc<RemotingClient>> = (0..args.connections.max(1))
        .map(|_| {
            Arc::new(
                RemotingClient::new(TransportConfig::default(), Router::new())
                    .with_tls(tls.clone()),
            )
        })
        .collect();
    let header = GetRouteInfoRequestHeader {
        topic: args.topic.clone(),
        accept_standard_json_only: None,
    };
    let expected = if args.register {
        ResponseCode::SUCCESS
    } else {
        ResponseCode::TOPIC_NOT_EXIST
    };
    let namesrv = args.namesrv.clone();
    let per_connection = args.concurrency.max(1);
    let workers = clients.len() * per_connection;
    let report = drive(
        "route",
        &args.namesrv,
        workers,
        Duration::from_secs(args.duration),
        move |index| {
            let client = clients[index / per_connection].clone();
            let request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
            let namesrv = namesrv.clone();
            async move {
                let outcome = client
                    .invoke(&namesrv, request, Duration::from_secs(3))
                    .await;
                matches!(&outcome, Ok(r) if r.code == expected.as_i32())
            }
        },
    )
    .await;
    registrar.close_all().await;
    report
}

fn register_command(topic: &str) -> RemotingCommand {
    let header = RegisterBrokerRequestHeader {
        broker_name: "mqbench-broker".into(),
        broker_addr: "127.0.0.1:10911".into(),
        cluster_name: "MqbenchCluster".into(),
        ha_server_addr: "127.0.0.1:10912".into(),
        broker_id: 0,
        heartbeat_timeout_millis: None,
        enable_acting_master: None,
        compressed: false,
        body_crc32: 0,
    };
    let config = TopicConfig {
        order: false,
        perm: 6,
        read_queue_nums: 8,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_name: topic.into(),
        topic_sys_flag: 0,
        write_queue_nums: 8,
        attributes: None,
    };
    let body = RegisterBrokerBody {
        filter_server_list: vec![],
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            data_version: DataVersion {
                timestamp: 1,
                counter: 1,
                state_version: None,
            },
            topic_config_table: [(topic.to_owned(), config)].into_iter().collect(),
        },
    };
    RemotingCommand::request(RequestCode::REGISTER_BROKER, &header)
        .with_body(fastjson::to_vec(&body, KeyStyle::Fastjson))
}
