//! The pages and their assets, embedded at build time, and the headers that keep them safe.
//!
//! The page is served at `/` and names each asset by its content's hash: the page is revalidated
//! on every visit (`no-cache` with an `ETag`), the assets are cached for a year and never change
//! under their name. Every response forbids framing, sniffing and any script, style, connection
//! or image that is not this origin's (the QR code is a `data:` image, the only exception).
use lambda_http::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Response};

/// One file of `web/`, under its hashed name.
pub struct Asset {
    pub path: &'static str,
    pub media_type: &'static str,
    pub body: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// `web/index.html` with the assets' hashed names.
pub const PAGE: &str = include_str!(concat!(env!("OUT_DIR"), "/index.html"));

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     script-src 'self'; style-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// What a request for the page (`asset` is `None`) or for one asset gets.
pub fn respond(method: &Method, asset: Option<&str>, headers: &HeaderMap) -> Response<Body> {
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
    match asset {
        None => page(head, headers),
        Some(name) => match ASSETS
            .iter()
            .find(|asset| asset.path.strip_prefix("/assets/") == Some(name))
        {
            Some(asset) => {
                let mut response = with_security_headers(
                    StatusCode::OK,
                    if head { "" } else { asset.body },
                    asset.media_type,
                );
                response.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                );
                response
            }
            None => refusal(StatusCode::NOT_FOUND, "not_found", "There is no such file."),
        },
    }
}

fn page(head: bool, headers: &HeaderMap) -> Response<Body> {
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == PAGE_ETAG || tag.trim() == "*");
    let (status, body) = match (fresh, head) {
        (true, _) => (StatusCode::NOT_MODIFIED, ""),
        (false, true) => (StatusCode::OK, ""),
        (false, false) => (StatusCode::OK, PAGE),
    };
    let mut response = with_security_headers(status, body, "text/html; charset=utf-8");
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::ETAG, HeaderValue::from_static(PAGE_ETAG));
    response
}

/// API.md's error shape, for a method or file the pages do not have.
fn refusal(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = format!(r#"{{"error":"{code}","message":"{message}"}}"#);
    let mut response = with_security_headers(status, "", "application/json");
    *response.body_mut() = Body::Text(body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn with_security_headers(
    status: StatusCode,
    body: &'static str,
    media_type: &'static str,
) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_owned()));
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
        respond(&Method::GET, asset, &HeaderMap::new())
    }

    fn text(response: &Response<Body>) -> &str {
        match response.body() {
            Body::Text(text) => text,
            _ => "",
        }
    }

    #[test]
    fn every_response_carries_the_security_headers() {
        let responses = [
            get(None),
            get(Some(ASSETS[0].path.trim_start_matches("/assets/"))),
            get(Some("missing.js")),
            respond(&Method::POST, None, &HeaderMap::new()),
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
    fn the_page_names_every_asset_by_its_hash_and_nothing_outside() {
        let page = get(None);
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(page.headers()["cache-control"], "no-cache");
        let html = text(&page);
        for asset in ASSETS {
            assert!(html.contains(asset.path), "{} missing", asset.path);
            let name = asset.path.trim_start_matches("/assets/");
            let (_, hash, _) = {
                let mut parts = name.splitn(3, '.');
                (parts.next(), parts.next().unwrap_or(""), parts.next())
            };
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
        assert!(!html.contains("<script>"), "no inline script");
        assert!(!html.contains("style="), "no inline style");
        assert!(!html.contains("http://") && !html.contains("https://"));
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
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static(PAGE_ETAG));
        let response = respond(&Method::GET, None, &headers);
        assert_eq!(response.status(), 304);
        assert_eq!(text(&response), "");
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"old\""));
        assert_eq!(respond(&Method::GET, None, &headers).status(), 200);
        let head = respond(&Method::HEAD, None, &HeaderMap::new());
        assert_eq!(head.status(), 200);
        assert_eq!(text(&head), "");
    }

    #[test]
    fn other_methods_are_refused_in_the_contracts_shape() {
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let response = respond(&method, None, &HeaderMap::new());
            assert_eq!(response.status(), 405);
            assert_eq!(response.headers()["allow"], "GET, HEAD");
            assert_eq!(
                text(&response),
                r#"{"error":"method_not_allowed","message":"The pages are read with GET."}"#
            );
        }
    }
}
