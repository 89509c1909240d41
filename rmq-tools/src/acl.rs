//! ACL keys for `mqadmin` and `mqbench`: from flags, else `RMQ_ACCESS_KEY` / `RMQ_SECRET_KEY`,
//! else what Apache's own tools use (`mqadmin`: `$ROCKETMQ_HOME/conf/tools.yml`; the
//! benchmark: `-a true` with its built-in account). With keys, every request is signed
//! (docs/acl.md). The secret key is never printed.

use std::path::{Path, PathBuf};

use anyhow::bail;
use rmq_client::{ClientConfig, Credentials};

/// Environment variable holding the access key when `--accessKey` is absent.
pub const ACCESS_KEY_ENV: &str = "RMQ_ACCESS_KEY";
/// Environment variable holding the secret key when `--secretKey` is absent (preferred:
/// command-line arguments are visible to every user of the machine).
pub const SECRET_KEY_ENV: &str = "RMQ_SECRET_KEY";
/// The account Apache's benchmark tools sign with under `-a true` when no keys are given
/// (`AclClient` in Apache's example/benchmark).
const BENCH_DEFAULT_KEYS: (&str, &str) = ("rocketmq2", "12345678");

/// `--accessKey` / `--secretKey`, with the environment as fallback.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeyArgs {
    /// ACL access key: every request is signed with it (default: $RMQ_ACCESS_KEY).
    #[arg(long = "accessKey", value_name = "AK", global = true)]
    pub access_key: Option<String>,
    /// ACL secret key (default: $RMQ_SECRET_KEY, which keeps it out of `ps`).
    #[arg(long = "secretKey", value_name = "SK", global = true)]
    pub secret_key: Option<String>,
}

impl KeyArgs {
    /// The keys given by flags or environment; only one of the pair is an error.
    fn explicit(&self) -> anyhow::Result<Option<Credentials>> {
        let from = |flag: &Option<String>, env: &str| {
            flag.clone()
                .or_else(|| std::env::var(env).ok())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        match (
            from(&self.access_key, ACCESS_KEY_ENV),
            from(&self.secret_key, SECRET_KEY_ENV),
        ) {
            (Some(ak), Some(sk)) => Ok(Some(Credentials::new(ak, sk))),
            (None, None) => Ok(None),
            (Some(_), None) => bail!(
                "an access key without a secret key: give --secretKey or set {SECRET_KEY_ENV}"
            ),
            (None, Some(_)) => bail!(
                "a secret key without an access key: give --accessKey or set {ACCESS_KEY_ENV}"
            ),
        }
    }

    /// `mqadmin`'s keys: explicit ones, else `accessKey`/`secretKey` of
    /// `<rocketmq_home>/conf/tools.yml` as Apache's `MQAdminStartup` reads them (no file, or
    /// blank keys: unsigned).
    pub fn for_admin(&self, rocketmq_home: Option<&Path>) -> anyhow::Result<Option<Credentials>> {
        if let Some(keys) = self.explicit()? {
            return Ok(Some(keys));
        }
        match rocketmq_home {
            Some(home) => Ok(rmq_acl::tools_yml(&home.join("conf").join("tools.yml"))?),
            None => Ok(None),
        }
    }
}

/// `mqbench`'s ACL flags: Apache's benchmark `-a true` (`--aclEnable`) plus explicit keys
/// (`-ak`/`-sk` are read as `--accessKey`/`--secretKey`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BenchAclArgs {
    /// Sign requests (Apache's benchmark `-a true`); without keys it signs as Apache's
    /// benchmark does, with account rocketmq2.
    #[arg(short = 'a', long = "aclEnable", value_name = "BOOL", default_value_t = false, action = clap::ArgAction::Set)]
    pub acl_enable: bool,
    /// The keys.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// `--tls` (else $TLS_ENABLE).
    #[command(flatten)]
    pub tls: crate::tls::TlsArg,
}

