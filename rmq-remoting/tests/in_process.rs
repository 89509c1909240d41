//! In-process connections (`LocalListener`, `serve_with`): a client of the same process reaches
//! a server that registered its address through memory, as a peer at 127.0.0.1 port 0, under
//! the server's guards and connection cap; addresses not registered still go over TCP, and a
//! server that stopped is no longer reachable in process.

use std::time::Duration;

use rmq_remoting::transport::{
    local::IN_PROCESS_PEER, serve_with, Connection, LocalListener, RemotingClient, Router,
    TransportConfig, TransportError,
};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Answers with the peer address the server saw as remark and the request's body.
async fn echo(conn: Connection, req: RemotingCommand) -> Result<RemotingCommand, CommandError> {
    let mut response =
        RemotingCommand::response(ResponseCode::SUCCESS, Some(conn.peer_addr().to_string()));
    response.body = req.body;
    Ok(response)
}

fn router() -> Router {
    Router::new().route(RequestCode::GET_KV_CONFIG, echo).guard(
        |_conn: &Connection, req: &RemotingCommand| match req.ext_fields.get("deny") {
            Some(_) => Err(CommandError::new(ResponseCode::NO_PERMISSION, "denied")),
            None => Ok(()),
        },
    )
}

fn request(body: Vec<u8>) -> RemotingCommand {
    let mut request = RemotingCommand::request_without_header(RequestCode::GET_KV_CONFIG);
    request.body = body.into();
    request
}

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_registered_address_is_reached_in_memory_until_the_server_stops() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve_with(
        listener,
        Some(LocalListener::bind([addr])),
        router(),
        TransportConfig::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let addr = addr.to_string();

    // 3 MiB each way: more than the in-memory stream buffers, so both ends must keep draining.
    let body: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let answer = client
        .invoke(&addr, request(body.clone()), WAIT)
        .await
        .unwrap();
    assert_eq!(answer.code, ResponseCode::SUCCESS.as_i32());
    assert_eq!(answer.remark.as_deref(), Some("127.0.0.1:0"));
    assert_eq!(IN_PROCESS_PEER.to_string(), "127.0.0.1:0");
    assert!(answer.body[..] == body[..], "the body came back changed");
    let conn = client.connection(&addr).await.unwrap();
    assert_eq!(conn.peer_addr().to_string(), addr);

    // The server's guards apply to in-process peers.
    let mut denied = request(Vec::new());
    denied.ext_fields.insert("deny".into(), "yes".into());
    let answer = client.invoke(&addr, denied, WAIT).await.unwrap();
    assert_eq!(answer.code, ResponseCode::NO_PERMISSION.as_i32());

    // The same server over TCP: an address it did not register.
    let port = addr.rsplit(':').next().unwrap();
    let over_tcp = client
        .invoke(&format!("localhost:{port}"), request(Vec::new()), WAIT)
        .await
        .unwrap();
    let peer = over_tcp.remark.unwrap();
    assert!(
        peer.starts_with("127.0.0.1:") && peer != "127.0.0.1:0",
        "a TCP peer has a port: {peer}"
    );

    // Stopped: the in-process connection closes and the address is no longer registered, so a
    // new client goes to TCP and finds nobody.
    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, server).await.unwrap().unwrap();
    tokio::time::timeout(WAIT, conn.closed()).await.unwrap();
    let late = RemotingClient::new(TransportConfig::default(), Router::new());
    match late.invoke(&addr, request(Vec::new()), WAIT).await {
        Err(TransportError::Connect { .. }) => {}
        other => panic!("expected a refused TCP connection, got {other:?}"),
    }
}

#[tokio::test]
async fn in_process_connections_count_against_the_connection_cap() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with(
        listener,
        Some(LocalListener::bind([addr])),
        router(),
        TransportConfig {
            max_connections: 1,
            ..TransportConfig::default()
        },
        std::future::pending(),
    ));
    let addr = addr.to_string();
    let first = RemotingClient::new(TransportConfig::default(), Router::new());
    let answer = first
        .invoke(&addr, request(Vec::new()), WAIT)
        .await
        .unwrap();
    assert_eq!(answer.remark.as_deref(), Some("127.0.0.1:0"));
    let second = RemotingClient::new(TransportConfig::default(), Router::new());
    match second.invoke(&addr, request(Vec::new()), WAIT).await {
        Err(TransportError::Closed(_)) => {}
        other => panic!("the second connection should be refused, got {other:?}"),
    }
    let again = first
        .invoke(&addr, request(Vec::new()), WAIT)
        .await
        .unwrap();
    assert_eq!(again.code, ResponseCode::SUCCESS.as_i32());
}
