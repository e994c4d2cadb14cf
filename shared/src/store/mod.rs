//! Storage on DynamoDB: one table, string keys `pk`/`sk`, TTL attribute `expires_at`.
//!
//! The only module that knows item layouts and the SDK's types. It implements the domain's
//! storage ports ([`crate::domain::ports`]): each read is a fixed number of key lookups, each
//! transition one conditional write whose outcome is named here, from the cancellation reasons,
//! and never read by position upstream. Items past their `expires_at` are treated as absent, since
//! DynamoDB's TTL deletion lags (and the local emulator never deletes).
//!
//! Layouts, one file each: `profile` (the account's item: password, two-factor state, the
//! throttle's counts), `sessions`, `tokens`, `events` (the security log); `keys` names every
//! item's key. `accounts` implements the ports on the profile.

mod accounts;
pub mod events;
pub mod item;
pub mod keys;
mod profile;
mod sessions;
mod tokens;

pub use crate::domain::error::StorageError;
pub use item::*;

use crate::domain::Now;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;

/// The attribute that names the last conditional update an item took (see [`Store::update`]).
const LAST_WRITE: &str = "last_write";

/// A new id for one write sent to DynamoDB (a transaction's `ClientRequestToken`, an update's
/// `last_write`): 128 random bits, 32 hex characters (DynamoDB takes up to 36).
fn write_id() -> Result<String, StorageError> {
    crate::crypto::random::new_id().map_err(|_| StorageError::Internal)
}

/// The outcome of a transaction whose conditions may fail, read only inside this module: each
/// port method turns it into an outcome with a name.
#[derive(Debug, PartialEq, Eq)]
enum Transaction {
    Committed,
    /// Cancelled; the flag at index i says whether item i's condition failed.
    ConditionFailed(Vec<bool>),
}

impl Transaction {
    /// Whether the condition of the transaction's first item (by convention the item whose state
    /// the transition depends on) is the one that failed.
    fn first_failed(&self) -> bool {
        matches!(self, Transaction::ConditionFailed(failed) if failed.first() == Some(&true))
    }
}

/// Classifies an SDK error, logging its kind and code (never item contents, which may hold
/// digests of tokens).
fn classify<E: ProvideErrorMetadata, R>(
    operation: &'static str,
    error: &SdkError<E, R>,
) -> StorageError {
    match error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            tracing::error!(
                operation,
                kind = "unreachable",
                "the database could not be reached"
            );
            StorageError::Unavailable
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("unknown");
            let busy = matches!(
                code,
                "ProvisionedThroughputExceededException"
                    | "RequestLimitExceeded"
                    | "ThrottlingException"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "TransactionInProgressException"
                    | "TransactionConflictException"
            );
            tracing::error!(operation, code, "the database refused a request");
            if busy {
                StorageError::Unavailable
            } else {
                StorageError::Internal
            }
        }
        _ => {
            tracing::error!(
                operation,
                kind = "construction",
                "a database request could not be built"
            );
            StorageError::Internal
        }
    }
}

/// How many times a write that collided with a running transaction is sent in all. A collision
/// means nothing was written and the write's conditions are checked again, so sending it again is
/// always safe; real DynamoDB reports them (`TransactionConflictException`, or a transaction
/// cancelled with reason `TransactionConflict`) and the SDK retries neither.
const CONFLICT_ATTEMPTS: u32 = 4;

/// Whether a plain write was refused because it touched an item of a running transaction.
fn is_conflict<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .and_then(|service| service.code())
        .is_some_and(|code| code == "TransactionConflictException")
}

/// Waits before the next attempt after a collision: "full jitter" over 10, 20, 40 ms, so that
/// colliding requests spread out instead of colliding again.
async fn conflict_backoff(attempt: u32) {
    let ceiling_ms = 10u64 << attempt.saturating_sub(1).min(6);
    let wait_ms = rand::random::<u64>() % ceiling_ms + 1;
    tracing::warn!(
        attempt,
        wait_ms,
        "a write collided with a transaction; trying again"
    );
    tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
}

/// Sends a single-item request until it no longer collides with a running transaction (at most
/// `CONFLICT_ATTEMPTS` times); any other answer is returned as it is.
async fn with_conflict_retries<T, E, R, Attempt, Answer>(
    mut send: Attempt,
) -> Result<T, SdkError<E, R>>
where
    Attempt: FnMut() -> Answer,
    Answer: std::future::Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata,
{
    let mut attempt = 1;
    loop {
        match send().await {
            Err(error) if is_conflict(&error) && attempt < CONFLICT_ATTEMPTS => {
                conflict_backoff(attempt).await;
                attempt += 1;
            }
            answer => return answer,
        }
    }
}

/// What a cancelled transaction's reasons say.
enum Cancellation {
    /// At least one condition failed: the flag at index i says whether item i's did.
    ConditionFailed(Vec<bool>),
    /// It collided with another transaction; nothing was written.
    Conflict,
    /// Throttled, or any other reason: nothing was written.
    Refused(StorageError),
}

