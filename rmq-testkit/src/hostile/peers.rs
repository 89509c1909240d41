//! The hostile peers, over raw TCP so they can do what no client library would: hold sockets
//! open and silent, never read, announce 2 GiB, send garbage.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rmq_remoting::frame::encode_frame;
use rmq_remoting::transport::{RemotingClient, Router, TransportConfig};
use rmq_remoting::RemotingCommand;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// What a scenario's hostile peers did and what the server did to them.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Connections opened.
    pub connections: usize,
    /// Of those, connections the server closed (refused at once by a cap, or cut off).
    pub closed_by_server: usize,
    /// Requests (or hostile frames) written.
    pub requests: usize,
    /// The longest a closed connection took to be closed after its hostile bytes.
    pub slowest_close: Option<Duration>,
}

impl Outcome {
    fn add(&mut self, other: Outcome) {
        self.connections += other.connections;
        self.closed_by_server += other.closed_by_server;
        self.requests += other.requests;
        self.slowest_close = self.slowest_close.max(other.slowest_close);
    }
}

async fn connect(addr: &str) -> std::io::Result<TcpStream> {
    tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

fn frames(command: &RemotingCommand, copies: usize) -> BytesMut {
    let mut bytes = BytesMut::new();
    for _ in 0..copies {
        encode_frame(command, &mut bytes);
    }
    bytes
}

/// Waits up to `limit` for the server to close `stream` (reading and dropping whatever it
/// sends); the time it took, or None if it stayed open.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = [0u8; 4096];
    let until_closed = async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(limit, until_closed).await.ok()
}

/// Opens `count` connections (256 connects at a time) that send nothing, holds them for `hold`,
/// and counts those the server closed meanwhile (a connection cap closes them at once).
pub async fn idle_connections(addr: &str, count: usize, hold: Duration) -> Outcome {
    let connecting = Arc::new(Semaphore::new(256));
    let mut tasks = JoinSet::new();
    for _ in 0..count {
        let (addr, connecting) = (addr.to_owned(), connecting.clone());
        tasks.spawn(async move {
            let permit = connecting.acquire_owned().await;
            let stream = connect(&addr).await;
            drop(permit);
            stream
        });
    }
    let mut streams = Vec::with_capacity(count);
    while let Some(joined) = tasks.join_next().await {
        if let Ok(Ok(stream)) = joined {
            streams.push(stream);
        }
    }
    let connections = streams.len();
    let mut watching = JoinSet::new();
    for mut stream in streams {
        watching.spawn(async move { closed_within(&mut stream, hold).await.is_some() });
    }
    let mut closed_by_server = 0;
    while let Some(joined) = watching.join_next().await {
        closed_by_server += usize::from(joined.unwrap_or(false));
    }
    Outcome {
        connections,
        closed_by_server,
        ..Outcome::default()
    }
}

/// `count` peers that write `request` as fast as the server reads it for `duration` and never
/// read a response (with a 4 KiB receive buffer, so the server's writes stall soon).
pub async fn slow_readers(
    addr: &str,
    count: usize,
    request: &RemotingCommand,
    duration: Duration,
) -> Outcome {
    const BATCH: usize = 64;
    let chunk = frames(request, BATCH).freeze();
    let deadline = tokio::time::Instant::now() + duration;
    let mut tasks = JoinSet::new();
    for _ in 0..count {
        let (addr, chunk) = (addr.to_owned(), chunk.clone());
        tasks.spawn(async move {
            let mut outcome = Outcome::default();
            let Ok(addr) = addr.parse() else {
                return outcome;
            };
            let Ok(socket) = TcpSocket::new_v4() else {
                return outcome;
            };
            let _ = socket.set_recv_buffer_size(4096);
            let Ok(mut stream) = socket.connect(addr).await else {
                return outcome;
            };
            outcome.connections = 1;
            let started = Instant::now();
            loop {
                match tokio::time::timeout_at(deadline, stream.write_all(&chunk)).await {
                    Ok(Ok(())) => outcome.requests += BATCH,
                    Ok(Err(_)) => {
                        outcome.closed_by_server = 1;
                        outcome.slowest_close = Some(started.elapsed());
                        break;
                    }
                    Err(_) => break,
                }
            }
            outcome
        });
    }
    let mut total = Outcome::default();
    while let Some(joined) = tasks.join_next().await {
        total.add(joined.unwrap_or_default());
    }
    total
}

/// `connections` peers each sending `requests` copies of `request` with an extra header field
/// of `header_bytes` bytes, one at a time, reading each response. Counts answers as requests
/// and connections the server cut off as closed.
pub async fn header_flood(
    addr: &str,
    connections: usize,
    requests: usize,
    request: &RemotingCommand,
    header_bytes: usize,
) -> Outcome {
    let mut bloated = request.clone();
    bloated
        .ext_fields
        .insert("hostilePadding".into(), "x".repeat(header_bytes));
    let mut tasks = JoinSet::new();
    for _ in 0..connections {
        let (addr, bloated) = (addr.to_owned(), bloated.clone());
        tasks.spawn(async move {
            let client = RemotingClient::new(TransportConfig::default(), Router::new());
            let mut outcome = Outcome {
                connections: 1,
                ..Outcome::default()
            };
            for _ in 0..requests {
                match client
                    .invoke(&addr, bloated.clone(), Duration::from_secs(20))
                    .await
                {
                    Ok(_) => outcome.requests += 1,
                    Err(_) => outcome.closed_by_server = 1,
                }
            }
            outcome
        });
    }
    let mut total = Outcome::default();
    while let Some(joined) = tasks.join_next().await {
        total.add(joined.unwrap_or_default());
    }
    total
}

