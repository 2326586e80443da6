//! Security regressions against the real binary: every path a key can take is governed
//! (fallbacks, pass-through, listings, health, token counting), key minting is bounded,
//! money is counted on every exit, and no input crashes a connection. One test per case of
//! issue 14 and per LiteLLM CVE class in `shared/reference/reliability.md` §5.7.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines,
    reason = "tests fail loudly"
)]

mod common;
#[path = "security/cves.rs"]
mod cves;
#[path = "security/governed.rs"]
mod governed;
#[path = "security/hostile.rs"]
mod hostile;
#[path = "security/minting.rs"]
mod minting;
#[path = "security/money.rs"]
mod money;
#[path = "security/organizations.rs"]
mod organizations;
