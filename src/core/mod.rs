//! The wire-neutral vocabulary every layer shares: clocks and calendar, ids and provider kinds,
//! the endpoints, the parsed model call and its limits, the one error type the client sees,
//! the neutral chat result and its stream events, one usage type, failures as data,
//! hand-written JSON, the master key, the upstream peer builder, the proof of admission, and
//! config errors and environment lookups (so a provider can read its own settings). It
//! imports nothing of the crate outside itself (ARCHITECTURE.md §2).

pub mod call;
pub mod chat;
pub mod cleared;
pub mod clock;
pub mod config_error;
pub mod endpoint;
pub mod env;
pub mod error;
pub mod failure;
pub mod headers;
pub mod ids;
pub mod json;
pub mod key_logging;
pub mod lifecycle;
pub mod limits;
pub mod net;
pub mod secret;
