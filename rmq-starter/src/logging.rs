//! Logging set up from `logging.level.*` and `logging.file.*`, as a Spring Boot user writes
//! them: `logging.level.root: info`, `logging.level.rmq_client: debug`, `logging.file.name`.
//! `RUST_LOG`, when set, wins over the configured levels.

use std::fs::OpenOptions;
use std::sync::Mutex;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

use crate::error::StarterError;
use crate::settings::LoggingProperties;

/// The filter directives for `logging.level.*`: `root` is the default level, other keys are
/// module paths written with `.` or `::`.
pub(crate) fn directives(logging: &LoggingProperties) -> String {
    let root = logging
        .levels
        .iter()
        .find(|(t, _)| t == "root")
        .map_or("info", |(_, l)| l.as_str());
    let mut parts = vec![root.to_owned()];
    for (target, level) in &logging.levels {
        if target != "root" {
            parts.push(format!("{}={level}", target.replace('.', "::")));
        }
    }
    parts.join(",")
}

/// Installs the global subscriber: stderr, plus the log file when one is configured. Does
/// nothing if a subscriber is already installed (tests, embedding applications).
pub(crate) fn init(logging: &LoggingProperties) -> Result<(), StarterError> {
    let filter = || {
        EnvFilter::try_from_default_env()
            .or_else(|_| EnvFilter::try_new(directives(logging)))
            .map_err(|e| StarterError::Logging(e.to_string()))
    };
    let console = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .log_internal_errors(false)
        .with_filter(filter()?);
    let file = match &logging.file {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StarterError::Logging(format!("{}: {e}", dir.display())))?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| StarterError::Logging(format!("{}: {e}", path.display())))?;
            Some(
                fmt::layer()
                    .with_writer(Mutex::new(file))
                    .with_ansi(false)
                    .with_filter(filter()?),
            )
        }
        None => None,
    };
    // Already initialised (a test harness, an embedding application): keep theirs.
    let _ = tracing_subscriber::registry()
        .with(console)
        .with(file)
        .try_init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_become_directives() {
        let logging = LoggingProperties {
            levels: vec![
                ("rmq_client.consumer".into(), "debug".into()),
                ("root".into(), "warn".into()),
            ],
            file: None,
        };
        assert_eq!(directives(&logging), "warn,rmq_client::consumer=debug");
    }
}
