//! What a SLAVE refuses, with the codes an Apache RocketMQ 4.9 slave answers (so clients react
//! the same way) and remarks that say why and where to go instead: the group's master as the
//! name servers last reported it.

use std::sync::Arc;

use rmq_remoting::{CommandError, ResponseCode};
use tokio::task::JoinHandle;

use crate::config::BrokerRole;
use crate::state::BrokerContext;

/// Whether this broker is a read-only replica.
pub(crate) fn is_slave(ctx: &BrokerContext) -> bool {
    ctx.role().role == BrokerRole::Slave
}

/// Runs the tasks `start` spawns while this broker is a master (`master`) or a slave (not
/// `master`), and stops them when the role changes: in controller mode the controller moves a
/// broker between roles at run time (delayed delivery and transaction checks run on the master,
/// metadata sync on slaves). Nothing runs before the controller has decided.
pub(crate) async fn run_while(
    ctx: Arc<BrokerContext>,
    master: bool,
    start: impl Fn(&Arc<BrokerContext>) -> Vec<JoinHandle<()>>,
) {
    struct Running(Vec<JoinHandle<()>>);
    impl Drop for Running {
        fn drop(&mut self) {
            for task in self.0.drain(..) {
                task.abort();
            }
        }
    }
    let mut role = ctx.role.subscribe();
    let mut running = Running(Vec::new());
    loop {
        let wanted = {
            let now = role.borrow_and_update();
            now.decided && (now.role != BrokerRole::Slave) == master
        };
        if !wanted {
            drop(std::mem::replace(&mut running, Running(Vec::new())));
        } else if running.0.is_empty() {
            running.0 = start(&ctx);
        }
        if role.changed().await.is_err() {
            return;
        }
    }
}

/// The master's client address, or `unknown yet` before a registration answer named one.
pub(crate) fn master_addr(ctx: &BrokerContext) -> String {
    ctx.master
        .borrow()
        .as_ref()
        .map_or_else(|| "unknown yet".to_owned(), |m| m.master_addr.clone())
}

/// `this broker[ADDR] is a SLAVE (brokerId=N) of group G; its master is M`.
fn who(ctx: &BrokerContext) -> String {
    format!(
        "this broker[{}] is a SLAVE (brokerId={}) of group {}; its master is {}",
        ctx.broker_addr(),
        ctx.role().broker_id,
        ctx.config.broker_name,
        master_addr(ctx)
    )
}

/// On a slave, the refusal `code` with `text(who)`; on a master, nothing.
fn refuse_on_slave(
    ctx: &BrokerContext,
    code: ResponseCode,
    text: impl FnOnce(String) -> String,
) -> Result<(), CommandError> {
    if !is_slave(ctx) {
        return Ok(());
    }
    Err(CommandError::new(code, text(who(ctx))))
}

/// SEND_MESSAGE, SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE on a slave: Apache's store refuses the
/// put, which the send processor answers SERVICE_NOT_AVAILABLE (producers retry elsewhere).
pub(crate) fn refuse_send(ctx: &BrokerContext) -> Result<(), CommandError> {
    refuse_on_slave(ctx, ResponseCode::SERVICE_NOT_AVAILABLE, |who| {
        format!("service not available now: {who}. A slave stores only what it replicates; send to the master")
    })
}

/// CONSUMER_SEND_MSG_BACK on a slave: Apache answers SYSTEM_ERROR with the store's status
/// name, and the consumer then re-sends the message itself through its producer.
pub(crate) fn refuse_send_back(ctx: &BrokerContext) -> Result<(), CommandError> {
    refuse_on_slave(ctx, ResponseCode::SYSTEM_ERROR, |who| {
        format!("SERVICE_NOT_AVAILABLE: {who}. Send failed messages back to the master")
    })
}

/// END_TRANSACTION on a slave: SLAVE_NOT_AVAILABLE, as Apache answers.
pub(crate) fn refuse_end_transaction(ctx: &BrokerContext) -> Result<(), CommandError> {
    refuse_on_slave(ctx, ResponseCode::SLAVE_NOT_AVAILABLE, |who| {
        format!("end transaction is forbidden on a slave: {who}. End transactions on the master")
    })
}

/// Topic and subscription-group changes on a slave: SYSTEM_ERROR with Apache's sentence (the
/// slave copies both tables from its master, which would undo the change).
pub(crate) fn refuse_admin_write(ctx: &BrokerContext) -> Result<(), CommandError> {
    refuse_on_slave(ctx, ResponseCode::SYSTEM_ERROR, |who| {
        format!(
            "Can't modify topic or subscription group from slave broker, please execute it from master broker. ({who})"
        )
    })
}
