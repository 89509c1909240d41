//! The ACL files of one RocketMQ home, as Apache 4.9.7's `PlainPermissionManager` finds them
//! (`conf/acl/**/*.yml|yaml`, then `conf/plain_acl.yml`), and the rules in force, reloaded when
//! the files change (docs/acl.md, "Reload"). Shared by the broker and the gRPC proxy, which read
//! the same files with the same rules.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::config::{AclFileError, Rules};

/// How often the files are looked at, as Apache's `FileWatchService` (500 ms).
const POLL: Duration = Duration::from_millis(500);

/// The bytes of every ACL file at one moment, to notice a change.
type Snapshot = Vec<(PathBuf, Vec<u8>)>;

/// The rules of one home's ACL files; clones share the rules in force.
#[derive(Clone)]
pub struct AclFiles {
    home: PathBuf,
    rules: Arc<RwLock<Arc<Rules>>>,
}

impl AclFiles {
    /// Reads the files under `home` now. A file that does not parse is an error naming file
    /// and line; no `conf/plain_acl.yml` is a warning (only whitelisted peers pass until it
    /// appears), as on Apache's broker.
    pub fn open(home: &Path) -> Result<AclFiles, AclFileError> {
        let rules = parse(&snapshot(home))?;
        let default = default_file(home);
        if !default.exists() {
            tracing::warn!(
                file = %default.display(),
                "ACL is on but the ACL file does not exist: every request from a peer that is \
                 not whitelisted is refused until it does"
            );
        }
        tracing::info!(
            home = %home.display(),
            accounts = rules.accounts.len(),
            global_whitelist = rules.global_white.len(),
            "ACL enabled"
        );
        Ok(AclFiles {
            home: home.to_owned(),
            rules: Arc::new(RwLock::new(Arc::new(rules))),
        })
    }

    /// Runs `decide` under the rules in force (one read lock, no copy).
    pub fn with_rules<T>(&self, decide: impl FnOnce(&Rules) -> T) -> T {
        decide(&self.rules.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Watches the files until the task is aborted: a change that parses replaces the rules, a
    /// change that does not is logged as an ERROR naming file and line and the last good rules
    /// stay. Must run inside a tokio runtime.
    pub fn watch(&self) -> tokio::task::JoinHandle<()> {
        let files = self.clone();
        tokio::spawn(async move {
            let mut seen = snapshot(&files.home);
            loop {
                tokio::time::sleep(POLL).await;
                let now = tokio::task::spawn_blocking({
                    let home = files.home.clone();
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
                        *files.rules.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(rules);
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

fn parse(snapshot: &Snapshot) -> Result<Rules, AclFileError> {
    let mut rules = Rules::default();
    for (path, bytes) in snapshot {
        let name = path.display().to_string();
        let text = String::from_utf8_lossy(bytes);
        rules.add_file(&name, &text)?;
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_acl_dir_before_the_default_file() {
        let home = tempfile::tempdir().unwrap();
        let conf = home.path().join("conf");
        std::fs::create_dir_all(conf.join("acl").join("team")).unwrap();
        std::fs::write(
            conf.join("plain_acl.yml"),
            "accounts:\n  - accessKey: RocketMQ\n    secretKey: 22222222\n",
        )
        .unwrap();
        std::fs::write(
            conf.join("acl").join("team").join("a.yaml"),
            "accounts:\n  - accessKey: RocketMQ\n    secretKey: 11111111\n    admin: true\n",
        )
        .unwrap();
        let files = AclFiles::open(home.path()).unwrap();
        assert!(files.with_rules(|r| r.accounts["RocketMQ"].admin));
        std::fs::write(conf.join("acl").join("bad.yml"), "accounts: [unclosed\n").unwrap();
        let Err(err) = AclFiles::open(home.path()) else {
            panic!("a broken file must refuse the rules");
        };
        assert!(err.file.ends_with("bad.yml"), "{err}");
    }
}
