//! The layering of `ARCHITECTURE.md`, enforced: reads the rules block there, the `crate::`
//! paths of every production file under `src/`, and fails on an import the rules do not allow,
//! a top-level module the rules do not place, a cycle between top-level modules, or a file over
//! 600 lines. While issue 16's move is under way, `KNOWN` lists today's violations: a new one
//! fails, and so does a listed one that is gone, so the list only shrinks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// Known violations, by the key `check` gives them: a ratchet for a move under way (a listed
/// one that is gone fails too, so the list only shrinks). Empty since issue 16's move: every
/// import keeps the rules and no file is over the limit.
const KNOWN: &[&str] = &[];

/// The longest file allowed, in lines.
const MAX_LINES: usize = 600;

/// `module: dep dep{Name,Name}`: which modules a module may import, and for a narrow rule
/// which names of it (the path segment after the module).
type Rules = BTreeMap<String, BTreeMap<String, Option<BTreeSet<String>>>>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The text block after the `arch-rules` marker in ARCHITECTURE.md.
fn rules() -> Rules {
    let doc = fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let after = doc
        .split_once("<!-- arch-rules")
        .expect("ARCHITECTURE.md has an arch-rules block")
        .1;
    let block = after
        .split_once("```text\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("the arch-rules marker is followed by a ```text block")
        .0;
    let mut rules = Rules::new();
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let (module, deps) = line.split_once(':').expect("`module: deps`");
        let mut allowed = BTreeMap::new();
        for dep in deps.split_whitespace() {
            match dep.split_once('{') {
                Some((m, names)) => {
                    let names = names.trim_end_matches('}').split(',');
                    allowed.insert(
                        m.to_string(),
                        Some(names.map(|n| n.trim().to_string()).collect()),
                    );
                }
                None => {
                    allowed.insert(dep.to_string(), None);
                }
            }
        }
        rules.insert(module.trim().to_string(), allowed);
    }
    rules
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Source with comments, string and char literals blanked out (same length, newlines kept),
/// so paths are only found in code.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        let ident_before = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if rest.starts_with(b"//") {
            let end = rest
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| i + p);
            blank(&mut out, i, end);
            i = end;
        } else if rest.starts_with(b"/*") {
            let (mut depth, mut j) = (0usize, i);
            while j < b.len() {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if !ident_before
            && (rest.starts_with(b"r#") || rest.starts_with(b"r\"") || rest.starts_with(b"br"))
        {
            // A raw string: r"…", r#"…"#, br#"…"# (else an identifier starting with r/br).
            let start = i + usize::from(rest[0] == b'b') + 1;
            let hashes = b[start..].iter().take_while(|&&c| c == b'#').count();
            if b.get(start + hashes) != Some(&b'"') {
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            let body = start + hashes + 1;
            let end = b[body..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |p| body + p + close.len());
            blank(&mut out, i, end);
            i = end;
        } else if rest[0] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if rest[0] == b'\'' {
            // A char literal ('a', '\n', '\''), not a lifetime ('a).
            let len = if rest.get(1) == Some(&b'\\') {
                rest[2..].iter().position(|&c| c == b'\'').map(|p| p + 3)
            } else {
                let ch = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (rest.get(1 + ch) == Some(&b'\'')).then_some(ch + 2)
            };
            match len {
                Some(n) => {
                    blank(&mut out, i, i + n);
                    i += n;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).expect("blanking keeps UTF-8")
}

/// `code` without the items marked `#[cfg(test)]` (a `mod tests { … }`, a `use`, a fn).
fn without_test_items(code: &str) -> String {
    let mut out = code.as_bytes().to_vec();
    let b = code.as_bytes();
    let mut from = 0;
    while let Some(p) = code[from..].find("#[cfg(test)]") {
        let start = from + p;
        let mut j = start + "#[cfg(test)]".len();
        // The item ends at its first `;` outside braces, or at the brace closing its body.
        let mut depth = 0usize;
        while j < b.len() {
            match b[j] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        j += 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    j += 1;
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        for c in &mut out[start..j] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        from = j;
    }
    String::from_utf8(out).expect("blanking keeps UTF-8")
}

fn ident_at(s: &[u8], mut i: usize) -> (String, usize) {
    let start = i;
    while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'_') {
        i += 1;
    }
    (String::from_utf8_lossy(&s[start..i]).into_owned(), i)
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The paths a `use` tree at `i` names, each as its segments after `prefix`, `{…}` groups
/// expanded; returns where the tree ends.
fn use_tree(s: &[u8], i: usize, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut i = skip_ws(s, i);
    let mut path = prefix.to_vec();
    loop {
        if s.get(i) == Some(&b'{') {
            i += 1;
            loop {
                i = skip_ws(s, i);
                if s.get(i) == Some(&b'}') {
                    return i + 1;
                }
                i = use_tree(s, i, &path, out);
                i = skip_ws(s, i);
                match s.get(i) {
                    Some(b',') => i += 1,
                    Some(b'}') => return i + 1,
                    _ => return i,
                }
            }
        }
        if s.get(i) == Some(&b'*') {
            out.push(path);
            return i + 1;
        }
        let (seg, next) = ident_at(s, i);
        if seg.is_empty() {
            out.push(path);
            return i;
        }
        if seg != "self" {
            path.push(seg);
        }
        i = skip_ws(s, next);
        if s[i..].starts_with(b"::") {
            i = skip_ws(s, i + 2);
            continue;
        }
        if s[i..].starts_with(b"as") {
            let (_, after) = ident_at(s, skip_ws(s, i + 2));
            i = after;
        }
        out.push(path);
        return i;
    }
}

/// The module path a file under `src/` defines: `a/b.rs` and `a/b/mod.rs` are `[a, b]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts
}

/// One import of another top-level module: (from, to, the name after `to`, where).
struct Edge {
    from: String,
    to: String,
    name: Option<String>,
    at: String,
}

/// Every `crate::` (and root-reaching `super::`) path of the production files under `src/`.
fn edges() -> (Vec<Edge>, BTreeSet<String>) {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut modules = BTreeSet::new();
    let mut edges = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap().to_path_buf();
        let name = rel.file_name().unwrap().to_string_lossy().into_owned();
        let top = module_path(&rel);
        // The binaries are their own crates; lib.rs and main.rs are the root.
        if matches!(
            top.first().map(String::as_str),
            None | Some("bin" | "lib" | "main")
        ) {
            continue;
        }
        modules.insert(top[0].clone());
        if name == "tests.rs" || name.ends_with("_tests.rs") {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        let code = without_test_items(&code_only(&text));
        let s = code.as_bytes();
        let line_of = |i: usize| code[..i].matches('\n').count() + 1;
        let mut found = |i: usize, paths: Vec<Vec<String>>| {
            for p in paths {
                let Some(to) = p.first() else { continue };
                if *to != top[0] {
                    edges.push(Edge {
                        from: top[0].clone(),
                        to: to.clone(),
                        name: p.get(1).cloned(),
                        at: format!("src/{}:{}", rel.display(), line_of(i)),
                    });
                }
            }
        };
        let mut i = 0;
        while let Some(p) = code[i..].find("crate::") {
            let at = i + p;
            i = at + "crate::".len();
            if at > 0 && (s[at - 1].is_ascii_alphanumeric() || s[at - 1] == b'_') {
                continue;
            }
            let mut paths = Vec::new();
            i = use_tree(s, i, &[], &mut paths);
            found(at, paths);
        }
        // `super::` chains that climb out of the top-level module name another one.
        let depth = top.len();
        let mut i = 0;
        while let Some(p) = code[i..].find("super::") {
            let at = i + p;
            i = at + "super::".len();
            if at > 0
                && (s[at - 1].is_ascii_alphanumeric() || s[at - 1] == b'_' || s[at - 1] == b':')
            {
                continue;
            }
            let mut ups = 1;
            while code[i..].starts_with("super::") {
                ups += 1;
                i += "super::".len();
            }
            if ups >= depth {
                let mut paths = Vec::new();
                i = use_tree(s, i, &[], &mut paths);
                found(at, paths);
            }
        }
    }
    (edges, modules)
}

/// Files over [`MAX_LINES`] under `src/`, `tests/`, `benches/` and `crates/` (fixtures aside).
fn long_files() -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "crates"] {
        rust_files(&root().join(dir), &mut files);
    }
    files
        .into_iter()
        .filter(|f| fs::read_to_string(f).unwrap().lines().count() > MAX_LINES)
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .collect()
}

