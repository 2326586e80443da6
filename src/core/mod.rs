//! The wire-neutral vocabulary every layer shares: clocks and calendar, ids and provider kinds,
//! the endpoints and the one error type the client sees. It imports nothing of the crate
//! outside itself (ARCHITECTURE.md §2); issue 16's step 3 moves the parsed call and the neutral
//! chat types here next.

pub mod clock;
pub mod endpoint;
pub mod error;
pub mod ids;
