//! Test support: the dashboard binary as a real process on an ephemeral port, against an
//! in-process name server and broker (`LocalStack`, real TCP), and a small HTTP client that
//! keeps the session cookie and the CSRF token.

#![allow(dead_code)] // each test file uses its own part of this module

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};
use rmq_testkit::ServerProcess;

/// A running dashboard.
pub struct Console {
    pub process: ServerProcess,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its log (stderr) for this run.
    pub log: PathBuf,
}

impl Console {
    /// Starts `rmq-dashboard` on port 0 with `data_dir`, logging to `log`, plus `env`.
    pub fn start(namesrv: &str, data_dir: &Path, log: &Path, env: &[(&str, &str)]) -> Console {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rmq-dashboard"));
        cmd.args(["-n", namesrv, "--port", "0", "--data-dir"])
            .arg(data_dir)
            .env_remove("NAMESRV_ADDR")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env("RMQ_DASHBOARD_SAMPLE_INTERVAL_SECS", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let process = ServerProcess::start_logging_to(cmd, log);
        let base = format!("http://{}", process.addr);
        Console {
            process,
            base,
            log: log.to_owned(),
        }
    }

    /// What the console has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// An HTTP client that follows no redirect (tests look at them) and holds one session.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: Option<String>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookie: None,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.unwrap()
    }

    /// POSTs `fields` as a form.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.unwrap()
    }

    /// Logs in; keeps the session cookie when it worked. Returns the answer's status and body.
    pub async fn login(&mut self, user: &str, password: &str) -> (StatusCode, String) {
        let resp = self
            .post("/login", &[("user", user), ("password", password)])
            .await;
        let status = resp.status();
        if let Some(c) = resp.headers().get(SET_COOKIE) {
            let c = c.to_str().unwrap();
            assert!(
                c.contains("HttpOnly") && c.contains("SameSite=Strict"),
                "{c}"
            );
            self.cookie = Some(c.split(';').next().unwrap().to_owned());
        }
        (status, resp.text().await.unwrap())
    }

    /// The CSRF token of the session, read from a page's hidden field.
    pub async fn csrf(&self) -> String {
        let html = self.get("/").await.text().await.unwrap();
        let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
        html[at..at + 64].to_owned()
    }

    /// POSTs with the session's CSRF token added.
    pub async fn post_csrf(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf().await;
        let mut all = fields.to_vec();
        all.push(("csrf", &token));
        self.post(path, &all).await
    }
}

/// The redirect target of `resp`.
pub fn location(resp: &Response) -> String {
    resp.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The password a first start printed, from its log.
pub fn generated_password(log: &str) -> Option<String> {
    let at = log.find("with password ")? + "with password ".len();
    Some(log[at..].split_whitespace().next()?.to_owned())
}
