//! The controller-assigned broker id, kept across restarts in Apache 5's `brokerIdentity` file
//! (`cluster#brokerName#brokerId`) under `storePathRootDir`; while an id is being applied for,
//! `brokerIdentity-temp` also holds the check code the controller recognises on a retry.

use std::path::{Path, PathBuf};

/// A replica's claimed or confirmed id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    /// The cluster it was assigned in.
    pub cluster: String,
    /// The group it was assigned in.
    pub broker_name: String,
    /// The controller id.
    pub broker_id: i64,
    /// The temp file's check code (`ip:port;timestamp`).
    pub check_code: Option<String>,
}

/// The two files.
pub(crate) struct IdentityFiles {
    confirmed: PathBuf,
    temp: PathBuf,
}

impl IdentityFiles {
    /// The files under `root` (`storePathRootDir`).
    pub(crate) fn under(root: &Path) -> Self {
        IdentityFiles {
            confirmed: root.join("brokerIdentity"),
            temp: root.join("brokerIdentity-temp"),
        }
    }

    /// The confirmed id, if the controller ever confirmed one.
    pub(crate) fn confirmed(&self) -> Result<Option<Identity>, String> {
        read(&self.confirmed)
    }

    /// An id claimed before a crash, with its check code.
    pub(crate) fn pending(&self) -> Result<Option<Identity>, String> {
        read(&self.temp)
    }

    /// Records a claim before asking the controller to confirm it.
    pub(crate) fn write_pending(&self, id: &Identity) -> Result<(), String> {
        write(&self.temp, id)
    }

    /// Records the confirmed id and drops the claim.
    pub(crate) fn confirm(&self, id: &Identity) -> Result<(), String> {
        let confirmed = Identity {
            check_code: None,
            ..id.clone()
        };
        write(&self.confirmed, &confirmed)?;
        let _ = std::fs::remove_file(&self.temp);
        Ok(())
    }

    /// Forgets a claim the controller refused.
    pub(crate) fn drop_pending(&self) {
        let _ = std::fs::remove_file(&self.temp);
    }
}

fn read(path: &Path) -> Result<Option<Identity>, String> {
    let text = match rmq_config::persist::read_if_present(path) {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Ok(None) => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let parts: Vec<&str> = text.trim().split('#').collect();
    let damaged = || {
        format!(
            "{} is not cluster#brokerName#brokerId: delete it to have the controller assign a new id",
            path.display()
        )
    };
    let (cluster, name, id) = match parts.as_slice() {
        [c, n, id, ..] => (*c, *n, id.parse::<i64>().map_err(|_| damaged())?),
        _ => return Err(damaged()),
    };
    Ok(Some(Identity {
        cluster: cluster.to_owned(),
        broker_name: name.to_owned(),
        broker_id: id,
        check_code: parts.get(3).map(|c| (*c).to_owned()),
    }))
}

fn write(path: &Path, id: &Identity) -> Result<(), String> {
    let mut text = format!("{}#{}#{}", id.cluster, id.broker_name, id.broker_id);
    if let Some(code) = &id.check_code {
        text.push('#');
        text.push_str(code);
    }
    rmq_config::persist::write_atomically(path, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_becomes_a_confirmed_id() {
        let dir = tempfile::tempdir().unwrap();
        let files = IdentityFiles::under(dir.path());
        assert_eq!(files.confirmed().unwrap(), None);
        let claim = Identity {
            cluster: "c".into(),
            broker_name: "broker-a".into(),
            broker_id: 2,
            check_code: Some("127.0.0.1:10911;1700000000000".into()),
        };
        files.write_pending(&claim).unwrap();
        assert_eq!(files.pending().unwrap(), Some(claim.clone()));
        files.confirm(&claim).unwrap();
        assert_eq!(files.pending().unwrap(), None);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("brokerIdentity")).unwrap(),
            "c#broker-a#2"
        );
        assert_eq!(files.confirmed().unwrap().unwrap().broker_id, 2);
    }
}
