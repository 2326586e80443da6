//! Inbound surfaces: the route table, the Anthropic and Responses bridges, and writing
//! responses and errors to the client.

pub mod endpoint;
pub mod messages;
pub mod response;
pub mod responses;
