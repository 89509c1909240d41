//! Answers given inline leave in direct writes on the socket, answers of handlers that wait
//! through the writer task: mixed on one connection, under a peer that reads slowly (so direct
//! writes are partial and the queue fills), every answer must arrive whole and exactly once.

use std::collections::HashSet;
use std::time::Duration;

use bytes::BytesMut;
use rmq_remoting::frame::{decode_frame, encode_frame};
use rmq_remoting::transport::{serve, Connection, Router, TransportConfig};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const REQUESTS: i32 = 3_000;

/// The body answering request `opaque`: its size and bytes tell answers apart, so a torn or
/// interleaved frame cannot pass for another.
fn body_for(opaque: i32) -> Vec<u8> {
    let len = (opaque as usize * 7919) % (48 * 1024);
    vec![(opaque % 251) as u8; len]
}

/// A server answering every third request after a pause (in a task of its own, so through the
/// writer task) and the others inline.
async fn mixed_server() -> String {
    let router = Router::new().route(
        RequestCode::GET_KV_CONFIG,
        |_conn: Connection, req: RemotingCommand| async move {
            if req.opaque % 3 == 0 {
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            Ok::<_, CommandError>(RemotingCommand::success().with_body(body_for(req.opaque)))
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let config = TransportConfig {
        max_queued_bytes_per_connection: 256 * 1024,
        ..TransportConfig::default()
    };
    tokio::spawn(serve(listener, router, config, std::future::pending()));
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_and_waiting_answers_arrive_whole_and_once_to_a_slow_reader() {
    let addr = mixed_server().await;
    let (mut reader, mut writer) = TcpStream::connect(&addr).await.unwrap().into_split();
    let sending = tokio::spawn(async move {
        for chunk in (0..REQUESTS).collect::<Vec<_>>().chunks(100) {
            let mut bytes = BytesMut::new();
            for &opaque in chunk {
                let mut request =
                    RemotingCommand::request_without_header(RequestCode::GET_KV_CONFIG);
                request.opaque = opaque;
                encode_frame(&request, &mut bytes);
            }
            writer.write_all(&bytes).await.unwrap();
        }
        writer
    });
    let mut buffer = BytesMut::new();
    let mut answered = HashSet::new();
    while answered.len() < REQUESTS as usize {
        let read = tokio::time::timeout(Duration::from_secs(10), reader.read_buf(&mut buffer))
            .await
            .expect("answers keep coming")
            .unwrap();
        assert!(read > 0, "closed after {} answers", answered.len());
        while let Some(answer) = decode_frame(&mut buffer, 1 << 20).unwrap() {
            assert_eq!(answer.body.as_ref(), body_for(answer.opaque).as_slice());
            assert!(answered.insert(answer.opaque), "{} twice", answer.opaque);
        }
        if answered.len() % 500 < 20 {
            // Slow down now and then, so the socket's buffer fills.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let _writer = sending.await.unwrap();
}
