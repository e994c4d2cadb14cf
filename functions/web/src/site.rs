//! The pages and their assets, embedded at build time, and the headers that keep them safe.
//!
//! The account pages are served at `/`, the API reference at `/docs` and the contract it renders
//! at `/openapi.yaml`. The pages name each asset by its content's hash: a page (and the
//! contract) is revalidated on every visit (`no-cache` with an `ETag`), the assets are cached for
//! a year and never change under their name. Every response forbids framing, sniffing and any
//! script, style, connection or image that is not this origin's (the QR code is a `data:` image;
//! the reference's renderer also sets styles inline and runs its search in a `blob:` worker).
//! Browsers that accept gzip (all of them) get the copy compressed at build time.
use lambda_http::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Response};

/// One file of `web/`, under its hashed name.
pub struct Asset {
    pub path: &'static str,
    pub media_type: &'static str,
    pub body: &'static str,
    pub gzip: &'static [u8],
}

/// A document revalidated on every visit (`no-cache` with an `ETag`): `web/index.html` and
/// `web/docs.html` with the assets' hashed names (`INDEX`, `DOCS`), and docs/openapi.yaml
/// (`OPENAPI`). The compressed body is another representation, with a tag of its own.
pub struct Document {
    pub plain: &'static str,
    pub gzip: &'static [u8],
    pub etag: &'static str,
    pub gzip_etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     script-src 'self'; style-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The reference's: Redoc sets its styles inline and runs its search in a `blob:` worker; it
/// runs no inline script and loads nothing from another origin. And it runs sandboxed, in an
/// origin of its own: a third party's code shares the API's origin, where the account pages
/// keep their session, so it must not reach their storage (it fetches the contract, which is
/// public, across origins).
pub const DOCS_CONTENT_SECURITY_POLICY: &str = "sandbox allow-scripts; default-src 'self'; \
     img-src 'self' data:; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     worker-src blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// What a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// `/`: the account pages.
    Page,
    /// `/docs`: the API reference.
    Docs,
    /// `/openapi.yaml`: the contract.
    Contract,
    /// `/assets/{name}`.
    Asset(&'a str),
    /// Any other path (the router sends none here).
    NotFound,
}

impl<'a> Target<'a> {
    /// The target of a request for `path` whose `{asset}` path parameter is `asset`.
    pub fn of(path: &str, asset: Option<&'a str>) -> Target<'a> {
        match (asset, path.trim_end_matches('/')) {
            (Some(name), _) => Target::Asset(name),
            (None, "/docs") => Target::Docs,
            (None, "/openapi.yaml") => Target::Contract,
            (None, "") => Target::Page,
            _ => Target::NotFound,
        }
    }
}

/// What a request for a page, the contract or one asset gets.
pub fn respond(method: &Method, target: Target<'_>, headers: &HeaderMap) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        let mut response = refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "The pages are read with GET.",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let head = method == Method::HEAD;
    let gzip = accepts_gzip(headers);
    let html = "text/html; charset=utf-8";
    match target {
        Target::Page => revalidated(head, gzip, headers, &INDEX, html),
        Target::Docs => {
            let mut response = revalidated(head, gzip, headers, &DOCS, html);
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DOCS_CONTENT_SECURITY_POLICY),
            );
            response
        }
        Target::Contract => {
            let yaml = "application/yaml; charset=utf-8";
            let mut response = revalidated(head, gzip, headers, &OPENAPI, yaml);
            // The contract is public: the sandboxed reference, and tools on other origins, read it.
            response.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            public(&mut response);
            response
        }
        Target::NotFound => refusal(StatusCode::NOT_FOUND, "not_found", "There is no such page."),
        Target::Asset(name) => match ASSETS
            .iter()
            .find(|asset| asset.path.strip_prefix("/assets/") == Some(name))
        {
            Some(asset) => {
                let mut response = with_security_headers(StatusCode::OK, asset.media_type);
                encode(&mut response, head, gzip, asset.body, asset.gzip);
                response.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                );
                public(&mut response);
                response
            }
            None => refusal(StatusCode::NOT_FOUND, "not_found", "There is no such file."),
        },
    }
}

fn revalidated(
    head: bool,
    gzip: bool,
    headers: &HeaderMap,
    document: &Document,
    media_type: &'static str,
) -> Response<Body> {
    // A cache may send either tag back, or its weak form.
    let etag = if gzip {
        document.gzip_etag
    } else {
        document.etag
    };
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|candidate| candidate.trim().trim_start_matches("W/"))
        .any(|candidate| candidate == etag || candidate == "*");
    let status = if fresh {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut response = with_security_headers(status, media_type);
    encode(
        &mut response,
        head || fresh,
        gzip,
        document.plain,
        document.gzip,
    );
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::ETAG, HeaderValue::from_static(etag));
    response
}

