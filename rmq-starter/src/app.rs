//! The application bootstrap: configuration, logging, the template, every registered listener,
//! the HTTP server with a health endpoint, and a graceful stop on SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::Instant;

use axum::routing::get;
use axum::{Json, Router};
use rmq_client::{
    ClientConfig, ConsumerConfig, LitePullConsumer, MessageModel, Producer, ProducerConfig,
    PushConsumer,
};

use crate::error::StarterError;
use crate::listener::{ConsumerPlan, ListenerRegistration, ListenerStart};
use crate::locations::EmbeddedConfig;
use crate::logging;
use crate::properties::{Properties, PropertySources};
use crate::settings::{ignored_keys, require_name_server, unknown_keys, Settings};
use crate::template::RocketMQTemplate;
use crate::transaction::transaction_listener;

/// The health endpoint's path, Spring Boot Actuator's.
pub const HEALTH_PATH: &str = "/actuator/health";

/// What the application's routes can use: the template and the configuration.
#[derive(Debug, Clone)]
pub struct AppContext {
    properties: Arc<Properties>,
    settings: Arc<Settings>,
    template: Option<RocketMQTemplate>,
}

impl AppContext {
    /// The default template; an error when neither `rocketmq.producer.group` nor
    /// `rocketmq.pull-consumer.group` + `.topic` are configured.
    pub fn template(&self) -> Result<RocketMQTemplate, StarterError> {
        self.template.clone().ok_or(StarterError::NoTemplate)
    }

    /// All properties, for the application's own settings.
    pub fn properties(&self) -> &Properties {
        &self.properties
    }

    /// The bound starter settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

/// An application to run: `Application::new("demo").default_port(8080).run(|ctx| ...)`.
#[derive(Debug, Clone)]
pub struct Application {
    name: String,
    default_port: u16,
    sources: Option<PropertySources>,
    embedded: EmbeddedConfig,
}

impl Application {
    /// An application called `name` (in logs and the boot line, unless
    /// `spring.application.name` is set), on port 8080 unless `server.port` says otherwise.
    pub fn new(name: impl Into<String>) -> Self {
        Application {
            name: name.into(),
            default_port: 8080,
            sources: None,
            embedded: EmbeddedConfig::default(),
        }
    }

    /// The port used when `server.port` is not set.
    pub fn default_port(mut self, port: u16) -> Self {
        self.default_port = port;
        self
    }

    /// Configuration files compiled into the binary, read first (Spring Boot's classpath):
    /// `.embedded_config(rmq_starter::embed_config!())`.
    pub fn embedded_config(mut self, embedded: EmbeddedConfig) -> Self {
        self.embedded = embedded;
        self
    }

    /// Reads configuration from `sources` instead of the process's directory, environment and
    /// arguments.
    pub fn sources(mut self, sources: PropertySources) -> Self {
        self.sources = Some(sources);
        self
    }

    /// Starts everything, serves `routes` until SIGINT/SIGTERM, then stops gracefully: the
    /// HTTP server finishes its requests, every listener stops pulling, finishes the messages
    /// in hand, commits offsets and leaves its group, and the producer unregisters.
    ///
    /// Prints `Started <name> in <s> seconds, listening on <addr>` once ready.
    pub async fn run<F>(self, routes: F) -> Result<(), StarterError>
    where
        F: FnOnce(&AppContext) -> Result<Router, StarterError>,
    {
        // Handlers are installed now, so a signal during startup is not lost.
        let stop = rmq_config::cli::shutdown_signal();
        self.run_until(routes, stop).await
    }

