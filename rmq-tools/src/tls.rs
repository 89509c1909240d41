//! `--tls` for `mqadmin` and `mqbench`: Apache's tools take `-Dtls.enable=true`; here the flag or
//! `TLS_ENABLE=true`. Which server certificates are trusted (any, in the default test mode) comes
//! from the `tls.*` file and `TLS_*` variables (docs/tls.md).

use rmq_remoting::transport::tls::{ClientTls, TlsSettings};

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

    /// The TLS side for tools that use the transport directly (`mqbench route`): `None` for
    /// plaintext, else test mode or the `tls.*` file and `TLS_*` variables.
    pub fn client_tls(&self) -> anyhow::Result<Option<ClientTls>> {
        if !self.enabled() {
            return Ok(None);
        }
        let mut options = TlsSettings::default().resolve("mqbench")?;
        options.enable = true;
        Ok(ClientTls::from_options(&options)?)
    }
}
