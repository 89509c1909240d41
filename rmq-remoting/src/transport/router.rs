//! Dispatch of incoming requests to one handler per request code.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures::FutureExt;

use super::Connection;
use crate::code::{RequestCode, ResponseCode};
use crate::command::RemotingCommand;
use crate::error::CommandError;

/// What a handler returns: the response, or a refusal with a RocketMQ code and a remark.
pub type HandlerResult = Result<RemotingCommand, CommandError>;

/// Handles requests of one code. Implemented for every `async fn(Connection, RemotingCommand)`.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request that arrived on `conn`.
    fn call(
        &self,
        conn: Connection,
        request: RemotingCommand,
    ) -> Pin<Box<dyn Future<Output = HandlerResult> + Send>>;
}

impl<F, Fut> Handler for F
where
    F: Fn(Connection, RemotingCommand) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    fn call(
        &self,
        conn: Connection,
        request: RemotingCommand,
    ) -> Pin<Box<dyn Future<Output = HandlerResult> + Send>> {
        Box::pin(self(conn, request))
    }
}

/// Adapts `async fn(state, conn, request)` to a [`Handler`] bound to a server's shared state
/// (the broker's context, the controller), so every route gets its own clone of the `Arc`.
pub fn with_state<S, F, Fut>(state: &Arc<S>, f: F) -> impl Handler
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Connection, RemotingCommand) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    let state = state.clone();
    move |conn: Connection, request: RemotingCommand| f(state.clone(), conn, request)
}

type CloseHook = Arc<dyn Fn(&Connection) + Send + Sync>;

/// Looks at every request before its handler runs and may refuse it (ACL, audit logging).
///
/// Guards run for every request code, known or not, as Apache's RPC hooks do; they are plain
/// functions, not futures, so a guard that only reads the request costs no allocation.
pub type Guard =
    Arc<dyn Fn(&Connection, &RemotingCommand) -> Result<(), CommandError> + Send + Sync>;

/// Told of every handled request: (request code, response code, oneway, time taken).
pub type RequestObserver = Arc<dyn Fn(i32, i32, bool, std::time::Duration) + Send + Sync>;

/// Maps request codes to handlers, and tells interested parties when a connection closes
/// (the name server drops a broker whose registering connection closed).
#[derive(Default, Clone)]
pub struct Router {
    routes: HashMap<i32, Arc<dyn Handler>>,
    close_hooks: Vec<CloseHook>,
    guards: Vec<Guard>,
    observer: Option<RequestObserver>,
}

impl Router {
    /// A router that answers every request with `REQUEST_CODE_NOT_SUPPORTED`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles requests with `code` by `handler`, replacing any earlier handler for it.
    pub fn route(mut self, code: RequestCode, handler: impl Handler) -> Self {
        self.routes.insert(code.as_i32(), Arc::new(handler));
        self
    }

    /// Calls `hook` once for every connection that closes, for whatever reason.
    pub fn on_close(mut self, hook: impl Fn(&Connection) + Send + Sync + 'static) -> Self {
        self.close_hooks.push(Arc::new(hook));
        self
    }

    /// Runs `guard` before every request's handler. Guards run in the order they were added;
    /// the first refusal becomes the response and the later guards and the handler never see
    /// the request.
    pub fn guard(
        mut self,
        guard: impl Fn(&Connection, &RemotingCommand) -> Result<(), CommandError>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.guards.push(Arc::new(guard));
        self
    }

    /// Reports every handled request to `observer` (request latency metrics); without one,
    /// dispatch reads no clock.
    pub fn observe(mut self, observer: RequestObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Produces the response to `request`: a guard's refusal, the handler's answer, its
    /// refusal, or `REQUEST_CODE_NOT_SUPPORTED`. A panicking handler becomes `SYSTEM_ERROR`, never a dead
    /// server.
    pub(crate) async fn dispatch(
        &self,
        conn: Connection,
        request: RemotingCommand,
    ) -> RemotingCommand {
        let (code, opaque, serialize_type) = (request.code, request.opaque, request.serialize_type);
        let started = self
            .observer
            .as_ref()
            .map(|_| (std::time::Instant::now(), request.is_oneway()));
        let refusal = self
            .guards
            .iter()
            .find_map(|guard| guard(&conn, &request).err());
        let response = match (refusal, self.routes.get(&code)) {
            (Some(refusal), _) => refusal.into(),
            (None, None) => RemotingCommand::response(
                ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                Some(format!(" request type {code} not supported")),
            ),
            (None, Some(handler)) => {
                let peer = conn.peer_addr();
                match AssertUnwindSafe(handler.call(conn, request))
                    .catch_unwind()
                    .await
                {
                    Ok(Ok(response)) => response,
                    Ok(Err(refusal)) => refusal.into(),
                    Err(_) => {
                        tracing::error!(code, %peer, "request handler panicked");
                        RemotingCommand::response(
                            ResponseCode::SYSTEM_ERROR,
                            Some(format!("internal error while handling request code {code}")),
                        )
                    }
                }
            }
        };
        if let (Some(observer), Some((at, oneway))) = (&self.observer, started) {
            observer(code, response.code, oneway, at.elapsed());
        }
        response.answer_to(opaque, serialize_type)
    }

    pub(crate) fn connection_closed(&self, conn: &Connection) {
        for hook in &self.close_hooks {
            hook(conn);
        }
    }
}
