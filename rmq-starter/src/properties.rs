//! Where settings come from, in Spring Boot's order: the configuration files (the embedded
//! classpath, then the working directory; see [`crate::locations`]) with their
//! `-{profile}` variants, then environment variables, then `--key=value` command-line
//! arguments; later sources win. Every value remembers where it came from so that errors can
//! say which file or variable to fix.
//!
//! Keys are matched the way Spring's relaxed binding matches them: case, `-` and `_` do not
//! matter, so `rocketmq.name-server`, `rocketmq.nameServer` and the environment variables
//! `ROCKETMQ_NAME_SERVER` / `ROCKETMQ_NAMESERVER` are one property.

use std::collections::BTreeMap;
use std::path::PathBuf;

use config::{File, FileFormat, Source, Value, ValueKind};

use crate::error::StarterError;
use crate::locations::{ConfigFile, EmbeddedConfig, LocationSettings, Locator};
use crate::settings::KNOWN_KEYS;

/// One property value and the place it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyValue {
    /// The value as text (YAML numbers and booleans are turned into their text form).
    pub value: String,
    /// A human-readable origin: a file name, `environment variable X` or `command-line argument`.
    pub origin: String,
}

/// The merged, flattened properties of an application, keyed by dotted path.
///
/// Built once at startup by [`Properties::load`]; the typed settings ([`crate::Settings`]),
/// placeholders in listener attributes and the logging setup all read from it.
#[derive(Debug, Clone, Default)]
pub struct Properties {
    /// Canonical key → value; a later source replaced an earlier one for the same key.
    values: BTreeMap<String, PropertyValue>,
    /// Relaxed form of each key → its canonical key.
    relaxed: BTreeMap<String, String>,
    /// The profiles whose files were read, in order.
    profiles: Vec<String>,
    /// The configuration files read, in merge order.
    files: Vec<String>,
}

/// The inputs [`Properties::load`] reads, so that tests can supply their own instead of the
/// process's environment, arguments and working directory.
#[derive(Debug, Clone, Default)]
pub struct PropertySources {
    /// The working directory: `./application.yml`, `./config/` and relative
    /// `spring.config.location` paths are found from here.
    pub dir: PathBuf,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Command-line arguments without the program name.
    pub args: Vec<String>,
}

impl PropertySources {
    /// The running process's working directory, environment and arguments.
    pub fn from_process() -> Self {
        PropertySources {
            dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            env: std::env::vars().collect(),
            args: std::env::args().skip(1).collect(),
        }
    }
}

/// Prefixes of environment variables read as properties; others (`PATH`, `ROCKETMQ_HOME`'s
/// unknown relatives) are left alone unless they name a known key.
const ENV_PREFIXES: [&str; 4] = ["ROCKETMQ_", "SERVER_", "LOGGING_", "SPRING_"];

