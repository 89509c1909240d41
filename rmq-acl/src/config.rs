//! `plain_acl.yml` as Apache 4.9.7's `PlainPermissionManager` reads it: global whitelists and
//! accounts, one file or several (`conf/acl/*.yml` next to `conf/plain_acl.yml`).
//!
//! Read with `yaml-rust2` (docs/acl.md, "Reading plain_acl.yml"): the workspace already builds
//! it through `config`, it is maintained, and its parse errors carry a line number.

use std::collections::HashMap;

use yaml_rust2::{Yaml, YamlLoader};

use crate::address::AddressPattern;
use crate::perm::Perm;

/// Why an ACL file was refused; names the file and, where it can be found, the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct AclFileError {
    /// The file, as given.
    pub file: String,
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// What is wrong, in words.
    pub message: String,
}

/// One account of `accounts:`.
#[derive(Clone)]
pub struct Account {
    /// Names the account in requests (`AccessKey`).
    pub access_key: String,
    /// Keys the account's signatures; never logged.
    pub(crate) secret_key: String,
    /// Peers that need no signature for this account.
    pub white_remote_address: AddressPattern,
    /// May send the admin-only codes, and touches everything when it lists no permissions.
    pub admin: bool,
    /// Permission on topics not listed.
    pub default_topic_perm: Perm,
    /// Permission on groups not listed.
    pub default_group_perm: Perm,
    /// Listed topics.
    pub topic_perms: HashMap<String, Perm>,
    /// Listed groups (by group name; Apache keys them by their retry topic).
    pub group_perms: HashMap<String, Perm>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret key never reaches a log line.
        f.debug_struct("Account")
            .field("access_key", &self.access_key)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

/// Everything the ACL files say, merged.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Peers every request is allowed from, signed or not.
    pub global_white: Vec<AddressPattern>,
    /// Accounts by access key.
    pub accounts: HashMap<String, Account>,
}

/// Prefix of a consumer group's retry topic.
pub(crate) const RETRY_PREFIX: &str = "%RETRY%";

/// Apache refuses access and secret keys of 6 characters or fewer.
const MIN_KEY_LEN: usize = 7;

impl Rules {
    /// Adds the content of one file named `file`. An access key already defined by an
    /// earlier file keeps its first definition, as in Apache (with a warning).
    pub fn add_file(&mut self, file: &str, text: &str) -> Result<(), AclFileError> {
        let fail = |line: Option<usize>, message: String| AclFileError {
            file: file.to_owned(),
            line,
            message,
        };
        let docs = YamlLoader::load_from_str(text)
            .map_err(|e| fail(Some(e.marker().line()), e.info().to_owned()))?;
        let Some(doc) = docs.into_iter().next() else {
            tracing::warn!(file, "no data in the ACL file");
            return Ok(());
        };
        let located = |needle: &str, message: String| fail(line_of(text, needle), message);
        match &doc {
            Yaml::Hash(_) => {}
            Yaml::Null => return Ok(()),
            _ => return Err(fail(Some(1), "the file is not a YAML mapping".to_owned())),
        }
        let mut global_white = Vec::new();
        for entry in list(&doc["globalWhiteRemoteAddresses"]) {
            let pattern = scalar(entry).unwrap_or_default();
            global_white.push(
                AddressPattern::parse(&pattern)
                    .map_err(|e| located(&pattern, format!("globalWhiteRemoteAddresses: {e}")))?,
            );
        }
        let mut accounts = Vec::new();
        for entry in list(&doc["accounts"]) {
            accounts.push(account(entry).map_err(|(needle, message)| located(&needle, message))?);
        }
        self.global_white.extend(global_white);
        for account in accounts {
            if self.accounts.contains_key(&account.access_key) {
                tracing::warn!(
                    file,
                    access_key = %account.access_key,
                    "the access key is defined in several ACL files; the first definition counts"
                );
                continue;
            }
            self.accounts.insert(account.access_key.clone(), account);
        }
        Ok(())
    }

    /// Rules from one file's text.
    pub fn parse(file: &str, text: &str) -> Result<Rules, AclFileError> {
        let mut rules = Rules::default();
        rules.add_file(file, text)?;
        Ok(rules)
    }
}

/// One account, or the text to find its line by and what is wrong.
fn account(entry: &Yaml) -> Result<Account, (String, String)> {
    let access_key = scalar(&entry["accessKey"]).unwrap_or_default();
    let secret_key = scalar(&entry["secretKey"]).unwrap_or_default();
    let here = |message: String| {
        let needle = if access_key.is_empty() {
            "accessKey".to_owned()
        } else {
            access_key.clone()
        };
        (needle, message)
    };
    if access_key.chars().count() < MIN_KEY_LEN {
        return Err(here(format!(
            "accessKey {access_key:?} must be longer than 6 characters"
        )));
    }
    if secret_key.chars().count() < MIN_KEY_LEN {
        return Err(here(format!(
            "the secretKey of {access_key} must be longer than 6 characters"
        )));
    }
    let white = scalar(&entry["whiteRemoteAddress"]).unwrap_or_default();
    let white_remote_address = AddressPattern::parse(&white).map_err(|e| {
        (
            white.clone(),
            format!("{access_key}: whiteRemoteAddress: {e}"),
        )
    })?;
    let admin = match scalar(&entry["admin"]).as_deref().map(str::trim) {
        None | Some("false") | Some("") => false,
        Some("true") => true,
        Some(other) => {
            return Err(here(format!(
                "{access_key}: admin {other:?} is not true or false"
            )))
        }
    };
    let default_perm = |key: &str| {
        Perm::parse(scalar(&entry[key]).as_deref())
            .map_err(|e| here(format!("{access_key}: {key}: {e}")))
    };
    let default_topic_perm = default_perm("defaultTopicPerm")?;
    let default_group_perm = default_perm("defaultGroupPerm")?;
    let mut topic_perms = HashMap::new();
    let mut group_perms = HashMap::new();
    for (key, is_topic) in [("topicPerms", true), ("groupPerms", false)] {
        for item in list(&entry[key]) {
            let item = scalar(item).unwrap_or_default();
            let parts: Vec<&str> = item.split('=').filter(|p| !p.is_empty()).collect();
            let [name, perm] = parts[..] else {
                return Err((
                    item.clone(),
                    format!("{access_key}: {key}: {item:?} is not resource=PERM"),
                ));
            };
            let perm = Perm::parse(Some(perm))
                .map_err(|e| (item.clone(), format!("{access_key}: {key}: {e}")))?;
            let name = name.trim();
            match name.strip_prefix(RETRY_PREFIX) {
                // A retry topic is its group, as Apache keys groups by their retry topic.
                Some(group) if is_topic => group_perms.insert(group.to_owned(), perm),
                _ if is_topic => topic_perms.insert(name.to_owned(), perm),
                _ => group_perms.insert(name.to_owned(), perm),
            };
        }
    }
    Ok(Account {
        access_key,
        secret_key,
        white_remote_address,
        admin,
        default_topic_perm,
        default_group_perm,
        topic_perms,
        group_perms,
    })
}

