#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Hostile input against every parser and normaliser of the edge and the domain: no input makes
//! one panic, and every refusal is the contract's 400 (or 401 for credentials) with its two-field
//! shape. Properties (proptest), plus the classic hostile cases by name.

use proptest::prelude::*;
use serde::Deserialize;
use ward::domain::{access_token, account, recovery, Error};
use ward::http::error;
use ward::http::request::{bearer_token, parse_json_bytes};

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Credentials {
    login: String,
    password: String,
}

/// A refusal as the contract shapes it: the status, and a body of exactly `error` and `message`.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct TokenBody {
    name: String,
    password: String,
    expires_in_days: Option<i64>,
}

fn refused_with(refusal: &Error, status: u16) {
    assert_eq!(error::status(refusal), status, "{refusal:?}");
    let body = error::body(refusal);
    let fields = body.as_object().unwrap();
    assert_eq!(fields.len(), 2, "{body}");
    assert!(
        fields["error"].is_string() && fields["message"].is_string(),
        "{body}"
    );
}

fn bearer_request(value: &[u8]) -> Option<lambda_http::Request> {
    let value = lambda_http::http::HeaderValue::from_bytes(value).ok()?;
    let mut request = ward_tests::request("GET", "/v1/whoami", None, None);
    request.headers_mut().insert("authorization", value);
    Some(request)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_body_is_credentials_or_a_400(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Err(refusal) = parse_json_bytes::<Credentials>(&bytes) {
            refused_with(&refusal, 400);
        }
    }

    #[test]
    fn any_json_text_is_credentials_or_a_400(text in r#"[\{\}\[\]",:a-z0-9 \\nul\x00-\x1f]{0,200}"#) {
        if let Err(refusal) = parse_json_bytes::<Credentials>(text.as_bytes()) {
            refused_with(&refusal, 400);
        }
    }

    #[test]
    fn any_authorization_header_is_a_bounded_token_or_a_401(value in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Some(request) = bearer_request(&value) {
            match bearer_token(&request) {
                Ok(token) => prop_assert!(!token.is_empty() && token.len() <= 512),
                Err(refusal) => refused_with(&refusal, 401),
            }
        }
    }

    #[test]
    fn a_bearer_header_is_accepted_exactly_when_its_token_is_1_to_512_visible_characters(
        scheme in "(?i)bearer",
        token in "[!-~]{0,700}",
    ) {
        let request = bearer_request(format!("{scheme} {token}").as_bytes()).unwrap();
        match bearer_token(&request) {
            Ok(taken) => {
                prop_assert_eq!(taken, token.as_str());
                prop_assert!((1..=512).contains(&token.len()));
            }
            Err(refusal) => {
                prop_assert!(token.is_empty() || token.len() > 512, "{} refused", token.len());
                refused_with(&refusal, 401);
            }
        }
    }

    #[test]
    fn any_login_normalises_to_a_valid_one_or_is_a_400(raw in "\\PC{0,300}|[\\x00-\\x20a-zA-Z\u{0130}\u{212A}]{0,300}") {
        match account::normalise_login(&raw) {
            Ok(login) => {
                let length = login.chars().count();
                prop_assert!((3..=254).contains(&length) && login.len() <= 254, "{login:?}");
                prop_assert!(!login.chars().any(char::is_control));
                prop_assert_eq!(account::normalise_login(&login).unwrap(), login);
            }
            Err(refusal) => refused_with(&refusal, 400),
        }
    }

    #[test]
    fn any_recovery_code_input_normalises_to_a_code_that_round_trips_or_to_none(input in "\\PC{0,40}|[a-z0-9 -]{0,30}") {
        if let Some(code) = recovery::normalise(&input) {
            prop_assert_eq!(recovery::normalise(&recovery::display(&code)), Some(code));
        }
    }

    #[test]
    fn any_token_text_is_judged_without_a_panic(text in "\\PC{0,120}|ward_pat_[a-z2-7]{40,70}") {
        let _ = access_token::well_formed(&text);
        if let Err(refusal) = access_token::check_name(&text) {
            refused_with(&refusal, 400);
        }
    }

    #[test]
    fn a_token_lifetime_is_accepted_exactly_from_1_to_366_days_or_by_default(
        days in prop_oneof![Just(None), (-5i64..400).prop_map(Some), any::<i64>().prop_map(Some)]
    ) {
        match (access_token::check_days(days), days) {
            (Ok(kept), Some(asked)) => {
                prop_assert!((1..=access_token::MAX_DAYS).contains(&asked), "{asked} accepted");
                prop_assert_eq!(kept, asked);
            }
            (Ok(kept), None) => prop_assert_eq!(kept, 30),
            (Err(refusal), Some(asked)) => {
                prop_assert!(!(1..=access_token::MAX_DAYS).contains(&asked), "{asked} refused");
                refused_with(&refusal, 400);
            }
            (Err(refusal), None) => prop_assert!(false, "the default refused: {refusal:?}"),
        }
    }

    #[test]
    fn an_ordinary_login_is_accepted_as_typed_less_case_and_spaces(
        local in "[a-zA-Z0-9._+-]{1,60}", domain in "[a-zA-Z0-9-]{1,60}", pad in "[ \t]{0,3}"
    ) {
        let typed = format!("{pad}{local}@{domain}.example{pad}");
        let login = account::normalise_login(&typed).unwrap();
        prop_assert_eq!(login, format!("{local}@{domain}.example").to_lowercase());
    }

    #[test]
    fn every_code_of_a_set_is_accepted_however_it_is_typed(upper in any::<bool>(), spaces in any::<bool>(), pick in 0usize..10) {
        let set = recovery::new_set().unwrap();
        let shown = &set[pick];
        let mut typed = if upper { shown.to_uppercase() } else { shown.clone() };
        if spaces {
            typed = typed.replace('-', " ");
        }
        prop_assert_eq!(recovery::normalise(&typed), recovery::normalise(shown));
        prop_assert!(recovery::normalise(shown).is_some());
    }
}