/// The form keys are compared in: lower case without `-` and `_`.
pub(crate) fn relaxed(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

impl Properties {
    /// Reads every source in Spring Boot's order (see the module documentation), with no
    /// embedded configuration.
    pub fn load(sources: &PropertySources) -> Result<Properties, StarterError> {
        Properties::load_with(sources, &EmbeddedConfig::default())
    }

    /// Reads every source in Spring Boot's order, `embedded` being the classpath.
    pub fn load_with(
        sources: &PropertySources,
        embedded: &EmbeddedConfig,
    ) -> Result<Properties, StarterError> {
        let env = env_properties(&sources.env);
        let args = arg_properties(&sources.args)?;
        // `spring.config.*` decide which files exist, so only the environment and the
        // arguments can set them (as in Spring Boot).
        let mut early = Properties::default();
        early.insert_all(env.clone());
        early.insert_all(args.clone());
        let setting = |key: &str| early.value(key).map(str::to_owned);
        let locator = Locator::new(
            &LocationSettings {
                names: setting("spring.config.name"),
                location: setting("spring.config.location"),
                additional: setting("spring.config.additional-location"),
            },
            &sources.dir,
            embedded,
        );
        let mut plain = Properties::default();
        plain.merge_files(locator.files(&[])?, &[])?;
        // The active profiles can come from any source; the highest one decides.
        plain.insert_all(env.clone());
        plain.insert_all(args.clone());
        let profiles: Vec<String> = plain
            .get("spring.profiles.active")
            .map(|p| {
                p.value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let mut props = Properties::default();
        let files = locator.files(&profiles)?;
        props.files = files.iter().map(|f| f.origin.clone()).collect();
        props.merge_files(files, &profiles)?;
        props.insert_all(env);
        props.insert_all(args);
        props.profiles = profiles;
        Ok(props)
    }

    /// Properties from `(key, value)` pairs, all with the same origin (for tests and tools).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Properties {
        let mut props = Properties::default();
        props.insert_all(pairs.into_iter().map(|(k, v)| {
            (
                k.to_owned(),
                PropertyValue {
                    value: v.to_owned(),
                    origin: "code".to_owned(),
                },
            )
        }));
        props
    }

    /// The value of `key`, matched relaxed.
    pub fn get(&self, key: &str) -> Option<&PropertyValue> {
        self.relaxed
            .get(&relaxed(key))
            .and_then(|canonical| self.values.get(canonical))
    }

    /// The value of `key` as text, if set.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).map(|v| v.value.as_str())
    }

    /// Every property, by canonical key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &PropertyValue)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The active profiles whose files were read.
    pub fn profiles(&self) -> &[String] {
        &self.profiles
    }

    /// The configuration files read, in merge order (`classpath:application.yml`,
    /// `config/application.yml`, ...), for the startup log.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Replaces `${key}` and `${key:default}` in `text` with property values. An unknown key
    /// without a default is an error naming `context` (the listener attribute, for example),
    /// rather than Spring's silent literal.
    pub fn resolve_placeholders(&self, text: &str, context: &str) -> Result<String, StarterError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(StarterError::Placeholder {
                    placeholder: rest[start..].to_owned(),
                    context: context.to_owned(),
                    reason: "it has no closing '}'".to_owned(),
                });
            };
            let inner = &after[..end];
            let (key, default) = match inner.split_once(':') {
                Some((k, d)) => (k.trim(), Some(d)),
                None => (inner.trim(), None),
            };
            match (self.value(key), default) {
                (Some(v), _) => out.push_str(v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(StarterError::Placeholder {
                        placeholder: format!("${{{inner}}}"),
                        context: context.to_owned(),
                        reason: format!(
                            "no property {key} is set (add it to application.yml, or give a default: ${{{key}:value}})"
                        ),
                    })
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Merges `files` in order, each later one (and each later `---` document in a file)
    /// replacing earlier values. A document with `spring.config.activate.on-profile` counts
    /// only when one of the profiles it names is in `profiles` (`!name`: when it is not).
    fn merge_files(
        &mut self,
        files: Vec<ConfigFile>,
        profiles: &[String],
    ) -> Result<(), StarterError> {
        for file in files {
            for document in yaml_documents(&file.text) {
                let table = File::from_str(document, FileFormat::Yaml)
                    .collect()
                    .map_err(|source| StarterError::File {
                        path: PathBuf::from(&file.origin),
                        source: Box::new(source),
                    })?;
                let mut flat = Vec::new();
                for (key, value) in &table {
                    flatten(key, value, &file.origin, &mut flat);
                }
                let on_profile = relaxed("spring.config.activate.on-profile");
                let active = flat
                    .iter()
                    .find(|(k, _)| relaxed(k) == on_profile)
                    .is_none_or(|(_, v)| profile_matches(&v.value, profiles));
                if active {
                    self.insert_all(flat);
                }
            }
        }
        Ok(())
    }

    fn insert_all(&mut self, entries: impl IntoIterator<Item = (String, PropertyValue)>) {
        for (key, value) in entries {
            let relaxed_key = relaxed(&key);
            // A key spelled differently but meaning the same property replaces the old spelling.
            let canonical = canonical_key(&key);
            if let Some(old) = self.relaxed.insert(relaxed_key, canonical.clone()) {
                self.values.remove(&old);
            }
            self.values.insert(canonical, value);
        }
    }
}

/// The documents of a multi-document YAML file: the text between lines reading `---`.
fn yaml_documents(text: &str) -> Vec<&str> {
    let mut documents = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            documents.push(&text[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    documents.push(&text[start..]);
    documents
}

/// Whether `spring.config.activate.on-profile: expr` holds: a comma-separated list of
/// profiles, any of which active (`!name`: not active).
fn profile_matches(expr: &str, profiles: &[String]) -> bool {
    expr.split(',')
        .map(str::trim)
        .any(|p| match p.strip_prefix('!') {
            Some(name) => !profiles.iter().any(|a| a == name.trim()),
            None => profiles.iter().any(|a| a == p),
        })
}

/// The spelling of a known key (`rocketmq.producer.send-message-timeout`) for any relaxed
/// variant of it; unknown keys keep their own spelling.
fn canonical_key(key: &str) -> String {
    let r = relaxed(key);
    KNOWN_KEYS
        .iter()
        .find(|k| relaxed(k.name) == r)
        .map_or_else(|| key.to_owned(), |k| k.name.to_owned())
}

/// Flattens a YAML table into dotted keys; lists become `key[0]`, `key[1]`, …
fn flatten(prefix: &str, value: &Value, origin: &str, out: &mut Vec<(String, PropertyValue)>) {
    let text = match &value.kind {
        ValueKind::Table(table) => {
            for (k, v) in table {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, origin, out);
            }
            return;
        }
        ValueKind::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, origin, out);
            }
            return;
        }
        ValueKind::Nil => String::new(),
        ValueKind::Boolean(b) => b.to_string(),
        ValueKind::I64(n) => n.to_string(),
        ValueKind::I128(n) => n.to_string(),
        ValueKind::U64(n) => n.to_string(),
        ValueKind::U128(n) => n.to_string(),
        ValueKind::Float(f) => f.to_string(),
        ValueKind::String(s) => s.clone(),
    };
    out.push((
        prefix.to_owned(),
        PropertyValue {
            value: text,
            origin: origin.to_owned(),
        },
    ));
}

