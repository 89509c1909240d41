//! Spring Boot's configuration locations through the public API, on real files: the embedded
//! classpath (`embed_config!`), `./`, `./config/`, `./config/*/`, profile files per location
//! group, `spring.config.name`, `spring.config.location`, `spring.config.additional-location`,
//! `optional:`, multi-document files with `spring.config.activate.on-profile`, and a missing
//! mandatory location named in the error.

use std::path::Path;

use rmq_starter::{Application, EmbeddedConfig, Properties, PropertySources, StarterError};

/// `tests/config_locations_classpath/`: `application.yml` (who: cp),
/// `config/application.yml` (who: cp-config), `application-dev.yml` (who: cp-dev).
const CLASSPATH: EmbeddedConfig = rmq_starter::embed_config!(
    root = "tests/config_locations_classpath",
    "application.yml",
    "config/application.yml",
    "application-dev.yml",
);

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn load(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Result<Properties, StarterError> {
    let sources = PropertySources {
        dir: dir.to_path_buf(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        args: args.iter().map(|a| a.to_string()).collect(),
    };
    Properties::load_with(&sources, &CLASSPATH)
}

#[test]
fn every_default_location_is_read_in_spring_boots_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Only the classpath: its config/ beats its root.
    let props = load(d, &[], &[]).unwrap();
    assert_eq!(
        props.files(),
        [
            "classpath:application.yml",
            "classpath:config/application.yml"
        ]
    );
    assert_eq!(props.value("who"), Some("cp-config"));
    assert_eq!(
        props.value("spring.application.name"),
        Some("from-classpath")
    );
    // A classpath profile file beats the classpath's plain files.
    let props = load(d, &[("SPRING_PROFILES_ACTIVE", "dev")], &[]).unwrap();
    assert_eq!(props.value("who"), Some("cp-dev"));

    write(d, "application.yml", "who: dot\n");
    write(d, "config/application.yml", "who: dot-config\n");
    // Subdirectories of config/ in name order, whatever order they were made in.
    write(d, "config/b/application.yml", "who: dot-config-b\n");
    write(d, "config/a/application.yaml", "who: dot-config-a\n");
    let props = load(d, &[], &[]).unwrap();
    assert_eq!(
        props.files(),
        [
            "classpath:application.yml",
            "classpath:config/application.yml",
            "application.yml",
            "config/application.yml",
            "config/a/application.yaml",
            "config/b/application.yml",
        ]
    );
    assert_eq!(props.value("who"), Some("dot-config-b"));
    assert_eq!(props.get("who").unwrap().origin, "config/b/application.yml");
    // Files outside beat the classpath's profile file; values the outside files do not set
    // still come from the classpath.
    let props = load(d, &[("SPRING_PROFILES_ACTIVE", "dev")], &[]).unwrap();
    assert_eq!(props.value("who"), Some("dot-config-b"));
    assert_eq!(
        props.value("spring.application.name"),
        Some("from-classpath")
    );

    // An outside profile file beats every plain file of its group.
    write(d, "application-dev.yml", "who: dot-dev\n");
    let props = load(d, &[], &["--spring.profiles.active=dev"]).unwrap();
    assert_eq!(
        props.files(),
        [
            "classpath:application.yml",
            "classpath:config/application.yml",
            "classpath:application-dev.yml",
            "application.yml",
            "config/application.yml",
            "config/a/application.yaml",
            "config/b/application.yml",
            "application-dev.yml",
        ]
    );
    assert_eq!(props.value("who"), Some("dot-dev"));
    // The environment and the arguments still beat every file.
    let props = load(d, &[], &["--spring.profiles.active=dev", "--who=arg"]).unwrap();
    assert_eq!(props.value("who"), Some("arg"));
}

#[test]
fn spring_config_name_and_location_choose_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "application.yml", "who: dot\n");
    write(d, "myapp.yml", "who: myapp\n");
    write(d, "conf/app.yml", "who: conf\n");
    write(d, "conf/app-dev.yml", "who: conf-dev\n");

    // spring.config.name renames the file in every default location.
    let props = load(d, &[], &["--spring.config.name=myapp"]).unwrap();
    assert_eq!(props.files(), ["myapp.yml"]);
    assert_eq!(props.value("who"), Some("myapp"));

    // spring.config.location replaces the defaults, classpath included; a file location also
    // has profile variants.
    let props = load(
        d,
        &[("SPRING_CONFIG_LOCATION", "conf/app.yml")],
        &["--spring.profiles.active=dev"],
    )
    .unwrap();
    assert_eq!(props.files(), ["conf/app.yml", "conf/app-dev.yml"]);
    assert_eq!(props.value("who"), Some("conf-dev"));
    assert_eq!(props.value("spring.application.name"), None);

    // Locations are read in order, later wins; classpath: reaches the embedded files; the
    // argument beats the environment variable.
    let props = load(
        d,
        &[("SPRING_CONFIG_LOCATION", "conf/app.yml")],
        &["--spring.config.location=file:./conf/app.yml,classpath:/config/"],
    )
    .unwrap();
    assert_eq!(
        props.files(),
        ["conf/app.yml", "classpath:config/application.yml"]
    );
    assert_eq!(props.value("who"), Some("cp-config"));

    // An absolute path works as well.
    let abs = format!("--spring.config.location={}", d.join("myapp.yml").display());
    let props = load(d, &[], &[abs.as_str()]).unwrap();
    assert_eq!(props.value("who"), Some("myapp"));

    // spring.config.additional-location adds after the defaults.
    let props = load(
        d,
        &[],
        &["--spring.config.additional-location=optional:missing/,conf/"],
    )
    .unwrap();
    assert_eq!(
        props.value("who"),
        Some("dot"),
        "conf/ holds no application.yml"
    );
    let props = load(
        d,
        &[("SPRING_CONFIG_ADDITIONAL_LOCATION", "conf/app.yml")],
        &[],
    )
    .unwrap();
    assert_eq!(
        props.files(),
        [
            "classpath:application.yml",
            "classpath:config/application.yml",
            "application.yml",
            "conf/app.yml"
        ]
    );
    assert_eq!(props.value("who"), Some("conf"));
}