/// Marks a response that any origin may load: the assets (public, immutable files) and the
/// contract. The sandboxed reference has an origin of its own, so it loads them across origins;
/// the pages themselves stay same-origin.
fn public(response: &mut Response<Body>) {
    response.headers_mut().insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
}

/// Whether `Accept-Encoding` takes gzip (and does not refuse it with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|parameter| {
                parameter
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// The body (none for HEAD and 304), compressed when the browser takes gzip.
fn encode(
    response: &mut Response<Body>,
    bodiless: bool,
    gzip: bool,
    plain: &'static str,
    compressed: &'static [u8],
) {
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    *response.body_mut() = match (bodiless, gzip) {
        (true, _) => Body::Empty,
        (false, true) => Body::Binary(compressed.to_vec()),
        (false, false) => Body::Text(plain.to_owned()),
    };
}

/// API.md's error shape, for a method or file the pages do not have.
fn refusal(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = format!(r#"{{"error":"{code}","message":"{message}"}}"#);
    let mut response = with_security_headers(status, "application/json");
    *response.body_mut() = Body::Text(body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An empty response with the headers every answer carries; the caller sets the body.
fn with_security_headers(status: StatusCode, media_type: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_TYPE, media_type),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=63072000"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    for (name, value) in [
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(asset: Option<&str>) -> Response<Body> {
        respond(&Method::GET, Target::of("/", asset), &HeaderMap::new())
    }

    fn text(response: &Response<Body>) -> &str {
        match response.body() {
            Body::Text(text) => text,
            _ => "",
        }
    }

    fn gunzip(response: &Response<Body>) -> String {
        let Body::Binary(bytes) = response.body() else {
            panic!("not compressed: {:?}", response.body());
        };
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        text
    }

    #[test]
    fn browsers_that_take_gzip_get_the_same_files_compressed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br, zstd"),
        );
        let page = respond(&Method::GET, Target::Page, &headers);
        assert_eq!(page.headers()["content-encoding"], "gzip");
        assert_eq!(page.headers()["vary"], "accept-encoding");
        assert_eq!(gunzip(&page), INDEX.plain);
        for asset in ASSETS {
            let name = asset.path.trim_start_matches("/assets/");
            let served = respond(&Method::GET, Target::Asset(name), &headers);
            assert_eq!(served.headers()["content-encoding"], "gzip");
            assert_eq!(gunzip(&served), asset.body);
            assert!(asset.gzip.len() < asset.body.len(), "{name}");
        }
        for refusing in ["identity", "gzip;q=0", "br", "gzip; q=0.0, br"] {
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(refusing));
            let page = respond(&Method::GET, Target::Page, &headers);
            assert!(
                page.headers().get("content-encoding").is_none(),
                "{refusing}"
            );
            assert_eq!(text(&page), INDEX.plain, "{refusing}");
        }
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0.5"),
        );
        assert_eq!(
            gunzip(&respond(&Method::GET, Target::Page, &headers)),
            INDEX.plain
        );
    }

    #[test]
    fn every_response_carries_the_security_headers() {
        let responses = [
            get(None),
            get(Some(ASSETS[0].path.trim_start_matches("/assets/"))),
            get(Some("missing.js")),
            respond(&Method::POST, Target::Page, &HeaderMap::new()),
        ];
        for response in &responses {
            let headers = response.headers();
            let policy = headers["content-security-policy"].to_str().unwrap();
            assert!(policy.starts_with("default-src 'self';"), "{policy}");
            assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
            assert!(!policy.contains("unsafe"), "{policy}");
            assert_eq!(headers["x-content-type-options"], "nosniff");
            assert_eq!(headers["referrer-policy"], "no-referrer");
            assert_eq!(headers["x-frame-options"], "DENY");
        }
    }

    #[test]
    fn the_pages_name_every_asset_by_its_hash_and_nothing_outside() {
        let page = get(None);
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(page.headers()["cache-control"], "no-cache");
        let html = text(&page);
        let docs = respond(&Method::GET, Target::Docs, &HeaderMap::new());
        let reference = text(&docs);
        for asset in ASSETS {
            assert!(
                html.contains(asset.path) || reference.contains(asset.path),
                "{} missing",
                asset.path
            );
            let name = asset.path.trim_start_matches("/assets/");
            let hash = name.rsplit('.').nth(1).unwrap_or("");
            assert_eq!(hash.len(), 16, "{name}");
            let served = get(Some(name));
            assert_eq!(served.status(), 200);
            assert_eq!(served.headers()["content-type"], asset.media_type);
            assert_eq!(
                served.headers()["cache-control"],
                "public, max-age=31536000, immutable"
            );
            assert_eq!(text(&served), asset.body);
        }
        for page in [html, reference] {
            assert!(!page.contains("<script>"), "no inline script");
            assert!(!page.contains("style="), "no inline style");
            assert!(!page.contains("http://") && !page.contains("https://"));
        }
    }

    #[test]
    fn the_reference_renders_this_origins_contract_under_its_own_policy() {
        let docs = respond(&Method::GET, Target::of("/docs", None), &HeaderMap::new());
        assert_eq!(docs.status(), 200);
        assert!(text(&docs).contains("data-spec-url=\"/openapi.yaml\""));
        let policy = docs.headers()["content-security-policy"].to_str().unwrap();
        assert_eq!(policy, DOCS_CONTENT_SECURITY_POLICY);
        // Styles inline (Redoc's), never scripts; nothing from another origin.
        assert!(policy.contains("script-src 'self';") && policy.contains("frame-ancestors 'none'"));
        assert_eq!(policy.matches("unsafe").count(), 1, "{policy}");
        // In an origin of its own: no reach into the account pages' storage.
        assert!(
            policy.starts_with("sandbox allow-scripts;") && !policy.contains("allow-same-origin")
        );

        let contract = respond(
            &Method::GET,
            Target::of("/openapi.yaml", None),
            &HeaderMap::new(),
        );
        assert_eq!(contract.status(), 200);
        assert_eq!(
            contract.headers()["content-type"],
            "application/yaml; charset=utf-8"
        );
        assert_eq!(text(&contract), include_str!("../../../docs/openapi.yaml"));
        assert_eq!(
            contract.headers()["content-security-policy"],
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(contract.headers()["access-control-allow-origin"], "*");
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, contract.headers()["etag"].clone());
        let unchanged = respond(&Method::GET, Target::Contract, &again);
        assert_eq!(unchanged.status(), 304);
        // The compressed body has a tag of its own, and a weak tag revalidates too.
        let mut gzip = HeaderMap::new();
        gzip.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let compressed = respond(&Method::GET, Target::Contract, &gzip);
        let tag = compressed.headers()["etag"].to_str().unwrap().to_string();
        assert_ne!(tag, contract.headers()["etag"].to_str().unwrap());
        assert!(tag.ends_with("-gzip\""), "{tag}");
        gzip.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("W/{tag}")).unwrap(),
        );
        assert_eq!(respond(&Method::GET, Target::Contract, &gzip).status(), 304);
        assert_eq!(Target::of("/docs/", None), Target::Docs);
        assert_eq!(Target::of("/", None), Target::Page);
        let elsewhere = respond(
            &Method::GET,
            Target::of("/anything", None),
            &HeaderMap::new(),
        );
        assert_eq!(elsewhere.status(), 404);
    }

    #[test]
    fn an_asset_is_served_only_under_its_hashed_name() {
        for name in [
            "app.js",
            "app.css",
            "../index.html",
            "",
            "app.0000000000000000.js",
        ] {
            let response = get(Some(name));
            assert_eq!(response.status(), 404, "{name}");
            assert_eq!(response.headers()["cache-control"], "no-store");
            assert!(text(&response).contains(r#""error":"not_found""#));
        }
    }

    #[test]
    fn the_page_is_revalidated_and_unchanged_pages_are_not_sent_again() {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static(INDEX.etag));
        let response = respond(&Method::GET, Target::Page, &headers);
        assert_eq!(response.status(), 304);
        assert_eq!(text(&response), "");
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"old\""));
        assert_eq!(respond(&Method::GET, Target::Page, &headers).status(), 200);
        let head = respond(&Method::HEAD, Target::Page, &HeaderMap::new());
        assert_eq!(head.status(), 200);
        assert_eq!(text(&head), "");
    }

    #[test]
    fn other_methods_are_refused_in_the_contracts_shape() {
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let response = respond(&method, Target::Page, &HeaderMap::new());
            assert_eq!(response.status(), 405);
            assert_eq!(response.headers()["allow"], "GET, HEAD");
            assert_eq!(
                text(&response),
                r#"{"error":"method_not_allowed","message":"The pages are read with GET."}"#
            );
        }
    }
}
