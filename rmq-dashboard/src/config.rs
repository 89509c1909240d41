//! The console's settings: built-in defaults, then a YAML file (`--config`), then the
//! environment (`RMQ_DASHBOARD_*`, and `NAMESRV_ADDR` as Apache's tools read it), then the
//! command line; a later source wins. A bad setting is refused with its key, its source and
//! how to fix it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Environment variables that set a key are named with this prefix and the key in capitals.
pub const ENV_PREFIX: &str = "RMQ_DASHBOARD";

/// Everything the console can be told. Keys are snake_case in the file and after the
/// environment prefix (`port` ↔ `RMQ_DASHBOARD_PORT`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardConfig {
    /// Name servers, `host:port;host:port`.
    pub namesrv_addr: String,
    /// Address to listen on. 127.0.0.1 by default; set 0.0.0.0 in a container.
    pub bind: String,
    /// Port to listen on (0 picks a free one, which the boot line prints).
    pub port: u16,
    /// Where the users file lives; `~/.rmq-dashboard` by default.
    pub data_dir: Option<PathBuf>,
    /// Password of the `admin` user when no users file exists yet; without it a random one
    /// is generated once and printed in the log.
    pub password: Option<String>,
    /// Mark the session cookie `Secure` (set when the console is served over TLS, e.g.
    /// behind a TLS-terminating proxy).
    pub secure_cookie: bool,
    /// Minutes a session may stay unused before it ends.
    pub session_idle_minutes: u64,
    /// Failed logins one client address may make per minute before it gets 429.
    pub login_failures_per_minute: u32,
    /// Seconds between two samples of every broker's runtime figures (the TPS charts).
    pub sample_interval_secs: u64,
    /// Samples kept per broker for the charts.
    pub sample_history: usize,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            namesrv_addr: "127.0.0.1:9876".to_owned(),
            bind: "127.0.0.1".to_owned(),
            port: 8080,
            data_dir: None,
            password: None,
            secure_cookie: false,
            session_idle_minutes: 30,
            login_failures_per_minute: 5,
            sample_interval_secs: 10,
            sample_history: 360,
        }
    }
}

/// A setting the console cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A source could not be read or a key did not fit.
    #[error("dashboard settings ({source_desc}): {detail}; fix: {fix}")]
    Invalid {
        /// The file and/or environment the settings came from.
        source_desc: String,
        /// What was wrong, with the key's name.
        detail: String,
        /// What to change.
        fix: String,
    },
}

impl DashboardConfig {
    /// Reads the settings from `file` (when given) and the environment; command-line values
    /// are applied by the caller afterwards.
    pub fn load(file: Option<&Path>) -> Result<DashboardConfig, ConfigError> {
        let source_desc = match file {
            Some(f) => format!("file {} and {ENV_PREFIX}_* environment", f.display()),
            None => format!("{ENV_PREFIX}_* environment"),
        };
        let invalid = |detail: String, fix: &str| ConfigError::Invalid {
            source_desc: source_desc.clone(),
            detail,
            fix: fix.to_owned(),
        };
        let mut builder = config::Config::builder();
        if let Ok(addr) = std::env::var("NAMESRV_ADDR") {
            builder = builder
                .set_default("namesrv_addr", addr)
                .map_err(|e| invalid(e.to_string(), "unset NAMESRV_ADDR"))?;
        }
        if let Some(f) = file {
            if !f.is_file() {
                return Err(invalid(
                    format!("{} does not exist or is not a file", f.display()),
                    "give --config the path of a YAML file",
                ));
            }
            builder = builder.add_source(config::File::from(f).format(config::FileFormat::Yaml));
        }
        builder = builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("_")
                .try_parsing(true),
        );
        let built = builder
            .build()
            .map_err(|e| invalid(e.to_string(), "correct the value named above"))?;
        let cfg: DashboardConfig = built.try_deserialize().map_err(|e| {
            invalid(
                e.to_string(),
                "use only the keys namesrv_addr, bind, port, data_dir, password, secure_cookie, \
                 session_idle_minutes, login_failures_per_minute, sample_interval_secs, \
                 sample_history, with values of the right type",
            )
        })?;
        cfg.validate()
            .map_err(|(key, fix)| invalid(format!("key `{key}` is out of range"), fix))?;
        Ok(cfg)
    }

    /// Checks ranges the types cannot express; the key and a fix when one is off.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.namesrv_addr.trim().is_empty() {
            return Err(("namesrv_addr", "name at least one name server, host:port"));
        }
        if self.session_idle_minutes == 0 {
            return Err(("session_idle_minutes", "give a number of minutes above 0"));
        }
        if self.login_failures_per_minute == 0 {
            return Err(("login_failures_per_minute", "give a number above 0"));
        }
        if self.sample_interval_secs == 0 {
            return Err(("sample_interval_secs", "give a number of seconds above 0"));
        }
        if self.sample_history == 0 {
            return Err(("sample_history", "keep at least one sample"));
        }
        if self.password.as_deref().is_some_and(str::is_empty) {
            return Err((
                "password",
                "remove it (a random one is generated) or give one",
            ));
        }
        Ok(())
    }

    /// The data directory: `data_dir`, else `$HOME/.rmq-dashboard`, else `./.rmq-dashboard`.
    pub fn data_dir(&self) -> PathBuf {
        match &self.data_dir {
            Some(d) => d.clone(),
            None => std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."))
                .join(".rmq-dashboard"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_yaml(text: &str) -> Result<DashboardConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("dashboard.yml");
        std::fs::write(&file, text).unwrap();
        DashboardConfig::load(Some(&file))
    }

    #[test]
    fn a_file_sets_keys() {
        let cfg = load_yaml("port: 9090\nbind: 0.0.0.0\nsecure_cookie: true\n").unwrap();
        assert_eq!(
            (cfg.port, cfg.bind.as_str(), cfg.secure_cookie),
            (9090, "0.0.0.0", true)
        );
        assert_eq!(cfg.session_idle_minutes, 30);
    }

    #[test]
    fn bad_settings_name_the_key_the_file_and_a_fix() {
        let err = load_yaml("prot: 9090\n").unwrap_err().to_string();
        assert!(
            err.contains("prot") && err.contains("dashboard.yml") && err.contains("fix:"),
            "{err}"
        );
        let err = load_yaml("port: eighty\n").unwrap_err().to_string();
        assert!(
            err.contains("port") && err.contains("dashboard.yml"),
            "{err}"
        );
        let err = load_yaml("session_idle_minutes: 0\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("session_idle_minutes") && err.contains("above 0"),
            "{err}"
        );
        let missing = DashboardConfig::load(Some(Path::new("/nonexistent/d.yml")));
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/d.yml"));
    }
}
