//! GET_NAMESRV_CONFIG and UPDATE_NAMESRV_CONFIG (docs/admin-safety.md): the name server's
//! settings as properties text, as Apache answers them, and runtime changes limited to an
//! allowlist of keys that take effect at once. Paths (`kvConfigPath`, `configStorePath`:
//! CVE-2023-37582), `rocketmqHome`, addresses and ports are never changed remotely; keys read
//! only at start are refused rather than accepted without effect. Changes live in memory:
//! unlike Apache, rmq does not rewrite a configuration file at run time (put a change that
//! must survive a restart in namesrv.conf).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use rmq_config::properties::Property;
use rmq_config::Settings;
use rmq_remoting::transport::{Connection, HandlerResult};
use rmq_remoting::{CommandError, RemotingCommand, ResponseCode};

use crate::config::NamesrvConfig;
use crate::processor::State;

/// The keys UPDATE_NAMESRV_CONFIG may change, each with what it does at once.
pub const ALLOWLIST: &[(&str, &str)] = &[
    (
        "orderMessageEnable",
        "whether routes carry orderTopicConf from the ORDER_TOPIC_CONFIG KV namespace (read per route request)",
    ),
    (
        "enableAllTopicList",
        "whether GET_ALL_TOPIC_LIST_FROM_NAMESERVER is answered (read per request)",
    ),
];

/// Keys refused as never changed remotely although their names carry no dangerous word.
const DANGEROUS: &[&str] = &[
    "kvConfigPath",
    "configStorePath",
    "rocketmqHome",
    "listenPort",
    "bindAddress",
    "enableControllerInNamesrv",
    "useTLS",
    "socksProxyConfig",
];

/// Why UPDATE_NAMESRV_CONFIG refuses `key`, or `None` when it is allowlisted.
pub fn refusal(key: &str) -> Option<&'static str> {
    rmq_config::remote::refusal::<crate::config::NamesrvFile>(key, ALLOWLIST, DANGEROUS)
}

/// The name server's settings as they are now.
pub(crate) struct LiveConfig {
    order_message_enable: AtomicBool,
    enable_all_topic_list: AtomicBool,
    config: Mutex<NamesrvConfig>,
}

impl LiveConfig {
    /// The settings the name server started with.
    pub fn new(config: &NamesrvConfig) -> Self {
        LiveConfig {
            order_message_enable: AtomicBool::new(config.order_message_enable),
            enable_all_topic_list: AtomicBool::new(config.enable_all_topic_list),
            config: Mutex::new(config.clone()),
        }
    }

    /// `orderMessageEnable` now.
    pub fn order_message_enable(&self) -> bool {
        self.order_message_enable.load(Ordering::Relaxed)
    }

    /// `enableAllTopicList` now.
    pub fn enable_all_topic_list(&self) -> bool {
        self.enable_all_topic_list.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, NamesrvConfig> {
        self.config.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every setting as properties text.
    pub fn text(&self) -> String {
        rmq_config::remote::properties_text(self.lock().values())
    }

    /// Applies `properties` all or nothing; the error is the refusal's code and remark.
    pub fn update(&self, properties: &[Property]) -> Result<Vec<String>, (ResponseCode, String)> {
        let refused: Vec<(String, &str)> = properties
            .iter()
            .filter_map(|p| refusal(&p.key).map(|why| (p.key.clone(), why)))
            .collect();
        if !refused.is_empty() {
            return Err((
                ResponseCode::NO_PERMISSION,
                rmq_config::remote::refusal_remark(&refused, ALLOWLIST),
            ));
        }
        let mut config = self.lock();
        let mut candidate = config.clone();
        for p in properties {
            let accepted = match candidate.set(&p.key, &p.value) {
                Some(Ok(())) => continue,
                Some(Err(accepted)) => accepted,
                None => "a key the name server has".to_owned(),
            };
            return Err((
                ResponseCode::INVALID_PARAMETER,
                format!(
                    "`{}` has the value {:?}, which is not valid; expected {accepted}. Nothing was changed",
                    p.key, p.value
                ),
            ));
        }
        self.order_message_enable
            .store(candidate.order_message_enable, Ordering::Relaxed);
        self.enable_all_topic_list
            .store(candidate.enable_all_topic_list, Ordering::Relaxed);
        *config = candidate;
        Ok(properties.iter().map(|p| p.key.clone()).collect())
    }
}

/// GET_NAMESRV_CONFIG: every setting as properties text.
pub(crate) fn get_config(state: &State, _: &Connection, _: &RemotingCommand) -> HandlerResult {
    Ok(RemotingCommand::success().with_body(state.live.text().into_bytes()))
}

/// UPDATE_NAMESRV_CONFIG: NO_PERMISSION naming every refused key (Apache's code for
/// `kvConfigPath` and `configStorePath`), INVALID_PARAMETER for a bad value.
pub(crate) fn update_config(
    state: &State,
    conn: &Connection,
    req: &RemotingCommand,
) -> HandlerResult {
    let properties = rmq_config::properties::parse(&String::from_utf8_lossy(&req.body));
    match state.live.update(&properties) {
        Ok(changed) => {
            tracing::info!(peer = %conn.peer_addr(), ?changed, "name-server settings changed at run time");
            Ok(RemotingCommand::success())
        }
        Err((code, remark)) => {
            tracing::warn!(peer = %conn.peer_addr(), %remark, "UPDATE_NAMESRV_CONFIG refused");
            Err(CommandError::new(code, remark))
        }
    }
}

#[cfg(test)]
mod tests {
    use rmq_config::properties::parse;

    use super::*;

    #[test]
    fn paths_ports_and_start_only_keys_are_refused_and_change_nothing() {
        let live = LiveConfig::new(&NamesrvConfig::default());
        let before = live.text();
        let (code, remark) = live
            .update(&parse(
                "enableAllTopicList=false\nconfigStorePath=/tmp/x\nkvConfigPath=/tmp/y\nrocketmqHome=/tmp\nlistenPort=1\nscanNotActiveBrokerInterval=1\n",
            ))
            .unwrap_err();
        assert_eq!(code, ResponseCode::NO_PERMISSION);
        for key in [
            "configStorePath (",
            "kvConfigPath (",
            "rocketmqHome (",
            "listenPort (",
        ] {
            assert!(remark.contains(key), "{key}: {remark}");
            assert!(remark.contains(&format!("{key}{}", rmq_config::remote::NEVER_REMOTE)));
        }
        assert!(
            remark.contains(&format!(
                "scanNotActiveBrokerInterval ({}",
                rmq_config::remote::START_ONLY
            )),
            "{remark}"
        );
        assert!(live.enable_all_topic_list());
        assert_eq!(live.text(), before);
    }

    #[test]
    fn an_allowlisted_key_changes_at_once_and_a_bad_value_changes_nothing() {
        let live = LiveConfig::new(&NamesrvConfig::default());
        let (code, _) = live
            .update(&parse(
                "orderMessageEnable=true\nenableAllTopicList=maybe\n",
            ))
            .unwrap_err();
        assert_eq!(code, ResponseCode::INVALID_PARAMETER);
        assert!(!live.order_message_enable());
        live.update(&parse("enableAllTopicList=false\n")).unwrap();
        assert!(!live.enable_all_topic_list());
        assert!(live.text().contains("\nenableAllTopicList=false\n"));
    }
}
