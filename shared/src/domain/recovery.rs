//! Recovery codes: their format, the set an account holds, viewing it again and replacing it.
//!
//! A set is 10 codes of 80 random bits each, written as four dash-joined groups of four lower-case
//! base32 characters (`abcd-efgh-ijkl-mnop`); typed input may differ in case, dashes and spaces.
//! A set is stored as keyed hashes (to look a presented code up) plus the codes sealed as one list
//! (for "view"); the codes themselves only ever go to the user.

use super::error::Error;
use super::password::{confirm_password_while, refuse_after_password};
use super::ports::{Changed, Rekey, ThrottleStore, TwoFactorStore, WhileEnabled};
use super::records::{Entry, EventKind, RecoveryCodes, SessionPrincipal, StoredCodeSet};
use super::{Now, Origin};
use crate::crypto::{random, Keys, Sealed};

pub const CODES_PER_SET: usize = 10;
const CODE_BYTES: usize = 10;
const CODE_CHARS: usize = 16;
/// Joins the codes of the sealed list.
const LIST_SEPARATOR: char = ',';

// ---- the format ----

/// A new set, each code in its normalised form (16 characters, no dashes).
pub fn new_set() -> Result<Vec<String>, Error> {
    (0..CODES_PER_SET)
        .map(|_| {
            let bytes = random::random_bytes::<CODE_BYTES>()?;
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

// ---- the stored set ----

/// The sealed list of normalised codes.
fn seal_list(keys: &Keys, account_id: &str, codes: &[String]) -> Result<Vec<u8>, Error> {
    let joined = codes.join(&LIST_SEPARATOR.to_string());
    Ok(keys.seal(Sealed::RecoveryCodes, account_id, joined.as_bytes())?)
}

/// The normalised codes of a sealed list.
fn open_list(keys: &Keys, account_id: &str, sealed: &[u8]) -> Result<Vec<String>, Error> {
    let plain = keys.open(Sealed::RecoveryCodes, account_id, sealed)?;
    let text = String::from_utf8(plain).map_err(|_| Error::Internal)?;
    Ok(text.split(LIST_SEPARATOR).map(str::to_string).collect())
}

/// A new set: the codes as shown once (displayed form), and what is stored of them.
pub fn new_code_set(keys: &Keys, account_id: &str) -> Result<(Vec<String>, StoredCodeSet), Error> {
    let codes = new_set()?;
    let stored = stored_set(keys, account_id, &codes)?;
    Ok((codes.iter().map(|code| display(code)).collect(), stored))
}

fn stored_set(keys: &Keys, account_id: &str, codes: &[String]) -> Result<StoredCodeSet, Error> {
    Ok(StoredCodeSet {
        ids: codes
            .iter()
            .map(|code| keys.recovery_code_id(account_id, code))
            .collect(),
        sealed: seal_list(keys, account_id, codes)?,
    })
}

/// The id of a presented code in the account's current set, if it is one and unused. Ids are
/// keyed hashes under the key version the set was made with.
pub fn unused_code_id(
    keys: &Keys,
    account_id: &str,
    set: &RecoveryCodes,
    presented: &str,
) -> Result<Option<String>, Error> {
    let (Some(normalised), Some(like)) = (normalise(presented), set.ids.first()) else {
        return Ok(None);
    };
    let id = keys.recovery_code_id_like(like, account_id, &normalised)?;
    Ok(Some(id).filter(|id| set.ids.contains(id) && !set.used.contains(id)))
}

/// Each code of the set (normalised) with whether it was used; all from one read.
fn open_codes(
    keys: &Keys,
    account_id: &str,
    set: &RecoveryCodes,
) -> Result<Vec<(String, bool)>, Error> {
    let like = set.ids.first().ok_or(Error::Internal)?;
    open_list(keys, account_id, &set.sealed)?
        .iter()
        .map(|code| {
            let id = keys.recovery_code_id_like(like, account_id, code)?;
            Ok((code.clone(), set.used.contains(&id)))
        })
        .collect()
}

/// The set keyed again with the current key version, when it is of an older one.
fn rekey(
    keys: &Keys,
    account_id: &str,
    set: &RecoveryCodes,
    codes: &[(String, bool)],
) -> Result<Option<Rekey>, Error> {
    let current = keys.is_current(&set.sealed) && set.ids.iter().all(|id| keys.id_is_current(id));
    if current {
        return Ok(None);
    }
    let plain: Vec<String> = codes.iter().map(|(code, _)| code.clone()).collect();
    let stored = stored_set(keys, account_id, &plain)?;
    let used = stored
        .ids
        .iter()
        .zip(codes)
        .filter(|(_, (_, used))| *used)
        .map(|(id, _)| id.clone())
        .collect();
    Ok(Some(Rekey {
        codes: stored,
        used,
        seen_used: set.used.len(),
        seen_generation: set.generation,
    }))
}

// ---- the routes ----

pub struct CodeView {
    /// Each code, displayed, with whether it was used.
    pub codes: Vec<(String, bool)>,
    pub remaining: usize,
}

/// The current codes again, after the password; all from one read, so of one generation.
pub async fn view_codes<S>(
    store: &S,
    keys: &Keys,
    principal: &SessionPrincipal,
    password: &str,
    origin: &Origin,
    now: Now,
) -> Result<CodeView, Error>
where
    S: ThrottleStore + TwoFactorStore,
{
    let account = confirm_password_while(store, principal, password, origin, now, true).await?;
    let account_id = principal.account_id.as_str();
    let set = &account.enrolment().ok_or(Error::TwoFactorNotEnabled)?.codes;
    let codes = open_codes(keys, account_id, set)?;
    let rekeyed = rekey(keys, account_id, set, &codes)?;
    let entry = Entry::new(EventKind::RecoveryCodesViewed, origin, now);
    if store
        .record_codes_viewed(account_id, rekeyed.as_ref(), &entry)
        .await?
        == Changed::Refused
    {
        // The set changed since it was read (a code used, or a new set): what was shown still
        // stands for that moment; the codes are keyed again on a later view.
        match store.record_codes_viewed(account_id, None, &entry).await? {
            Changed::Changed => {}
            Changed::Refused => return Err(Error::Unauthorized),
        }
    }
    Ok(CodeView {
        codes: codes
            .into_iter()
            .map(|(code, used)| (display(&code), used))
            .collect(),
        remaining: set.remaining(),
    })
}

/// A new set replaces the old in one write: every earlier code stops working at that instant.
pub async fn regenerate_codes<S>(
    store: &S,
    keys: &Keys,
    principal: &SessionPrincipal,
    password: &str,
    origin: &Origin,
    now: Now,
) -> Result<Vec<String>, Error>
where
    S: ThrottleStore + TwoFactorStore,
{
    confirm_password_while(store, principal, password, origin, now, true).await?;
    let account_id = principal.account_id.as_str();
    let (codes, stored) = new_code_set(keys, account_id)?;
    let entry = Entry::new(EventKind::RecoveryCodesRegenerated, origin, now);
    match store.replace_codes(account_id, &stored, &entry).await? {
        WhileEnabled::Done => {
            tracing::info!(account_id, "recovery codes regenerated");
            Ok(codes)
        }
        WhileEnabled::NotEnabled => {
            Err(refuse_after_password(store, account_id, Error::TwoFactorNotEnabled).await?)
        }
    }
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

    #[test]
    fn the_sealed_list_opens_to_the_codes_of_its_account_only() {
        let keys = Keys::derive(b"0123456789abcdef0123456789abcdef-test-master").unwrap();
        let codes = new_set().unwrap();
        let sealed = seal_list(&keys, "a", &codes).unwrap();
        assert_eq!(open_list(&keys, "a", &sealed).unwrap(), codes);
        assert!(open_list(&keys, "b", &sealed).is_err());
    }
}
