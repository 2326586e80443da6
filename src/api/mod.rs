//! Inbound surfaces: the endpoint table, request views and OpenAI-style error bodies.

pub mod endpoint;
pub mod limits;
pub mod messages;
pub mod request;
pub mod response;
pub mod responses;
