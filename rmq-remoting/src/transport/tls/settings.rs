//! Apache RocketMQ's TLS keys (`tls.enable`, `tls.server.mode`, ...) and where rmq reads them:
//! the file named by `tls.config.file`, the server's own configuration file (and its command
//! line), and the environment, later sources winning (docs/tls.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rmq_config::{properties, KeyInfo, Settings};

/// Where Apache looks for its TLS file when `tls.config.file` is not set.
pub const DEFAULT_TLS_CONFIG_FILE: &str = "/etc/rocketmq/tls.properties";

/// Every key, its default (Apache 4.9.7's) and what it does.
const KEYS: &[(&str, &str, &str)] = &[
    ("tls.enable", "false", "connect to servers with TLS (clients, and a broker's own connections)"),
    ("tls.server.mode", "permissive", "disabled (plaintext only), permissive (TLS or plaintext on one port), enforcing (TLS only)"),
    ("tls.test.mode.enable", "true", "trust any server certificate; a server without certPath/keyPath uses a self-signed certificate made at start"),
    ("tls.config.file", DEFAULT_TLS_CONFIG_FILE, "a properties file with more tls.* keys"),
    ("tls.server.need.client.auth", "none", "none, optional or require a client certificate"),
    ("tls.server.keyPath", "", "the server's PKCS#8 private key, PEM"),
    ("tls.server.keyPassword", "", "password of an encrypted server key (not supported: decrypt the key)"),
    ("tls.server.certPath", "", "the server's certificate chain, PEM"),
    ("tls.server.authClient", "false", "verify client certificates against tls.server.trustCertPath"),
    ("tls.server.trustCertPath", "", "CA certificates that sign client certificates, PEM"),
    ("tls.client.keyPath", "", "the client's PKCS#8 private key, PEM (for need.client.auth)"),
    ("tls.client.keyPassword", "", "password of an encrypted client key (not supported: decrypt the key)"),
    ("tls.client.certPath", "", "the client's certificate chain, PEM"),
    ("tls.client.authServer", "false", "verify the server's certificate against tls.client.trustCertPath"),
    ("tls.client.trustCertPath", "", "CA certificates that sign server certificates, PEM"),
];

/// Keys whose value is `true` or `false`.
const BOOLEAN_KEYS: &[&str] = &[
    "tls.enable",
    "tls.test.mode.enable",
    "tls.server.authClient",
    "tls.client.authServer",
];

/// How a server treats a connection's first bytes (`tls.server.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plaintext only; a TLS hello is not a valid frame and the connection closes.
    Disabled,
    /// TLS when the first byte is a TLS handshake record (0x16), plaintext otherwise.
    Permissive,
    /// TLS only; a plaintext peer is closed with a log line.
    Enforcing,
}

/// Whether a server asks clients for a certificate (`tls.server.need.client.auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificate is asked for.
    None,
    /// A client may present a certificate.
    Optional,
    /// A client must present a certificate.
    Require,
}

/// A wrong TLS setting, naming the key, where it came from and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: `{key}`: {problem}; {fix}")]
pub struct TlsConfigError {
    /// The key at fault.
    pub key: String,
    /// The file (with line), `environment variable NAME`, or `command line`.
    pub origin: String,
    /// What is wrong.
    pub problem: String,
    /// What to do about it.
    pub fix: String,
}

/// The `tls.*` keys as a server's configuration file and command line give them; a
/// [`Settings`] so `mqnamesrv`/`mqbroker` bind them next to their own keys.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// Values set in the server's file or on its command line, by key.
    given: BTreeMap<&'static str, String>,
}