    /// [`Self::run`], stopping when `stop` completes instead of on a signal (for tests and
    /// applications that embed the starter).
    pub async fn run_until<F>(
        self,
        routes: F,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), StarterError>
    where
        F: FnOnce(&AppContext) -> Result<Router, StarterError>,
    {
        let started = Instant::now();
        let sources = self.sources.unwrap_or_else(PropertySources::from_process);
        let properties = Properties::load_with(&sources, &self.embedded)?;
        let settings = Settings::bind(&properties)?;
        logging::init(&settings.logging)?;
        let files = properties.files();
        tracing::info!(
            files = %if files.is_empty() { "none".to_owned() } else { files.join(", ") },
            "configuration read"
        );
        if !properties.profiles().is_empty() {
            tracing::info!(profiles = %properties.profiles().join(","), "active profiles");
        }
        for unknown in unknown_keys(&properties) {
            tracing::warn!("{unknown}");
        }
        for (key, why) in ignored_keys(&properties) {
            tracing::warn!("{key} has no effect: {why}");
        }

        let template = start_template(&properties, &settings).await?;
        let consumers = match start_listeners(&properties, &settings).await {
            Ok(c) => c,
            Err(e) => {
                if let Some(t) = &template {
                    t.shutdown().await;
                }
                return Err(e);
            }
        };
        // `spring.application.name` names the application, as in Spring Boot.
        let name = properties
            .value("spring.application.name")
            .filter(|n| !n.is_empty())
            .map_or_else(|| self.name.clone(), str::to_owned);
        let ctx = AppContext {
            properties: Arc::new(properties),
            settings: Arc::new(settings),
            template,
        };
        let served = serve(
            &name,
            self.default_port,
            &ctx,
            routes,
            started,
            consumers.len(),
            stop,
        )
        .await;
        for (name, consumer) in &consumers {
            tracing::info!(listener = name, "stopping listener");
            consumer.shutdown().await;
        }
        if let Some(t) = &ctx.template {
            t.shutdown().await;
        }
        tracing::info!(app = %name, "stopped");
        served
    }
}

/// The exit code of an application's `main`: on failure, prints the error the way Spring Boot
/// reports a failed start (`APPLICATION FAILED TO START`) and exits with 1.
pub fn exit_code(result: Result<(), StarterError>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\n***************************\nAPPLICATION FAILED TO START\n***************************\n\n{e}\n");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve<F>(
    name: &str,
    default_port: u16,
    ctx: &AppContext,
    routes: F,
    started: Instant,
    listeners: usize,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StarterError>
where
    F: FnOnce(&AppContext) -> Result<Router, StarterError>,
{
    let router = Router::new()
        .route(
            HEALTH_PATH,
            get(move || async move {
                Json(serde_json::json!({ "status": "UP", "listeners": listeners }))
            }),
        )
        .merge(routes(ctx)?);
    let port = ctx.settings.server.port.unwrap_or(default_port);
    let addr = format!("{}:{port}", ctx.settings.server.address);
    let http_err = |source| StarterError::Http {
        addr: addr.clone(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(http_err)?;
    let local = listener.local_addr().map_err(http_err)?;
    println!(
        "Started {name} in {:.3} seconds, listening on {local}",
        started.elapsed().as_secs_f64()
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await
        .map_err(http_err)
}

/// The default template: created when `rocketmq.producer.group` is set (sending) or both
/// `rocketmq.pull-consumer.group` and `.topic` are (receiving), as in rocketmq-spring.
async fn start_template(
    props: &Properties,
    settings: &Settings,
) -> Result<Option<RocketMQTemplate>, StarterError> {
    let template = start_producer(props, settings).await?;
    let pull = &settings.rocketmq.pull_consumer;
    let (Some(group), Some(topic)) = (&pull.group, &pull.topic) else {
        return Ok(template);
    };
    let consumer = match start_pull_consumer(props, settings, group, topic).await {
        Ok(c) => c,
        Err(e) => {
            if let Some(t) = &template {
                t.shutdown().await;
            }
            return Err(e);
        }
    };
    Ok(Some(match template {
        Some(t) => t.with_pull_consumer(consumer),
        None => RocketMQTemplate::receiving(consumer),
    }))
}

/// The lite pull consumer behind `RocketMQTemplate::receive`.
async fn start_pull_consumer(
    props: &Properties,
    settings: &Settings,
    group: &str,
    topic: &str,
) -> Result<LitePullConsumer, StarterError> {
    let p = &settings.rocketmq.pull_consumer;
    let name_server = require_name_server(settings, props, "the RocketMQTemplate's pull consumer")?;
    let with_ns = |name: &str| match &p.namespace {
        Some(ns) => format!("{ns}%{name}"),
        None => name.to_owned(),
    };
    let (group, topic) = (with_ns(group), with_ns(topic));
    let consumer = LitePullConsumer::builder()
        .client_config(ClientConfig {
            namesrv_addr: name_server.to_owned(),
            instance_name: p.instance_name.clone(),
            credentials: p.credentials.clone(),
            use_tls: p.tls_enable,
            ..ClientConfig::default()
        })
        .config(ConsumerConfig {
            message_model: if p.broadcasting {
                MessageModel::Broadcasting
            } else {
                MessageModel::Clustering
            },
            pull_batch_size: p.pull_batch_size,
            enable_msg_trace: p.enable_msg_trace,
            customized_trace_topic: p.customized_trace_topic.clone(),
            ..ConsumerConfig::default()
        })
        .consumer_group(group.clone())
        .subscribe(topic.clone(), p.selector_expression.clone())
        .start()
        .await
        .map_err(|source| StarterError::Client {
            what: format!("the pull consumer of group {group} (topic {topic})"),
            source: Box::new(source),
        })?;
    tracing::info!(group, topic, "RocketMQTemplate can receive");
    Ok(consumer)
}

/// The default template's sending side, when `rocketmq.producer.group` is set.
async fn start_producer(
    props: &Properties,
    settings: &Settings,
) -> Result<Option<RocketMQTemplate>, StarterError> {
    let p = &settings.rocketmq.producer;
    let Some(group) = &p.group else {
        return Ok(None);
    };
    let name_server = require_name_server(settings, props, "the RocketMQTemplate")?;
    let group = match &p.namespace {
        Some(ns) => format!("{ns}%{group}"),
        None => group.clone(),
    };
    let builder = Producer::builder()
        .client_config(ClientConfig {
            namesrv_addr: name_server.to_owned(),
            instance_name: p.instance_name.clone(),
            credentials: p.credentials.clone(),
            use_tls: p.tls_enable,
            ..ClientConfig::default()
        })
        .config(ProducerConfig {
            producer_group: group.clone(),
            send_msg_timeout: p.send_message_timeout,
            retry_times_when_send_failed: p.retry_times_when_send_failed,
            retry_times_when_send_async_failed: p.retry_times_when_send_async_failed,
            retry_another_broker_when_not_store_ok: p.retry_next_server,
            compress_msg_body_over_howmuch: p.compress_message_body_threshold,
            max_message_size: p.max_message_size,
            enable_msg_trace: p.enable_msg_trace,
            customized_trace_topic: p.customized_trace_topic.clone(),
            ..ProducerConfig::default()
        });
    let failed = |source| StarterError::Client {
        what: format!("the producer of group {group}"),
        source: Box::new(source),
    };
    let template = match transaction_listener()? {
        Some(reg) => {
            let producer = builder
                .start_transactional((reg.create)())
                .await
                .map_err(failed)?;
            tracing::info!(
                group,
                listener = reg.type_name,
                "transactional RocketMQTemplate ready"
            );
            RocketMQTemplate::transactional(producer, p.namespace.clone())
        }
        None => {
            let producer = builder.start().await.map_err(failed)?;
            tracing::info!(group, "RocketMQTemplate ready");
            RocketMQTemplate::new(producer, p.namespace.clone())
        }
    };
    Ok(Some(template))
}

/// Starts the push consumer of every registered, enabled listener; on a failure the ones
/// already started are stopped again.
async fn start_listeners(
    props: &Properties,
    settings: &Settings,
) -> Result<Vec<(&'static str, PushConsumer)>, StarterError> {
    let mut started = Vec::new();
    for reg in inventory::iter::<ListenerRegistration> {
        let result = match ConsumerPlan::resolve(reg.type_name, &reg.attributes, props, settings) {
            Ok(Some(plan)) => {
                let (group, topic) = (plan.group.clone(), plan.topic.clone());
                (reg.start)(ListenerStart { plan }).await.map(|c| {
                    tracing::info!(listener = reg.type_name, group, topic, "listener started");
                    Some(c)
                })
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        match result {
            Ok(Some(consumer)) => started.push((reg.type_name, consumer)),
            Ok(None) => {}
            Err(e) => {
                for (_, consumer) in &started {
                    consumer.shutdown().await;
                }
                return Err(e);
            }
        }
    }
    Ok(started)
}
