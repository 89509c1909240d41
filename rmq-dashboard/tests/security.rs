//! The console's security from the outside, over HTTP against the real binary: nothing
//! without a session, CSRF on every POST, read-only users refused, one message for every
//! failed login, the login rate limit, and the first start's generated password.

mod common;

use common::{generated_password, location, Browser, Console};
use reqwest::StatusCode;
use rmq_dashboard::auth::users::hash_password;
use rmq_testkit::LocalStack;

/// Every page (GET) the console serves, its own and the message pages'.
const PAGES: [&str; 11] = [
    "/",
    "/cluster",
    "/topics",
    "/topics/TBW102",
    "/groups",
    "/groups/g",
    "/producers",
    "/messages",
    "/dead-letters",
    "/trace",
    "/cluster/127.0.0.1:1",
];
const APIS: [&str; 4] = [
    "/api/overview",
    "/api/cluster",
    "/api/topics",
    "/api/groups",
];
const POSTS: [&str; 7] = [
    "/topics",
    "/topics/T/update",
    "/topics/T/delete",
    "/topics/T/send",
    "/groups",
    "/groups/g/delete",
    "/reset-offset",
];

fn users_file(dir: &std::path::Path) {
    let admin = hash_password("admin-pw").unwrap();
    let reader = hash_password("reader-pw").unwrap();
    std::fs::write(
        dir.join("users"),
        format!("# test users\nroot admin {admin}\nreader read-only {reader}\n"),
    )
    .unwrap();
}

