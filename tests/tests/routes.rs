#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! One source of truth for routes: template.yaml (API Gateway), the `cargo lambda watch` router
//! in Cargo.toml, docs/openapi.yaml and the packages under functions/ must agree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The paths of the account security pages, served by the `web` function.
const PAGES: [&str; 4] = ["/", "/assets/{asset}", "/docs", "/openapi.yaml"];

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Routes of one source: (path, method or "ANY") → function.
type Routes = BTreeMap<(String, String), String>;

/// The function a request reaches: the method's own route first, then ANY, as API Gateway and
/// cargo-lambda's router both resolve them.
fn resolve(routes: &Routes, path: &str, method: &str) -> Option<String> {
    routes
        .get(&(path.to_string(), method.to_string()))
        .or_else(|| routes.get(&(path.to_string(), "ANY".to_string())))
        .cloned()
}

fn paths(routes: &Routes) -> BTreeSet<String> {
    routes.keys().map(|(path, _)| path.clone()).collect()
}

fn template() -> (Routes, BTreeSet<String>) {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let mut routes = Routes::new();
    let mut binaries = BTreeSet::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        assert_eq!(
            resource["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{name:?}"
        );
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_string();
        binaries.insert(binary.clone());
        if let Some(events) = resource["Properties"]["Events"].as_mapping() {
            for event in events.values() {
                assert_eq!(event["Type"], "HttpApi");
                let path = event["Properties"]["Path"].as_str().unwrap().to_string();
                let method = event["Properties"]["Method"]
                    .as_str()
                    .unwrap()
                    .to_uppercase();
                let earlier = routes.insert((path.clone(), method.clone()), binary.clone());
                assert!(
                    earlier.is_none(),
                    "{method} {path} is routed twice in template.yaml"
                );
            }
        }
    }
    (routes, binaries)
}

fn router() -> Routes {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&text).unwrap();
    let table = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .unwrap();
    let mut routes = Routes::new();
    for (path, target) in table {
        match target {
            toml::Value::String(function) => {
                routes.insert((path.clone(), "ANY".to_string()), function.clone());
            }
            toml::Value::Array(entries) => {
                for entry in entries {
                    let method = entry["method"].as_str().unwrap().to_uppercase();
                    routes.insert(
                        (path.clone(), method),
                        entry["function"].as_str().unwrap().to_string(),
                    );
                }
            }
            other => panic!("unexpected router entry for {path}: {other:?}"),
        }
    }
    routes
}

fn openapi() -> Routes {
    let text = std::fs::read_to_string(root().join("docs/openapi.yaml")).unwrap();
    let document: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let mut routes = Routes::new();
    for (path, operations) in document["paths"].as_mapping().unwrap() {
        for (method, operation) in operations.as_mapping().unwrap() {
            let method = method.as_str().unwrap().to_uppercase();
            let function = operation["operationId"].as_str().unwrap().to_string();
            routes.insert((path.as_str().unwrap().to_string(), method), function);
        }
    }
    routes
}

fn packages() -> BTreeSet<String> {
    std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|entry| {
            let manifest = entry.unwrap().path().join("Cargo.toml");
            let package: toml::Value =
                toml::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
            package["package"]["name"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn template_router_openapi_and_packages_agree() {
    let (template, binaries) = template();
    let router = router();
    let documented = openapi();
    let packages = packages();

    assert_eq!(
        binaries, packages,
        "every package is a function of the template, and the other way round"
    );
    assert_eq!(
        paths(&template),
        paths(&router),
        "template.yaml and the local router serve the same paths"
    );
    // The pages are served beside the API, on its origin, and are not part of its contract.
    for path in PAGES {
        for method in METHODS {
            assert_eq!(
                resolve(&template, path, method).as_deref(),
                Some("web"),
                "template.yaml: {method} {path}"
            );
        }
    }
    let api: BTreeSet<String> = paths(&template)
        .into_iter()
        .filter(|path| !PAGES.contains(&path.as_str()))
        .collect();
    assert_eq!(
        api,
        paths(&documented),
        "template.yaml and docs/openapi.yaml have the same paths (but the pages')"
    );

    for ((path, method), function) in &documented {
        assert!(
            packages.contains(function),
            "{method} {path}: operationId {function} is not a package"
        );
        assert_eq!(
            resolve(&template, path, method).as_ref(),
            Some(function),
            "template.yaml: {method} {path}"
        );
        assert_eq!(
            resolve(&router, path, method).as_ref(),
            Some(function),
            "router: {method} {path}"
        );
    }
    // Undocumented methods reach the same function in AWS and locally (which answers 405).
    for path in paths(&template) {
        for method in METHODS {
            assert_eq!(
                resolve(&template, &path, method),
                resolve(&router, &path, method),
                "{method} {path}"
            );
        }
    }
    let routed: BTreeSet<String> = router.values().cloned().collect();
    let unrouted: Vec<_> = packages.difference(&routed).collect();
    assert_eq!(
        unrouted,
        ["authorizer"],
        "only the authorizer has no route of its own"
    );
}

#[test]
fn the_check_notices_a_disagreement() {
    let (mut template, _) = template();
    let router = router();
    template.insert(
        ("/v1/whoami".to_string(), "GET".to_string()),
        "account".to_string(),
    );
    assert_ne!(
        resolve(&template, "/v1/whoami", "GET"),
        resolve(&router, "/v1/whoami", "GET")
    );
}
