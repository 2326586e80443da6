//! The wire-neutral vocabulary every layer shares: clocks and calendar, ids. It imports nothing
//! of the crate (ARCHITECTURE.md §2); issue 16's step 3 moves the parsed call, endpoint, error
//! and neutral chat types here next.

pub mod clock;
pub mod ids;
