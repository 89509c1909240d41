//! Where configuration files are looked for, as Spring Boot's `ConfigDataEnvironment` does:
//! the files compiled into the binary (the classpath, [`EmbeddedConfig`]), then the working
//! directory. Later locations win, and profile files win over the plain files of their group.
//!
//! Default locations, in order: `classpath:/` and `classpath:/config/` (one group), then
//! `./`, `./config/` and `./config/*/` (one group). `spring.config.location` replaces them,
//! `spring.config.additional-location` adds after them; both are comma-separated lists whose
//! members may join a group with `;`. A location ending in `/` is a directory searched for
//! `{spring.config.name}.yml` / `.yaml`; any other location is a file used as it is. Each
//! location is also searched for `-{profile}` variants. A location missing on disk is an error
//! naming it, unless it starts with `optional:`.

use std::path::{Path, PathBuf};

use crate::error::StarterError;

/// Configuration files compiled into the application, Spring Boot's classpath: a jar carries
/// its `application.yml`, and a binary built with [`embed_config!`](crate::embed_config) runs
/// from any directory.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbeddedConfig {
    files: &'static [(&'static str, &'static str)],
}

impl EmbeddedConfig {
    /// Files as `(path relative to the classpath root, contents)`; normally written by
    /// [`embed_config!`](crate::embed_config).
    pub const fn new(files: &'static [(&'static str, &'static str)]) -> Self {
        EmbeddedConfig { files }
    }

    /// The contents of the embedded file `path` (`application.yml`, `config/application.yml`).
    fn file(&self, path: &str) -> Option<&'static str> {
        self.files.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
    }

    /// Whether `dir` (empty for the root) exists on the classpath, i.e. holds some file.
    fn has_dir(&self, dir: &str) -> bool {
        dir.is_empty() || self.files.iter().any(|(p, _)| p.starts_with(dir))
    }
}

/// Embeds configuration files as the application's classpath, read at build time relative to
/// the calling crate's `Cargo.toml`: `embed_config!()` embeds `application.yml`;
/// `embed_config!("application.yml", "application-prod.yml", "config/application.yml")` lists
/// the files; `embed_config!(root = "resources", "application.yml")` takes them from a
/// directory (Maven's `src/main/resources`), their classpath names staying relative to it. A
/// missing file is a compile error. Pass the result to
/// [`Application::embedded_config`](crate::Application::embedded_config).
#[macro_export]
macro_rules! embed_config {
    () => {
        $crate::embed_config!("application.yml")
    };
    (root = $root:literal, $($file:literal),+ $(,)?) => {
        $crate::EmbeddedConfig::new(&[$((
            $file,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $root, "/", $file)),
        )),+])
    };
    ($($file:literal),+ $(,)?) => {
        $crate::EmbeddedConfig::new(&[$((
            $file,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $file)),
        )),+])
    };
}

/// Spring Boot's default locations (`ConfigDataEnvironment`), lowest priority first.
const DEFAULT_LOCATIONS: [&str; 2] = [
    "optional:classpath:/;optional:classpath:/config/",
    "optional:file:./;optional:file:./config/;optional:file:./config/*/",
];

/// One configuration file found: its text and where it came from (for error messages and
/// property origins).
#[derive(Debug)]
pub(crate) struct ConfigFile {
    /// What origins and errors call it: `application.yml`, `config/application.yml`,
    /// `classpath:application.yml`, or the path as given.
    pub origin: String,
    /// The YAML text.
    pub text: String,
}

/// Where a location points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// Inside the binary; the path is relative to the classpath root, without a leading `/`.
    Classpath(String),
    /// On disk; relative paths are relative to the working directory.
    File(String),
}

/// One member of a location group.
#[derive(Debug, Clone)]
struct Location {
    /// As the user wrote it, for errors.
    text: String,
    optional: bool,
    place: Place,
}

