//! Protocols spoken on both sides of the gateway, below `api` (client wire formats) and
//! `providers` (upstream wire formats): the SSE framer and chunk classifier that OpenAI-style
//! streams share, OpenAI chat rendering (a completion or a chunk stream, for OpenAI clients
//! and for the mock), and the Claude Messages mapping that Anthropic and Bedrock share.
//! Imports only `core` (ARCHITECTURE.md §2).

pub mod claude;
pub mod openai;
pub mod sse;
