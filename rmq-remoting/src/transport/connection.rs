//! One connection (plain TCP, or TLS over TCP), used in both directions: it sends our requests
//! and matches responses by opaque, and hands the peer's requests to a [`Router`].
//!
//! Plain TCP keeps its own read path (split halves, read only once readable); any other stream
//! (TLS) goes through [`tokio::io::split`], so TLS costs the plaintext path nothing.
//!
//! Frames go out through a writer task, except on plain TCP the answers the read loop gives
//! inline: those of one read leave in one direct non-blocking write while nothing is queued
//! (see [`Lane`]), which saves waking the writer task for each read's answers.
//!
//! What a peer can make a connection hold is bounded: an idle connection holds no buffer (its
//! reader waits for readability before allocating), a frame being received at most
//! `max_frame_len`, requests being handled `max_in_flight_per_connection`, and responses the peer
//! does not read `max_queued_bytes_per_connection`; past that the connection stops reading the
//! peer's requests, and closes if writing makes no headway for `write_stall_timeout`.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use futures::FutureExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Semaphore, TryAcquireError};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::limits::{IN_FLIGHT_CAP, MALFORMED_FRAME};
use super::writer::{Frame, Lane, Outbound, WriteLoop, WRITE_BATCH};
use super::{Router, TransportConfig, TransportError};
use crate::command::RemotingCommand;
use crate::frame::{decode_frame, encode_frame};

/// Bytes a read asks for: one read takes in a few ordinary requests.
const READ_CHUNK: usize = 16 * 1024;

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// A handle to a live connection; cheap to clone. Dropping handles does not close it.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    peer: SocketAddr,
    /// Boxed: the channel allocates its slots up front, 32 at a time, and a bare command would
    /// make that 5 KiB per idle connection.
    writer: mpsc::Sender<Box<Outbound>>,
    /// Frames handed to the writer and not yet written: whether a direct write may go now.
    lane: Arc<Lane>,
    /// The outbound byte budget; closed when the writer stops, so waiting senders give up.
    queued_bytes: Arc<Semaphore>,
    /// Permits in `queued_bytes` when nothing is queued: the most one frame can take.
    max_queued_bytes: u32,
    pending: Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>,
    next_opaque: AtomicI32,
    closed: CancellationToken,
}

/// Tokens that let a server drain its connections in order: stop reading, finish handlers,
/// then close.
#[derive(Clone, Default)]
pub(crate) struct Lifecycle {
    /// Cancelled when no new requests should be read.
    pub stop_reading: CancellationToken,
    /// Tracks request handlers so shutdown can wait for them.
    pub handlers: TaskTracker,
    /// A server's open connections: each is in it from spawn until its reader ends.
    pub live: Option<LiveConnections>,
}

/// Open connections by id.
pub(crate) type LiveConnections = Arc<Mutex<HashMap<u64, Connection>>>;

/// Locks `m`; a poisoned lock only means another task panicked while holding it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection#{}({})", self.inner.id, self.inner.peer)
    }
}

impl Connection {
    /// Starts the reader and writer tasks for a plain TCP `stream` and returns the handle.
    pub(crate) fn spawn(
        stream: TcpStream,
        router: Arc<Router>,
        config: &TransportConfig,
        lifecycle: Lifecycle,
    ) -> Connection {
        let peer = stream
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let _ = stream.set_nodelay(true);
        let (read_half, write_half) = stream.into_split();
        Self::start(read_half, write_half, peer, router, config, lifecycle)
    }

