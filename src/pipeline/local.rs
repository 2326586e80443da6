//! Answers made here, without a provider: Anthropic's `count_tokens` (the tokenizer of the
//! group's first deployment) and batch completions, which fan out to this gateway itself.

use pingora_proxy::Session;

use super::admit::Admitted;
use super::{batch, internal, Env};
use crate::core::call::ModelCall;
use crate::core::error::{ApiError, ErrorKind};
use crate::router::precall::{PromptTokens, Tokenizer};

/// `/v1/messages/count_tokens`: the prompt's tokens, counted off the proxy's worker threads.
pub async fn count_tokens(session: &mut Session, a: &Admitted<'_>) -> Result<u16, ApiError> {
    let tokenizer = a
        .group
        .deployments
        .first()
        .map_or(Tokenizer::Cl100k, |d| d.tokenizer);
    // Tokenizing a large prompt is CPU work: off the proxy's worker threads.
    let input = a.ingress.call.input_json().to_vec();
    let tokens = tokio::task::spawn_blocking(move || PromptTokens::new(&input).count(tokenizer))
        .await
        .map_err(|e| ApiError::new(500, ErrorKind::ApiError, format!("count_tokens: {e}")))?;
    let body = crate::api::messages::count_tokens_body(tokens);
    write_json(session, 200, body).await
}

/// A batch completion (see [`batch`]): one governed request per model, over loopback.
pub async fn batch(
    env: &Env<'_>,
    session: &mut Session,
    call: &ModelCall,
) -> Result<u16, ApiError> {
    let models = batch::models(&call.model).unwrap_or_default();
    batch::check(call, &models)?;
    let Some(addr) = env.self_addr else {
        return Err(ApiError::new(
            500,
            ErrorKind::ApiError,
            "batch completions need the gateway's own listener address",
        ));
    };
    let req = session.req_header();
    let path = req.uri.path().to_string();
    let body = batch::run(addr, &path, &req.headers, call, &models).await?;
    write_json(session, 200, body).await
}

/// Write a whole JSON answer.
pub async fn write_json(
    session: &mut Session,
    status: u16,
    body: bytes::Bytes,
) -> Result<u16, ApiError> {
    let h = crate::api::response::header(status, "application/json", Some(body.len()))
        .map_err(internal)?;
    crate::api::response::write_full(session, h, body)
        .await
        .map_err(internal)?;
    Ok(status)
}