/// A cycle among `graph`'s nodes, if any, as `a -> b -> a`.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<String> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            match state.get(m.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|s| s == m).unwrap();
                    let mut c = stack[from..].join(" -> ");
                    let _ = write!(c, " -> {m}");
                    return Some(c);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, graph, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if !state.contains_key(n.as_str()) {
            if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// Every violation, keyed as `KNOWN` lists them, with one place that shows it.
fn check() -> BTreeMap<String, String> {
    let rules = rules();
    let (edges, modules) = edges();
    let mut found = BTreeMap::new();
    for m in &modules {
        if !rules.contains_key(m) {
            found.insert(format!("unplaced: {m}"), format!("src/{m}"));
        }
    }
    let mut allowed_graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in &edges {
        let Some(allowed) = rules.get(&e.from) else {
            continue;
        };
        let key = match allowed.get(&e.to) {
            None => format!("{} -> {}", e.from, e.to),
            Some(Some(names)) if !e.name.as_ref().is_some_and(|n| names.contains(n)) => {
                format!(
                    "{} -> {}::{}",
                    e.from,
                    e.to,
                    e.name.as_deref().unwrap_or("*")
                )
            }
            Some(_) => {
                allowed_graph
                    .entry(e.from.clone())
                    .or_default()
                    .insert(e.to.clone());
                continue;
            }
        };
        found.entry(key).or_insert_with(|| e.at.clone());
    }
    if let Some(c) = cycle(&allowed_graph) {
        found.insert(format!("cycle: {c}"), String::new());
    }
    for f in long_files() {
        found.insert(format!("size: {f}"), String::new());
    }
    for (call, at) in stray_calls() {
        found.insert(format!("call: {call}"), at);
    }
    found
}

/// Calls only their owner may make (ARCHITECTURE.md §3, "the proof of admission"): the
/// token `upstream` asks for is minted only by admission, and the gateway's own clearance
/// only serves health probes. Unit tests are left out.
const OWNED_CALLS: &[(&str, &[&str])] = &[
    ("Cleared::mint(", &["governance/admission.rs"]),
    ("Clearance::health_probe(", &["pipeline/probe.rs"]),
    ("ProviderKind::OpenAi", KIND_OWNERS),
    ("ProviderKind::HostedVllm", KIND_OWNERS),
    ("ProviderKind::Azure", KIND_OWNERS),
    ("ProviderKind::Anthropic", KIND_OWNERS),
    ("ProviderKind::Gemini", KIND_OWNERS),
    ("ProviderKind::Ollama", KIND_OWNERS),
    ("ProviderKind::Bedrock", KIND_OWNERS),
    ("ProviderKind::VertexAi", KIND_OWNERS),
    ("ProviderKind::Preset", KIND_OWNERS),
];

/// Where a provider kind may be named: the providers themselves, the type, and the client
/// route table of `/{provider}/*` prefixes. Everything else asks the registry. A folder
/// owner ends in `/`.
const KIND_OWNERS: &[&str] = &["providers/", "core/ids.rs", "api/endpoint.rs"];

/// `(call, file:line)` for each owned call outside its owners.
fn stray_calls() -> Vec<(String, String)> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut out = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let code = without_test_items(&code_only(&fs::read_to_string(&file).unwrap()));
        for (call, owners) in OWNED_CALLS {
            let owned = owners
                .iter()
                .any(|o| rel == *o || (o.ends_with('/') && rel.starts_with(o)));
            if owned || rel.ends_with("tests.rs") {
                continue;
            }
            for (i, _) in code.match_indices(call) {
                let line = code[..i].matches('\n').count() + 1;
                out.push((
                    call.trim_end_matches('(').to_string(),
                    format!("src/{rel}:{line}"),
                ));
            }
        }
    }
    out
}

