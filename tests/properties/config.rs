//! The config loader on arbitrary text, on YAML made of config lines (some wrong), and on the
//! shipped configs with lines removed, added, replaced and duplicated.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use switchyard::config::{load_str, BuildOptions};

use crate::inputs::{cases, picks, renumber};

const CONFIGS: &[&str] = &[
    include_str!("../../conf/quickstart.yaml"),
    include_str!("../../conf/config.full.yaml"),
    include_str!("../../conf/litellm-multi-provider.yaml"),
];

/// Load without network or secrets checks; only a failure with a message is acceptable.
fn load(text: &str) {
    let opts = BuildOptions {
        resolve_dns: false,
        allow_insecure_master_key: true,
        previous: None,
    };
    if let Err(e) = load_str(text, &opts) {
        assert!(!e.to_string().is_empty());
    }
}

/// Lines a LiteLLM config is made of, some of them wrong.
fn yaml_line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "model_list:",
            "  - model_name: g",
            "  - model_name: \"*\"",
            "    litellm_params:",
            "      model: openai/gpt-4o",
            "      model: anthropic/*",
            "      model: bedrock/converse/x",
            "      model: opnai/x",
            "      api_base: http://127.0.0.1:1/v1",
            "      api_base: \"http://[::1\"",
            "      api_key: os.environ/NOPE",
            "      rpm: -1",
            "      timeout: 1e400",
            "      stream_timeout: 0",
            "      weight: .nan",
            "    model_info:",
            "      id: x",
            "router_settings:",
            "  num_retries: 99999999999999999999",
            "  routing_strategy: cost-based-routing",
            "  fallbacks: [{g: [h]}]",
            "litellm_settings:",
            "  drop_params: true",
            "general_settings:",
            "  master_key: sk-1234",
            "  max_budget: -5",
            "a: &a [*a]",
            "b: *nope",
            "- x",
            "\t- tab",
            "{",
            "? [a]",
            "  : b",
        ])
        .prop_map(str::to_string),
        "[ -~]{0,24}",
    ]
}

proptest! {
    #![proptest_config(cases(200))]

    #[test]
    fn config_loader_takes_arbitrary_text(text in prop_oneof![any::<String>(), "[ -~\n]{0,200}"]) {
        load(&text);
    }

    #[test]
    fn config_loader_takes_yaml_made_of_config_lines(lines in vec(yaml_line(), 0..24)) {
        load(&lines.join("\n"));
    }

    #[test]
    fn config_loader_takes_mutated_shipped_configs(
        which in any::<Index>(),
        line_edits in vec((any::<Index>(), 0u8..4, yaml_line()), 0..6),
    ) {
        let mut lines: Vec<String> = CONFIGS[which.index(CONFIGS.len())]
            .lines()
            .map(str::to_string)
            .collect();
        for (at, op, new) in line_edits {
            let i = at.index(lines.len() + 1);
            match op {
                0 if i < lines.len() => {
                    lines.remove(i);
                }
                1 => lines.insert(i, new),
                2 if i < lines.len() => lines[i] = new,
                3 if i < lines.len() => {
                    let dup = lines[i].clone();
                    lines.insert(i, dup);
                }
                _ => {}
            }
        }
        load(&lines.join("\n"));
    }

    #[test]
    fn config_loader_takes_shipped_configs_with_extreme_numbers(which in any::<Index>(), picks in picks()) {
        let text = renumber(CONFIGS[which.index(CONFIGS.len())].as_bytes(), &picks);
        load(&String::from_utf8_lossy(&text));
    }
}
