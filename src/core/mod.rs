//! The wire-neutral vocabulary every layer shares: clocks and calendar, ids, and the one error
//! type the client sees. It imports nothing of the crate outside itself (ARCHITECTURE.md §2);
//! issue 16's step 3 moves the parsed call, endpoint and neutral chat types here next.

pub mod clock;
pub mod error;
pub mod ids;
