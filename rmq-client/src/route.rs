//! What a client derives from a topic route: the queues a producer writes, the queues a consumer
//! reads, and where each broker's master is.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rmq_remoting::body::client::MessageQueue;
use rmq_remoting::body::route::{TopicRouteData, MASTER_ID};

/// Permission bit: the queues can be written.
const PERM_WRITE: i32 = 0x2;
/// Permission bit: the queues can be read.
const PERM_READ: i32 = 0x4;

/// A topic's writable queues, as Java's `TopicPublishInfo`: for every broker with a master,
/// `writeQueueNums` queues, brokers in name order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublishInfo {
    /// The queues, in selection order.
    pub(crate) queues: Vec<MessageQueue>,
}

impl PublishInfo {
    /// The writable queues of `topic` in `route`; `max_per_broker` caps the count per broker
    /// (used when the route is borrowed from `TBW102`).
    pub(crate) fn from_route(
        topic: &str,
        route: &TopicRouteData,
        max_per_broker: Option<i32>,
    ) -> Self {
        let mut datas = route.queue_datas.clone();
        datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        let mut queues = Vec::new();
        for qd in datas {
            if qd.perm & PERM_WRITE == 0 {
                continue;
            }
            let has_master = route.broker_datas.iter().any(|b| {
                b.broker_name == qd.broker_name && b.broker_addrs.contains_key(&MASTER_ID)
            });
            if !has_master {
                continue;
            }
            let n = max_per_broker.map_or(qd.write_queue_nums, |m| m.min(qd.write_queue_nums));
            for id in 0..n.max(0) {
                queues.push(MessageQueue::new(topic, qd.broker_name.clone(), id));
            }
        }
        PublishInfo { queues }
    }
}

/// A producer's publish infos by topic, each kept with the route it was derived from (Java's
/// `topicPublishInfoTable`): a send reuses the queue list until the client caches a new route
/// instead of cloning the route and rebuilding the list every time.
#[derive(Debug, Default)]
pub(crate) struct PublishCache(RwLock<HashMap<String, Derived>>);

/// A publish info and the route it came from.
type Derived = (Arc<TopicRouteData>, Arc<PublishInfo>);

impl PublishCache {
    /// `topic`'s publish info in `route`: the cached one while `route` is the route it came
    /// from, else derived anew and cached.
    pub(crate) fn get(&self, topic: &str, route: &Arc<TopicRouteData>) -> Arc<PublishInfo> {
        let cached = self.0.read().unwrap_or_else(|e| e.into_inner());
        if let Some((from, info)) = cached.get(topic) {
            if Arc::ptr_eq(from, route) {
                return info.clone();
            }
        }
        drop(cached);
        let info = Arc::new(PublishInfo::from_route(topic, route, None));
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(topic.to_owned(), (route.clone(), info.clone()));
        info
    }
}

/// The readable queues of `topic` in `route`, sorted as Java sorts them for allocation.
pub(crate) fn subscribe_queues(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    let mut queues: Vec<MessageQueue> = route
        .queue_datas
        .iter()
        .filter(|qd| qd.perm & PERM_READ != 0)
        .flat_map(|qd| {
            (0..qd.read_queue_nums.max(0))
                .map(move |id| MessageQueue::new(topic, qd.broker_name.clone(), id))
        })
        .collect();
    queues.sort();
    queues
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rmq_remoting::body::route::{BrokerData, QueueData};

    use super::*;

    fn route() -> TopicRouteData {
        let qd = |name: &str, perm, n| QueueData {
            broker_name: name.into(),
            perm,
            read_queue_nums: n,
            write_queue_nums: n,
            topic_sys_flag: 0,
        };
        let bd = |name: &str, ids: &[i64]| BrokerData {
            broker_addrs: ids
                .iter()
                .map(|&i| (i, format!("{name}:{i}")))
                .collect::<BTreeMap<_, _>>(),
            broker_name: name.into(),
            cluster: "c".into(),
        };
        TopicRouteData {
            broker_datas: vec![bd("b", &[0]), bd("a", &[0]), bd("slave-only", &[1])],
            queue_datas: vec![
                qd("b", 6, 2),
                qd("a", 6, 3),
                qd("slave-only", 6, 2),
                qd("ro", 4, 1),
            ],
            ..TopicRouteData::default()
        }
    }

    #[test]
    fn publish_queues_skip_read_only_and_masterless_brokers() {
        let info = PublishInfo::from_route("T", &route(), None);
        let names: Vec<_> = info
            .queues
            .iter()
            .map(|q| format!("{}{}", q.broker_name, q.queue_id))
            .collect();
        assert_eq!(names, ["a0", "a1", "a2", "b0", "b1"]);
        let capped = PublishInfo::from_route("T", &route(), Some(1));
        assert_eq!(capped.queues.len(), 2);
    }

    #[test]
    fn publish_cache_derives_again_only_for_a_new_route() {
        let cache = PublishCache::default();
        let first = Arc::new(route());
        let info = cache.get("T", &first);
        assert_eq!(info.queues.len(), 5);
        assert!(Arc::ptr_eq(&info, &cache.get("T", &first)));
        let mut changed = route();
        changed.queue_datas[0].write_queue_nums = 4;
        let second = Arc::new(changed);
        let again = cache.get("T", &second);
        assert!(!Arc::ptr_eq(&info, &again));
        assert_eq!(again.queues.len(), 7);
        assert_eq!(cache.get("U", &second).queues[0].topic, "U");
    }

    #[test]
    fn subscribe_queues_include_every_readable_queue() {
        let queues = subscribe_queues("T", &route());
        assert_eq!(queues.len(), 8);
        assert_eq!(queues[0], MessageQueue::new("T", "a", 0));
    }
}