    /// Starts the reader and writer tasks for any byte stream to `peer` (a TLS session) and
    /// returns the handle.
    pub(crate) fn spawn_stream<S>(
        stream: S,
        peer: SocketAddr,
        router: Arc<Router>,
        config: &TransportConfig,
        lifecycle: Lifecycle,
    ) -> Connection
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read_half, write_half) = tokio::io::split(stream);
        Self::start(
            StreamReader(read_half),
            write_half,
            peer,
            router,
            config,
            lifecycle,
        )
    }

    fn start<R: ReadSome, W: AsyncWrite + Unpin + Send + 'static>(
        read_half: R,
        write_half: W,
        peer: SocketAddr,
        router: Arc<Router>,
        config: &TransportConfig,
        lifecycle: Lifecycle,
    ) -> Connection {
        let (tx, rx) = mpsc::channel(config.write_queue_len.max(1));
        let max_queued_bytes = u32::try_from(config.max_queued_bytes_per_connection)
            .unwrap_or(u32::MAX)
            .max(1);
        let queued_bytes = Arc::new(Semaphore::new(max_queued_bytes as usize));
        let conn = Connection {
            inner: Arc::new(Inner {
                id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
                peer,
                writer: tx,
                lane: Arc::default(),
                queued_bytes: queued_bytes.clone(),
                max_queued_bytes,
                pending: Mutex::new(HashMap::new()),
                next_opaque: AtomicI32::new(1),
                closed: CancellationToken::new(),
            }),
        };
        if let Some(live) = &lifecycle.live {
            // Before the reader starts, which removes it when it ends.
            lock(live).insert(conn.id(), conn.clone());
        }
        let writer = WriteLoop {
            socket: write_half,
            queue: rx,
            queued_bytes,
            closed: conn.inner.closed.clone(),
            peer,
            stall_timeout: config.write_stall_timeout,
        };
        tokio::spawn(writer.run());
        let max_in_flight = config.max_in_flight_per_connection.max(1);
        let reader = ReadLoop {
            conn: conn.clone(),
            router,
            permits: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
            max_frame_len: config.max_frame_len,
            lifecycle,
        };
        tokio::spawn(reader.run(read_half));
        conn
    }

    /// A process-unique id, stable for the life of the connection.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.inner.peer
    }

    /// True once the connection is closed; a closed connection never reopens.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.is_cancelled()
    }

    /// Completes when the connection closes.
    pub async fn closed(&self) {
        self.inner.closed.cancelled().await;
    }

    /// Closes the connection; pending calls fail with [`TransportError::Closed`].
    pub fn close(&self) {
        self.inner.closed.cancel();
    }

    /// Sends a request and waits up to `timeout` for its response.
    pub async fn invoke(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, TransportError> {
        let opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.opaque = opaque;
        let (tx, rx) = oneshot::channel();
        self.pending().insert(opaque, tx);
        let result = tokio::time::timeout(timeout, async {
            self.send(request).await?;
            rx.await.map_err(|_| self.closed_error())
        })
        .await;
        match result {
            Ok(outcome) => outcome,
            Err(_) => {
                self.pending().remove(&opaque);
                Err(TransportError::Timeout {
                    addr: self.inner.peer.to_string(),
                    timeout,
                })
            }
        }
    }

    /// Sends a request that the peer will not answer.
    pub async fn invoke_oneway(&self, mut request: RemotingCommand) -> Result<(), TransportError> {
        request.opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        self.send(request.into_oneway()).await
    }

    /// Queues `command` for writing.
    async fn send(&self, command: RemotingCommand) -> Result<(), TransportError> {
        let weight = outbound_weight(&command);
        self.queue(Frame::Command(command), weight).await
    }

    /// Queues `frame` for the writer task, waiting while the outbound byte budget or the queue
    /// is full (which is how a peer that does not read stops having its requests read).
    async fn queue(&self, frame: Frame, weight: usize) -> Result<(), TransportError> {
        if self.is_closed() {
            return Err(self.closed_error());
        }
        let ticket = self.inner.lane.ticket();
        let budget = self
            .inner
            .queued_bytes
            .clone()
            .acquire_many_owned(self.budget_weight(weight))
            .await
            .map_err(|_| self.closed_error())?;
        let outbound = Outbound {
            frame,
            budget,
            ticket,
        };
        self.inner
            .writer
            .send(Box::new(outbound))
            .await
            .map_err(|_| self.closed_error())
    }

    /// The budget permits for `weight` bytes: one frame may take the whole budget, not more.
    fn budget_weight(&self, weight: usize) -> u32 {
        u32::try_from(weight)
            .unwrap_or(u32::MAX)
            .min(self.inner.max_queued_bytes)
    }

    /// Writes `frames` (whole encoded frames) to `socket`, this connection's TCP socket,
    /// without waking the writer task when nothing is queued and the socket takes them; what
    /// it does not take, or all if frames are queued, goes to the writer task behind those.
    async fn write_direct(
        &self,
        socket: &TcpStream,
        frames: BytesMut,
    ) -> Result<(), TransportError> {
        if self.is_closed() {
            return Err(self.closed_error());
        }
        match self.try_write_now(socket, frames)? {
            None => Ok(()),
            Some(frames) => {
                let weight = frames.len();
                self.queue(Frame::Encoded(frames.freeze()), weight).await
            }
        }
    }

    /// The direct write, under the lane's lock: None once `frames` are on the socket, or their
    /// written part is and the rest queued first in line; `frames` untouched when frames are
    /// queued already.
    fn try_write_now(
        &self,
        socket: &TcpStream,
        mut frames: BytesMut,
    ) -> Result<Option<BytesMut>, TransportError> {
        let mut queued = lock(&self.inner.lane.queued);
        if *queued > 0 {
            return Ok(Some(frames));
        }
        let written = match socket.try_write(&frames) {
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => 0,
            Err(_) => {
                self.close();
                return Err(self.closed_error());
            }
        };
        if written == frames.len() {
            return Ok(None);
        }
        frames.advance(written);
        // The rest must leave before any frame queued after it, so it goes into the queue
        // before the lock is let go. Nothing is queued: the queue has room and the whole budget
        // is free (a frame takes its place before its budget and gives it back after).
        let budget = self
            .inner
            .queued_bytes
            .clone()
            .try_acquire_many_owned(self.budget_weight(frames.len()))
            .map_err(|_| self.closed_error())?;
        let outbound = Outbound {
            frame: Frame::Encoded(frames.freeze()),
            budget,
            ticket: self.inner.lane.ticket_locked(&mut queued),
        };
        let refused = self.inner.writer.try_send(Box::new(outbound)).err();
        // A refused frame's ticket locks the lane when dropped: let the lock go first.
        drop(queued);
        match refused {
            None => Ok(None),
            Some(_) => Err(self.closed_error()),
        }
    }

    fn closed_error(&self) -> TransportError {
        TransportError::Closed(self.inner.peer.to_string())
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<i32, oneshot::Sender<RemotingCommand>>> {
        lock(&self.inner.pending)
    }
}

/// About the bytes `command` takes as a frame: exact enough to bound memory, cheap to compute.
fn outbound_weight(command: &RemotingCommand) -> usize {
    let fields: usize = command
        .ext_fields
        .iter()
        .map(|(k, v)| k.len() + v.len() + 8)
        .sum();
    let remark = command.remark.as_ref().map_or(0, String::len);
    64 + fields + remark + command.body.len()
}

struct ReadLoop {
    conn: Connection,
    router: Arc<Router>,
    permits: Arc<Semaphore>,
    max_in_flight: usize,
    max_frame_len: usize,
    lifecycle: Lifecycle,
}

impl ReadLoop {
    async fn run(self, mut socket: impl ReadSome) {
        let closed = self.conn.inner.closed.clone();
        let mut buffer = BytesMut::new();
        let mut warned_in_flight = false;
        loop {
            let more = {
                let mut replies = Replies {
                    conn: &self.conn,
                    socket: socket.tcp(),
                    frames: BytesMut::new(),
                };
                let more = self
                    .handle_frames(&mut buffer, &mut replies, &mut warned_in_flight)
                    .await;
                // Written before waiting for the next read, even when reading stops here.
                replies.flush().await && more
            };
            if !more {
                break;
            }
            let read = tokio::select! {
                read = socket.read_some(&mut buffer) => read,
                () = closed.cancelled() => break,
                () = self.lifecycle.stop_reading.cancelled() => break,
            };
            if !matches!(read, Ok(n) if n > 0) {
                break;
            }
        }
        if !self.lifecycle.stop_reading.is_cancelled() {
            closed.cancel();
        } else {
            // Server shutdown: let in-flight handlers answer before the socket goes.
            self.lifecycle.handlers.wait().await;
            closed.cancel();
        }
        self.conn.pending().clear();
        if let Some(live) = &self.lifecycle.live {
            lock(live).remove(&self.conn.id());
        }
        self.router.connection_closed(&self.conn);
    }

    /// Handles the complete frames in `buffer`, answers given inline going to `replies`; false
    /// when the connection must stop reading.
    async fn handle_frames(
        &self,
        buffer: &mut BytesMut,
        replies: &mut Replies<'_>,
        warned_in_flight: &mut bool,
    ) -> bool {
        loop {
            match decode_frame(buffer, self.max_frame_len) {
                Ok(Some(command)) => {
                    if !self.handle(command, replies, warned_in_flight).await {
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(err) => {
                    if let Some(suppressed) = MALFORMED_FRAME.admit() {
                        tracing::warn!(peer = %self.conn.peer_addr(), error = %err, suppressed, "closing connection: malformed frame");
                    }
                    return false;
                }
            }
        }
    }

    /// Completes our call that `command` answers, or handles the peer's request; false when
    /// the connection closed meanwhile.
    async fn handle(
        &self,
        command: RemotingCommand,
        replies: &mut Replies<'_>,
        warned_in_flight: &mut bool,
    ) -> bool {
        if command.is_response() {
            self.complete(command);
            return true;
        }
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return false,
            Err(TryAcquireError::NoPermits) => {
                if !*warned_in_flight {
                    *warned_in_flight = true;
                    if let Some(suppressed) = IN_FLIGHT_CAP.admit() {
                        tracing::warn!(
                            peer = %self.conn.peer_addr(),
                            limit = self.max_in_flight,
                            suppressed,
                            "the peer has maxInFlightPerConnection requests in flight: its further requests \
                             wait unread until one is answered (raise maxInFlightPerConnection if it is legitimate)"
                        );
                    }
                }
                // The answers so far need not wait for other requests' handlers.
                if !replies.flush().await {
                    return false;
                }
                tokio::select! {
                    permit = self.permits.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => return false,
                    },
                    () = self.conn.closed() => return false,
                }
            }
        };
        let oneway = command.is_oneway();
        let (conn, router) = (self.conn.clone(), self.router.clone());
        let mut handling = Box::pin(async move { router.dispatch(conn, command).await });
        // Most handlers finish without waiting (in-memory work, an ASYNC_FLUSH append):
        // answering them here saves a task per request and lets one read's worth of requests
        // leave in one write. Handlers that wait (long polling, SYNC_FLUSH) go on in a task of
        // their own.
        match handling.as_mut().now_or_never() {
            Some(response) => {
                if !oneway {
                    replies.push(response).await;
                }
                drop(permit);
            }
            None => {
                let conn = self.conn.clone();
                self.lifecycle.handlers.spawn(async move {
                    let response = handling.await;
                    if !oneway {
                        let _ = conn.send(response).await;
                    }
                    drop(permit);
                });
            }
        }
        true
    }

    fn complete(&self, response: RemotingCommand) {
        let waiter = self.conn.pending().remove(&response.opaque);
        match waiter {
            Some(tx) => {
                let _ = tx.send(response);
            }
            None => {
                tracing::debug!(opaque = response.opaque, peer = %self.conn.peer_addr(), "response for an unknown or timed-out request")
            }
        }
    }
}

/// The answers the read loop gives inline between two reads. On plain TCP they are encoded
/// into one buffer that leaves in one direct write ([`Connection::write_direct`]) once the
/// read's frames are handled; on other streams (TLS, in-process) each is queued for the writer
/// task at once.
struct Replies<'a> {
    conn: &'a Connection,
    /// The TCP socket to write to directly, if the stream is one.
    socket: Option<&'a TcpStream>,
    frames: BytesMut,
}