/// The TLS settings in effect, every source applied.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// `tls.enable`: clients connect with TLS.
    pub enable: bool,
    /// `tls.server.mode`.
    pub server_mode: TlsMode,
    /// `tls.test.mode.enable`.
    pub test_mode: bool,
    /// `tls.server.need.client.auth`.
    pub server_need_client_auth: ClientAuth,
    /// `tls.server.keyPath`.
    pub server_key_path: Option<PathBuf>,
    /// `tls.server.keyPassword` is set (refused for an encrypted key, see docs/tls.md).
    pub server_key_password: bool,
    /// `tls.server.certPath`.
    pub server_cert_path: Option<PathBuf>,
    /// `tls.server.authClient`.
    pub server_auth_client: bool,
    /// `tls.server.trustCertPath`.
    pub server_trust_cert_path: Option<PathBuf>,
    /// `tls.client.keyPath`.
    pub client_key_path: Option<PathBuf>,
    /// `tls.client.keyPassword` is set.
    pub client_key_password: bool,
    /// `tls.client.certPath`.
    pub client_cert_path: Option<PathBuf>,
    /// `tls.client.authServer`.
    pub client_auth_server: bool,
    /// `tls.client.trustCertPath`.
    pub client_trust_cert_path: Option<PathBuf>,
    /// Where each value came from, for error messages.
    origins: BTreeMap<&'static str, String>,
}

/// The environment variable that sets `key`: `tls.server.keyPath` → `TLS_SERVER_KEYPATH`.
pub fn env_name(key: &str) -> String {
    key.replace('.', "_").to_ascii_uppercase()
}

fn known(key: &str) -> Option<&'static str> {
    KEYS.iter().map(|(k, ..)| *k).find(|k| *k == key)
}

/// `Err(accepted values)` when `value` is not valid for `key`.
fn check(key: &str, value: &str) -> Result<(), String> {
    if BOOLEAN_KEYS.contains(&key) && value != "true" && value != "false" {
        return Err("true or false".to_owned());
    }
    match key {
        "tls.server.mode" => parse_mode(value).map(|_| ()),
        "tls.server.need.client.auth" => parse_client_auth(value).map(|_| ()),
        _ => Ok(()),
    }
}

fn parse_mode(value: &str) -> Result<TlsMode, String> {
    match value {
        "disabled" => Ok(TlsMode::Disabled),
        "permissive" => Ok(TlsMode::Permissive),
        "enforcing" => Ok(TlsMode::Enforcing),
        _ => Err("disabled, permissive or enforcing".to_owned()),
    }
}

fn parse_client_auth(value: &str) -> Result<ClientAuth, String> {
    match value.to_ascii_lowercase().as_str() {
        "" | "none" => Ok(ClientAuth::None),
        "optional" => Ok(ClientAuth::Optional),
        "require" => Ok(ClientAuth::Require),
        _ => Err("none, optional or require".to_owned()),
    }
}

impl Settings for TlsSettings {
    fn keys() -> Vec<KeyInfo> {
        KEYS.iter()
            .map(|(key, default, doc)| KeyInfo {
                key,
                default: (*default).to_owned(),
                doc,
            })
            .collect()
    }

    fn ignored_keys() -> &'static [(&'static str, &'static str)] {
        &[]
    }

    fn set(&mut self, key: &str, value: &str) -> Option<Result<(), String>> {
        let key = known(key)?;
        Some(check(key, value).map(|()| {
            self.given.insert(key, value.to_owned());
        }))
    }

    fn values(&self) -> Vec<(&'static str, String)> {
        KEYS.iter()
            .map(|(key, default, _)| {
                let value = self.given.get(key).map_or(*default, String::as_str);
                (*key, value.to_owned())
            })
            .collect()
    }
}

impl TlsSettings {
    /// Applies the sources in order, later winning: defaults, the file named by
    /// `tls.config.file` (skipped when the default file does not exist), these settings (the
    /// server's file and command line, from `origin`), then `TLS_*` environment variables.
    pub fn resolve(&self, origin: &str) -> Result<TlsOptions, TlsConfigError> {
        self.resolve_with_env(origin, |name| std::env::var(name).ok())
    }

