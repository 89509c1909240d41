//! The transport's caps over real TCP: a peer that never reads its responses stops having its
//! requests read (bounded memory), is answered in full once it reads again, and is closed when
//! it stays silent past the write-stall timeout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rmq_remoting::frame::{decode_frame, encode_frame};
use rmq_remoting::transport::{serve, Connection, Router, TransportConfig};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const RESPONSE_BODY: usize = 64 * 1024;
const REQUESTS: usize = 5_000;

/// A server whose every answer is a 64 KiB body, counting the requests it handled.
async fn big_answers(config: TransportConfig) -> (String, Arc<AtomicUsize>) {
    let handled = Arc::new(AtomicUsize::new(0));
    let counter = handled.clone();
    let router = Router::new().route(
        RequestCode::GET_KV_CONFIG,
        move |_conn: Connection, _req: RemotingCommand| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok::<_, CommandError>(
                    RemotingCommand::success().with_body(vec![7u8; RESPONSE_BODY]),
                )
            }
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve(listener, router, config, std::future::pending()));
    (addr, handled)
}

fn requests(count: usize) -> BytesMut {
    let mut bytes = BytesMut::new();
    for opaque in 0..count {
        let mut request = RemotingCommand::request_without_header(RequestCode::GET_KV_CONFIG);
        request.opaque = opaque as i32;
        encode_frame(&request, &mut bytes);
    }
    bytes
}

#[tokio::test]
async fn a_peer_that_does_not_read_stops_being_read_and_is_answered_in_full_once_it_reads() {
    let (addr, handled) = big_answers(TransportConfig {
        max_queued_bytes_per_connection: 256 * 1024,
        write_stall_timeout: Duration::from_secs(60),
        ..TransportConfig::default()
    })
    .await;
    let mut peer = TcpStream::connect(&addr).await.unwrap();
    // 5,000 small requests (about 0.5 MB) fit in the socket buffers; their answers (320 MB) do not.
    peer.write_all(&requests(REQUESTS)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let while_not_reading = handled.load(Ordering::SeqCst);
    // What the kernel's buffers hold (a few MiB on loopback) plus the 256 KiB queue, in 64 KiB
    // answers: far fewer than the requests sent.
    assert!(
        while_not_reading < 500,
        "{while_not_reading} requests handled for a peer that reads nothing"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        handled.load(Ordering::SeqCst),
        while_not_reading,
        "the server kept reading requests from a peer that reads nothing"
    );
    let mut buffer = BytesMut::new();
    let mut answered = 0;
    while answered < REQUESTS {
        let read = tokio::time::timeout(Duration::from_secs(10), peer.read_buf(&mut buffer))
            .await
            .expect("answers keep coming once the peer reads")
            .unwrap();
        assert!(read > 0, "closed after {answered} answers");
        while let Some(answer) = decode_frame(&mut buffer, 1 << 20).unwrap() {
            assert_eq!(answer.body.len(), RESPONSE_BODY);
            answered += 1;
        }
    }
    assert_eq!(handled.load(Ordering::SeqCst), REQUESTS);
}

#[tokio::test]
async fn a_peer_silent_past_the_write_stall_timeout_is_closed() {
    let (addr, handled) = big_answers(TransportConfig {
        write_stall_timeout: Duration::from_millis(500),
        ..TransportConfig::default()
    })
    .await;
    let mut peer = TcpStream::connect(&addr).await.unwrap();
    peer.write_all(&requests(REQUESTS)).await.unwrap();
    // Once the server gives up, the unread answers are thrown away with a reset; reading then
    // ends within a few seconds, well before 5,000 answers (320 MB) could have arrived.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut buffer = vec![0u8; 1 << 20];
    let mut received = 0usize;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match peer.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received += n,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection stayed open");
    assert!(
        received < REQUESTS * RESPONSE_BODY / 2,
        "{received} bytes arrived: the server did not give up"
    );
    assert!(handled.load(Ordering::SeqCst) < REQUESTS);
}
