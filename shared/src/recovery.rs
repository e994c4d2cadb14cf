//! Recovery codes: 10 a set, 80 random bits each, written as four dash-joined groups of four
//! lower-case base32 characters (`abcd-efgh-ijkl-mnop`). Typed input may differ in case, dashes
//! and spaces.

use crate::error::ApiError;

pub const CODES_PER_SET: usize = 10;
const CODE_BYTES: usize = 10;
const CODE_CHARS: usize = 16;

/// A new set, each code in its normalised form (16 characters, no dashes).
pub fn new_set() -> Result<Vec<String>, ApiError> {
    (0..CODES_PER_SET)
        .map(|_| {
            let bytes = crate::token::random_bytes::<CODE_BYTES>()?;
            Ok(data_encoding::BASE32_NOPAD.encode(&bytes).to_lowercase())
        })
        .collect()
}

/// The code as shown to people: groups of four joined by dashes.
pub fn display(normalised: &str) -> String {
    normalised
        .as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Typed input in the stored form, or None when it cannot be a recovery code.
pub fn normalise(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let valid = code.len() == CODE_CHARS
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
    valid.then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_ten_distinct_codes_of_80_bits() {
        let set = new_set().unwrap();
        assert_eq!(set.len(), 10);
        let distinct: std::collections::HashSet<_> = set.iter().collect();
        assert_eq!(distinct.len(), 10);
        for code in &set {
            assert_eq!(code.len(), 16, "16 base32 characters carry 80 bits");
            assert_eq!(normalise(code).as_deref(), Some(code.as_str()));
            let shown = display(code);
            assert_eq!(shown.len(), 19);
            assert_eq!(shown.matches('-').count(), 3);
            assert_eq!(shown, shown.to_lowercase());
        }
    }

    #[test]
    fn typed_input_ignores_case_dashes_and_spaces() {
        let code = "abcd2efgh3ijkl4m";
        for typed in [
            "abcd-2efg-h3ij-kl4m",
            "ABCD-2EFG-H3IJ-KL4M",
            " abcd 2efg h3ij kl4m ",
            "abcd2efgh3ijkl4m",
        ] {
            assert_eq!(normalise(typed).as_deref(), Some(code), "{typed}");
        }
    }

    #[test]
    fn anything_else_is_not_a_code() {
        for typed in [
            "",
            "abcd-efgh-ijkl",
            "abcd-efgh-ijkl-mnop-qrst",
            "abcd-efgh-ijkl-mno1",
            "abcd_efgh_ijkl_mnop",
        ] {
            assert_eq!(normalise(typed), None, "{typed}");
        }
    }
}
