//! Logged-in sessions: random 256-bit ids (the cookie) mapped to the user, their role and
//! the session's CSRF token; a session unused for the idle time is gone.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::users::Role;

/// The session cookie's name.
pub const COOKIE: &str = "rmq_session";

/// What a request on a live session knows about its user.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session id (the cookie's value).
    pub id: String,
    /// The user's name.
    pub user: String,
    /// What the user may do.
    pub role: Role,
    /// The token every POST of this session must carry.
    pub csrf: String,
}

struct Entry {
    session: Session,
    last_seen: Instant,
}

/// Every live session.
pub struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
    idle: Duration,
}

impl Sessions {
    /// Sessions that end after `idle` without a request.
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            idle,
        }
    }

    /// Starts a session for `user`; `None` only when the system random source fails.
    pub fn create(&self, user: &str, role: Role) -> Option<Session> {
        let session = Session {
            id: random_token()?,
            user: user.to_owned(),
            role,
            csrf: random_token()?,
        };
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, e| now.duration_since(e.last_seen) < self.idle);
        map.insert(
            session.id.clone(),
            Entry {
                session: session.clone(),
                last_seen: now,
            },
        );
        Some(session)
    }

    /// The live session `id` names, marked used now; `None` when unknown or idle too long.
    pub fn touch(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.get_mut(id)?;
        if now.duration_since(entry.last_seen) >= self.idle {
            map.remove(id);
            return None;
        }
        entry.last_seen = now;
        Some(entry.session.clone())
    }

    /// Ends session `id` (logout).
    pub fn remove(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

/// 32 random bytes as 64 hex digits; `None` when the system random source fails.
pub fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_sessions_end() {
        let sessions = Sessions::new(Duration::from_millis(50));
        let s = sessions.create("u", Role::Admin).unwrap();
        assert_eq!(s.id.len(), 64);
        assert_ne!(s.id, s.csrf);
        assert!(sessions.touch(&s.id).is_some());
        std::thread::sleep(Duration::from_millis(80));
        assert!(sessions.touch(&s.id).is_none());
    }
}
