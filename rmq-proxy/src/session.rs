//! The client registry: every gRPC client by its client id (the `x-mq-client-id` metadata every
//! 5.x SDK sends), with the settings it announced on its telemetry stream, the sender of that
//! stream (how the proxy pushes commands to it) and when it was last heard from.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::proto::v2::{self, settings::PubSub, Code, TelemetryCommand};
use crate::status;

/// The metadata key carrying the client id.
pub const CLIENT_ID_KEY: &str = "x-mq-client-id";

/// Where the proxy writes commands to one client's telemetry stream.
pub type TelemetrySender = mpsc::Sender<Result<TelemetryCommand, tonic::Status>>;

/// The client id of a request; CLIENT_ID_REQUIRED when missing or empty, as Apache's proxy.
pub fn client_id(metadata: &tonic::metadata::MetadataMap) -> Result<String, v2::Status> {
    metadata
        .get(CLIENT_ID_KEY)
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| status::of(Code::ClientIdRequired, "client id cannot be empty"))
}

/// One client as the proxy knows it.
struct Session {
    /// What the client sent on its telemetry stream, as it sent it.
    settings: Option<v2::Settings>,
    /// The open telemetry stream, if any.
    telemetry: Option<TelemetrySender>,
    /// Last request of any kind.
    last_seen: Instant,
}

/// The clients the proxy knows, by client id.
#[derive(Default)]
pub struct Sessions {
    clients: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn entry<R>(&self, client_id: &str, f: impl FnOnce(&mut Session) -> R) -> R {
        let mut clients = self.lock();
        let session = clients
            .entry(client_id.to_owned())
            .or_insert_with(|| Session {
                settings: None,
                telemetry: None,
                last_seen: Instant::now(),
            });
        session.last_seen = Instant::now();
        f(session)
    }

    /// Notes that `client_id` is alive.
    pub fn touch(&self, client_id: &str) {
        self.entry(client_id, |_| ());
    }

    /// Whether the proxy knows `client_id` (Apache's "the client has a channel"): it spoke and
    /// has neither said goodbye nor been forgotten for silence.
    pub fn contains(&self, client_id: &str) -> bool {
        self.lock().contains_key(client_id)
    }

    /// The settings `client_id` announced, if it did.
    pub fn settings(&self, client_id: &str) -> Option<v2::Settings> {
        self.lock().get(client_id).and_then(|s| s.settings.clone())
    }

    /// Records the settings `client_id` announced and the stream it announced them on.
    pub fn announce(&self, client_id: &str, settings: v2::Settings, telemetry: TelemetrySender) {
        self.entry(client_id, |s| {
            s.settings = Some(settings);
            s.telemetry = Some(telemetry);
        });
    }

    /// Forgets `client_id`'s telemetry stream (it ended) unless a newer one replaced it.
    pub fn stream_closed(&self, client_id: &str, telemetry: &TelemetrySender) {
        if let Some(session) = self.lock().get_mut(client_id) {
            if session
                .telemetry
                .as_ref()
                .is_some_and(|t| t.same_channel(telemetry))
            {
                session.telemetry = None;
            }
        }
    }

    /// Forgets `client_id` (it said goodbye); returns the settings it had.
    pub fn remove(&self, client_id: &str) -> Option<v2::Settings> {
        self.lock().remove(client_id).and_then(|s| s.settings)
    }

    /// The telemetry streams of the producers publishing to `topic`, for transaction
    /// check-backs.
    pub fn producers_of(&self, topic: &str) -> Vec<TelemetrySender> {
        self.lock()
            .values()
            .filter(
                |s| match s.settings.as_ref().and_then(|s| s.pub_sub.as_ref()) {
                    Some(PubSub::Publishing(p)) => p.topics.iter().any(|t| t.name == topic),
                    _ => false,
                },
            )
            .filter_map(|s| s.telemetry.clone())
            .collect()
    }

    /// Forgets clients silent for longer than `idle` that have no open telemetry stream;
    /// returns how many.
    pub fn expire(&self, idle: Duration) -> usize {
        let mut clients = self.lock();
        let before = clients.len();
        clients.retain(|_, s| {
            s.last_seen.elapsed() < idle || s.telemetry.as_ref().is_some_and(|t| !t.is_closed())
        });
        before - clients.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_comes_from_metadata() {
        let mut md = tonic::metadata::MetadataMap::new();
        assert_eq!(
            client_id(&md).unwrap_err().code,
            Code::ClientIdRequired as i32
        );
        md.insert(CLIENT_ID_KEY, "host@1@0".parse().unwrap());
        assert_eq!(client_id(&md).unwrap(), "host@1@0");
    }

    #[test]
    fn producers_are_found_by_topic_and_closed_streams_are_forgotten() {
        let sessions = Sessions::default();
        let (tx, _rx) = mpsc::channel(1);
        let settings = v2::Settings {
            pub_sub: Some(PubSub::Publishing(v2::Publishing {
                topics: vec![v2::Resource {
                    name: "T".into(),
                    ..Default::default()
                }],
                ..Default::default()
            })),
            ..Default::default()
        };
        sessions.announce("c1", settings, tx.clone());
        assert_eq!(sessions.producers_of("T").len(), 1);
        assert!(sessions.producers_of("U").is_empty());
        sessions.stream_closed("c1", &tx);
        assert!(sessions.producers_of("T").is_empty());
        assert_eq!(sessions.expire(Duration::ZERO), 1);
        assert!(sessions.settings("c1").is_none());
    }
}
