//! What the broker's UPDATE_BROKER_CONFIG and the name server's UPDATE_NAMESRV_CONFIG share
//! (docs/admin-safety.md): which keys are never changed over the network, why a key is
//! refused, and the properties text both config requests answer with.

use crate::Settings;

/// Words in a key's name that mark it as reaching the file system, the network or a process
/// (compared case-insensitively): such keys are never changed remotely, whatever a server does
/// with them. CVE-2023-33246 (`filterServerNums`, `rocketmqHome`) and CVE-2023-37582
/// (`configStorePath`) came through keys like these.
pub const DANGEROUS_WORDS: &[&str] = &[
    "path",
    "dir",
    "home",
    "file",
    "addr",
    "ip1",
    "ip2",
    "port",
    "host",
    "tls",
    "acl",
    "class",
    "command",
    "plugin",
    "url",
    "domain",
    "peers",
    "filterserver",
    "blacklist",
];

/// Why a refused key is refused, as the refusal remark names it.
pub const NEVER_REMOTE: &str =
    "it names a path, an address, a port, a command or a security switch, which is never changed remotely";
/// A key the server has that takes effect only at start.
pub const START_ONLY: &str =
    "it is read only at start: set it in the configuration file and restart";
/// A key the server does not have.
pub const UNKNOWN: &str = "it is not a setting of this server";

/// Why a remote update refuses `key`, or `None` when `allowlist` has it. `dangerous` lists
/// keys refused as [`NEVER_REMOTE`] whose names carry none of [`DANGEROUS_WORDS`];
/// `S` decides which other keys are known.
pub fn refusal<S: Settings>(
    key: &str,
    allowlist: &[(&str, &str)],
    dangerous: &[&str],
) -> Option<&'static str> {
    if allowlist.iter().any(|(k, _)| *k == key) {
        return None;
    }
    let lower = key.to_ascii_lowercase();
    if dangerous.contains(&key) || DANGEROUS_WORDS.iter().any(|w| lower.contains(w)) {
        return Some(NEVER_REMOTE);
    }
    let known =
        S::keys().iter().any(|k| k.key == key) || S::ignored_keys().iter().any(|(k, _)| *k == key);
    Some(if known { START_ONLY } else { UNKNOWN })
}

/// The remark of a refused update, in the words Apache 5.x uses for its `configBlackList`,
/// then each refused key with its reason and the keys that may change.
pub fn refusal_remark(refused: &[(String, &str)], allowlist: &[(&str, &str)]) -> String {
    format!(
        "Can not update config in black list: {}. Nothing was changed; the keys that may change at run time are {}",
        refused
            .iter()
            .map(|(k, why)| format!("{k} ({why})"))
            .collect::<Vec<_>>()
            .join(", "),
        allowlist
            .iter()
            .map(|(k, _)| *k)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// One `key=value` line as Java's `Properties.load` reads it back.
pub fn property_line(key: &str, value: &str) -> String {
    let value = value
        .replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r");
    format!("{key}={value}\n")
}

/// `settings` as properties text, one line per key (GET_BROKER_CONFIG, GET_NAMESRV_CONFIG).
pub fn properties_text(values: impl IntoIterator<Item = (&'static str, String)>) -> String {
    let mut seen = std::collections::BTreeSet::new();
    values
        .into_iter()
        .filter(|(key, _)| seen.insert(*key))
        .map(|(key, value)| property_line(key, &value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_lines_survive_java_properties_parsing() {
        assert_eq!(
            property_line("brokerName", "broker-a"),
            "brokerName=broker-a\n"
        );
        assert_eq!(property_line("p", "C:\\store\nx"), "p=C:\\\\store\\nx\n");
        let parsed = crate::properties::parse(&property_line("p", "C:\\store\nx"));
        assert_eq!(parsed[0].value, "C:\\store\nx");
    }

    #[test]
    fn the_first_value_of_a_key_wins() {
        let text = properties_text([
            ("a", "1".to_owned()),
            ("b", "2".to_owned()),
            ("a", "3".to_owned()),
        ]);
        assert_eq!(text, "a=1\nb=2\n");
    }
}
