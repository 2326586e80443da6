//! Property tests over every parser of client and upstream input: arbitrary bytes, mutated
//! recordings and arbitrary chunk splits never panic, hold bounded state and, where framing
//! allows it, decode to the same events however the bytes are cut.
//!
//! Run: `cargo test --test properties` (cases per property: `PROPTEST_CASES` overrides).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

#[path = "properties/bodies.rs"]
mod bodies;
#[path = "properties/config.rs"]
mod config;
#[path = "properties/inputs.rs"]
mod inputs;
#[path = "properties/requests.rs"]
mod requests;
#[path = "properties/streams.rs"]
mod streams;
