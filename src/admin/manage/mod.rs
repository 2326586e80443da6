//! LiteLLM's management API (placeholder until the handlers land).

use std::sync::Arc;

use bytes::Bytes;

use crate::api::error::ErrorKind;
use crate::api::ApiError;
use crate::config::Runtime;
use crate::governance::tables::KeyView;
use crate::governance::Governance;

/// Who calls a management route.
pub enum Caller<'a> {
    Master,
    Key(&'a KeyView),
}

/// Answer one management request: `(status, JSON body)`.
pub async fn serve(
    _gov: &Arc<Governance>,
    _rt: &Runtime,
    _caller: Caller<'_>,
    _method: &str,
    path: &str,
    _query: Option<&str>,
    _body: Bytes,
) -> Result<(u16, Bytes), ApiError> {
    Err(ApiError::new(501, ErrorKind::NotImplemented, format!("{path} is not implemented yet")))
}
