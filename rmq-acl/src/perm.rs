//! Permission bits and the admin-only request codes, as Apache's `Permission` defines them.

use rmq_remoting::RequestCode;

/// A permission as `plain_acl.yml` spells it (`DENY`, `PUB`, `SUB`, `PUB|SUB`); the bits are
/// Apache's so that a needed and an owned permission combine as they do there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Perm(u8);

impl Perm {
    /// Nothing is allowed, whatever else is set.
    pub const DENY: Perm = Perm(1);
    /// Needed when either PUB or SUB will do.
    pub const ANY: Perm = Perm(1 << 1);
    /// Sending to a topic.
    pub const PUB: Perm = Perm(1 << 2);
    /// Consuming from a topic, or acting as a consumer group.
    pub const SUB: Perm = Perm(1 << 3);
    /// Both sending and consuming.
    pub const PUB_SUB: Perm = Perm(Self::PUB.0 | Self::SUB.0);

    /// Reads a permission as Apache's `Permission.parsePermFromString` does, except that an
    /// unknown word is an error instead of a silent DENY: a typo must not lock a team out
    /// without a word in the log. A missing value is DENY, as in Apache.
    pub fn parse(text: Option<&str>) -> Result<Perm, String> {
        match text.map(str::trim) {
            None | Some("") | Some("DENY") => Ok(Perm::DENY),
            Some("PUB") => Ok(Perm::PUB),
            Some("SUB") => Ok(Perm::SUB),
            Some("PUB|SUB") | Some("SUB|PUB") => Ok(Perm::PUB_SUB),
            Some(other) => Err(format!(
                "unknown permission {other:?} (expected DENY, PUB, SUB or PUB|SUB)"
            )),
        }
    }

    /// Whether `owned` grants `self`, as Apache's `Permission.checkPermission`: DENY grants
    /// nothing, ANY is granted by PUB or SUB, otherwise a common bit.
    pub fn granted_by(self, owned: Perm) -> bool {
        if owned.0 & Perm::DENY.0 != 0 {
            return false;
        }
        if self.0 & Perm::ANY.0 != 0 {
            return owned.0 & Perm::PUB_SUB.0 != 0;
        }
        self.0 & owned.0 != 0
    }
}

impl std::fmt::Display for Perm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match *self {
            Perm::DENY => "DENY",
            Perm::ANY => "ANY",
            Perm::PUB => "PUB",
            Perm::SUB => "SUB",
            Perm::PUB_SUB => "PUB|SUB",
            _ => "?",
        })
    }
}

/// Request codes only an admin account may send (Apache 4.9.7's `Permission.ADMIN_CODE`).
pub const ADMIN_CODES: [RequestCode; 5] = [
    RequestCode::UPDATE_AND_CREATE_TOPIC,
    RequestCode::UPDATE_BROKER_CONFIG,
    RequestCode::DELETE_TOPIC_IN_BROKER,
    RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
    RequestCode::DELETE_SUBSCRIPTIONGROUP,
];

/// Whether a request with `code` needs an admin account.
pub fn is_admin_code(code: i32) -> bool {
    ADMIN_CODES.iter().any(|admin| admin.as_i32() == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases of Apache's `PermissionTest.checkPermission`.
    #[test]
    fn checks_as_apache() {
        assert!(Perm::ANY.granted_by(Perm::PUB));
        assert!(Perm::ANY.granted_by(Perm::SUB));
        assert!(Perm::ANY.granted_by(Perm::PUB_SUB));
        assert!(!Perm::ANY.granted_by(Perm::DENY));
        assert!(Perm::PUB.granted_by(Perm::PUB));
        assert!(!Perm::PUB.granted_by(Perm::SUB));
        assert!(Perm::PUB.granted_by(Perm::PUB_SUB));
        assert!(Perm::SUB.granted_by(Perm::SUB));
        assert!(!Perm::SUB.granted_by(Perm::PUB));
        assert!(!Perm::SUB.granted_by(Perm::DENY));
    }

    #[test]
    fn parses_the_words_of_plain_acl_yml() {
        assert_eq!(Perm::parse(Some(" PUB|SUB ")), Ok(Perm::PUB_SUB));
        assert_eq!(Perm::parse(Some("SUB|PUB")), Ok(Perm::PUB_SUB));
        assert_eq!(Perm::parse(None), Ok(Perm::DENY));
        assert!(Perm::parse(Some("READ")).unwrap_err().contains("READ"));
    }

    #[test]
    fn admin_codes() {
        assert!(is_admin_code(17));
        assert!(is_admin_code(25));
        assert!(!is_admin_code(10));
    }
}
