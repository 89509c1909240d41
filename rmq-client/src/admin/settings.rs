//! Servers' settings, as `mqadmin getBrokerConfig`/`updateBrokerConfig` and
//! `getNamesrvConfig`/`updateNamesrvConfig` read and change them: Java properties text both ways
//! (GET/UPDATE_BROKER_CONFIG, GET/UPDATE_NAMESRV_CONFIG). What a server lets change at run time
//! is its own allowlist (docs/admin-safety.md); a refusal comes back as the server's error.

use rmq_config::properties;
use rmq_config::remote::property_line;
use rmq_remoting::{RemotingCommand, RequestCode};

use super::Admin;
use crate::error::Result;

/// Settings as `(key, value)` pairs, in the server's order.
pub type SettingList = Vec<(String, String)>;

fn parse(body: &[u8]) -> SettingList {
    properties::parse(&String::from_utf8_lossy(body))
        .into_iter()
        .map(|p| (p.key, p.value))
        .collect()
}

fn request(code: RequestCode, settings: &[(&str, &str)]) -> RemotingCommand {
    let body: String = settings
        .iter()
        .map(|(key, value)| property_line(key, value))
        .collect();
    RemotingCommand::request_without_header(code).with_body(body.into_bytes())
}

impl Admin {
    /// The settings of the broker at `broker_addr` (GET_BROKER_CONFIG).
    pub async fn broker_config(&self, broker_addr: &str) -> Result<SettingList> {
        let req = RemotingCommand::request_without_header(RequestCode::GET_BROKER_CONFIG);
        let resp = self.broker_call(broker_addr, req).await?;
        Ok(parse(&resp.body))
    }

    /// Changes `settings` on the broker at `broker_addr` (UPDATE_BROKER_CONFIG); rmq's broker
    /// applies all of them or, naming the refused keys, none.
    pub async fn update_broker_config(
        &self,
        broker_addr: &str,
        settings: &[(&str, &str)],
    ) -> Result<()> {
        let req = request(RequestCode::UPDATE_BROKER_CONFIG, settings);
        self.broker_call(broker_addr, req).await.map(drop)
    }

    /// The settings of the name server at `namesrv_addr` (GET_NAMESRV_CONFIG).
    pub async fn namesrv_config(&self, namesrv_addr: &str) -> Result<SettingList> {
        let req = RemotingCommand::request_without_header(RequestCode::GET_NAMESRV_CONFIG);
        let resp = self.broker_call(namesrv_addr, req).await?;
        Ok(parse(&resp.body))
    }

    /// Changes `settings` on the name server at `namesrv_addr` (UPDATE_NAMESRV_CONFIG).
    pub async fn update_namesrv_config(
        &self,
        namesrv_addr: &str,
        settings: &[(&str, &str)],
    ) -> Result<()> {
        let req = request(RequestCode::UPDATE_NAMESRV_CONFIG, settings);
        self.broker_call(namesrv_addr, req).await.map(drop)
    }
}
