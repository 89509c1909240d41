//! SendMessage and EndTransaction.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::context::ProxyContext;
use crate::proto::v2::{
    EndTransactionRequest, EndTransactionResponse, SendMessageRequest, SendMessageResponse,
};

/// SendMessage.
pub async fn send_message(
    _ctx: &Arc<ProxyContext>,
    _request: Request<SendMessageRequest>,
) -> Result<Response<SendMessageResponse>, Status> {
    Err(Status::unimplemented("SendMessage: in progress"))
}

/// EndTransaction.
pub async fn end_transaction(
    _ctx: &Arc<ProxyContext>,
    _request: Request<EndTransactionRequest>,
) -> Result<Response<EndTransactionResponse>, Status> {
    Err(Status::unimplemented("EndTransaction: in progress"))
}