impl BenchAclArgs {
    /// The client settings of a benchmark client of the name servers `namesrv`.
    pub fn client_config(&self, namesrv: &str) -> anyhow::Result<ClientConfig> {
        let credentials = match self.keys.explicit()? {
            Some(keys) => Some(keys),
            None if self.acl_enable => {
                Some(Credentials::new(BENCH_DEFAULT_KEYS.0, BENCH_DEFAULT_KEYS.1))
            }
            None => None,
        };
        Ok(ClientConfig {
            namesrv_addr: namesrv.to_owned(),
            credentials,
            use_tls: self.tls.enabled(),
            ..ClientConfig::default()
        })
    }
}

/// The installation directory Apache's tools use: `ROCKETMQ_HOME`.
pub fn rocketmq_home() -> Option<PathBuf> {
    std::env::var_os("ROCKETMQ_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Apache's multi-letter short options of the benchmark (`-ak`, `-sk`), which clap cannot
/// declare, as the long options they stand for.
pub fn bench_short_option(arg: String) -> String {
    match arg.as_str() {
        "-ak" => "--accessKey".to_owned(),
        "-sk" => "--secretKey".to_owned(),
        _ => arg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_yml_is_read_as_apache_ships_it() {
        let home = tempfile::tempdir().unwrap();
        let keys = KeyArgs::default();
        assert_eq!(keys.for_admin(Some(home.path())).unwrap(), None, "no file");
        std::fs::create_dir_all(home.path().join("conf")).unwrap();
        let file = home.path().join("conf").join("tools.yml");
        // Apache's distribution file: a numeric secret.
        std::fs::write(
            &file,
            "# comment\n\naccessKey: rocketmq2\nsecretKey: 12345678\n",
        )
        .unwrap();
        assert_eq!(
            keys.for_admin(Some(home.path())).unwrap(),
            Some(Credentials::new("rocketmq2", "12345678"))
        );
        std::fs::write(&file, "accessKey: rocketmq2\nsecretKey:\n").unwrap();
        assert_eq!(keys.for_admin(Some(home.path())).unwrap(), None, "blank");
        std::fs::write(&file, "accessKey: [unclosed\n").unwrap();
        assert!(keys.for_admin(Some(home.path())).is_err());
    }

    #[test]
    fn flags_win_and_come_in_pairs() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("conf")).unwrap();
        std::fs::write(
            home.path().join("conf").join("tools.yml"),
            "accessKey: a\nsecretKey: b\n",
        )
        .unwrap();
        let flags = KeyArgs {
            access_key: Some("flag-ak".into()),
            secret_key: Some("flag-sk".into()),
        };
        assert_eq!(
            flags.for_admin(Some(home.path())).unwrap(),
            Some(Credentials::new("flag-ak", "flag-sk"))
        );
        let half = KeyArgs {
            access_key: Some("flag-ak".into()),
            secret_key: None,
        };
        if std::env::var_os(SECRET_KEY_ENV).is_none() {
            let err = half.for_admin(None).unwrap_err().to_string();
            assert!(err.contains("--secretKey"), "{err}");
        }
    }

    #[test]
    fn the_benchmark_signs_with_apaches_default_account_under_a_true() {
        let on = BenchAclArgs {
            acl_enable: true,
            ..BenchAclArgs::default()
        };
        if std::env::var_os(ACCESS_KEY_ENV).is_none() && std::env::var_os(SECRET_KEY_ENV).is_none()
        {
            assert_eq!(
                on.client_config("h:9876").unwrap().credentials,
                Some(Credentials::new("rocketmq2", "12345678"))
            );
            let off = BenchAclArgs::default();
            assert_eq!(off.client_config("h:9876").unwrap().credentials, None);
        }
        assert_eq!(bench_short_option("-ak".into()), "--accessKey");
        assert_eq!(bench_short_option("-s".into()), "-s");
    }
}
