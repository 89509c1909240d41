//! Router guards over real TCP on 127.0.0.1: they run in order before any handler, for known
//! and unknown codes, and the first refusal is the answer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::transport::{serve, Connection, RemotingClient, Router, TransportConfig};
use rmq_remoting::{CommandError, RemotingCommand, RequestCode, ResponseCode};
use tokio::net::TcpListener;

async fn ok(_conn: Connection, _req: RemotingCommand) -> Result<RemotingCommand, CommandError> {
    Ok(RemotingCommand::response(ResponseCode::SUCCESS, None))
}

async fn start(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve(
        listener,
        router,
        TransportConfig::default(),
        std::future::pending(),
    ));
    addr
}

#[tokio::test]
async fn guards_run_in_order_and_the_first_refusal_answers() {
    let seen = Arc::new(AtomicUsize::new(0));
    let handled = Arc::new(AtomicUsize::new(0));
    let (seen_first, seen_second, handled_in) = (seen.clone(), seen.clone(), handled.clone());
    let router = Router::new()
        .route(RequestCode::GET_KV_CONFIG, move |_c, _r| {
            handled_in.fetch_add(1, Ordering::SeqCst);
            ok(_c, _r)
        })
        .guard(move |conn: &Connection, req: &RemotingCommand| {
            seen_first.fetch_add(1, Ordering::SeqCst);
            assert!(conn.peer_addr().ip().is_loopback());
            match req.ext_fields.get("deny") {
                Some("first") => Err(CommandError::new(ResponseCode::NO_PERMISSION, "first")),
                _ => Ok(()),
            }
        })
        .guard(move |_conn: &Connection, req: &RemotingCommand| {
            seen_second.fetch_add(100, Ordering::SeqCst);
            match req.ext_fields.get("deny") {
                Some(_) => Err(CommandError::new(ResponseCode::SYSTEM_ERROR, "second")),
                None => Ok(()),
            }
        });
    let addr = start(router).await;
    let client = RemotingClient::new(TransportConfig::default(), Router::new());
    let call = |deny: Option<&str>, code: RequestCode| {
        let mut request = RemotingCommand::request_without_header(code);
        if let Some(deny) = deny {
            request.ext_fields.insert("deny".into(), deny.into());
        }
        client.invoke(&addr, request, Duration::from_secs(5))
    };

    let allowed = call(None, RequestCode::GET_KV_CONFIG).await.unwrap();
    assert_eq!(allowed.code, ResponseCode::SUCCESS.as_i32());
    assert_eq!(
        (seen.load(Ordering::SeqCst), handled.load(Ordering::SeqCst)),
        (101, 1)
    );

    let first = call(Some("first"), RequestCode::GET_KV_CONFIG)
        .await
        .unwrap();
    assert_eq!(first.code, ResponseCode::NO_PERMISSION.as_i32());
    assert_eq!(first.remark.as_deref(), Some("first"));
    assert_eq!(
        (seen.load(Ordering::SeqCst), handled.load(Ordering::SeqCst)),
        (102, 1),
        "the second guard and the handler never saw a refused request"
    );

    let second = call(Some("other"), RequestCode::GET_KV_CONFIG)
        .await
        .unwrap();
    assert_eq!(second.code, ResponseCode::SYSTEM_ERROR.as_i32());
    assert_eq!(second.remark.as_deref(), Some("second"));
    assert_eq!(handled.load(Ordering::SeqCst), 1);

    let unknown = call(Some("other"), RequestCode::GET_BROKER_CONFIG)
        .await
        .unwrap();
    assert_eq!(
        unknown.code,
        ResponseCode::SYSTEM_ERROR.as_i32(),
        "guards run before the unknown-code answer, as Apache's hooks do"
    );
}
