//! Tags, orderly consumption, a typed JSON payload and a transactional send in one small
//! service (port 8084). Run it from the repository root next to the local stack:
//!
//! ```sh
//! cargo run -p rmq-starter --example orders
//! curl localhost:8084/orders/42/paid      # ordered by order id, tag "paid"
//! curl localhost:8084/orders/42/shipped   # same queue as 42's "paid", so after it
//! curl localhost:8084/orders/43/refund    # tag "refund": the listener's selector skips it
//! curl localhost:8084/orders/44/book      # transactional: even ids commit, odd ones roll back
//! ```

use std::any::Any;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use rmq_starter::{
    rocketmq_listener, rocketmq_transaction_listener, Application, ConsumeResult, Json, Message,
    ReceivedMessage, RocketMQListener, RocketMQLocalTransactionListener,
    RocketMQLocalTransactionState, RocketMQTemplate,
};
use serde::{Deserialize, Serialize};

/// The event sent for every order step.
#[derive(Debug, Serialize, Deserialize)]
struct OrderEvent {
    id: u64,
    step: String,
}

/// Prints paid and shipped events, one queue at a time so each order's steps stay in order.
#[derive(Default)]
#[rocketmq_listener(
    topic = "${orders.topic:orders}",
    consumer_group = "order-events",
    selector_expression = "paid || shipped",
    consume_mode = "orderly"
)]
struct OrderSteps;

impl RocketMQListener<Json<OrderEvent>> for OrderSteps {
    async fn on_message(&self, Json(event): Json<OrderEvent>) -> ConsumeResult {
        println!("order {} is {}", event.id, event.step);
        Ok(())
    }
}

/// Prints bookings, which only arrive once their transaction committed.
#[derive(Default)]
#[rocketmq_listener(topic = "bookings", consumer_group = "booking-events")]
struct Bookings;

impl RocketMQListener<ReceivedMessage> for Bookings {
    async fn on_message(&self, message: ReceivedMessage) -> ConsumeResult {
        let body = String::from_utf8_lossy(&message.body);
        println!("booking committed: {body} (msg id {})", message.msg_id);
        Ok(())
    }
}

/// The local transaction of a booking: even order ids commit, odd ones roll back.
#[derive(Default)]
#[rocketmq_transaction_listener]
struct BookingTransaction;

impl RocketMQLocalTransactionListener for BookingTransaction {
    fn execute_local_transaction(
        &self,
        _msg: &Message,
        _transaction_id: &str,
        arg: &(dyn Any + Send + Sync),
    ) -> RocketMQLocalTransactionState {
        match arg.downcast_ref::<u64>() {
            Some(id) if id % 2 == 0 => RocketMQLocalTransactionState::CommitMessage,
            _ => RocketMQLocalTransactionState::RollbackMessage,
        }
    }

    fn check_local_transaction(&self, _msg: &ReceivedMessage) -> RocketMQLocalTransactionState {
        RocketMQLocalTransactionState::RollbackMessage
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let app = Application::new("orders-example").default_port(8084);
    rmq_starter::exit_code(
        app.run(|ctx| {
            Ok(Router::new()
                .route("/orders/{id}/book", get(book))
                .route("/orders/{id}/{step}", get(step))
                .with_state(ctx.template()?))
        })
        .await,
    )
}

/// Sends a step as JSON with the step as tag, ordered by order id.
async fn step(
    State(template): State<RocketMQTemplate>,
    Path((id, step)): Path<(u64, String)>,
) -> String {
    let dest = format!("orders:{step}");
    let event = Json(OrderEvent { id, step });
    match template
        .sync_send_orderly(&dest, event, &id.to_string())
        .await
    {
        Ok(r) => format!("sent to queue {}\n", r.message_queue.queue_id),
        Err(e) => format!("failed: {e}\n"),
    }
}

/// Sends a booking in a transaction.
async fn book(State(template): State<RocketMQTemplate>, Path(id): Path<u64>) -> String {
    let body = format!("booking for order {id}");
    match template
        .send_message_in_transaction("bookings", body, &id)
        .await
    {
        Ok(r) => format!("{:?}\n", r.local_state),
        Err(e) => format!("failed: {e}\n"),
    }
}