#[test]
fn a_token_the_service_issues_is_well_formed_and_one_changed_character_is_not() {
    for _ in 0..200 {
        let token = access_token::new_token().unwrap();
        assert!(access_token::well_formed(&token));
        // A character of the random part, and one of the checksum.
        for at in ["ward_pat_".len() + 3, token.len() - 1] {
            let mut changed = token.clone().into_bytes();
            changed[at] = if changed[at] == b'a' { b'b' } else { b'a' };
            assert!(!access_token::well_formed(
                std::str::from_utf8(&changed).unwrap()
            ));
        }
    }
}

#[test]
fn the_classic_hostile_bodies_are_400s() {
    let deep_array = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    let cases: Vec<Vec<u8>> = vec![
        deep_array.into_bytes(),
        deep_object.into_bytes(),
        br#"{"login":"a@example.com","login":"b@example.com","password":"x"}"#.to_vec(),
        b"{\"login\":\"a\xff\xfe\",\"password\":\"x\"}".to_vec(),
        b"{\"login\":\"a\0b\",\"password\":\"x\"}".to_vec(),
        br#"{"login":1e999999,"password":"x"}"#.to_vec(),
        br#"{"login":123456789012345678901234567890,"password":"x"}"#.to_vec(),
        br#"{"login":"\ud800","password":"x"}"#.to_vec(),
        br#"[]"#.to_vec(),
        br#"null"#.to_vec(),
        b"\xef\xbb\xbf{\"login\":\"a@example.com\",\"password\":\"long enough\"}".to_vec(),
    ];
    for body in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).to_string();
        match parse_json_bytes::<Credentials>(&body) {
            Err(refusal) => refused_with(&refusal, 400),
            Ok(parsed) => panic!("{shown} parsed as {parsed:?}"),
        }
    }
    // Numbers where a number is wanted: too large, too long, or not whole.
    for days in [
        "1e999999",
        "123456789012345678901234567890",
        "30.5",
        "1e2",
        "\"30\"",
    ] {
        let body = format!(r#"{{"name":"x","password":"long enough","expires_in_days":{days}}}"#);
        match parse_json_bytes::<TokenBody>(body.as_bytes()) {
            Err(refusal) => refused_with(&refusal, 400),
            Ok(parsed) => panic!("{days} parsed as {parsed:?}"),
        }
    }
    let sane = br#"{"name":"x","password":"long enough","expires_in_days":30}"#;
    assert_eq!(
        parse_json_bytes::<TokenBody>(sane).unwrap().expires_in_days,
        Some(30)
    );
}
