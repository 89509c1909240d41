//! Support shared by the broker's integration tests.

use rmq_namesrv::{NameServer, NamesrvConfig};

/// An in-process name server on an ephemeral port (with its KV file in a temporary directory)
/// that runs until the test's runtime ends; returns its address.
pub async fn name_server() -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = NamesrvConfig {
        kv_config_path: dir.path().join("kv.json"),
        ..NamesrvConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = NameServer::new(&config).unwrap();
    tokio::spawn(async move {
        let _dir = dir;
        server.serve(listener, std::future::pending()).await;
    });
    addr
}
