//! ACL on the broker (docs/acl.md): with `aclEnable=true` every request passes
//! [`rmq_acl::Rules::check`] before its handler, under the rules of
//! `$ROCKETMQ_HOME/conf/plain_acl.yml` and `$ROCKETMQ_HOME/conf/acl/**/*.yml`, reloaded when
//! they change ([`rmq_acl::AclFiles`], shared with the gRPC proxy).

use std::path::Path;

use rmq_acl::{AclFiles, Denial};
use rmq_remoting::transport::Connection;
use rmq_remoting::{CommandError, RemotingCommand, ResponseCode};

use crate::config::BrokerConfig;

/// What the Java client sees before Apache's message: the broker answers an `AclException`
/// thrown by its RPC hook with SYSTEM_ERROR and the exception's text.
const REMARK_PREFIX: &str = "org.apache.rocketmq.acl.common.AclException: ";

/// The rules in force and the files they come from.
#[derive(Clone)]
pub struct Acl {
    files: AclFiles,
}

impl Acl {
    /// The ACL of a broker with `aclEnable=true` (`None` without), loaded now: a broker with
    /// ACL on and unreadable rules does not start.
    pub fn open(config: &BrokerConfig) -> Result<Option<Acl>, String> {
        if !config.acl_enable {
            return Ok(None);
        }
        if config.rocketmq_home.trim().is_empty() {
            return Err(
                "aclEnable=true needs rocketmqHome (or ROCKETMQ_HOME in the environment): \
                 the rules are read from $ROCKETMQ_HOME/conf/plain_acl.yml"
                    .to_owned(),
            );
        }
        let files = AclFiles::open(Path::new(config.rocketmq_home.trim()))
            .map_err(|e| format!("ACL rules: {e}"))?;
        Ok(Some(Acl { files }))
    }

    /// The router guard: refuses what the rules refuse, with Apache's code (SYSTEM_ERROR) and
    /// a remark naming the account and what it lacks.
    pub fn guard(
        &self,
    ) -> impl Fn(&Connection, &RemotingCommand) -> Result<(), CommandError> + Send + Sync + 'static
    {
        let files = self.files.clone();
        move |conn: &Connection, request: &RemotingCommand| {
            let peer = conn.peer_addr();
            let verdict = files.with_rules(|rules| rules.check(peer.ip(), request));
            verdict.map_err(|denial| refusal(&denial, peer, request.code))
        }
    }

    /// Watches the files until the task is aborted (a change that does not parse keeps the
    /// last good rules).
    pub fn watch(&self) -> tokio::task::JoinHandle<()> {
        self.files.watch()
    }
}

fn refusal(denial: &Denial, peer: std::net::SocketAddr, code: i32) -> CommandError {
    tracing::debug!(%peer, code, "ACL refused a request: {denial}");
    CommandError::new(
        ResponseCode::SYSTEM_ERROR,
        format!("{REMARK_PREFIX}{denial}"),
    )
}
