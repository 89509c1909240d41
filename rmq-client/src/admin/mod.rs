//! The admin client (Java `DefaultMQAdminExt`): what `mqadmin` and a console need — topics,
//! subscription groups, consumer progress and offsets, cluster and broker state, message
//! queries. Every call is one or a few request/response round trips to name servers and
//! brokers; nothing runs in the background.

mod cluster;
mod console;
mod dead_letter;
mod group;
mod message;
mod query;
mod running;
mod settings;
mod topic;
mod trace;

pub use dead_letter::dlq_topic;
pub use message::{MessageTrack, TrackType};
pub use settings::SettingList;

pub use trace::TraceView;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rmq_remoting::body::route::MASTER_ID;
use rmq_remoting::fastjson;
use rmq_remoting::{RemotingCommand, ResponseCode};
use serde::de::DeserializeOwned;

use crate::config::{ClientConfig, DEFAULT_INSTANCE_NAME};
use crate::error::{ClientError, Result};
use crate::instance::{refused, ClientInstance};

/// A connection to a RocketMQ (or rmq) cluster for administration. Create it with
/// [`Admin::start`], stop it with [`Admin::shutdown`].
pub struct Admin {
    instance: Arc<ClientInstance>,
    timeout: Duration,
}

impl Admin {
    /// Connects to the name servers in `config` (`namesrvAddr`, else `NAMESRV_ADDR`). The admin
    /// gets a client instance of its own, as Java's admin does, so it never shares connections
    /// with producers or consumers of the same process. Must run inside a tokio runtime.
    pub async fn start(config: ClientConfig) -> Result<Admin> {
        let mut config = config;
        if config.instance_name == DEFAULT_INSTANCE_NAME {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            config.instance_name = format!("admin-{}#{nanos}", std::process::id());
        }
        let timeout = config.mq_client_api_timeout;
        let instance = ClientInstance::acquire(&config, false)?;
        Ok(Admin { instance, timeout })
    }

    /// Closes the admin's connections.
    pub async fn shutdown(self) {
        self.instance.stop_if_unused().await;
    }

    /// Sends `req` to the server (broker, or a given name server) at `addr`; a non-success
    /// answer is an error.
    async fn broker_call(&self, addr: &str, req: RemotingCommand) -> Result<RemotingCommand> {
        self.instance.invoke(addr, req, self.timeout).await
    }

    /// Sends `req` to the broker at `addr` and decodes the JSON body of its answer.
    async fn broker_json<T: DeserializeOwned>(
        &self,
        addr: &str,
        req: RemotingCommand,
        what: &str,
    ) -> Result<T> {
        let resp = self.broker_call(addr, req).await?;
        decode(addr, &resp.body, what)
    }

    /// Sends `req` to a name server; a non-success answer is an error.
    async fn namesrv_call(&self, req: RemotingCommand) -> Result<(String, RemotingCommand)> {
        let (addr, resp) = self.instance.invoke_namesrv(req).await?;
        if resp.code != ResponseCode::SUCCESS.as_i32() {
            return Err(refused(&addr, resp));
        }
        Ok((addr, resp))
    }

    /// Sends `req` to a name server and decodes the JSON body of its answer.
    async fn namesrv_json<T: DeserializeOwned>(
        &self,
        req: RemotingCommand,
        what: &str,
    ) -> Result<T> {
        let (addr, resp) = self.namesrv_call(req).await?;
        decode(&addr, &resp.body, what)
    }

    /// The master address of every broker group in `route`-like data: broker name → address,
    /// groups without a master left out.
    fn masters<'a>(
        datas: impl IntoIterator<Item = &'a rmq_remoting::body::route::BrokerData>,
    ) -> Vec<(String, String)> {
        datas
            .into_iter()
            .filter_map(|bd| {
                bd.broker_addrs
                    .get(&MASTER_ID)
                    .map(|a| (bd.broker_name.clone(), a.clone()))
            })
            .collect()
    }
}

/// Decodes a fastjson body, naming the server and what was expected when it cannot.
fn decode<T: DeserializeOwned>(addr: &str, body: &[u8], what: &str) -> Result<T> {
    fastjson::from_slice(body).map_err(|e| ClientError::Protocol {
        addr: addr.to_owned(),
        reason: format!("{what}: {e}"),
    })
}
