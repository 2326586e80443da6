//! Unit tests of `router::table`: names, aliases, wildcards and fallback entries.

use super::{pattern_specificity, Router};
use crate::config::{load_str, BuildOptions};
use crate::core::call::Fallback;
use crate::router::fallback::Fallbacks;
use crate::router::{ModelGroup, Strategy};

/// A table of deployment-less groups named `names`, in that order, with `aliases`
/// (alias, group, hidden).
fn table(names: &[&str], aliases: &[(&str, &str, bool)]) -> Router {
    let groups = names
        .iter()
        .map(|n| ModelGroup::new((*n).into(), Vec::new(), Strategy::SimpleShuffle));
    let aliases = aliases
        .iter()
        .map(|(a, g, hidden)| ((*a).to_string(), ((*g).to_string(), *hidden)))
        .collect();
    Router::new(groups, aliases, Fallbacks::default())
}

#[test]
fn wildcards_by_specificity_not_config_order() {
    let r = table(&["*", "groq/*", "anthropic/*", "other/*"], &[]);
    let pick = |m: &str| {
        let (g, mid) = r.resolve_wildcard(m).unwrap();
        (g.name.to_string(), mid)
    };
    assert_eq!(
        pick("groq/llama-3.1-8b-instant"),
        ("groq/*".into(), "llama-3.1-8b-instant".into())
    );
    assert_eq!(
        pick("anthropic/claude-x"),
        ("anthropic/*".into(), "claude-x".into())
    );
    assert_eq!(pick("gpt-4o"), ("*".into(), "gpt-4o".into()));
    // `groq/*` and `other/*` tie on LiteLLM's key; neither matches the other's names.
    assert_eq!(pattern_specificity("groq/*"), (9, 3));
    assert_eq!(pattern_specificity("*"), (4, 3));
    assert_eq!(pattern_specificity("gpt-4*"), (10, 4));
}

#[test]
fn names_then_aliases_and_what_models_lists() {
    let r = table(
        &["b", "a", "openai/*"],
        &[("z", "a", false), ("y", "b", false), ("secret", "a", true)],
    );
    assert_eq!(&*r.resolve("a").unwrap().name, "a");
    assert_eq!(&*r.resolve("z").unwrap().name, "a");
    assert_eq!(&*r.resolve("secret").unwrap().name, "a");
    assert!(r.resolve("openai/gpt-4o").is_none());
    assert!(r.group("z").is_none());
    // Groups in config order without wildcards, then visible aliases sorted.
    assert_eq!(r.listed_models(), ["b", "a", "y", "z"]);
    assert_eq!(
        r.groups().map(|g| &*g.name).collect::<Vec<_>>(),
        ["b", "a", "openai/*"]
    );
    assert_eq!(r.group_count(), 3);
}

#[test]
fn fallback_entries_name_groups_aliases_or_deployments() {
    let y = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/x}\n    model_info: {id: a1}\n  - model_name: b\n    litellm_params: {model: openai/y}\n    model_info: {id: b1}\n  - model_name: b\n    litellm_params: {model: openai/z}\n    model_info: {id: b2}\nrouter_settings:\n  model_group_alias: {al: b}\n  fallbacks: [{a: [b2, al, nope]}]\n  context_window_fallbacks: [{a: [a1]}]\n";
    let rt = load_str(y, &BuildOptions::default()).unwrap();
    let r = &rt.router;
    let target = |n: &str| {
        r.fallback_target(n)
            .map(|(g, id)| (g.name.to_string(), id.map(str::to_string)))
    };
    assert_eq!(target("b"), Some(("b".into(), None)));
    assert_eq!(target("al"), Some(("b".into(), None)));
    assert_eq!(target("b2"), Some(("b".into(), Some("b2".into()))));
    assert_eq!(target("nope"), None);
    assert_eq!(r.deployment_count(), 3);
    assert!(r.stats("b1").is_some() && r.stats("c1").is_none());
    let asked = [Fallback {
        model: "a".into(),
        overrides: serde_json::Map::new(),
    }];
    let names: Vec<&str> = r
        .fallback_groups("a", Some(&asked))
        .map(|g| &*g.name)
        .collect();
    assert_eq!(names, ["b", "b", "a", "a"]);
    assert_eq!(r.fallbacks().max_fallbacks, 5);
    assert_eq!(r.aliases()["al"], ("b".to_string(), false));
}
