//! `#[rocketmq_transaction_listener]` registrations: the local-transaction callbacks of the
//! default template (one per application, as rocketmq-spring allows one per template).

use std::sync::Arc;

use rmq_client::TransactionListener;

use crate::error::StarterError;

/// One `#[rocketmq_transaction_listener]` type, collected through `inventory`.
#[derive(Debug)]
pub struct TransactionListenerRegistration {
    /// The listener type's name, for logs and errors.
    pub type_name: &'static str,
    /// Builds the listener.
    pub create: fn() -> Arc<dyn TransactionListener>,
}

inventory::collect!(TransactionListenerRegistration);

/// The registered transaction listener, if any; two are an error naming both.
pub(crate) fn transaction_listener(
) -> Result<Option<&'static TransactionListenerRegistration>, StarterError> {
    let mut found = inventory::iter::<TransactionListenerRegistration>.into_iter();
    let Some(first) = found.next() else {
        return Ok(None);
    };
    if let Some(second) = found.next() {
        return Err(StarterError::Listener {
            listener: second.type_name.to_owned(),
            reason: format!(
                "rocketMQTemplate already exists RocketMQLocalTransactionListener {}; \
                 one #[rocketmq_transaction_listener] per application",
                first.type_name
            ),
        });
    }
    Ok(Some(first))
}