    fn resolve_with_env(
        &self,
        origin: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<TlsOptions, TlsConfigError> {
        let mut values: BTreeMap<&'static str, (String, String)> = BTreeMap::new();
        let from_env: Vec<(&'static str, String)> = KEYS
            .iter()
            .filter_map(|(key, ..)| env(&env_name(key)).map(|v| (*key, v)))
            .collect();
        let file_key = "tls.config.file";
        let named_file = from_env
            .iter()
            .find(|(k, _)| *k == file_key)
            .map(|(_, v)| v.clone())
            .or_else(|| self.given.get(file_key).cloned());
        let file = named_file
            .clone()
            .unwrap_or_else(|| DEFAULT_TLS_CONFIG_FILE.to_owned());
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                for prop in properties::parse(&text) {
                    let at = format!("{file}:{}", prop.line);
                    let Some(key) = known(&prop.key).filter(|k| *k != file_key) else {
                        return Err(TlsConfigError {
                            key: prop.key,
                            origin: at,
                            problem: "not a TLS key".to_owned(),
                            fix: format!(
                                "the keys this file takes are {}",
                                KEYS.iter()
                                    .map(|(k, ..)| *k)
                                    .filter(|k| *k != file_key)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        });
                    };
                    values.insert(key, (prop.value, at));
                }
            }
            Err(err) if named_file.is_some() || err.kind() != std::io::ErrorKind::NotFound => {
                return Err(TlsConfigError {
                    key: file_key.to_owned(),
                    origin: origin.to_owned(),
                    problem: format!("cannot read {file}: {err}"),
                    fix: "point tls.config.file at a readable properties file, or remove it"
                        .to_owned(),
                });
            }
            Err(_) => {}
        }
        for (key, value) in &self.given {
            values.insert(key, (value.clone(), origin.to_owned()));
        }
        for (key, value) in from_env {
            values.insert(
                key,
                (value, format!("environment variable {}", env_name(key))),
            );
        }
        TlsOptions::from_values(values)
    }
}

impl TlsOptions {
    fn from_values(
        values: BTreeMap<&'static str, (String, String)>,
    ) -> Result<TlsOptions, TlsConfigError> {
        for (key, (value, origin)) in &values {
            check(key, value).map_err(|accepted| TlsConfigError {
                key: (*key).to_owned(),
                origin: origin.clone(),
                problem: format!("{value:?} is not valid"),
                fix: format!("use {accepted}"),
            })?;
        }
        let text = |key: &str| {
            values
                .get(key)
                .map(|(v, _)| v.clone())
                .or_else(|| {
                    KEYS.iter()
                        .find(|(k, ..)| *k == key)
                        .map(|(_, d, _)| (*d).to_owned())
                })
                .unwrap_or_default()
        };
        let flag = |key: &str| text(key) == "true";
        let path = |key: &str| Some(text(key)).filter(|p| !p.is_empty()).map(PathBuf::from);
        Ok(TlsOptions {
            enable: flag("tls.enable"),
            server_mode: parse_mode(&text("tls.server.mode")).unwrap_or(TlsMode::Permissive),
            test_mode: flag("tls.test.mode.enable"),
            server_need_client_auth: parse_client_auth(&text("tls.server.need.client.auth"))
                .unwrap_or(ClientAuth::None),
            server_key_path: path("tls.server.keyPath"),
            server_key_password: !text("tls.server.keyPassword").is_empty(),
            server_cert_path: path("tls.server.certPath"),
            server_auth_client: flag("tls.server.authClient"),
            server_trust_cert_path: path("tls.server.trustCertPath"),
            client_key_path: path("tls.client.keyPath"),
            client_key_password: !text("tls.client.keyPassword").is_empty(),
            client_cert_path: path("tls.client.certPath"),
            client_auth_server: flag("tls.client.authServer"),
            client_trust_cert_path: path("tls.client.trustCertPath"),
            origins: values.into_iter().map(|(k, (_, o))| (k, o)).collect(),
        })
    }

