//! Headers of the commands the broker serves and sends, one file per group of commands.
//!
//! Field names are Java's, because they are the `extFields` keys on the wire. A field Java's
//! header class marks `@CFNotNull` is a plain type, so a request without it is refused with
//! [`crate::error::HeaderError::Missing`] naming the Java field; optional fields are `Option`s, or
//! plain types with Java's default where the Java class has one. The 5.x RPC field `bname` (the
//! target broker's name) is carried on the requests where the Java 5.x and Go clients send it;
//! it is always optional. Unknown keys (ACL `AccessKey`/`Signature`, the C++ `OnsChannel`, 5.x
//! `ns`/`nsd`/`oway`/`lo`) are ignored by [`crate::ext_fields::from_map`].

mod admin;
mod clients;
mod offsets;
mod pop;
mod pop_notify;
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
pub use pop::*;
pub use pop_notify::*;
pub use pull::*;
pub use query::*;
pub use relay::*;
pub use send::*;
pub use transaction::*;
