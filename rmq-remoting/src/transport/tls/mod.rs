//! TLS with rustls (ring provider), switched as Apache RocketMQ switches it: `tls.server.mode`
//! for servers, `tls.enable` for clients, `tls.test.mode.enable` for trust-anything test setups
//! with a self-signed server certificate. docs/tls.md describes keys, sources and behaviour.

mod settings;
mod verify;

pub use settings::{
    env_name, ClientAuth, TlsConfigError, TlsMode, TlsOptions, TlsSettings, DEFAULT_TLS_CONFIG_FILE,
};

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use settings::read_pem;
use verify::{AnyCertificate, ChainOnly};

/// The first byte of a TLS handshake record: how a permissive server tells TLS from plaintext
/// (a RocketMQ frame starts with its length's top byte, 0 for any frame under 16 MiB).
pub(crate) const HANDSHAKE_RECORD: u8 = 0x16;

/// How long a server gives a peer whose first byte opened a TLS handshake to finish it
/// (Netty's `SslHandler` default).
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server side: its mode and, unless disabled, what it answers a TLS hello with.
#[derive(Clone)]
pub struct ServerTls {
    pub(crate) mode: TlsMode,
    pub(crate) acceptor: Option<TlsAcceptor>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerTls({:?})", self.mode)
    }
}

/// The client side: the TLS configuration connections are opened with.
#[derive(Clone)]
pub struct ClientTls {
    connector: TlsConnector,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls")
    }
}

/// rustls's ring provider, as the task asks: it needs no C toolchain, and the post-quantum key
/// exchange it lacks (and rustls deprecates it for) is not offered by Java 8-21 peers anyway.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl ServerTls {
    /// Plaintext only, nothing sniffed: what library users and tests get unless they ask.
    pub fn disabled() -> ServerTls {
        ServerTls {
            mode: TlsMode::Disabled,
            acceptor: None,
        }
    }

    /// The server side of `options`: certificate and key from their paths, or (test mode
    /// without them) a self-signed certificate made now, as Apache's test mode does.
    pub fn from_options(options: &TlsOptions) -> Result<ServerTls, TlsConfigError> {
        if options.server_mode == TlsMode::Disabled {
            return Ok(ServerTls::disabled());
        }
        let provider = provider();
        let (chain, key) = match (&options.server_cert_path, &options.server_key_path) {
            (Some(cert), Some(key)) => (
                read_chain(options, "tls.server.certPath", cert)?,
                read_key(options, "tls.server.keyPath", key, options.server_key_password)?,
            ),
            (None, None) if options.test_mode => self_signed(options)?,
            (None, _) => {
                return Err(options.error(
                    "tls.server.certPath",
                    "not set while tls.test.mode.enable=false".to_owned(),
                    "set tls.server.certPath and tls.server.keyPath, or tls.test.mode.enable=true for a self-signed certificate, or tls.server.mode=disabled",
                ))
            }
            (Some(_), None) => {
                return Err(options.error(
                    "tls.server.keyPath",
                    "not set while tls.server.certPath is".to_owned(),
                    "set tls.server.keyPath to the certificate's PKCS#8 PEM key",
                ))
            }
        };
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|err| options.error("tls.server.mode", err.to_string(), "report this"))?;
        let builder = match options.server_need_client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            wanted => {
                let mandatory = wanted == ClientAuth::Require;
                let verifier: Arc<dyn rustls::server::danger::ClientCertVerifier> =
                    match (&options.server_trust_cert_path, options.server_auth_client) {
                        (Some(path), true) => {
                            let roots = read_roots(options, "tls.server.trustCertPath", path)?;
                            let verifier = WebPkiClientVerifier::builder_with_provider(
                                Arc::new(roots),
                                provider.clone(),
                            );
                            let verifier = if mandatory {
                                verifier
                            } else {
                                verifier.allow_unauthenticated()
                            };
                            verifier.build().map_err(|err| {
                                options.error(
                                    "tls.server.trustCertPath",
                                    err.to_string(),
                                    "give CA certificates in PEM",
                                )
                            })?
                        }
                        _ => Arc::new(AnyCertificate::new(provider.clone(), mandatory)),
                    };
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder.with_single_cert(chain, key).map_err(|err| {
            options.error(
                "tls.server.keyPath",
                format!("the key does not fit the certificate: {err}"),
                "give the key that belongs to tls.server.certPath",
            )
        })?;
        Ok(ServerTls {
            mode: options.server_mode,
            acceptor: Some(TlsAcceptor::from(Arc::new(config))),
        })
    }

    /// The mode this server runs in.
    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    /// The rustls configuration behind this server side (`None` when disabled), for servers
    /// that speak another protocol with the same certificates: the gRPC proxy adds ALPN `h2`.
    pub fn rustls_config(&self) -> Option<Arc<ServerConfig>> {
        self.acceptor.as_ref().map(|a| a.config().clone())
    }
}

