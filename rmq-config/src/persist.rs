//! Atomic replacement of small state files (the name server's `kvConfig.json`, the broker's
//! `topics.json`, `subscriptionGroup.json`, `consumerOffset.json`).
//!
//! A crash at any moment leaves either the old file or the new one, never a torn mix: the bytes
//! go to a temporary file beside the target, are synced, renamed over the target, and the
//! directory is synced so the rename itself is durable.

use std::io::Write;
use std::path::Path;

/// Replaces `path` with `bytes` atomically, creating parent directories as needed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let mut out = std::fs::File::create(&tmp)?;
    out.write_all(bytes)?;
    out.sync_all()?;
    drop(out);
    std::fs::rename(&tmp, path)?;
    // Durability of the rename; not every file system allows syncing a directory.
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Reads a state file; a missing or blank file is `None`.
pub fn read_if_present(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(None),
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("rmq-persist-{}", std::process::id()));
        let path = dir.join("a/b/state.json");
        assert_eq!(read_if_present(&path).unwrap(), None);
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(
            read_if_present(&path).unwrap().as_deref(),
            Some(&b"two"[..])
        );
        assert!(!dir.join("a/b/state.json.tmp").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
