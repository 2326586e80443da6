//! Preparing one attempt, without IO: the body (encoded for the provider, or the client's own
//! body spliced for a provider that speaks the client's API) and the path, for the model the
//! deployment serves or, on a wildcard deployment, the model the client asked for.

use std::borrow::Cow;

use bytes::Bytes;

use super::translate;
use super::Exchange;
use crate::core::call::json_string;
use crate::core::endpoint::Endpoint;
use crate::core::error::ApiError;
use crate::providers::{EncodeTarget, Provider};
use crate::router::{Deployment, HttpTarget};

/// The body and path of one attempt on `dep`. A wildcard deployment's answer is priced by the
/// model asked for (set on the exchange's record here).
pub(super) fn prepare<'t>(
    ex: &mut Exchange<'_>,
    dep: &'t Deployment,
    target: &'t HttpTarget,
    prov: &dyn Provider,
) -> Result<(Bytes, Cow<'t, str>), ApiError> {
    // A wildcard deployment (`openai/*`) sends the model name the client asked for.
    let wildcard_model = match &ex.wildcard {
        Some(matched) if dep.upstream_model.contains('*') => {
            Some(json_string(&dep.upstream_model.replacen('*', matched, 1)))
        }
        _ => None,
    };
    if wildcard_model.is_some() {
        // Priced by the model asked for, not the `*` (the headers and the spend row read it).
        ex.record.price = Some(dep.price_for(&ex.call.model));
    }
    let model = match &wildcard_model {
        Some(_) => Cow::Owned(dep.upstream_model.replacen(
            '*',
            ex.wildcard.as_deref().unwrap_or(""),
            1,
        )),
        None => Cow::Borrowed(&*dep.upstream_model),
    };
    let encode_target = EncodeTarget {
        model_json: wildcard_model.as_deref().unwrap_or(&dep.model_json),
        model: &model,
        defaults: &dep.defaults,
        drop_params: dep.drop_params || ex.call.drop_params,
        additional_drop_params: &dep.additional_drop_params,
    };
    // A Responses client on OpenAI itself: its own body goes to OpenAI's /responses.
    let responses_path = match (
        &ex.call.native,
        translate::native_responses(target.kind, ex.call),
    ) {
        (Some(native), true) => {
            let chat = target.path(Endpoint::ChatCompletions);
            Some((
                // Deployment defaults are chat parameters (`max_tokens`, ...): not for /responses.
                native.splice(
                    Some(encode_target.model_json),
                    &[],
                    encode_target.additional_drop_params,
                ),
                format!(
                    "{}/responses",
                    chat.strip_suffix("/chat/completions").unwrap_or(chat)
                ),
            ))
        }
        _ => None,
    };
    let (body, path) = match responses_path {
        Some((body, path)) => (body, Cow::Owned(path)),
        None => {
            let body = prov.encode(ex.call, &encode_target)?;
            let path = match (ex.call.stream, &target.stream_path) {
                (true, Some(p)) => p.as_str(),
                _ => target.path(ex.endpoint),
            };
            // A wildcard deployment of a provider with the model in the URL (Gemini, Vertex,
            // Bedrock, Azure): the path is built for the model asked for.
            let path = match (&ex.wildcard, target.path_model.contains('*')) {
                (Some(matched), true) => {
                    // The name goes into the URL: nothing that could change the path or query.
                    if matched.contains(['/', '?', '#', '%', '\\']) || matched.contains("..") {
                        return Err(ApiError::bad_request(format!(
                            "model name \"{matched}\" cannot be put in {}'s URL",
                            target.kind.as_str()
                        ))
                        .with_param("model"));
                    }
                    let m = target.path_model.replacen('*', matched, 1);
                    let v = target.api_version.as_deref();
                    let built = match ex.call.stream {
                        true => prov.stream_path(&target.base_path, &m, v),
                        false => None,
                    };
                    Cow::Owned(
                        built.unwrap_or_else(|| prov.path(&target.base_path, ex.endpoint, &m, v)),
                    )
                }
                _ => Cow::Borrowed(path),
            };
            (body, path)
        }
    };
    Ok((body, path))
}
