//! The broker's JSON state files under `storePathRootDir/config/` (`topics.json`,
//! `subscriptionGroup.json`, `consumerOffset.json`), in Java's fastjson shapes: read once at
//! start, replaced atomically on change.

use std::path::Path;

use rmq_remoting::fastjson::{self, KeyStyle};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Reads a state file; a missing or blank file is `T::default()`. A file that cannot be
/// parsed is an error, never silently replaced: the broker refuses to start rather than lose it.
pub fn load<T: DeserializeOwned + Default>(path: &Path) -> Result<T, String> {
    match rmq_config::persist::read_if_present(path) {
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        Ok(None) => Ok(T::default()),
        Ok(Some(bytes)) => fastjson::from_slice(&bytes).map_err(|e| {
            format!(
                "cannot parse {}: {e}; fix or move the file (the broker refuses to overwrite it)",
                path.display()
            )
        }),
    }
}

/// Replaces a state file with `value`, atomically.
pub fn save<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    rmq_config::persist::write_atomically(path, &fastjson::to_vec(value, KeyStyle::Fastjson))
}