#[tokio::test]
async fn without_a_session_nothing_is_served() {
    let stack = LocalStack::start().await;
    let dir = tempfile::tempdir().unwrap();
    users_file(dir.path());
    let console = Console::start(&stack.namesrv, dir.path(), &dir.path().join("log"), &[]);
    let anon = Browser::new(&console.base);
    for page in PAGES {
        let resp = anon.get(page).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{page}");
        assert!(
            location(&resp).starts_with("/login?next="),
            "{page}: {}",
            location(&resp)
        );
    }
    for api in APIS {
        assert_eq!(
            anon.get(api).await.status(),
            StatusCode::UNAUTHORIZED,
            "{api}"
        );
    }
    for post in POSTS {
        let resp = anon
            .post(post, &[("topic", "Sneaky"), ("cluster", "DefaultCluster")])
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{post}");
        assert!(location(&resp).starts_with("/login"), "{post}");
    }
    // A made-up session id is no session.
    let mut forged = Browser::new(&console.base);
    forged.cookie = Some(format!("rmq_session={}", "ab".repeat(32)));
    assert_eq!(
        forged.get("/api/topics").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The login page and the stylesheet are open.
    assert_eq!(anon.get("/login").await.status(), StatusCode::OK);
    assert_eq!(anon.get("/static/style.css").await.status(), StatusCode::OK);
    let admin = rmq_client::Admin::start(rmq_client::ClientConfig {
        namesrv_addr: stack.namesrv.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(!admin.topic_list().await.unwrap().contains("Sneaky"));
    admin.shutdown().await;
    stack.stop().await;
}

#[tokio::test]
async fn posts_need_the_csrf_token_and_an_admin() {
    let stack = LocalStack::start().await;
    let dir = tempfile::tempdir().unwrap();
    users_file(dir.path());
    let console = Console::start(&stack.namesrv, dir.path(), &dir.path().join("log"), &[]);
    let mut root = Browser::new(&console.base);
    assert_eq!(
        root.login("root", "admin-pw").await.0,
        StatusCode::SEE_OTHER
    );
    let create = [
        ("topic", "CsrfTopic"),
        ("cluster", "DefaultCluster"),
        ("write_queues", "2"),
        ("read_queues", "2"),
        ("perm", "6"),
    ];
    let resp = root.post("/topics", &create).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "no token");
    let mut wrong = create.to_vec();
    let bad = "0".repeat(64);
    wrong.push(("csrf", &bad));
    assert_eq!(
        root.post("/topics", &wrong).await.status(),
        StatusCode::FORBIDDEN
    );
    // Another session's token is wrong for this one.
    let mut other = Browser::new(&console.base);
    other.login("root", "admin-pw").await;
    let others_token = other.csrf().await;
    let mut stolen = create.to_vec();
    stolen.push(("csrf", &others_token));
    assert_eq!(
        root.post("/topics", &stolen).await.status(),
        StatusCode::FORBIDDEN
    );
    let topics = root
        .get("/api/topics?filter=CsrfTopic")
        .await
        .text()
        .await
        .unwrap();
    assert!(topics.contains("\"total\":0"), "{topics}");

    // A read-only user reads everything and changes nothing, even with its own token.
    let mut reader = Browser::new(&console.base);
    assert_eq!(
        reader.login("reader", "reader-pw").await.0,
        StatusCode::SEE_OTHER
    );
    for page in [
        "/",
        "/cluster",
        "/topics",
        "/groups",
        "/producers",
        "/api/topics",
    ] {
        assert_eq!(reader.get(page).await.status(), StatusCode::OK, "{page}");
    }
    let resp = reader.post_csrf("/topics", &create).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(!reader
        .get("/topics")
        .await
        .text()
        .await
        .unwrap()
        .contains("Create a topic"));

    // The admin with the token creates it, and the action is logged.
    let resp = root.post_csrf("/topics", &create).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).contains("ok="), "{}", location(&resp));
    stack.wait_for_route("CsrfTopic").await;
    let log = console.log_text();
    let audit = log
        .lines()
        .find(|l| l.contains("admin action") && l.contains("create topic"))
        .unwrap_or_else(|| panic!("no audit line in:\n{log}"));
    assert!(
        audit.contains("user=root")
            && audit.contains("CsrfTopic")
            && audit.contains("peer=127.0.0.1"),
        "{audit}"
    );
    assert!(log.contains("POST refused: read-only user"), "{log}");

    // Logging out ends the session on the server.
    let cookie = root.cookie.clone();
    assert_eq!(
        root.post_csrf("/logout", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    let mut replay = Browser::new(&console.base);
    replay.cookie = cookie;
    assert_eq!(
        replay.get("/api/topics").await.status(),
        StatusCode::UNAUTHORIZED
    );
    stack.stop().await;
}

#[tokio::test]
async fn failed_logins_look_alike_and_are_rate_limited() {
    let stack = LocalStack::start().await;
    let dir = tempfile::tempdir().unwrap();
    users_file(dir.path());
    let console = Console::start(
        &stack.namesrv,
        dir.path(),
        &dir.path().join("log"),
        &[("RMQ_DASHBOARD_LOGIN_FAILURES_PER_MINUTE", "3")],
    );
    let mut b = Browser::new(&console.base);
    let (s1, bad_password) = b.login("root", "wrong").await;
    let (s2, bad_user) = b.login("nobody", "admin-pw").await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        bad_password, bad_user,
        "the answer must not tell which part was wrong"
    );
    assert!(bad_user.contains("invalid user name or password"));
    assert!(b.cookie.is_none());
    assert_eq!(
        b.login("root", "wrong-again").await.0,
        StatusCode::UNAUTHORIZED
    );
    // Three failures used up the minute: even the right password is refused now.
    assert_eq!(
        b.login("root", "admin-pw").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert!(b.cookie.is_none());
    stack.stop().await;
}

#[tokio::test]
async fn first_start_prints_a_generated_password_once() {
    let stack = LocalStack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = Console::start(&stack.namesrv, &data, &dir.path().join("log1"), &[]);
    let log = first.log_text();
    let password = generated_password(&log).unwrap_or_else(|| panic!("no password in:\n{log}"));
    assert_eq!(log.matches(&password).count(), 1, "printed once: {log}");
    let stored = std::fs::read_to_string(data.join("users")).unwrap();
    assert!(stored.starts_with("admin admin $argon2id$") && !stored.contains(&password));
    let mut b = Browser::new(&first.base);
    assert_eq!(b.login("admin", &password).await.0, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/").await.status(), StatusCode::OK);
    first.process.stop(std::time::Duration::from_secs(10));

    // Behind TLS (secure_cookie) the session cookie is marked Secure.
    let second = Console::start(
        &stack.namesrv,
        &data,
        &dir.path().join("log2"),
        &[("RMQ_DASHBOARD_SECURE_COOKIE", "true")],
    );
    let log2 = second.log_text();
    assert!(
        generated_password(&log2).is_none() && !log2.contains(&password),
        "{log2}"
    );
    let b = Browser::new(&second.base);
    let resp = b
        .post("/login", &[("user", "admin"), ("password", &password)])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    stack.stop().await;
}
