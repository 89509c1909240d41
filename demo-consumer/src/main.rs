//! The Spring Boot consumer demo, rebuilt on rmq-starter.
//!
//! Not built yet: it needs the client (issue 5) and the starter (issue 7). It says so and exits
//! rather than pretending to work.

fn main() -> std::process::ExitCode {
    eprintln!(
        "demo-consumer is not built yet: it needs rmq-client (issue 5) and rmq-starter (issue 7)"
    );
    std::process::ExitCode::FAILURE
}