/// Frames no server may accept, one connection each: a length prefix announcing 2 GiB, a header
/// length beyond the frame, a JSON header that is not JSON, an unknown serialization type.
/// Each connection should be closed at once.
pub async fn malformed_frames(addr: &str) -> Outcome {
    let garbage = b"{\"code\":this is not json";
    let mut not_json = Vec::new();
    not_json.extend_from_slice(&(4 + garbage.len() as u32).to_be_bytes());
    not_json.extend_from_slice(&(garbage.len() as u32).to_be_bytes());
    not_json.extend_from_slice(garbage);
    let cases: [Vec<u8>; 4] = [
        // First, so that its log line is the one a rate-limited log lets through.
        huge_frame_announcement(),
        // total 8, header length 1000: the header cannot fit.
        [8u32.to_be_bytes(), 1000u32.to_be_bytes(), [0; 4]].concat(),
        not_json,
        // serialization type 7.
        [8u32.to_be_bytes(), (7u32 << 24 | 4).to_be_bytes(), *b"{}{}"].concat(),
    ];
    let mut total = Outcome::default();
    for case in cases {
        total.add(send_and_await_close(addr, &case).await);
    }
    total
}

/// A length prefix announcing 2 GiB, then a few bytes of the frame.
pub fn huge_frame_announcement() -> Vec<u8> {
    [0x8000_0000u32.to_be_bytes(), 0u32.to_be_bytes()].concat()
}

/// Sends `bytes` on a new connection and waits up to 5 s for the server to close it.
pub async fn send_and_await_close(addr: &str, bytes: &[u8]) -> Outcome {
    let Ok(mut stream) = connect(addr).await else {
        return Outcome::default();
    };
    let mut outcome = Outcome {
        connections: 1,
        requests: 1,
        ..Outcome::default()
    };
    if stream.write_all(bytes).await.is_err() {
        outcome.closed_by_server = 1;
        outcome.slowest_close = Some(Duration::ZERO);
        return outcome;
    }
    outcome.slowest_close = closed_within(&mut stream, Duration::from_secs(5)).await;
    outcome.closed_by_server = usize::from(outcome.slowest_close.is_some());
    outcome
}

/// `parallel` peers connecting and disconnecting for `duration` as fast as they can; every
/// other connection sends `request` and leaves before the answer. Closing with SO_LINGER 0
/// (a reset) keeps the client's ports out of TIME_WAIT. `requests` counts completed connects.
pub async fn connection_storm(
    addr: &str,
    parallel: usize,
    request: &RemotingCommand,
    duration: Duration,
) -> Outcome {
    let frame = frames(request, 1).freeze();
    let deadline = Instant::now() + duration;
    let mut tasks = JoinSet::new();
    for _ in 0..parallel {
        let (addr, frame) = (addr.to_owned(), frame.clone());
        tasks.spawn(async move {
            let mut outcome = Outcome::default();
            let mut send = false;
            while Instant::now() < deadline {
                let Ok(mut stream) = connect(&addr).await else {
                    continue;
                };
                outcome.connections += 1;
                send = !send;
                if send && stream.write_all(&frame).await.is_ok() {
                    outcome.requests += 1;
                }
                let _ = stream.set_zero_linger();
            }
            outcome
        });
    }
    let mut total = Outcome::default();
    while let Some(joined) = tasks.join_next().await {
        total.add(joined.unwrap_or_default());
    }
    total
}

/// One peer writing `count` copies of `request` (one the server keeps in flight, such as a
/// long-polling pull) on one connection, reading whatever comes back, for `hold`.
pub async fn in_flight_flood(
    addr: &str,
    request: &RemotingCommand,
    count: usize,
    hold: Duration,
) -> Outcome {
    let Ok(mut stream) = connect(addr).await else {
        return Outcome::default();
    };
    let (mut reader, mut writer) = stream.split();
    let bytes = frames(request, count);
    let writing = async {
        let _ = writer.write_all(&bytes).await;
        // Keep the write half open: a shutdown would end the conversation early.
        std::future::pending::<()>().await
    };
    let draining = async {
        let mut sink = [0u8; 4096];
        loop {
            match reader.read(&mut sink).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    };
    let closed = tokio::select! {
        () = writing => false,
        closed = draining => closed,
        () = tokio::time::sleep(hold) => false,
    };
    Outcome {
        connections: 1,
        closed_by_server: usize::from(closed),
        requests: count,
        slowest_close: None,
    }
}
