//! The Spring-Boot-style starter: `application.yml` binding, `RocketMQTemplate`, listener containers.
//!
//! Not built yet (issue 7); it needs the client (issue 5) first.
