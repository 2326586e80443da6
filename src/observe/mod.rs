//! Observability off the hot path: one [`Payload`] per finished request, handed to every
//! configured sink through its own bounded queue. A sink that is slow or down drops records
//! (counted in `switchyard_logging_dropped_total{sink}`) and never delays or fails a request.
//!
//! Sinks: the JSON access log on stdout (`json_logs`), LiteLLM's generic API webhook
//! (`generic_api`, batched JSON), Langfuse's batch ingestion API and Datadog's logs intake. `settings` is what config hands in; `hub` runs the sinks.

pub mod hub;
pub mod jsonlog;
mod keyed;
pub mod named;
pub mod otel;
pub mod payload;
mod post;
pub mod settings;
mod vendors;
mod webhook;

pub use hub::{Hub, Wants};
pub use payload::Payload;
pub use settings::Settings;
