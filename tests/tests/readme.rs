#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The README's walk-through runs: every `sh` block of its "A walk through with curl" section, top
//! to bottom in one shell against the test stack, each answer compared with the `# ...` lines
//! written under its command (`...` standing for what differs every time). So the README can never
//! again use a session after signing it out, or show a revoked token working. And every path the
//! README names in backticks exists.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// The `sh` blocks of the walk-through section.
fn walk_through(text: &str) -> Vec<String> {
    let start = text
        .find("\n## A walk through with curl")
        .expect("the README has its walk-through");
    let section = &text[start + 1..];
    let end = section[3..]
        .find("\n## ")
        .map_or(section.len(), |at| at + 3);
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in section[..end].lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(lines), "```") => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    blocks
}

/// A line that shows an answer: `# {...`, `# [...` or `# 204`.
fn answer_start(line: &str) -> Option<&str> {
    let shown = line.strip_prefix("# ")?;
    let starts_answer = shown.starts_with('{')
        || shown.starts_with('[')
        || (!shown.is_empty() && shown.bytes().all(|b| b.is_ascii_digit()));
    starts_answer.then_some(shown)
}

const MARK: &str = "@@ward-readme-answer@@";

/// The script to run (a marker echoed where each shown answer is) and the answers shown.
fn script_and_answers(blocks: &[String]) -> (String, Vec<String>) {
    let mut script = Vec::new();
    let mut answers: Vec<String> = Vec::new();
    let mut in_answer = false;
    for line in blocks.iter().flat_map(|block| block.lines()) {
        if let Some(shown) = answer_start(line) {
            script.push(format!("echo {MARK}"));
            answers.push(shown.to_string());
            in_answer = true;
        } else if let (true, Some(more)) = (in_answer, line.strip_prefix("#  ")) {
            if let Some(last) = answers.last_mut() {
                last.push_str(more.trim());
            }
        } else {
            in_answer = false;
            script.push(line.to_string());
        }
    }
    (script.join("\n"), answers)
}

/// Whether `text` is `pattern`, where each `...` of the pattern stands for any text.
fn shows(text: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split("...").collect();
    if parts.len() == 1 {
        return text == pattern;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[test]
fn the_matcher_takes_dots_for_anything_and_nothing_else() {
    assert!(shows(r#"{"a":"xyz","b":1}"#, r#"{"a":"...","b":1}"#));
    assert!(!shows(r#"{"a":"xyz","b":2}"#, r#"{"a":"...","b":1}"#));
    assert!(!shows(
        r#"{"error":"unauthorized"}"#,
        r#"{"account_id":"..."}"#
    ));
}

#[test]
fn the_script_marks_each_shown_answer() {
    let block = "curl a\n# {\"x\":1,\n#  \"y\":2}\nB=$(curl b)\n# 204\n# a comment".to_string();
    let (script, answers) = script_and_answers(&[block]);
    assert_eq!(answers, ["{\"x\":1,\"y\":2}", "204"]);
    assert_eq!(
        script,
        format!("curl a\necho {MARK}\nB=$(curl b)\necho {MARK}\n# a comment")
    );
}

#[test]
fn the_walk_through_runs_top_to_bottom_and_answers_as_shown() {
    let api = ward_tests::api_url();
    let port = api.rsplit(':').next().unwrap().to_string();
    let blocks = walk_through(&readme());
    assert!(blocks.len() >= 5, "{} blocks", blocks.len());
    let (script, answers) = script_and_answers(&blocks);
    assert!(answers.len() >= 20, "{} answers shown", answers.len());
    // The README speaks of `make dev`'s address; the suite's stack has ports of its own.
    let script = script
        .replace("http://127.0.0.1:9000", &api)
        .replace("--invoke-port 9000", &format!("--invoke-port {port}"));
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the walk-through stopped ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let printed: Vec<String> = stdout
        .split(MARK)
        .map(|chunk| chunk.lines().map(str::trim).collect::<String>())
        .collect();
    assert_eq!(printed.len(), answers.len() + 1, "{stdout}");
    for (index, shown) in answers.iter().enumerate() {
        assert!(
            shows(&printed[index], shown),
            "answer {} of the walk-through:\n  shown:   {shown}\n  printed: {}",
            index + 1,
            printed[index]
        );
    }
}

/// Every repository path the README names in backticks (`infra/...`, `docs/...`, a file with an
/// extension at the root) exists.
#[test]
fn every_file_the_readme_names_exists() {
    let text = readme();
    let mut missing = Vec::new();
    for quoted in text.split('`').skip(1).step_by(2) {
        let candidate = quoted.split_whitespace().next().unwrap_or_default();
        let looks_like_a_path = ["infra/", "docs/", "tests/", "shared/", "functions/", ".ci/"]
            .iter()
            .any(|prefix| candidate.starts_with(prefix))
            || [".md", ".yaml", ".toml", ".json", ".py", ".sh"]
                .iter()
                .any(|extension| candidate.ends_with(extension) && !candidate.contains('/'));
        if !looks_like_a_path || candidate.contains('<') || candidate.contains('*') {
            continue;
        }
        let path = candidate.trim_end_matches(['.', ',', ':', ')']);
        if !root().join(path).exists() {
            missing.push(path.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "the README names files that do not exist: {missing:?}"
    );
}
