//! Fallback lists (`fallbacks`, `context_window_fallbacks`, `content_policy_fallbacks`,
//! `default_fallbacks`) and which one a failure's class picks.

use std::collections::HashMap;

use crate::core::failure::FallbackClass;

/// Fallback configuration, merged from `router_settings` and `litellm_settings`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fallbacks {
    pub generic: HashMap<String, Vec<String>>,
    pub context_window: HashMap<String, Vec<String>>,
    pub content_policy: HashMap<String, Vec<String>>,
    /// Used for any group without its own generic list.
    pub default: Vec<String>,
    /// At most this many fallback groups per request (LiteLLM default 5).
    pub max_fallbacks: usize,
}

impl Fallbacks {
    /// The list for a group and error class (LiteLLM: a specific list if configured, and
    /// context-window/content-policy errors use only their own lists).
    pub fn for_error(&self, group: &str, class: FallbackClass) -> &[String] {
        let list = match class {
            FallbackClass::ContextWindow => self.context_window.get(group),
            FallbackClass::ContentPolicy => self.content_policy.get(group),
            FallbackClass::Other => self.generic.get(group).or(Some(&self.default)),
            FallbackClass::Request => None,
        };
        list.map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn is_empty(&self) -> bool {
        self.generic.is_empty()
            && self.context_window.is_empty()
            && self.content_policy.is_empty()
            && self.default.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_pick_their_list() {
        let mut f = Fallbacks {
            max_fallbacks: 5,
            ..Default::default()
        };
        f.default = vec!["d".into()];
        f.generic.insert("a".into(), vec!["b".into()]);
        f.context_window.insert("a".into(), vec!["long".into()]);
        assert_eq!(f.for_error("a", FallbackClass::Other), ["b"]);
        assert_eq!(f.for_error("x", FallbackClass::Other), ["d"]);
        assert_eq!(f.for_error("a", FallbackClass::ContextWindow), ["long"]);
        assert!(f.for_error("x", FallbackClass::ContextWindow).is_empty());
        assert!(f.for_error("a", FallbackClass::ContentPolicy).is_empty());
        assert!(f.for_error("a", FallbackClass::Request).is_empty());
    }
}
