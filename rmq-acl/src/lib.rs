//! ACL 1.0, as Apache RocketMQ 4.9.x's `PlainAccessValidator` decides it (docs/acl.md).
//!
//! [`Rules`] is what `plain_acl.yml` (and `conf/acl/*.yml`) say: global whitelists and
//! accounts with their keys, whitelists, admin flag and permissions. [`Rules::check`] decides
//! one request from one peer: whitelisted, or signed by a known account whose permissions
//! cover every topic and group the request touches. The broker runs it as a router guard;
//! the gRPC proxy runs [`Rules::check_signed`] on RocketMQ 5's requests, which sign a header
//! instead of the command. [`AclFiles`] reads and reloads a home's files for both.

mod address;
mod config;
mod files;
mod perm;
mod resource;
mod tools;
mod validator;

pub use address::AddressPattern;
pub use config::{Account, AclFileError, Rules};
pub use files::AclFiles;
pub use perm::{is_admin_code, Perm, ADMIN_CODES};
pub use resource::{needs, Resource};
pub use tools::tools_yml;
pub use validator::{Denial, SignedContent};
