//! Headers of the commands the broker serves and sends (remoting-protocol.md §6.1–§6.9, §6.11, §6.12).
//!
//! Field names are Java's, because they are the `extFields` keys on the wire. A field that §6 marks
//! required is a plain type, so a request without it is refused with [`crate::error::HeaderError::Missing`]
//! naming the Java field; optional fields are `Option`s, or plain types with Java's default where
//! the Java class has one. The 5.x RPC field `bname` (target broker name, remoting-protocol.md
//! §2.6) is carried on the requests where the Java 5.x and Go clients send it; it is always
//! optional. Unknown keys (ACL `AccessKey`/`Signature`, the C++ `OnsChannel`, 5.x `ns`/`nsd`/
//! `oway`/`lo`) are ignored by [`crate::ext_fields::from_map`].

mod admin;
mod clients;
mod offsets;
mod pull;
mod query;
mod relay;
mod send;
#[cfg(test)]
mod tests;
mod transaction;

pub use admin::*;
pub use clients::*;
pub use offsets::*;
pub use pull::*;
pub use query::*;
pub use relay::*;
pub use send::*;
pub use transaction::*;
