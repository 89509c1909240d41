//! Support shared by the starter's integration tests: an application run in the test's
//! runtime from an `application.yml`, handing out its template, until the test stops it; and
//! waiting for what its listeners record.
#![allow(dead_code)] // each test binary uses a different part

use std::path::Path;
use std::time::Duration;

use rmq_starter::{Application, PropertySources, RocketMQTemplate, StarterError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// An application started by [`start_app`].
pub struct RunningApp {
    /// The template of the started application.
    pub template: RocketMQTemplate,
    stop: oneshot::Sender<()>,
    app: JoinHandle<Result<(), StarterError>>,
}

/// Writes `yml` as `dir/application.yml` and runs the application `name` from `dir` (on a
/// free HTTP port) until [`RunningApp::stop`]; returns once it has started.
pub async fn start_app(name: &str, dir: &Path, yml: &str) -> RunningApp {
    std::fs::write(dir.join("application.yml"), yml).unwrap();
    let sources = PropertySources {
        dir: dir.to_path_buf(),
        env: vec![],
        args: vec!["--server.port=0".into()],
    };
    let (template_tx, template_rx) = oneshot::channel::<RocketMQTemplate>();
    let (stop, stop_rx) = oneshot::channel::<()>();
    let app = tokio::spawn(Application::new(name).sources(sources).run_until(
        move |ctx| {
            let _ = template_tx.send(ctx.template()?);
            Ok(axum::Router::new())
        },
        async move {
            let _ = stop_rx.await;
        },
    ));
    let template = template_rx.await.expect("the application started");
    RunningApp {
        template,
        stop,
        app,
    }
}

impl RunningApp {
    /// Stops the application gracefully and asserts it ended without an error.
    pub async fn stop(self) {
        self.stop
            .send(())
            .expect("the application was still running");
        self.app.await.unwrap().unwrap();
    }
}

/// Polls `done` every 50 ms until it holds; panics naming `what` after 30 s.
pub async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