#[test]
fn a_group_reads_all_its_plain_files_before_its_profile_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a/application.yml", "who: a\n");
    write(d, "a/application-dev.yml", "who: a-dev\n");
    write(d, "b/application.yml", "who: b\n");
    let props = load(
        d,
        &[],
        &[
            "--spring.config.location=a/;b/",
            "--spring.profiles.active=dev",
        ],
    )
    .unwrap();
    assert_eq!(
        props.files(),
        [
            "a/application.yml",
            "b/application.yml",
            "a/application-dev.yml"
        ]
    );
    assert_eq!(props.value("who"), Some("a-dev"));
    // Two groups: b's plain file comes after a's profile file.
    let props = load(
        d,
        &[],
        &[
            "--spring.config.location=a/,b/",
            "--spring.profiles.active=dev",
        ],
    )
    .unwrap();
    assert_eq!(props.value("who"), Some("b"));
}

#[test]
fn multi_document_files_apply_their_profile_documents_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "application.yml",
        "who: base\nport: 1\n---\nspring:\n  config:\n    activate:\n      on-profile: prod,eu\n\
         who: prod\n---\nspring.config.activate.on-profile: \"!prod\"\nport: 2\n---\nlast: yes\n",
    );
    let props = load(d, &[], &["--spring.config.location=application.yml"]).unwrap();
    assert_eq!(props.value("who"), Some("base"));
    assert_eq!(props.value("port"), Some("2"));
    assert_eq!(props.value("last"), Some("yes"));
    let props = load(
        d,
        &[("SPRING_PROFILES_ACTIVE", "eu")],
        &["--spring.config.location=application.yml"],
    )
    .unwrap();
    assert_eq!(props.value("who"), Some("prod"));
    assert_eq!(props.value("port"), Some("2"));
    let props = load(
        d,
        &[("SPRING_PROFILES_ACTIVE", "prod")],
        &["--spring.config.location=application.yml"],
    )
    .unwrap();
    assert_eq!(props.value("who"), Some("prod"));
    assert_eq!(props.value("port"), Some("1"));
    assert_eq!(props.get("who").unwrap().origin, "application.yml");
}

#[test]
fn a_missing_mandatory_location_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (args, missing) in [
        (&["--spring.config.location=nope.yml"][..], "nope.yml"),
        (
            &["--spring.config.location=file:./gone/"][..],
            "file:./gone/",
        ),
        (
            &["--spring.config.additional-location=classpath:/other.yml"][..],
            "classpath:/other.yml",
        ),
    ] {
        let err = load(d, &[], args).unwrap_err();
        assert!(
            matches!(&err, StarterError::ConfigLocation { location } if location == missing),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!("'{missing}'")) && text.contains("optional:"),
            "{text}"
        );
    }
    // optional: makes all of them fine.
    let props = load(
        d,
        &[],
        &["--spring.config.location=optional:nope.yml,optional:file:./gone/,optional:classpath:/other.yml"],
    )
    .unwrap();
    assert!(props.files().is_empty());
    // A broken file names itself, embedded or not.
    write(d, "application.yml", "who: [unclosed\n");
    let err = load(d, &[], &[]).unwrap_err().to_string();
    assert!(err.contains("cannot read application.yml"), "{err}");
}

#[tokio::test]
async fn the_missing_name_server_hint_is_printed_with_real_line_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let sources = PropertySources {
        dir: dir.path().to_path_buf(),
        env: vec![],
        args: vec![
            "--server.port=0".into(),
            "--rocketmq.producer.group=g".into(),
        ],
    };
    let err = Application::new("hint")
        .sources(sources)
        .run_until(|_| Ok(axum::Router::new()), async {})
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("\\n"), "an escaped line break in:\n{err}");
    assert!(
        err.contains("application.yml:\n\n    rocketmq:\n      name-server: 127.0.0.1:9876\n\n"),
        "{err}"
    );
}