    /// Apache's defaults: plaintext clients, permissive servers, test mode.
    pub fn defaults() -> TlsOptions {
        TlsOptions::from_values(BTreeMap::new()).unwrap_or_else(|_| unreachable!())
    }

    /// A client's options: TLS on or off, everything else Apache's default.
    pub fn client(enable: bool) -> TlsOptions {
        TlsOptions {
            enable,
            ..TlsOptions::defaults()
        }
    }

    /// A server's options: `mode`, everything else Apache's default (test mode: a
    /// self-signed certificate).
    pub fn server(mode: TlsMode) -> TlsOptions {
        TlsOptions {
            server_mode: mode,
            ..TlsOptions::defaults()
        }
    }

    /// Where `key`'s value came from ("default" when no source set it).
    pub(crate) fn origin(&self, key: &str) -> String {
        self.origins
            .get(key)
            .cloned()
            .unwrap_or_else(|| "default".to_owned())
    }

    /// An error about `key`'s value.
    pub(crate) fn error(&self, key: &str, problem: String, fix: &str) -> TlsConfigError {
        TlsConfigError {
            key: key.to_owned(),
            origin: self.origin(key),
            problem,
            fix: fix.to_owned(),
        }
    }
}

/// Reads a PEM file for `key`, naming key and file when it cannot.
pub(crate) fn read_pem(
    options: &TlsOptions,
    key: &str,
    path: &Path,
) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(path).map_err(|err| {
        options.error(
            key,
            format!("cannot read {}: {err}", path.display()),
            "point it at a readable PEM file",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(given: &[(&str, &str)], env: &[(&str, &str)]) -> Result<TlsOptions, TlsConfigError> {
        let mut settings = TlsSettings::default();
        for (k, v) in given {
            settings.set(k, v).expect("known key").expect("valid value");
        }
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        settings.resolve_with_env("broker.conf", |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn later_sources_win_and_errors_name_key_and_origin() {
        let dir = std::env::temp_dir().join(format!("rmq-tls-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tls.properties");
        std::fs::write(
            &file,
            "tls.server.mode=enforcing\ntls.test.mode.enable=false\n",
        )
        .unwrap();
        let file_str = file.display().to_string();
        let from_file = resolve(&[("tls.config.file", &file_str)], &[]).unwrap();
        assert_eq!(from_file.server_mode, TlsMode::Enforcing);
        assert!(!from_file.test_mode);
        let overridden = resolve(
            &[
                ("tls.config.file", &file_str),
                ("tls.server.mode", "disabled"),
            ],
            &[("TLS_SERVER_MODE", "permissive")],
        )
        .unwrap();
        assert_eq!(overridden.server_mode, TlsMode::Permissive);
        assert_eq!(
            overridden.origin("tls.server.mode"),
            "environment variable TLS_SERVER_MODE"
        );

        std::fs::write(&file, "tls.enable=yes\n").unwrap();
        let err = resolve(&[("tls.config.file", &file_str)], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("{file_str}:1"))
                && err.contains("tls.enable")
                && err.contains("true or false"),
            "{err}"
        );
        std::fs::write(&file, "tls.sever.mode=enforcing\n").unwrap();
        let err = resolve(&[("tls.config.file", &file_str)], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tls.sever.mode") && err.contains("not a TLS key"),
            "{err}"
        );

        let missing = dir.join("absent.properties").display().to_string();
        let err = resolve(&[("tls.config.file", &missing)], &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot read") && err.contains(&missing),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_values_are_refused_where_they_are_given() {
        let mut settings = TlsSettings::default();
        assert_eq!(
            settings.set("tls.server.mode", "on"),
            Some(Err("disabled, permissive or enforcing".to_owned()))
        );
        assert_eq!(settings.set("listenPort", "1"), None);
        let err = resolve(&[], &[("TLS_ENABLE", "1")])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("environment variable TLS_ENABLE: `tls.enable`"),
            "{err}"
        );
    }
}
