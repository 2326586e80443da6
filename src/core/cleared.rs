//! The proof of admission: `upstream::connect` and `upstream::send` take a `&Cleared`, and
//! only `governance::admission` mints one (its `Clearance` lends it; health probes get theirs
//! from `Clearance::health_probe`). A zero-sized token: it costs nothing to hold or pass.

/// A request (or a gateway-made probe) that passed admission.
#[derive(Debug)]
pub struct Cleared(());

impl Cleared {
    /// Called from `governance/admission.rs` only.
    pub(crate) const fn mint() -> Cleared {
        Cleared(())
    }
}
