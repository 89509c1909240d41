//! What the server binaries share at start-up: `-c FILE`, `--key value` overrides, `-p`,
//! `-h`; loading a file then the overrides onto settings; logging; and waiting for
//! SIGINT/SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::properties::{self, Property};
use crate::settings::{apply_all, ConfigError, Settings};

/// The options every server binary accepts, for its `--help` (after its own options).
pub const COMMON_OPTIONS: &str =
    "  -c, --configFile FILE   read settings from a Java-properties file
  --KEY VALUE             set any key listed below; applied after the file
  -p, --printConfigItem   print every setting with its value and exit
  -h, --help              print this help and exit

Logging: RUST_LOG (e.g. RUST_LOG=debug), default info, to stderr.

Keys:
";

/// Turns a binary's outcome into its exit status, printing a failure as `name: error` with
/// its whole chain of causes.
pub fn exit_code<E: std::fmt::Display>(name: &str, outcome: Result<(), E>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{name}: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes to stdout, ignoring a closed pipe (`mqbroker --help | head` must not panic).
pub fn print(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Why a server binary cannot start from its command line.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The command line itself is wrong (the text says what and how to fix it).
    #[error("{0}")]
    Args(String),
    /// The configuration file or an override is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The start every server binary shares: parses the command line (`aliases` as in
/// [`parse_args`]), answers `-h` with `usage`, [`COMMON_OPTIONS`] and the keys of `S`, loads
/// the file and the overrides onto `S::default()` (logging each warning) and answers `-p` with
/// every setting. `Ok(None)` means help or the settings were printed and the binary is done.
pub fn settings_from_command_line<S: Settings + Default>(
    usage: &str,
    aliases: &[(&str, &str)],
    strict_file: bool,
) -> Result<Option<(S, ServerArgs)>, StartError> {
    let Some(args) = parse_args(std::env::args().skip(1), aliases).map_err(StartError::Args)?
    else {
        print(&format!("{usage}{COMMON_OPTIONS}{}", S::help()));
        return Ok(None);
    };
    let mut settings = S::default();
    for warning in load(&mut settings, &args, strict_file)? {
        tracing::warn!("{warning}");
    }
    if args.print_config {
        for (key, value) in settings.values() {
            print(&format!("{key}={value}\n"));
        }
        return Ok(None);
    }
    Ok(Some((settings, args)))
}

/// The command line of a server binary.
#[derive(Debug, Default)]
pub struct ServerArgs {
    /// `-c FILE`: a Java-properties file.
    pub config_file: Option<PathBuf>,
    /// `--key value` settings, applied after the file.
    pub overrides: Vec<Property>,
    /// `-p`: print the effective settings and exit.
    pub print_config: bool,
}

impl ServerArgs {
    /// Where the settings came from, for error messages: the file, or the command line.
    pub fn origin(&self) -> String {
        self.config_file
            .as_ref()
            .map_or_else(|| "command line".to_owned(), |p| p.display().to_string())
    }
}

/// Parses `args` (without the program name). `aliases` maps extra short flags to keys, as
/// `mqbroker -n ADDR` means `--namesrvAddr ADDR`. `Ok(None)` means help was asked for.
pub fn parse_args(
    args: impl IntoIterator<Item = String>,
    aliases: &[(&str, &str)],
) -> Result<Option<ServerArgs>, String> {
    let mut out = ServerArgs::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "-p" | "--printConfigItem" => out.print_config = true,
            "-c" | "--configFile" => {
                let file = args.next().ok_or_else(|| {
                    format!("{arg} needs a file path, e.g. {arg} conf/broker.conf")
                })?;
                out.config_file = Some(PathBuf::from(file));
            }
            flag => {
                let (key, inline) = if let Some((_, key)) =
                    aliases.iter().find(|(short, _)| *short == flag)
                {
                    ((*key).to_owned(), None)
                } else if let Some(long) = flag.strip_prefix("--") {
                    match long.split_once('=') {
                        Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                        None => (long.to_owned(), None),
                    }
                } else {
                    return Err(format!("unexpected argument {flag:?}; settings are given as --key value (see --help)"));
                };
                let value = match inline {
                    Some(v) => v,
                    None => args
                        .next()
                        .ok_or_else(|| format!("{flag} needs a value, e.g. {flag} VALUE"))?,
                };
                out.overrides.push(Property {
                    key,
                    value,
                    line: 0,
                    warning: None,
                });
            }
        }
    }
    Ok(Some(out))
}

/// Applies the file (if any), then the overrides, to `settings`; returns warnings to log.
///
/// `strict_file` decides whether an unknown key in the file is an error (name server) or a
/// warning (broker, whose users carry keys from many RocketMQ versions). Unknown command-line
/// keys are always errors: they are typed by hand, so they are typos.
pub fn load<S: Settings>(
    settings: &mut S,
    args: &ServerArgs,
    strict_file: bool,
) -> Result<Vec<String>, ConfigError> {
    let mut warnings = Vec::new();
    if let Some(path) = &args.config_file {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.display().to_string(),
            source,
        })?;
        warnings.extend(
            apply_all(
                settings,
                &properties::parse(&text),
                &path.display().to_string(),
                strict_file,
            )?
            .warnings,
        );
    }
    warnings.extend(apply_all(settings, &args.overrides, "command line", true)?.warnings);
    Ok(warnings)
}

/// Logs to stderr, level from `RUST_LOG` (default info), colours only on a terminal; a closed
/// stderr silently drops log lines.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            // openraft narrates every replication step at info; its warnings are what matter.
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,openraft=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // A closed stderr (the parent stopped reading) must not turn a log line into a panic.
        .log_internal_errors(false)
        .init();
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when this is called (inside the
/// runtime), so a binary calls it before printing its boot line: a signal sent as soon as the
/// line appears is then always handled gracefully.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {},
                        _ = term.recv() => {},
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_files_aliases_and_help() {
        let parsed = parse_args(
            args(&[
                "-c",
                "b.conf",
                "-n",
                "127.0.0.1:9876",
                "--listenPort=0",
                "--brokerName",
                "a",
                "-p",
            ]),
            &[("-n", "namesrvAddr")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(parsed.config_file, Some(PathBuf::from("b.conf")));
        assert!(parsed.print_config);
        let keys: Vec<(&str, &str)> = parsed
            .overrides
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("namesrvAddr", "127.0.0.1:9876"),
                ("listenPort", "0"),
                ("brokerName", "a")
            ]
        );
        assert!(parse_args(args(&["--help"]), &[]).unwrap().is_none());
        assert!(parse_args(args(&["stray"]), &[])
            .unwrap_err()
            .contains("--key value"));
        assert!(parse_args(args(&["--listenPort"]), &[])
            .unwrap_err()
            .contains("needs a value"));
    }
}
