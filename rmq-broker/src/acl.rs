//! ACL on the broker (docs/acl.md): with `aclEnable=true` every request passes
//! [`rmq_acl::Rules::check`] before its handler, under the rules of
//! `$ROCKETMQ_HOME/conf/plain_acl.yml` and `$ROCKETMQ_HOME/conf/acl/**/*.yml`, reloaded when
//! they change.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rmq_acl::{Denial, Rules};
use rmq_remoting::transport::Connection;
use rmq_remoting::{CommandError, RemotingCommand, ResponseCode};

use crate::config::BrokerConfig;

/// How often the files are looked at, as Apache's `FileWatchService` (500 ms).
const POLL: Duration = Duration::from_millis(500);

/// What the Java client sees before Apache's message: the broker answers an `AclException`
/// thrown by its RPC hook with SYSTEM_ERROR and the exception's text.
const REMARK_PREFIX: &str = "org.apache.rocketmq.acl.common.AclException: ";

/// The rules in force and the files they come from.
#[derive(Clone)]
pub struct Acl {
    home: PathBuf,
    rules: Arc<RwLock<Arc<Rules>>>,
}

/// The bytes of every ACL file at one moment, to notice a change.
type Snapshot = Vec<(PathBuf, Vec<u8>)>;

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
        let home = PathBuf::from(config.rocketmq_home.trim());
        let snapshot = snapshot(&home);
        let rules = parse(&snapshot).map_err(|e| format!("ACL rules: {e}"))?;
        if !default_file(&home).exists() {
            tracing::warn!(
                file = %default_file(&home).display(),
                "aclEnable=true but the ACL file does not exist: every request from a peer that is \
                 not whitelisted is refused until it does"
            );
        }
        tracing::info!(
            home = %home.display(),
            accounts = rules.accounts.len(),
            global_whitelist = rules.global_white.len(),
            "ACL enabled"
        );
        Ok(Some(Acl {
            home,
            rules: Arc::new(RwLock::new(Arc::new(rules))),
        }))
    }

    /// The router guard: refuses what the rules refuse, with Apache's code (SYSTEM_ERROR) and
    /// a remark naming the account and what it lacks.
    pub fn guard(
        &self,
    ) -> impl Fn(&Connection, &RemotingCommand) -> Result<(), CommandError> + Send + Sync + 'static
    {
        let rules = self.rules.clone();
        move |conn: &Connection, request: &RemotingCommand| {
            let peer = conn.peer_addr();
            let verdict = rules
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .check(peer.ip(), request);
            verdict.map_err(|denial| refusal(&denial, peer, request.code))
        }
    }

    /// Watches the files until the task is aborted: a change that parses replaces the rules, a
    /// change that does not is logged as an ERROR naming file and line and the last good rules
    /// stay.
    pub fn watch(&self) -> tokio::task::JoinHandle<()> {
        let acl = self.clone();
        tokio::spawn(async move {
            let mut seen = snapshot(&acl.home);
            loop {
                tokio::time::sleep(POLL).await;
                let now = tokio::task::spawn_blocking({
                    let home = acl.home.clone();
                    move || snapshot(&home)
                })
                .await
                .unwrap_or_else(|_| seen.clone());
                if now == seen {
                    continue;
                }
                match parse(&now) {
                    Ok(rules) => {
                        tracing::info!(
                            accounts = rules.accounts.len(),
                            global_whitelist = rules.global_white.len(),
                            "ACL rules reloaded"
                        );
                        *acl.rules.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(rules);
                    }
                    Err(e) => tracing::error!(
                        file = %e.file,
                        line = e.line,
                        "ACL file not reloaded, the previous rules stay in force: {e}"
                    ),
                }
                seen = now;
            }
        })
    }
}

fn refusal(denial: &Denial, peer: std::net::SocketAddr, code: i32) -> CommandError {
    tracing::debug!(%peer, code, "ACL refused a request: {denial}");
    CommandError::new(
        ResponseCode::SYSTEM_ERROR,
        format!("{REMARK_PREFIX}{denial}"),
    )
}

fn default_file(home: &Path) -> PathBuf {
    home.join("conf").join("plain_acl.yml")
}

/// Every ACL file, as Apache 4.9.7 lists them: `conf/acl/**/*.yml|yaml`, then
/// `conf/plain_acl.yml`; a file that cannot be read counts as absent.
fn snapshot(home: &Path) -> Snapshot {
    let mut files = Vec::new();
    collect_yaml(&home.join("conf").join("acl"), &mut files);
    files.sort();
    let default = default_file(home);
    if !files.contains(&default) {
        files.push(default);
    }
    files
        .into_iter()
        .filter_map(|path| std::fs::read(&path).ok().map(|bytes| (path, bytes)))
        .collect()
}

fn collect_yaml(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_yaml(&path, files);
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yml" || ext == "yaml")
        {
            files.push(path);
        }
    }
}

fn parse(snapshot: &Snapshot) -> Result<Rules, rmq_acl::AclFileError> {
    let mut rules = Rules::default();
    for (path, bytes) in snapshot {
        let name = path.display().to_string();
        let text = String::from_utf8_lossy(bytes);
        rules.add_file(&name, &text)?;
    }
    Ok(rules)
}