impl Location {
    fn parse(text: &str) -> Location {
        let trimmed = text.trim();
        let (optional, rest) = match trimmed.strip_prefix("optional:") {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let place = if let Some(path) = rest.strip_prefix("classpath:") {
            Place::Classpath(path.trim_start_matches('/').to_owned())
        } else {
            Place::File(rest.strip_prefix("file:").unwrap_or(rest).to_owned())
        };
        Location {
            text: trimmed.to_owned(),
            optional,
            place,
        }
    }

    fn is_dir(&self) -> bool {
        match &self.place {
            Place::Classpath(p) => p.is_empty() || p.ends_with('/'),
            Place::File(p) => p.ends_with('/'),
        }
    }
}

/// What decides which files are read: `spring.config.*` from the environment or arguments.
#[derive(Debug, Clone, Default)]
pub(crate) struct LocationSettings {
    /// `spring.config.name`: base names, `application` by default.
    pub names: Option<String>,
    /// `spring.config.location`: replaces the default locations.
    pub location: Option<String>,
    /// `spring.config.additional-location`: searched after the others.
    pub additional: Option<String>,
}

/// The configuration files to read, in order (later wins): for each location group, its plain
/// files, then its profile files for each of `profiles`.
///
/// Called twice by the loader: first with no profiles (to find `spring.profiles.active` in
/// the plain files), then with the active ones.
pub(crate) struct Locator<'a> {
    groups: Vec<Vec<Location>>,
    names: Vec<String>,
    dir: &'a Path,
    embedded: &'a EmbeddedConfig,
}

impl<'a> Locator<'a> {
    /// The location groups `settings` ask for, files relative to `dir`.
    pub fn new(
        settings: &LocationSettings,
        dir: &'a Path,
        embedded: &'a EmbeddedConfig,
    ) -> Locator<'a> {
        let split = |list: &str| -> Vec<Vec<Location>> {
            list.split(',')
                .filter(|g| !g.trim().is_empty())
                .map(|g| {
                    g.split(';')
                        .filter(|l| !l.trim().is_empty())
                        .map(Location::parse)
                        .collect()
                })
                .collect()
        };
        let mut groups = match &settings.location {
            Some(list) => split(list),
            None => DEFAULT_LOCATIONS.iter().flat_map(|l| split(l)).collect(),
        };
        if let Some(list) = &settings.additional {
            groups.extend(split(list));
        }
        let names = settings
            .names
            .as_deref()
            .unwrap_or("application")
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        Locator {
            groups,
            names,
            dir,
            embedded,
        }
    }

    /// The files to read for `profiles`, in merge order; an error names a mandatory location
    /// that does not exist.
    pub fn files(&self, profiles: &[String]) -> Result<Vec<ConfigFile>, StarterError> {
        let mut out = Vec::new();
        for group in &self.groups {
            let members: Vec<Location> = group.iter().flat_map(|l| self.expand(l)).collect();
            for location in group {
                self.check_exists(location)?;
            }
            for location in &members {
                self.read(location, None, &mut out)?;
            }
            for profile in profiles {
                for location in &members {
                    self.read(location, Some(profile), &mut out)?;
                }
            }
        }
        Ok(out)
    }

    /// A `dir/*/` location as its subdirectories, sorted by name; others as they are.
    fn expand(&self, location: &Location) -> Vec<Location> {
        let Place::File(path) = &location.place else {
            return vec![location.clone()];
        };
        let Some(parent) = path.strip_suffix("*/") else {
            return vec![location.clone()];
        };
        let Ok(entries) = std::fs::read_dir(self.dir.join(parent)) else {
            return Vec::new();
        };
        let mut dirs: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .map(|e| format!("{parent}{}/", e.file_name().to_string_lossy()))
            .collect();
        dirs.sort();
        dirs.into_iter()
            .map(|d| Location {
                text: d.clone(),
                optional: location.optional,
                place: Place::File(d),
            })
            .collect()
    }

    /// A mandatory location must exist: a directory as a directory, a file as a file.
    fn check_exists(&self, location: &Location) -> Result<(), StarterError> {
        if location.optional {
            return Ok(());
        }
        let exists = match &location.place {
            Place::Classpath(p) if location.is_dir() => self.embedded.has_dir(p),
            Place::Classpath(p) => self.embedded.file(p).is_some(),
            Place::File(p) => match p.strip_suffix("*/") {
                Some(parent) => self.dir.join(parent).is_dir(),
                None if location.is_dir() => self.dir.join(p).is_dir(),
                None => self.dir.join(p).is_file(),
            },
        };
        if exists {
            Ok(())
        } else {
            Err(StarterError::ConfigLocation {
                location: location.text.clone(),
            })
        }
    }

    /// Appends the files `location` holds for `profile` (or the plain ones) to `out`.
    fn read(
        &self,
        location: &Location,
        profile: Option<&str>,
        out: &mut Vec<ConfigFile>,
    ) -> Result<(), StarterError> {
        let suffix = profile.map_or_else(String::new, |p| format!("-{p}"));
        let candidates: Vec<String> = if location.is_dir() {
            let dir = match &location.place {
                Place::Classpath(p) | Place::File(p) => p.as_str(),
            };
            self.names
                .iter()
                .flat_map(|n| ["yml", "yaml"].map(|ext| format!("{dir}{n}{suffix}.{ext}")))
                .collect()
        } else {
            let path = match &location.place {
                Place::Classpath(p) | Place::File(p) => p.as_str(),
            };
            vec![with_suffix(path, &suffix)]
        };
        for path in candidates {
            match &location.place {
                Place::Classpath(_) => {
                    if let Some(text) = self.embedded.file(&path) {
                        out.push(ConfigFile {
                            origin: format!("classpath:{path}"),
                            text: text.to_owned(),
                        });
                    }
                }
                Place::File(_) => {
                    let full = self.dir.join(&path);
                    if !full.is_file() {
                        continue;
                    }
                    let text = std::fs::read_to_string(&full).map_err(|e| StarterError::File {
                        path: full.clone(),
                        source: Box::new(config::ConfigError::Foreign(Box::new(e))),
                    })?;
                    out.push(ConfigFile {
                        origin: display_path(&path),
                        text,
                    });
                }
            }
        }
        Ok(())
    }
}

