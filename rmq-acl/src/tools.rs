//! `conf/tools.yml`: the account Apache's own clients sign with when they run inside a RocketMQ
//! home (`mqadmin`; the 5.x proxy toward brokers with ACL on). Read by rmq's `mqadmin` and by
//! the gRPC proxy (docs/acl.md, "Clients"; docs/grpc-proxy.md, "ACL").

use std::path::Path;

use rmq_remoting::acl::Credentials;
use yaml_rust2::{Yaml, YamlLoader};

use crate::config::AclFileError;

/// The keys in the `tools.yml` at `path`: `None` when the file is absent or a key is blank
/// (Apache then runs unsigned too); an unreadable or invalid file is an error naming it.
pub fn tools_yml(path: &Path) -> Result<Option<Credentials>, AclFileError> {
    let fail = |line: Option<usize>, message: String| AclFileError {
        file: path.display().to_string(),
        line,
        message,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(None, format!("cannot read the file: {e}"))),
    };
    let docs = YamlLoader::load_from_str(&text)
        .map_err(|e| fail(Some(e.marker().line()), e.info().to_owned()))?;
    let Some(doc) = docs.first() else {
        return Ok(None);
    };
    let field = |name: &str| match &doc[name] {
        Yaml::String(s) => s.trim().to_owned(),
        Yaml::Integer(i) => i.to_string(),
        _ => String::new(),
    };
    let (ak, sk) = (field("accessKey"), field("secretKey"));
    if ak.is_empty() || sk.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials::new(ak, sk)))
}