fn cancellation(
    reasons: &[aws_sdk_dynamodb::types::CancellationReason],
    count: usize,
) -> Cancellation {
    let code = |index: usize| reasons.get(index).and_then(|reason| reason.code());
    let failed: Vec<bool> = (0..count)
        .map(|index| code(index) == Some("ConditionalCheckFailed"))
        .collect();
    if failed.iter().any(|flag| *flag) {
        return Cancellation::ConditionFailed(failed);
    }
    let codes: Vec<&str> = (0..count)
        .filter_map(code)
        .filter(|code| *code != "None")
        .collect();
    if codes.contains(&"TransactionConflict") {
        return Cancellation::Conflict;
    }
    let busy = codes
        .iter()
        .any(|code| matches!(*code, "ThrottlingError" | "ProvisionedThroughputExceeded"));
    tracing::error!(operation = "TransactWriteItems", reasons = ?codes, "the database cancelled a transaction");
    Cancellation::Refused(if busy {
        StorageError::Unavailable
    } else {
        StorageError::Internal
    })
}

/// The DynamoDB adapter. Cheap to share; built once per cold start.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Store {
        Store {
            client,
            table: table.into(),
        }
    }

    /// The adapter on the SDK's configuration, as a function builds it at its cold start.
    pub fn from_sdk(sdk: &aws_types::sdk_config::SdkConfig, table: impl Into<String>) -> Store {
        Store::new(Client::new(sdk), table)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// A strongly consistent read of one item by key.
    pub async fn get(&self, key: (String, String)) -> Result<Option<Item>, StorageError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| classify("GetItem", &error))?;
        Ok(output.item)
    }

    /// A read that treats an item past its `expires_at` as absent.
    pub async fn get_live(
        &self,
        key: (String, String),
        now: Now,
    ) -> Result<Option<Item>, StorageError> {
        Ok(self.get(key).await?.filter(|item| is_live(item, now)))
    }

    /// Strongly consistent reads of many items by key (100 a request), in no particular order.
    pub async fn batch_get(&self, keys: Vec<(String, String)>) -> Result<Vec<Item>, StorageError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.iter().cloned().map(key_item).collect()))
                    .consistent_read(true)
                    .build()
                    .map_err(|_| StorageError::Internal)?,
            );
            // DynamoDB may hand back part of a batch as unprocessed; ask again for that part.
            for _ in 0..5 {
                let Some(request) = pending.take() else { break };
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|error| classify("BatchGetItem", &error))?;
                if let Some(mut responses) = output.responses {
                    found.extend(responses.remove(&self.table).unwrap_or_default());
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut unprocessed| unprocessed.remove(&self.table));
            }
            if pending.is_some() {
                return Err(StorageError::Unavailable);
            }
        }
        Ok(found)
    }

    /// Writes several items atomically. Condition failures are an outcome, not an error; a
    /// collision with another transaction is sent again (see `CONFLICT_ATTEMPTS`), then is
    /// `Unavailable`, with nothing written.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Transaction, StorageError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        let count = items.len();
        let request = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items));
        for attempt in 1..=CONFLICT_ATTEMPTS {
            // A token per transaction sent: should the SDK send it again (its answer lost to a
            // timeout after it committed), DynamoDB answers with the first one's result instead
            // of running it a second time, when its conditions no longer hold. A send after a
            // cancellation is a new transaction, with a token of its own.
            let token = write_id()?;
            let error = match request.clone().client_request_token(token).send().await {
                Ok(_) => return Ok(Transaction::Committed),
                Err(error) => error,
            };
            let reasons = match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    cancellation(cancelled.cancellation_reasons(), count)
                }
                _ => return Err(classify("TransactWriteItems", &error)),
            };
            match reasons {
                Cancellation::ConditionFailed(failed) => {
                    return Ok(Transaction::ConditionFailed(failed))
                }
                Cancellation::Refused(error) => return Err(error),
                Cancellation::Conflict if attempt < CONFLICT_ATTEMPTS => {
                    conflict_backoff(attempt).await
                }
                Cancellation::Conflict => break,
            }
        }
        tracing::error!(
            operation = "TransactWriteItems",
            "a transaction kept colliding with others; nothing was written"
        );
        Err(StorageError::Unavailable)
    }

    /// Sends a transaction; whether it committed (false: a condition failed, nothing was written).
    async fn commits(&self, items: Vec<TransactWriteItem>) -> Result<bool, StorageError> {
        Ok(self.transact(items).await? == Transaction::Committed)
    }

    /// One conditional update. `Ok(Err(old))` when the condition failed, with the item as it was
    /// (None when it does not exist). When the SDK sent it again after it committed, the answer
    /// is `Ok` with the item as it is now (the update's own writes, and any made since).
    pub async fn update(
        &self,
        update: ConditionalUpdate,
    ) -> Result<Result<Item, Option<Item>>, StorageError> {
        // Which write this is, kept on the item: should the SDK send it again after it committed
        // (its answer lost to a timeout), the condition refuses the copy, and the item, naming
        // this write as its last, tells that refusal from a lost race.
        let write = write_id()?;
        let update = update
            .name("#last_write", LAST_WRITE)
            .set("#last_write = :last_write")
            .condition("attribute_not_exists(#last_write) OR #last_write <> :last_write")
            .value(":last_write", s(&write));
        let UpdateParts {
            key,
            expression,
            condition,
            names,
            values,
        } = update.into_parts();
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key.clone())))
            .update_expression(expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let error = match with_conflict_retries(|| request.clone().send()).await {
            Ok(output) => return Ok(Ok(output.attributes.unwrap_or_default())),
            Err(error) => error,
        };
        if let Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(failed)) =
            error.as_service_error()
        {
            let old = match failed.item() {
                Some(item) => Some(item.clone()),
                None => self.get(key).await?,
            };
            return Ok(match old {
                // This very write, sent again: it committed the first time.
                Some(item) if get_s(&item, LAST_WRITE) == Some(write.as_str()) => Ok(item),
                old => Err(old),
            });
        }
        Err(classify("UpdateItem", &error))
    }

    /// Writes that must all happen: one unconditional put as a PutItem, more as one transaction.
    pub async fn write_all(&self, writes: Vec<TransactWriteItem>) -> Result<(), StorageError> {
        if let [single] = writes.as_slice() {
            if let Some(put) = single
                .put()
                .filter(|put| put.condition_expression().is_none())
            {
                return self.put(put.item().clone()).await;
            }
        }
        match self.transact(writes).await? {
            Transaction::Committed => Ok(()),
            Transaction::ConditionFailed(_) => {
                tracing::error!("writes without a condition failed one");
                Err(StorageError::Internal)
            }
        }
    }

    /// One unconditional put (security log entries).
    pub async fn put(&self, item: Item) -> Result<(), StorageError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        with_conflict_retries(|| request.clone().send())
            .await
            .map(|_| ())
            .map_err(|error| classify("PutItem", &error))
    }

    /// The items of a partition whose sort keys lie in `from..=to`, in one strongly consistent
    /// read (for a partition of a few small items).
    pub async fn query_range(
        &self,
        pk: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<Item>, StorageError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .consistent_read(true)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .send()
            .await
            .map_err(|error| classify("Query", &error))?;
        Ok(output.items.unwrap_or_default())
    }

    /// Every live item of a partition under a sort-key prefix, page after page.
    pub async fn query_live(
        &self,
        pk: &str,
        sk_prefix: &str,
        now: Now,
    ) -> Result<Vec<Item>, StorageError> {
        let mut found = Vec::new();
        let mut after = None;
        loop {
            let (items, last) = self
                .query_page(pk, sk_prefix, after.as_deref(), 500)
                .await?;
            found.extend(items.into_iter().filter(|item| is_live(item, now)));
            match last {
                Some(last) => after = Some(last),
                None => return Ok(found),
            }
        }
    }

    /// One page of a partition, newest first, starting after `after` (a sort key), read strongly
    /// consistently.
    pub async fn query_page(
        &self,
        pk: &str,
        sk_prefix: &str,
        after: Option<&str>,
        limit: i32,
    ) -> Result<(Vec<Item>, Option<String>), StorageError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            // Strongly consistent: a listing just written (a session opened a moment ago) is seen.
            .consistent_read(true)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(sk_prefix))
            .scan_index_forward(false)
            .limit(limit);
        if let Some(after) = after {
            request = request
                .set_exclusive_start_key(Some(key_item((pk.to_string(), after.to_string()))));
        }
        let output = request
            .send()
            .await
            .map_err(|error| classify("Query", &error))?;
        let last = output
            .last_evaluated_key
            .as_ref()
            .and_then(|key| get_s(key, "sk"))
            .map(str::to_string);
        Ok((output.items.unwrap_or_default(), last))
    }

    // ---- builders of transaction items ----

    pub fn table_put(
        &self,
        item: Item,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StorageError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(|_| StorageError::Internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub fn table_update(
        &self,
        update: ConditionalUpdate,
    ) -> Result<TransactWriteItem, StorageError> {
        let UpdateParts {
            key,
            expression,
            condition,
            names,
            values,
        } = update.into_parts();
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .update_expression(expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(|_| StorageError::Internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A delete that holds only while `condition` (with one placeholder value) holds.
    pub fn table_delete_if(
        &self,
        key: (String, String),
        condition: &str,
        placeholder: &str,
        value: AttributeValue,
    ) -> Result<TransactWriteItem, StorageError> {
        self.delete_item(key, Some(condition), Some((placeholder, value)))
    }

    pub fn table_delete(
        &self,
        key: (String, String),
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StorageError> {
        self.delete_item(key, condition, None)
    }

    fn delete_item(
        &self,
        key: (String, String),
        condition: Option<&str>,
        value: Option<(&str, AttributeValue)>,
    ) -> Result<TransactWriteItem, StorageError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_values(
                value.map(|(placeholder, value)| [(placeholder.to_string(), value)].into()),
            )
            .build()
            .map_err(|_| StorageError::Internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}
