//! What a provider reads for itself from a deployment's `litellm_params` when the config is
//! built ([`Provider::place`](super::Provider::place)): the base URL it implies when none is
//! given (Bedrock's region, Vertex AI's location), the model as its paths name it (Vertex's
//! resource name) and the per-request credentials (SigV4, a Google service account). Each is
//! checked by its provider, errors naming the key path.

use super::Credentials;

/// A deployment's provider-specific params, borrowed from the config.
#[derive(Default)]
pub struct Params<'a> {
    /// The key path of these params (`model_list[0].litellm_params`), for errors.
    pub path: &'a str,
    /// The upstream model name (provider prefix removed).
    pub model: &'a str,
    /// Whether the deployment has a key (its `api_key`, or one from the environment): a key
    /// stands in for signing (Bedrock API keys, Vertex express mode).
    pub has_api_key: bool,
    pub aws_region_name: Option<&'a str>,
    pub aws_access_key_id: Option<&'a str>,
    pub aws_secret_access_key: Option<&'a str>,
    pub aws_session_token: Option<&'a str>,
    pub vertex_project: Option<&'a str>,
    pub vertex_location: Option<&'a str>,
    pub vertex_credentials: Option<&'a serde_yaml::Value>,
}

/// What a provider makes of those params; the default is an address-only provider.
#[derive(Default)]
pub struct Placement {
    /// The base URL when neither `api_base` nor the environment names one.
    pub default_base: Option<String>,
    /// The model as the provider's paths name it, when that is not the upstream model.
    pub path_model: Option<String>,
    /// Per-request authorization; bound to the base URL's authority with
    /// [`Credentials::bind`] once that is known.
    pub credentials: Option<Credentials>,
}
