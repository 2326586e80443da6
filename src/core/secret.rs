//! Secrets compared without leaking their length of match through timing.

use subtle::ConstantTimeEq;

/// The gateway's master key, compared in constant time.
pub struct MasterKey(String);

impl MasterKey {
    pub fn new(key: String) -> MasterKey {
        MasterKey(key)
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    pub fn matches(&self, presented: &[u8]) -> bool {
        self.0.as_bytes().ct_eq(presented).into()
    }
}
