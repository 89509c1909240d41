//! Who becomes master (Apache's `DefaultElectPolicy`): an alive member of the in-sync set,
//! keeping a live master, honouring a designated replica, otherwise the most up-to-date
//! candidate; outside the in-sync set only when unclean elections are enabled
//! (docs/controller.md, "Elections").

use std::collections::BTreeSet;

use crate::liveness::LiveInfo;

/// The inputs of one election.
pub struct Ballot<'a> {
    /// The in-sync set.
    pub sync_state_set: &'a BTreeSet<i64>,
    /// Every member, when unclean elections are enabled.
    pub unclean_candidates: Option<&'a BTreeSet<i64>>,
    /// The current master, if any.
    pub old_master: Option<i64>,
    /// A replica the administrator designated; only it may win.
    pub designated: Option<i64>,
}

/// Picks the new master; `live` says what the last heartbeat of an id reported, `None` for a
/// dead replica.
pub fn elect(ballot: &Ballot<'_>, live: impl Fn(i64) -> Option<LiveInfo>) -> Option<i64> {
    try_elect(ballot.sync_state_set, ballot, &live).or_else(|| {
        ballot
            .unclean_candidates
            .and_then(|all| try_elect(all, ballot, &live))
    })
}

fn try_elect(
    pool: &BTreeSet<i64>,
    ballot: &Ballot<'_>,
    live: &impl Fn(i64) -> Option<LiveInfo>,
) -> Option<i64> {
    let alive: Vec<(i64, LiveInfo)> = pool
        .iter()
        .filter_map(|id| live(*id).map(|info| (*id, info)))
        .collect();
    if alive.is_empty() {
        return None;
    }
    let has = |id: i64| alive.iter().any(|(a, _)| *a == id);
    if let Some(old) = ballot.old_master {
        if has(old) && ballot.designated.is_none_or(|d| d == old) {
            return Some(old);
        }
    }
    if let Some(designated) = ballot.designated {
        return has(designated).then_some(designated);
    }
    // Newest epoch first, then the longest log, then the lowest priority value, then the
    // lowest id so every controller would pick the same replica.
    alive
        .iter()
        .min_by_key(|(id, info)| {
            (
                std::cmp::Reverse(info.epoch),
                std::cmp::Reverse(info.max_offset),
                info.election_priority,
                *id,
            )
        })
        .map(|(id, _)| *id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn info(epoch: i32, max_offset: i64, election_priority: i32) -> LiveInfo {
        LiveInfo {
            cluster: "c".into(),
            address: "a".into(),
            last: Instant::now(),
            timeout: Duration::from_secs(1),
            epoch,
            max_offset,
            confirm_offset: 0,
            election_priority,
            connection: 0,
        }
    }

    #[test]
    fn policy_matches_apache() {
        let sync: BTreeSet<i64> = [1, 2, 3].into();
        let all: BTreeSet<i64> = [1, 2, 3, 4].into();
        let live = |id| match id {
            2 => Some(info(3, 100, 5)),
            3 => Some(info(3, 100, 1)),
            4 => Some(info(9, 999, 0)),
            _ => None,
        };
        let ballot = |old, designated, unclean| Ballot {
            sync_state_set: &sync,
            unclean_candidates: unclean,
            old_master: old,
            designated,
        };
        // Master 1 is dead: equal epoch and offset, priority decides.
        assert_eq!(elect(&ballot(Some(1), None, None), live), Some(3));
        // A live master stays.
        assert_eq!(elect(&ballot(Some(2), None, None), live), Some(2));
        assert_eq!(elect(&ballot(Some(2), Some(3), None), live), Some(3));
        assert_eq!(elect(&ballot(Some(2), Some(4), None), live), None);
        // Out-of-sync 4 only when unclean, and only if no in-sync one lives.
        let only4 = |id| (id == 4).then(|| info(9, 999, 0));
        assert_eq!(elect(&ballot(Some(1), None, None), only4), None);
        assert_eq!(elect(&ballot(Some(1), None, Some(&all)), only4), Some(4));
        assert_eq!(elect(&ballot(Some(1), None, Some(&all)), live), Some(3));
    }
}
