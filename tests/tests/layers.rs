#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The core crate's layering, read from its source: `http → domain ← store`, `crypto` depending on
//! nothing of the crate, the SDK and the HTTP runtime each in one layer, and no module importing
//! another that imports it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src")
}

/// Every module of the crate (`domain::account`, `store`, ...) and its code, without comments
/// and without its inline test module.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }
    let root = source_root();
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
            let code: String = code
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            (parts.join("::"), code)
        })
        .collect()
}

/// The modules of the crate that `module`'s code names (`crate::...`, `super::...`).
fn references(module: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let parent: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
    let parent = &parent[..parent.len().saturating_sub(1)];
    let mut named = BTreeSet::new();
    let mut paths = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(start) {
            let at = from + found;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            // The path, and the names of a `{...}` group at its end (one level).
            let rest = &code[at + start.len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let path = path.trim_end_matches(':').to_string();
            let base: Vec<String> = match start {
                "crate::" => vec![],
                _ => parent.iter().map(|p| p.to_string()).collect(),
            };
            let after = &rest[path.len()..];
            let group = after
                .trim_start_matches(':')
                .strip_prefix('{')
                .and_then(|inner| inner.split('}').next());
            let mut full = base.clone();
            full.extend(
                path.split("::")
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
            );
            paths.push(full.clone());
            if let Some(group) = group {
                for item in group.split(',') {
                    let head: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    let mut member = full.clone();
                    member.extend(
                        head.split("::")
                            .filter(|p| !p.is_empty())
                            .map(str::to_string),
                    );
                    paths.push(member);
                }
            }
        }
    }
    for path in paths {
        // The longest prefix that is a module.
        for length in (0..=path.len()).rev() {
            let candidate = path[..length].join("::");
            if known.contains(&candidate) {
                if candidate != module {
                    named.insert(candidate);
                }
                break;
            }
        }
    }
    named
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(module, code)| (module.clone(), references(module, code, &known)))
        .collect()
}

fn layer(module: &str) -> &str {
    module.split("::").next().unwrap_or("")
}

#[test]
fn the_reference_reader_sees_the_imports_it_is_meant_to() {
    let graph = graph();
    // Known edges, one of each form: a `crate::` path, a `super::{...}` group, a `super::` path.
    assert!(
        graph["domain::account"].contains("domain::throttle"),
        "{:?}",
        graph["domain::account"]
    );
    assert!(graph["store::accounts"].contains("store::sessions"));
    assert!(graph["http::accounts"].contains("http::response"));
    assert!(graph["http::accounts"].contains("domain::account"));
    assert!(graph.len() > 30, "{} modules", graph.len());
}

#[test]
fn crypto_depends_on_nothing_of_the_crate() {
    for (module, named) in graph() {
        if layer(&module) == "crypto" {
            let outside: Vec<_> = named.iter().filter(|n| layer(n) != "crypto").collect();
            assert!(outside.is_empty(), "{module} names {outside:?}");
        }
    }
}

#[test]
fn the_domain_knows_neither_the_edge_nor_the_database() {
    let modules = modules();
    for (module, named) in graph() {
        if layer(&module) != "domain" {
            continue;
        }
        let outward: Vec<_> = named
            .iter()
            .filter(|n| !matches!(layer(n), "domain" | "crypto"))
            .collect();
        assert!(outward.is_empty(), "{module} names {outward:?}");
        for foreign in [
            "aws_sdk",
            "aws_config",
            "aws_smithy",
            "lambda_http",
            "serde_json::Value",
            "json!",
        ] {
            assert!(
                !modules[&module].contains(foreign),
                "{module} uses {foreign}"
            );
        }
    }
}

#[test]
fn the_store_and_the_edge_meet_only_in_the_domain() {
    for (module, named) in graph() {
        let forbidden: &[&str] = match layer(&module) {
            "store" => &["http", "app"],
            "http" => &["store"],
            _ => &[],
        };
        let crossing: Vec<_> = named
            .iter()
            .filter(|n| forbidden.contains(&layer(n)))
            .collect();
        assert!(crossing.is_empty(), "{module} names {crossing:?}");
    }
}

#[test]
fn only_the_store_speaks_dynamodb_and_only_the_edge_speaks_lambda_http() {
    for (module, code) in modules() {
        for (marker, home) in [
            ("aws_sdk_dynamodb", "store"),
            ("AttributeValue", "store"),
            ("lambda_http", "http"),
        ] {
            if code.contains(marker) {
                assert_eq!(layer(&module), home, "{module} uses {marker}");
            }
        }
    }
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = graph();
    // Depth-first search for a back edge; the cycle is named when one is found.
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(start) = path.iter().position(|seen| seen == module) {
            let mut cycle = path[start..].to_vec();
            cycle.push(module.to_string());
            panic!("module cycle: {}", cycle.join(" → "));
        }
        if done.contains(module) {
            return;
        }
        path.push(module.to_string());
        for next in graph.get(module).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(module.to_string());
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(module, &graph, &mut Vec::new(), &mut done);
    }
}
