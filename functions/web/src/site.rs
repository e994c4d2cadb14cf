//! The pages and their assets, embedded at build time, and the headers that keep them safe.
//!
//! The page is served at `/` and names each asset by its content's hash: the page is revalidated
//! on every visit (`no-cache` with an `ETag`), the assets are cached for a year and never change
//! under their name. Every response forbids framing, sniffing and any script, style, connection
//! or image that is not this origin's (the QR code is a `data:` image, the only exception).
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

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// `web/index.html` with the assets' hashed names.
pub const PAGE: &str = include_str!(concat!(env!("OUT_DIR"), "/index.html"));
const PAGE_GZIP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/index.html.gz"));

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
    let gzip = accepts_gzip(headers);
    match asset {
        None => page(head, gzip, headers),
        Some(name) => match ASSETS
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
                response
            }
            None => refusal(StatusCode::NOT_FOUND, "not_found", "There is no such file."),
        },
    }
}

fn page(head: bool, gzip: bool, headers: &HeaderMap) -> Response<Body> {
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == PAGE_ETAG || tag.trim() == "*");
    let status = if fresh {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut response = with_security_headers(status, "text/html; charset=utf-8");
    encode(&mut response, head || fresh, gzip, PAGE, PAGE_GZIP);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::ETAG, HeaderValue::from_static(PAGE_ETAG));
    response
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
        respond(&Method::GET, asset, &HeaderMap::new())
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
        let page = respond(&Method::GET, None, &headers);
        assert_eq!(page.headers()["content-encoding"], "gzip");
        assert_eq!(page.headers()["vary"], "accept-encoding");
        assert_eq!(gunzip(&page), PAGE);
        for asset in ASSETS {
            let name = asset.path.trim_start_matches("/assets/");
            let served = respond(&Method::GET, Some(name), &headers);
            assert_eq!(served.headers()["content-encoding"], "gzip");
            assert_eq!(gunzip(&served), asset.body);
            assert!(asset.gzip.len() < asset.body.len(), "{name}");
        }
        for refusing in ["identity", "gzip;q=0", "br", "gzip; q=0.0, br"] {
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(refusing));
            let page = respond(&Method::GET, None, &headers);
            assert!(
                page.headers().get("content-encoding").is_none(),
                "{refusing}"
            );
            assert_eq!(text(&page), PAGE, "{refusing}");
        }
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0.5"),
        );
        assert_eq!(gunzip(&respond(&Method::GET, None, &headers)), PAGE);
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
