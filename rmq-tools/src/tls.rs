//! `--tls` for `mqadmin` and `mqbench`: Apache's tools take `-Dtls.enable=true`; here the flag or
//! `TLS_ENABLE=true`. Which server certificates are trusted (any, in the default test mode) comes
//! from the `tls.*` file and `TLS_*` variables (docs/tls.md).

/// The `--tls` flag.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArg {
    /// Connect to name servers and brokers with TLS (default: $TLS_ENABLE=true); see docs/tls.md.
    #[arg(long = "tls", global = true)]
    pub tls: bool,
}

impl TlsArg {
    /// Whether clients connect with TLS: the flag, else the environment.
    pub fn enabled(&self) -> bool {
        self.tls || rmq_client::ClientConfig::default().use_tls
    }
}
