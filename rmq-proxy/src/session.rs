//! The client registry: every gRPC client by its client id (the `x-mq-client-id` metadata).

/// The clients the proxy knows.
#[derive(Default)]
pub struct Sessions {}
