//! The personal access token items: a token keyed by the digest of its secret, and its listing
//! entry under its account.

use super::events::event_put;
use super::item::*;
use super::profile::{account_of, counting_tokens, reset, uncounting_token};
use super::{keys, StorageError, Store, Transaction};
use crate::domain::ports::*;
use crate::domain::records::*;
use crate::domain::Now;
use std::collections::HashMap;

fn listing_of(item: &Item) -> Option<TokenListing> {
    Some(TokenListing {
        token_id: get_s(item, "token_id")?.to_string(),
        name: get_s(item, "name").unwrap_or_default().to_string(),
        digest: get_s(item, "digest")?.to_string(),
        created_at: get_n(item, "created_at")?,
        expires_at: get_n(item, "expires_at").unwrap_or_default(),
    })
}

impl TokenStore for Store {
    async fn token(&self, digest: &str, now: Now) -> Stored<Option<TokenRecord>> {
        let Some(item) = self.get_live(keys::token(digest), now).await? else {
            return Ok(None);
        };
        Ok(Some(TokenRecord {
            token_id: required_s(&item, "token_id")?,
            account_id: required_s(&item, "account_id")?,
            login: required_s(&item, "login")?,
            last_used_at: get_n(&item, "last_used_at"),
        }))
    }

    async fn live_tokens(&self, account_id: &str, now: Now) -> Stored<Vec<TokenListing>> {
        let items = self
            .query_live(&keys::account_partition(account_id), "TOKEN#", now)
            .await?;
        Ok(items.iter().filter_map(listing_of).collect())
    }

    async fn token_listing(
        &self,
        account_id: &str,
        token_id: &str,
        now: Now,
    ) -> Stored<Option<TokenListing>> {
        let Some(item) = self
            .get_live(keys::token_listing(account_id, token_id), now)
            .await?
        else {
            return Ok(None);
        };
        listing_of(&item).map(Some).ok_or_else(|| {
            tracing::error!("a token's listing entry lacks a required attribute");
            StorageError::Internal
        })
    }

    async fn last_used(&self, digests: &[String]) -> Stored<HashMap<String, i64>> {
        let tokens = self
            .batch_get(digests.iter().map(|digest| keys::token(digest)).collect())
            .await?;
        Ok(tokens
            .iter()
            .filter_map(|item| {
                Some((
                    get_s(item, "token_id")?.to_string(),
                    get_n(item, "last_used_at")?,
                ))
            })
            .collect())
    }

    async fn create_token(&self, creation: &TokenCreation<'_>) -> Stored<TokenCreated> {
        let token = creation.token;
        let mut secret = key_item(keys::token(&token.digest));
        secret.insert("account_id".into(), s(&token.account_id));
        secret.insert("login".into(), s(&token.login));
        secret.insert("token_id".into(), s(&token.token_id));
        secret.insert("expires_at".into(), n(token.expires_at));
        let mut listing = key_item(keys::token_listing(&token.account_id, &token.token_id));
        listing.insert("token_id".into(), s(&token.token_id));
        listing.insert("name".into(), s(&token.name));
        listing.insert("digest".into(), s(&token.digest));
        listing.insert("created_at".into(), n(token.created_at));
        listing.insert("expires_at".into(), n(token.expires_at));
        let counted = counting_tokens(
            reset(&token.account_id, Counter::Password),
            creation.seen_count,
            creation.count,
        );
        // The token's digest and id are new random values: a collision is a fault, not a conflict.
        let writes = vec![
            self.table_update(counted)?,
            self.table_put(secret, Some("attribute_not_exists(pk)"))?,
            self.table_put(listing, Some("attribute_not_exists(pk)"))?,
            event_put(self, &token.account_id, &creation.entry)?,
        ];
        let outcome = self.transact(writes).await?;
        if outcome == Transaction::Committed {
            return Ok(TokenCreated::Created);
        }
        if !outcome.first_failed() {
            return Err(StorageError::Internal);
        }
        Ok(match self.get(keys::account(&token.account_id)).await? {
            Some(item) => TokenCreated::CountChanged(account_of(&item)?.token_count),
            None => TokenCreated::AccountGone,
        })
    }

    async fn revoke_token(
        &self,
        account_id: &str,
        listing: &TokenListing,
        entry: &Entry,
        now: Now,
    ) -> Stored<Written> {
        let writes = vec![
            self.table_delete_if(
                keys::token_listing(account_id, &listing.token_id),
                "attribute_exists(pk) AND expires_at > :now",
                ":now",
                n(now.secs()),
            )?,
            self.table_delete(keys::token(&listing.digest), None)?,
            self.table_update(uncounting_token(account_id))?,
            event_put(self, account_id, entry)?,
        ];
        Ok(if self.commits(writes).await? {
            Written::Written
        } else {
            Written::Gone
        })
    }

    async fn record_token_use(&self, digest: &str, at: i64, stale_before: i64) -> Stored<()> {
        let update = ConditionalUpdate::new(keys::token(digest))
            .set("last_used_at = :now")
            .condition(
                "attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at <= :stale)",
            )
            .value(":now", n(at))
            .value(":stale", n(stale_before));
        self.update(update).await.map(|_| ())
    }
}
