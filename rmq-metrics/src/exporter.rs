//! Switching metrics on (`metricsExporterType`, `metricsLabel`) and serving `GET /metrics`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use rmq_config::ConfigValue;
use tokio::net::TcpListener;

/// `metricsExporterType`, under RocketMQ 5's values. rmq exports `PROM` only; the others are
/// accepted so an Apache broker.conf loads, and leave metrics off with a warning at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)]
pub enum ExporterType {
    /// No metrics (the default).
    Disable,
    /// OpenTelemetry over gRPC (not supported by rmq).
    OtlpGrpc,
    /// Prometheus pull: `GET /metrics` on `metricsPromExporterHost:metricsPromExporterPort`.
    Prom,
    /// Periodic log lines (not supported by rmq).
    Log,
}

impl ConfigValue for ExporterType {
    fn parse_value(text: &str) -> Result<Self, String> {
        match text.trim() {
            "DISABLE" => Ok(ExporterType::Disable),
            "OTLP_GRPC" => Ok(ExporterType::OtlpGrpc),
            "PROM" => Ok(ExporterType::Prom),
            "LOG" => Ok(ExporterType::Log),
            _ => Err(
                "DISABLE, PROM, OTLP_GRPC or LOG (upper case, as RocketMQ spells them)".to_owned(),
            ),
        }
    }

    fn render(&self) -> String {
        match self {
            ExporterType::Disable => "DISABLE",
            ExporterType::OtlpGrpc => "OTLP_GRPC",
            ExporterType::Prom => "PROM",
            ExporterType::Log => "LOG",
        }
        .to_owned()
    }
}

impl ExporterType {
    /// Whether this server serves `/metrics`; warns about the values rmq does not export.
    pub fn prometheus_enabled(self) -> bool {
        match self {
            ExporterType::Prom => true,
            ExporterType::Disable => false,
            other => {
                tracing::warn!(
                    "metricsExporterType={} is not supported by rmq; metrics stay off. \
                     Set metricsExporterType=PROM and scrape GET /metrics",
                    other.render()
                );
                false
            }
        }
    }
}

/// Why the metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The port is taken or the host is not an address of this machine.
    #[error("cannot listen on {addr} for metrics (metricsPromExporterHost/metricsPromExporterPort): {source}")]
    Bind {
        /// Where the exporter tried to listen.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
}

/// `metricsLabel` (`k1:v1,k2:v2`) as label pairs, as Apache reads it; a malformed pair is
/// skipped with a warning.
pub fn parse_labels(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .filter_map(|pair| match pair.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() && !v.contains(':') => {
                Some((k.trim().to_owned(), v.trim().to_owned()))
            }
            _ => {
                tracing::warn!(
                    pair,
                    "metricsLabel is not valid: expected key:value pairs separated by ','"
                );
                None
            }
        })
        .collect()
}

/// Binds the metrics port before the server announces itself, so a taken port fails the start.
pub async fn bind(host: &str, port: u16) -> Result<TcpListener, MetricsError> {
    let addr = format!("{host}:{port}");
    TcpListener::bind(&addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })
}

/// Serves `GET /metrics` on `listener` until `shutdown` completes; every scrape calls
/// `collect` for the text.
pub async fn serve(
    listener: TcpListener,
    collect: Arc<dyn Fn() -> String + Send + Sync>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let local: Option<SocketAddr> = listener.local_addr().ok();
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let collect = collect.clone();
            async move {
                (
                    [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                    collect(),
                )
            }
        }),
    );
    if let Some(local) = local {
        tracing::info!(%local, "serving Prometheus metrics at /metrics");
    }
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(error = %e, "the metrics endpoint stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_as_apache_reads_them() {
        assert_eq!(
            parse_labels("env:prod,,region:eu, bad ,a:b:c"),
            vec![
                ("env".to_owned(), "prod".to_owned()),
                ("region".to_owned(), "eu".to_owned())
            ]
        );
    }

    #[test]
    fn exporter_types_round_trip() {
        for t in ["DISABLE", "PROM", "OTLP_GRPC", "LOG"] {
            assert_eq!(ExporterType::parse_value(t).unwrap().render(), t);
        }
        assert!(ExporterType::parse_value("prom").is_err());
    }
}