/// Environment variables as properties: a variable matching a known key relaxed
/// (`ROCKETMQ_NAME_SERVER`, `ROCKETMQ_PRODUCER_SENDMESSAGETIMEOUT`) sets that key;
/// `LOGGING_LEVEL_<TARGET>` sets `logging.level.<target>`; other variables are ignored.
fn env_properties(env: &[(String, String)]) -> Vec<(String, PropertyValue)> {
    let mut out = Vec::new();
    for (name, value) in env {
        if !ENV_PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let key = if let Some(target) = name.strip_prefix("LOGGING_LEVEL_") {
            format!("logging.level.{}", target.to_lowercase())
        } else {
            let r = relaxed(name);
            match KNOWN_KEYS
                .iter()
                .find(|k| relaxed(k.name).replace('.', "") == r)
            {
                Some(k) => k.name.to_owned(),
                None => continue,
            }
        };
        out.push((
            key,
            PropertyValue {
                value: value.clone(),
                origin: format!("environment variable {name}"),
            },
        ));
    }
    out
}

/// `--key=value` arguments as properties. Other arguments are refused: Spring would ignore them
/// silently, which hides a mistyped `--server.port 8080`.
fn arg_properties(args: &[String]) -> Result<Vec<(String, PropertyValue)>, StarterError> {
    args.iter()
        .map(|arg| {
            let pair = arg
                .strip_prefix("--")
                .and_then(|a| a.split_once('='))
                .filter(|(k, _)| !k.is_empty());
            let Some((key, value)) = pair else {
                return Err(StarterError::Argument { arg: arg.clone() });
            };
            Ok((
                key.to_owned(),
                PropertyValue {
                    value: value.to_owned(),
                    origin: format!("command-line argument --{key}"),
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_resolve_with_defaults() {
        let props = Properties::from_pairs([("rocketmq.name-server", "h:9876"), ("a.b", "x")]);
        let got = props
            .resolve_placeholders("${rocketmq.nameServer}/${a.b}-${c.d:dflt}-${e:}", "test")
            .unwrap();
        assert_eq!(got, "h:9876/x-dflt-");
        let err = props
            .resolve_placeholders("${missing.key}", "topic of L")
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("missing.key") && text.contains("topic of L"),
            "{text}"
        );
        assert!(props.resolve_placeholders("${open", "t").is_err());
    }

    #[test]
    fn relaxed_spellings_are_one_property() {
        let props = Properties::from_pairs([
            ("rocketmq.producer.sendMessageTimeout", "1"),
            ("rocketmq.producer.send_message_timeout", "2"),
        ]);
        assert_eq!(props.iter().count(), 1);
        assert_eq!(
            props.value("rocketmq.producer.send-message-timeout"),
            Some("2")
        );
    }

    #[test]
    fn arguments_must_be_key_value() {
        assert!(arg_properties(&["--server.port=1".into()]).is_ok());
        for bad in ["--server.port", "server.port=1", "--=1"] {
            assert!(arg_properties(&[bad.into()]).is_err(), "{bad}");
        }
    }
}