impl ClientTls {
    /// The client side of `options`, `None` unless `tls.enable=true`.
    pub fn from_options(options: &TlsOptions) -> Result<Option<ClientTls>, TlsConfigError> {
        if !options.enable {
            return Ok(None);
        }
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|err| options.error("tls.enable", err.to_string(), "report this"))?;
        let verify_chain = !options.test_mode && options.client_auth_server;
        let builder = match (&options.client_trust_cert_path, verify_chain) {
            (Some(path), true) => {
                let roots = read_roots(options, "tls.client.trustCertPath", path)?;
                let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .map_err(|err| {
                    options.error(
                        "tls.client.trustCertPath",
                        err.to_string(),
                        "give CA certificates in PEM",
                    )
                })?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(verifier)))
            }
            (None, true) => {
                return Err(options.error(
                    "tls.client.trustCertPath",
                    "not set while tls.client.authServer=true".to_owned(),
                    "set it to the CA certificates that sign the servers' certificates",
                ))
            }
            (_, false) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate::new(provider, false))),
        };
        let config = match (&options.client_cert_path, &options.client_key_path) {
            (Some(cert), Some(key)) if !options.test_mode => {
                let chain = read_chain(options, "tls.client.certPath", cert)?;
                let key = read_key(
                    options,
                    "tls.client.keyPath",
                    key,
                    options.client_key_password,
                )?;
                builder.with_client_auth_cert(chain, key).map_err(|err| {
                    options.error(
                        "tls.client.keyPath",
                        format!("the key does not fit the certificate: {err}"),
                        "give the key that belongs to tls.client.certPath",
                    )
                })?
            }
            _ => builder.with_no_client_auth(),
        };
        Ok(Some(ClientTls {
            connector: TlsConnector::from(Arc::new(config)),
        }))
    }

    /// Runs the TLS handshake on a connected `stream` to `addr` (`host:port`).
    pub(crate) async fn connect(
        &self,
        addr: &str,
        stream: TcpStream,
    ) -> std::io::Result<TlsStream<TcpStream>> {
        let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_owned()).map_err(|err| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{host}: {err}"))
        })?;
        self.connector.connect(name, stream).await
    }
}

/// What a process set up from its TLS settings: a binary installs it once at start, as
/// Apache's `TlsSystemConfig` is process-wide.
#[derive(Debug, Clone)]
pub struct ProcessTls {
    /// How this process's servers treat connections.
    pub server: ServerTls,
    /// How this process's clients (a broker's connections to name servers and its master)
    /// connect; `None` for plaintext.
    pub client: Option<ClientTls>,
}

static PROCESS: OnceLock<ProcessTls> = OnceLock::new();

impl ProcessTls {
    /// Builds both sides from `options`; errors name the key, its source and a fix.
    pub fn from_options(options: &TlsOptions) -> Result<ProcessTls, TlsConfigError> {
        Ok(ProcessTls {
            server: ServerTls::from_options(options)?,
            client: ClientTls::from_options(options)?,
        })
    }

    /// Makes these the settings [`serve`](super::serve) and new
    /// [`RemotingClient`](super::RemotingClient)s use; the first call wins.
    pub fn install(self) {
        tracing::info!(server_mode = ?self.server.mode, client_tls = self.client.is_some(), "TLS settings");
        let _ = PROCESS.set(self);
    }
}

impl TlsSettings {
    /// What a server binary does at start: resolves these settings (given in `origin`, its
    /// configuration file or command line) with the TLS file and environment, and installs
    /// them for the process. Call it before creating clients or serving.
    pub fn install(&self, origin: &str) -> Result<(), TlsConfigError> {
        ProcessTls::from_options(&self.resolve(origin)?)?.install();
        Ok(())
    }
}

/// The installed server side, plaintext only when nothing was installed.
pub(crate) fn process_server() -> ServerTls {
    PROCESS
        .get()
        .map_or_else(ServerTls::disabled, |p| p.server.clone())
}

/// The client side the process installed, if TLS is on (`tls.enable=true`): what clients in
/// the process connect with by default, as Java clients default to `-Dtls.enable`.
pub fn process_client() -> Option<ClientTls> {
    PROCESS.get().and_then(|p| p.client.clone())
}

fn self_signed(
    options: &TlsOptions,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsConfigError> {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).map_err(|err| {
        options.error(
            "tls.test.mode.enable",
            format!("cannot make a self-signed certificate: {err}"),
            "set tls.server.certPath and tls.server.keyPath",
        )
    })?;
    let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    Ok((vec![made.cert.der().clone()], PrivateKeyDer::Pkcs8(key)))
}

fn read_chain(
    options: &TlsOptions,
    key: &str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let pem = read_pem(options, key, path)?;
    let chain: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|err| {
            options.error(
                key,
                format!("{}: {err}", path.display()),
                "give X.509 certificates in PEM (-----BEGIN CERTIFICATE-----)",
            )
        })?;
    if chain.is_empty() {
        return Err(options.error(
            key,
            format!("{} holds no certificate", path.display()),
            "give X.509 certificates in PEM (-----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(chain)
}

fn read_roots(
    options: &TlsOptions,
    key: &str,
    path: &Path,
) -> Result<RootCertStore, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in read_chain(options, key, path)? {
        roots.add(cert).map_err(|err| {
            options.error(
                key,
                format!("{}: {err}", path.display()),
                "give CA certificates in PEM",
            )
        })?;
    }
    Ok(roots)
}

fn read_key(
    options: &TlsOptions,
    key: &str,
    path: &Path,
    has_password: bool,
) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    let pem = read_pem(options, key, path)?;
    if pem.windows(b"ENCRYPTED".len()).any(|w| w == b"ENCRYPTED") {
        let password_key = key.replace("keyPath", "keyPassword");
        return Err(options.error(
            key,
            format!(
                "{} is an encrypted key{}; rmq reads unencrypted keys only",
                path.display(),
                if has_password { format!(" ({password_key} is set)") } else { String::new() }
            ),
            &format!("decrypt it once with `openssl pkcs8 -topk8 -nocrypt -in {} -out key.pem`, point {key} at the result and remove {password_key}", path.display()),
        ));
    }
    PrivateKeyDer::from_pem_slice(&pem).map_err(|err| {
        options.error(
            key,
            format!("{}: {err}", path.display()),
            "give a private key in PEM (-----BEGIN PRIVATE KEY-----)",
        )
    })
}
