//! Switchyard: an LLM gateway on Pingora that serves LiteLLM's config and API.

pub mod admin;
pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod core;
pub mod governance;
pub mod metrics;
pub mod observe;
pub mod pipeline;
pub mod pricing;
pub mod providers;
pub mod proxy;
pub mod router;
pub mod server;
pub mod store;
pub mod upstream;
pub mod wire;