#[test]
fn the_module_graph_keeps_the_layering_of_architecture_md() {
    let found = check();
    let known: BTreeSet<&str> = KNOWN.iter().copied().collect();
    let new: Vec<String> = found
        .iter()
        .filter(|(k, _)| !known.contains(k.as_str()))
        .map(|(k, at)| format!("  {k}    ({at})"))
        .collect();
    let gone: Vec<&str> = known
        .iter()
        .filter(|k| !found.contains_key(**k))
        .copied()
        .collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "ARCHITECTURE.md's rules are broken by:\n{}\n\nno longer violated (remove from KNOWN):\n{}",
        new.join("\n"),
        gone.join("\n")
    );
}

#[test]
fn the_reader_sees_paths_in_code_only() {
    let src = "use crate::{a::X, b::{self, c::Y as Z}};\n\
               // crate::comment::No\n\
               let s = \"crate::string::No */ /*\"; let c = '\"'; fn f<'a>(x: &'a str) {}\n\
               let r = r#\"crate::raw::No\"#; crate::d::f();\n\
               #[cfg(test)]\nmod tests { use crate::test::No; }\n\
               #[cfg(test)]\nuse crate::also_test::No;\n\
               crate::e::{f::G, *};";
    let code = without_test_items(&code_only(src));
    let mut all = Vec::new();
    let mut i = 0;
    while let Some(p) = code[i..].find("crate::") {
        i = use_tree(code.as_bytes(), i + p + "crate::".len(), &[], &mut all);
    }
    let joined: Vec<String> = all.iter().map(|p| p.join("::")).collect();
    assert_eq!(joined, ["a::X", "b", "b::c::Y", "d::f", "e::f::G", "e"]);
}

#[test]
fn a_cycle_is_named() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert_eq!(cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(cycle(&g).as_deref(), Some("a -> b -> c -> a"));
}