impl Replies<'_> {
    /// Adds an answer; a full write's worth goes out at once, which bounds the buffer.
    async fn push(&mut self, response: RemotingCommand) {
        if self.socket.is_none() {
            let _ = self.conn.send(response).await;
            return;
        }
        encode_frame(&response, &mut self.frames);
        if self.frames.len() >= WRITE_BATCH {
            self.flush().await;
        }
    }

    /// Writes the answers so far; false when the connection is closed.
    async fn flush(&mut self) -> bool {
        let Some(socket) = self.socket else {
            return !self.conn.is_closed();
        };
        if self.frames.is_empty() {
            return !self.conn.is_closed();
        }
        let frames = std::mem::take(&mut self.frames);
        self.conn.write_direct(socket, frames).await.is_ok()
    }
}

/// The read side of a connection: appends what the peer sent to a buffer.
pub(crate) trait ReadSome: Send + 'static {
    /// Reads what is available into `buffer`; Ok(0) at end of stream.
    fn read_some(
        &mut self,
        buffer: &mut BytesMut,
    ) -> impl Future<Output = io::Result<usize>> + Send;

    /// The TCP socket under this read half, for writing answers directly; None for a stream
    /// whose writes must all go through the writer task (TLS, in-process).
    fn tcp(&self) -> Option<&TcpStream> {
        None
    }
}

impl ReadSome for OwnedReadHalf {
    fn tcp(&self) -> Option<&TcpStream> {
        Some(self.as_ref())
    }

    /// An empty buffer is freed and allocated again only once the socket is readable, so the
    /// thousands of connections that sit idle between requests hold no buffer.
    async fn read_some(&mut self, buffer: &mut BytesMut) -> io::Result<usize> {
        loop {
            if buffer.is_empty() && buffer.capacity() > 0 {
                *buffer = BytesMut::new();
            }
            self.readable().await?;
            buffer.reserve(READ_CHUNK);
            match self.try_read_buf(buffer) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                other => return other,
            }
        }
    }
}

/// The read half of a stream that cannot say it is readable without being read (TLS): it
/// keeps one read's worth of buffer while idle, on top of the TLS session's own buffers
/// (docs/tls.md).
struct StreamReader<R>(R);

impl<R: AsyncRead + Unpin + Send + 'static> ReadSome for StreamReader<R> {
    async fn read_some(&mut self, buffer: &mut BytesMut) -> io::Result<usize> {
        buffer.reserve(READ_CHUNK);
        self.0.read_buf(buffer).await
    }
}