/// A scalar as text, however YAML typed it (`secretKey: 12345678` is an integer there and a
/// string in Apache's JSON view of the file); absent or null is `None`.
fn scalar(node: &Yaml) -> Option<String> {
    match node {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The items of a YAML list; nothing for an absent or null key.
fn list(node: &Yaml) -> &[Yaml] {
    match node {
        Yaml::Array(items) => items,
        _ => &[],
    }
}

/// The 1-based line where `needle` first appears.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    text.lines()
        .position(|line| line.contains(needle))
        .map(|at| at + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Apache 4.9.7's distribution/conf/plain_acl.yml.
    pub(crate) const APACHE_SAMPLE: &str = "
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*

accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      # the group should convert to retry topic
      - groupA=DENY
      - groupB=PUB|SUB
      - groupC=SUB

  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress: 192.168.1.*
    # if it is admin, it could access all resources
    admin: true
";

    #[test]
    fn reads_apache_sample() {
        let rules = Rules::parse("plain_acl.yml", APACHE_SAMPLE).unwrap();
        assert_eq!(rules.global_white.len(), 2);
        let first = &rules.accounts["RocketMQ"];
        assert_eq!(
            first.secret_key, "12345678",
            "an integer secret reads as text"
        );
        assert_eq!(first.white_remote_address, AddressPattern::Nobody);
        assert!(!first.admin);
        assert_eq!(first.default_topic_perm, Perm::DENY);
        assert_eq!(first.default_group_perm, Perm::SUB);
        assert_eq!(first.topic_perms["topicB"], Perm::PUB_SUB);
        assert_eq!(first.group_perms["groupC"], Perm::SUB);
        let admin = &rules.accounts["rocketmq2"];
        assert!(admin.admin);
        assert_eq!(admin.default_topic_perm, Perm::DENY, "absent is DENY");
        assert!(admin
            .white_remote_address
            .matches("192.168.1.7".parse().unwrap()));
    }

    #[test]
    fn errors_name_file_and_line() {
        let broken = "accounts:\n  - accessKey: RocketMQ\n    secretKey: [unclosed\n";
        let err = Rules::parse("/etc/acl.yml", broken).unwrap_err();
        assert_eq!(err.file, "/etc/acl.yml");
        assert!(err.line.is_some(), "{err}");
        let bad_perm = "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    topicPerms:\n      - topicA=WRITE\n";
        let err = Rules::parse("a.yml", bad_perm).unwrap_err();
        assert_eq!(err.line, Some(5), "{err}");
        assert!(err.to_string().starts_with("a.yml:5: "), "{err}");
        let short = "accounts:\n  - accessKey: abc\n    secretKey: 12345678\n";
        let err = Rules::parse("a.yml", short).unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        let bad_white = "globalWhiteRemoteAddresses:\n  - 300.1.1.1\n";
        assert_eq!(Rules::parse("a.yml", bad_white).unwrap_err().line, Some(2));
    }

    #[test]
    fn errors_never_show_the_secret() {
        let text =
            "accounts:\n  - accessKey: RocketMQ\n    secretKey: s3cr3t-value\n    admin: maybe\n";
        let err = Rules::parse("a.yml", text).unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        let rules = Rules::parse(
            "a.yml",
            "accounts:\n  - accessKey: RocketMQ\n    secretKey: s3cr3t-value\n",
        )
        .unwrap();
        assert!(!format!("{rules:?}").contains("s3cr3t"));
    }

    #[test]
    fn first_file_wins_for_a_repeated_key() {
        let mut rules = Rules::default();
        rules
            .add_file(
                "a.yml",
                "accounts:\n  - accessKey: RocketMQ\n    secretKey: 11111111\n    admin: true\n",
            )
            .unwrap();
        rules
            .add_file(
                "b.yml",
                "accounts:\n  - accessKey: RocketMQ\n    secretKey: 22222222\n",
            )
            .unwrap();
        assert!(rules.accounts["RocketMQ"].admin);
    }

    #[test]
    fn empty_and_retry_topic_entries() {
        assert!(Rules::parse("a.yml", "").unwrap().accounts.is_empty());
        let rules = Rules::parse(
            "a.yml",
            "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    topicPerms:\n      - '%RETRY%g1=SUB'\n",
        )
        .unwrap();
        assert_eq!(rules.accounts["RocketMQ"].group_perms["g1"], Perm::SUB);
    }
}
