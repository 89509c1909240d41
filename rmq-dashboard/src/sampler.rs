//! The console's one background task: every `sample_interval_secs` it reads the cluster
//! (GET_BROKER_CLUSTER_INFO) and each broker's runtime figures (GET_BROKER_RUNTIME_INFO),
//! keeping the latest figures for the cluster page and a bounded ring of put/get TPS per
//! broker for the charts. Pages read the last snapshot and never fan out to every broker.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rmq_client::Admin;
use rmq_remoting::body::route::ClusterInfo;

/// One TPS reading of one broker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TpsSample {
    /// Seconds since the epoch.
    pub at: u64,
    /// Messages stored per second (the broker's 10-second figure).
    pub put: f64,
    /// Messages delivered per second (`getTransferedTps`).
    pub get: f64,
}

/// What the console last learnt about one broker.
#[derive(Debug, Clone, Default)]
pub struct BrokerView {
    /// The broker's cluster.
    pub cluster: String,
    /// The broker group's name.
    pub name: String,
    /// 0 for the master, above for slaves.
    pub id: i64,
    /// The broker's `ip:port`.
    pub addr: String,
    /// The last runtime figures; empty when the broker did not answer.
    pub runtime: BTreeMap<String, String>,
    /// Why the last reading failed.
    pub error: Option<String>,
    /// TPS readings, oldest first, at most `sample_history`.
    pub samples: VecDeque<TpsSample>,
}

/// The last reading of the whole cluster.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The name server's view, when it answered.
    pub cluster: Option<ClusterInfo>,
    /// Why the name server's view is missing.
    pub error: Option<String>,
    /// Brokers by address.
    pub brokers: BTreeMap<String, BrokerView>,
    /// When the reading finished (seconds since the epoch); 0 before the first.
    pub at: u64,
}

/// The shared, periodically refreshed [`Snapshot`].
pub struct Sampler {
    snapshot: RwLock<Arc<Snapshot>>,
    history: usize,
}

impl Sampler {
    /// An empty sampler keeping `history` readings per broker.
    pub fn new(history: usize) -> Sampler {
        Sampler {
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            history,
        }
    }

    /// The latest snapshot (cheap: a shared pointer).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads the cluster once and appends to the rings.
    pub async fn sample(&self, admin: &Admin) {
        let prev = self.snapshot();
        let mut next = Snapshot {
            at: now_secs(),
            ..Snapshot::default()
        };
        match admin.cluster_info().await {
            Ok(info) => {
                for bd in info.broker_addr_table.values() {
                    for (id, addr) in &bd.broker_addrs {
                        let mut view = prev.brokers.get(addr).cloned().unwrap_or_default();
                        view.cluster.clone_from(&bd.cluster);
                        view.name.clone_from(&bd.broker_name);
                        view.id = *id;
                        view.addr.clone_from(addr);
                        match admin.broker_runtime_stats(addr).await {
                            Ok(rt) => {
                                view.samples.push_back(TpsSample {
                                    at: next.at,
                                    put: first_figure(rt.get("putTps")),
                                    get: first_figure(rt.get("getTransferedTps")),
                                });
                                while view.samples.len() > self.history {
                                    view.samples.pop_front();
                                }
                                view.runtime = rt;
                                view.error = None;
                            }
                            Err(e) => {
                                view.runtime.clear();
                                view.error = Some(e.to_string());
                            }
                        }
                        next.brokers.insert(addr.clone(), view);
                    }
                }
                next.cluster = Some(info);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the cluster from the name server");
                next.error = Some(e.to_string());
                next.brokers = prev.brokers.clone();
            }
        }
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
    }

    /// Samples now and then every `every`, for as long as the process runs.
    pub fn spawn(self: &Arc<Self>, admin: Arc<Admin>, every: Duration) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                me.sample(&admin).await;
            }
        });
    }
}

/// The first number of a broker's "10s 60s 600s" TPS figure; 0 when absent or unreadable.
fn first_figure(value: Option<&String>) -> f64 {
    value
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_ten_second_figure() {
        assert_eq!(first_figure(Some(&"12.5 3.0 1.0".to_owned())), 12.5);
        assert_eq!(first_figure(Some(&"junk".to_owned())), 0.0);
        assert_eq!(first_figure(None), 0.0);
    }
}
