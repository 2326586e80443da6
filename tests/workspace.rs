//! The workspace's shape (ARCHITECTURE.md §5): the scriptable mock upstream is a crate of its
//! own that the gateway's tests use, never a part of the gateway, and it renders its answers
//! without the gateway's code, so a test of the gateway's renderers compares two writers.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::fs;
use std::path::PathBuf;

/// The sections of a manifest (a path under the repo root) with a line naming package `dep`.
fn sections_naming(manifest: &str, dep: &str) -> Vec<String> {
    let text =
        fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(manifest)).unwrap();
    let mut section = "";
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if line.split(['=', ' ']).next() == Some(dep) {
            out.push(section.to_string());
        }
    }
    out
}

#[test]
fn the_mock_upstream_is_a_dev_dependency_of_the_gateway_only() {
    let sections = sections_naming("Cargo.toml", "switchyard-mock");
    assert_eq!(sections, ["[dev-dependencies]"]);
}

#[test]
fn the_mock_upstream_does_not_depend_on_the_gateway() {
    let sections = sections_naming("crates/switchyard-mock/Cargo.toml", "switchyard");
    assert!(
        sections.is_empty(),
        "the mock names the gateway in {sections:?}"
    );
}