/// `path` with `suffix` before its extension: `conf/app.yml` + `-dev` → `conf/app-dev.yml`.
fn with_suffix(path: &str, suffix: &str) -> String {
    if suffix.is_empty() {
        return path.to_owned();
    }
    let file_start = path.rfind('/').map_or(0, |i| i + 1);
    match path[file_start..].rfind('.') {
        Some(dot) if dot > 0 => {
            let dot = file_start + dot;
            format!("{}{suffix}{}", &path[..dot], &path[dot..])
        }
        _ => format!("{path}{suffix}"),
    }
}

/// A file's name in origins: `./config/application.yml` reads `config/application.yml`.
fn display_path(path: &str) -> String {
    let p = PathBuf::from(path);
    let shown = p.strip_prefix(".").unwrap_or(&p);
    shown.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_suffixes_go_before_the_extension() {
        assert_eq!(with_suffix("conf/app.yml", "-dev"), "conf/app-dev.yml");
        assert_eq!(with_suffix("a.b/app", "-dev"), "a.b/app-dev");
        assert_eq!(with_suffix("app.yml", ""), "app.yml");
    }

    #[test]
    fn locations_parse_prefixes() {
        let l = Location::parse(" optional:classpath:/config/ ");
        assert!(l.optional && l.is_dir());
        assert_eq!(l.place, Place::Classpath("config/".into()));
        let l = Location::parse("file:./x.yml");
        assert!(!l.optional && !l.is_dir());
        assert_eq!(l.place, Place::File("./x.yml".into()));
        assert_eq!(
            display_path("./config/application.yml"),
            "config/application.yml"
        );
    }
}
