//! Configuration precedence (application.yml < profile file < environment < arguments),
//! placeholders and the "did you mean" report, through the public API on real files.

use std::path::Path;

use rmq_starter::{Properties, PropertySources, Settings, StarterError};

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn sources(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> PropertySources {
    PropertySources {
        dir: dir.to_path_buf(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

const BASE: &str = "\
rocketmq:
  name-server: file:9876
  producer:
    group: file-group
    send-message-timeout: 1000
    retry-times-when-send-failed: 5
server:
  port: 1111
spring:
  profiles:
    active: dev
logging:
  level:
    root: warn
    rmq_client: debug
  file:
    name: logs/app.log
";

#[test]
fn later_sources_win_in_spring_boot_order() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "application.yml", BASE);
    write(
        dir.path(),
        "application-dev.yml",
        "rocketmq:\n  producer:\n    group: dev-group\n    sendMessageTimeout: 2000\nserver:\n  port: 2222\n",
    );

    // File + active profile from the file.
    let props = Properties::load(&sources(dir.path(), &[], &[])).unwrap();
    assert_eq!(props.profiles(), ["dev"]);
    let s = Settings::bind(&props).unwrap();
    assert_eq!(s.rocketmq.name_server.as_deref(), Some("file:9876"));
    assert_eq!(s.rocketmq.producer.group.as_deref(), Some("dev-group"));
    assert_eq!(s.rocketmq.producer.send_message_timeout.as_millis(), 2000);
    assert_eq!(s.rocketmq.producer.retry_times_when_send_failed, 5);
    assert_eq!(s.server.port, Some(2222));
    assert_eq!(
        s.logging.levels,
        [
            ("rmq_client".to_owned(), "debug".to_owned()),
            ("root".to_owned(), "warn".to_owned())
        ]
    );
    assert_eq!(s.logging.file.as_deref(), Some(Path::new("logs/app.log")));
    assert_eq!(
        props.get("rocketmq.producer.group").unwrap().origin,
        "application-dev.yml"
    );

    // Environment beats both files, in either spelling Spring accepts.
    let env = [
        ("ROCKETMQ_NAME_SERVER", "env:9876"),
        ("ROCKETMQ_PRODUCER_SENDMESSAGETIMEOUT", "3000"),
        ("SERVER_PORT", "3333"),
        ("PATH", "/bin"),
    ];
    let props = Properties::load(&sources(dir.path(), &env, &[])).unwrap();
    let s = Settings::bind(&props).unwrap();
    assert_eq!(s.rocketmq.name_server.as_deref(), Some("env:9876"));
    assert_eq!(s.rocketmq.producer.send_message_timeout.as_millis(), 3000);
    assert_eq!(s.server.port, Some(3333));
    assert_eq!(
        props.get("rocketmq.name-server").unwrap().origin,
        "environment variable ROCKETMQ_NAME_SERVER"
    );

    // Arguments beat everything.
    let args = ["--rocketmq.name-server=arg:9876", "--server.port=0"];
    let props = Properties::load(&sources(dir.path(), &env, &args)).unwrap();
    let s = Settings::bind(&props).unwrap();
    assert_eq!(s.rocketmq.name_server.as_deref(), Some("arg:9876"));
    assert_eq!(s.server.port, Some(0));
}

#[test]
fn the_active_profile_can_come_from_the_environment_or_arguments() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "application.yml", BASE);
    write(dir.path(), "application-dev.yml", "server:\n  port: 2222\n");
    write(
        dir.path(),
        "application-prod.yml",
        "server:\n  port: 4444\n",
    );
    write(dir.path(), "application-eu.yml", "server:\n  port: 5555\n");

    let env = [("SPRING_PROFILES_ACTIVE", "prod")];
    let props = Properties::load(&sources(dir.path(), &env, &[])).unwrap();
    assert_eq!(props.profiles(), ["prod"]);
    assert_eq!(Settings::bind(&props).unwrap().server.port, Some(4444));

    // Several profiles: the last one wins.
    let args = ["--spring.profiles.active=prod,eu"];
    let props = Properties::load(&sources(dir.path(), &env, &args)).unwrap();
    assert_eq!(props.profiles(), ["prod", "eu"]);
    assert_eq!(Settings::bind(&props).unwrap().server.port, Some(5555));
}

#[test]
fn no_file_is_fine_and_a_broken_file_names_itself() {
    let dir = tempfile::tempdir().unwrap();
    let props = Properties::load(&sources(dir.path(), &[], &[])).unwrap();
    assert!(Settings::bind(&props)
        .unwrap()
        .rocketmq
        .name_server
        .is_none());

    write(dir.path(), "application.yml", "rocketmq: [unclosed\n");
    let err = Properties::load(&sources(dir.path(), &[], &[])).unwrap_err();
    assert!(matches!(err, StarterError::File { .. }), "{err}");
    assert!(err.to_string().contains("application.yml"), "{err}");

    std::fs::remove_file(dir.path().join("application.yml")).unwrap();
    let err = Properties::load(&sources(dir.path(), &[], &["--server.port", "1"])).unwrap_err();
    assert!(err.to_string().contains("--key=value"), "{err}");
}

#[test]
fn bad_values_say_where_they_came_from() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "application.yml", "server:\n  port: eighty\n");
    let props = Properties::load(&sources(dir.path(), &[], &[])).unwrap();
    let err = Settings::bind(&props).unwrap_err().to_string();
    assert!(
        err.contains("server.port") && err.contains("eighty") && err.contains("application.yml"),
        "{err}"
    );
}

#[test]
fn mistyped_keys_get_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "application.yml",
        "rocketmq:\n  nameserver: ok:1\n  producer:\n    sendMessageTimout: 5\n    grop: g\n",
    );
    let props = Properties::load(&sources(dir.path(), &[], &[])).unwrap();
    // `nameserver` is the same property as `name-server` (relaxed binding), not a typo.
    assert_eq!(props.value("rocketmq.name-server"), Some("ok:1"));
    let report: Vec<String> = rmq_starter::unknown_keys(&props)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(report.len(), 2, "{report:?}");
    assert!(report.iter().any(|r| r.contains("sendMessageTimout")
        && r.contains("did you mean rocketmq.producer.send-message-timeout?")
        && r.contains("application.yml")));
    assert!(report
        .iter()
        .any(|r| r.contains("grop") && r.contains("did you mean rocketmq.producer.group?")));
}

#[test]
fn placeholders_read_every_source() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "application.yml", "app:\n  topic: from-file\n");
    let env = [("ROCKETMQ_CONSUMER_GROUP", "env-group")];
    let props = Properties::load(&sources(dir.path(), &env, &["--app.tag=argtag"])).unwrap();
    let text = props
        .resolve_placeholders(
            "${app.topic}:${app.tag}/${rocketmq.consumer.group}/${missing:fallback}",
            "test",
        )
        .unwrap();
    assert_eq!(text, "from-file:argtag/env-group/fallback");
}
