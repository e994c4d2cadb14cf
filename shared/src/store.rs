//! Storage on DynamoDB: one table, string keys `pk`/`sk`, TTL attribute `expires_at`.
//!
//! This module is the only place that knows item layouts and the SDK's types. Every operation is a
//! fixed number of key lookups and writes; every multi-item change is one `TransactWriteItems`.
//! Items past their `expires_at` are treated as absent here, since DynamoDB's TTL deletion lags
//! (and the local emulator never deletes).

use crate::http::Client as RequestClient;
use crate::Now;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

/// Why a storage call failed. Details are logged where the error is classified, never returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or asked us to slow down: nothing was changed.
    #[error("database unavailable")]
    Unavailable,
    /// Anything else: a bug or an item that does not parse.
    #[error("database error")]
    Internal,
}

impl From<StoreError> for crate::error::ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable => crate::error::ApiError::ServiceUnavailable,
            StoreError::Internal => crate::error::ApiError::Internal,
        }
    }
}

/// The outcome of a transaction whose conditions may fail.
#[derive(Debug, PartialEq, Eq)]
pub enum Transaction {
    Committed,
    /// Cancelled; the flag at index i says whether item i's condition failed.
    ConditionFailed(Vec<bool>),
}

/// Classifies an SDK error, logging its kind and code (never item contents, which may hold
/// digests of tokens).
fn classify<E: ProvideErrorMetadata, R>(
    operation: &'static str,
    error: &SdkError<E, R>,
) -> StoreError {
    match error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            tracing::error!(
                operation,
                kind = "unreachable",
                "the database could not be reached"
            );
            StoreError::Unavailable
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
                StoreError::Unavailable
            } else {
                StoreError::Internal
            }
        }
        _ => {
            tracing::error!(
                operation,
                kind = "construction",
                "a database request could not be built"
            );
            StoreError::Internal
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

/// What a cancelled transaction's reasons say.
enum Cancellation {
    /// At least one condition failed: the flag at index i says whether item i's did.
    ConditionFailed(Vec<bool>),
    /// It collided with another transaction; nothing was written.
    Conflict,
    /// Throttled, or any other reason: nothing was written.
    Refused(StoreError),
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
        StoreError::Unavailable
    } else {
        StoreError::Internal
    })
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn b(bytes: Vec<u8>) -> AttributeValue {
    AttributeValue::B(aws_smithy_types::Blob::new(bytes))
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .map(String::as_str)
}

pub fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|value| value.as_n().ok())
        .and_then(|text| text.parse().ok())
}

pub fn get_b<'a>(item: &'a Item, name: &str) -> Option<&'a [u8]> {
    item.get(name)
        .and_then(|value| value.as_b().ok())
        .map(|blob| blob.as_ref())
}

pub fn get_ss(item: &Item, name: &str) -> Vec<String> {
    item.get(name)
        .and_then(|value| value.as_ss().ok())
        .cloned()
        .unwrap_or_default()
}

pub fn required_s(item: &Item, name: &str) -> Result<String, StoreError> {
    get_s(item, name).map(str::to_string).ok_or_else(|| {
        tracing::error!(attribute = name, "an item lacks a required attribute");
        StoreError::Internal
    })
}

/// Item keys, in one place.
pub mod keys {
    pub fn account(account_id: &str) -> (String, String) {
        (format!("ACCOUNT#{account_id}"), "PROFILE".to_string())
    }
    pub fn login(login: &str) -> (String, String) {
        (format!("LOGIN#{login}"), "LOGIN".to_string())
    }
    /// Password failures of a login that has no account, so unknown logins throttle alike.
    pub fn login_throttle(login: &str) -> (String, String) {
        (format!("LOGIN#{login}"), "THROTTLE".to_string())
    }
    pub fn session(digest: &str) -> (String, String) {
        (format!("SESSION#{digest}"), "SESSION".to_string())
    }
    pub fn event(account_id: &str, sort: &str) -> (String, String) {
        (format!("ACCOUNT#{account_id}"), sort.to_string())
    }
}

/// An item holding only its key.
pub fn key_item((pk, sk): (String, String)) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
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

    pub fn table(&self) -> &str {
        &self.table
    }

    /// A strongly consistent read of one item by key.
    pub async fn get(&self, key: (String, String)) -> Result<Option<Item>, StoreError> {
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
    ) -> Result<Option<Item>, StoreError> {
        Ok(self.get(key).await?.filter(|item| is_live(item, now)))
    }

    /// Strongly consistent reads of many items by key (100 a request), in no particular order.
    pub async fn batch_get(&self, keys: Vec<(String, String)>) -> Result<Vec<Item>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.iter().cloned().map(key_item).collect()))
                    .consistent_read(true)
                    .build()
                    .map_err(|_| StoreError::Internal)?,
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
                return Err(StoreError::Unavailable);
            }
        }
        Ok(found)
    }

    /// Writes several items atomically. Condition failures are an outcome, not an error; a
    /// collision with another transaction is sent again (see `CONFLICT_ATTEMPTS`), then is
    /// `Unavailable`, with nothing written.
    pub async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Transaction, StoreError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        let count = items.len();
        let request = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items));
        for attempt in 1..=CONFLICT_ATTEMPTS {
            let error = match request.clone().send().await {
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
        Err(StoreError::Unavailable)
    }

    /// One conditional update. `Ok(Err(old))` when the condition failed, with the item as it was
    /// (None when it does not exist).
    pub async fn update(
        &self,
        update: ConditionalUpdate,
    ) -> Result<Result<Item, Option<Item>>, StoreError> {
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
        let mut attempt = 1;
        loop {
            let error = match request.clone().send().await {
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
                return Ok(Err(old));
            }
            if is_conflict(&error) && attempt < CONFLICT_ATTEMPTS {
                conflict_backoff(attempt).await;
                attempt += 1;
                continue;
            }
            return Err(classify("UpdateItem", &error));
        }
    }

    /// Writes that must all happen: one unconditional put as a PutItem, more as one transaction.
    pub async fn write_all(&self, writes: Vec<TransactWriteItem>) -> Result<(), StoreError> {
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
                Err(StoreError::Internal)
            }
        }
    }

    /// One unconditional put (security log entries).
    pub async fn put(&self, item: Item) -> Result<(), StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let mut attempt = 1;
        loop {
            match request.clone().send().await {
                Ok(_) => return Ok(()),
                Err(error) if is_conflict(&error) && attempt < CONFLICT_ATTEMPTS => {
                    conflict_backoff(attempt).await;
                    attempt += 1;
                }
                Err(error) => return Err(classify("PutItem", &error)),
            }
        }
    }

    /// Puts an item unless one with its key exists; whether it was written.
    pub async fn put_if_absent(&self, item: Item) -> Result<bool, StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)");
        let mut attempt = 1;
        loop {
            let error = match request.clone().send().await {
                Ok(_) => return Ok(true),
                Err(error) => error,
            };
            if let Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_)) =
                error.as_service_error()
            {
                return Ok(false);
            }
            if is_conflict(&error) && attempt < CONFLICT_ATTEMPTS {
                conflict_backoff(attempt).await;
                attempt += 1;
                continue;
            }
            return Err(classify("PutItem", &error));
        }
    }

    /// Every live item of a partition under a sort-key prefix, page after page.
    pub async fn query_live(
        &self,
        pk: &str,
        sk_prefix: &str,
        now: Now,
    ) -> Result<Vec<Item>, StoreError> {
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
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
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
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(|_| StoreError::Internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub fn table_update(&self, update: ConditionalUpdate) -> Result<TransactWriteItem, StoreError> {
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
            .map_err(|_| StoreError::Internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The security log entry of a transaction.
    pub fn event_put(
        &self,
        account_id: &str,
        kind: crate::events::EventKind,
        client: &RequestClient,
        now: Now,
    ) -> Result<TransactWriteItem, StoreError> {
        self.table_put(event_item(account_id, kind, client, now)?, None)
    }

    /// Commits a transaction whose conditions are expected to hold; when one does not, the state
    /// changed under the request and `conflict` is what the client is told.
    pub async fn commit(
        &self,
        items: Vec<TransactWriteItem>,
        conflict: crate::error::ApiError,
    ) -> Result<(), crate::error::ApiError> {
        match self.transact(items).await? {
            Transaction::Committed => Ok(()),
            Transaction::ConditionFailed(_) => Err(conflict),
        }
    }

    /// A delete that holds only while `condition` (with one placeholder value) holds.
    pub fn table_delete_if(
        &self,
        key: (String, String),
        condition: &str,
        placeholder: &str,
        value: AttributeValue,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .condition_expression(condition)
            .expression_attribute_values(placeholder, value)
            .build()
            .map_err(|_| StoreError::Internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    pub fn table_delete(
        &self,
        key: (String, String),
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(|_| StoreError::Internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

/// An update of one item, built from clauses, with its condition and placeholders.
#[derive(Debug, Clone)]
pub struct ConditionalUpdate {
    pub key: (String, String),
    sets: Vec<String>,
    removes: Vec<String>,
    adds: Vec<String>,
    conditions: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl ConditionalUpdate {
    pub fn new(key: (String, String)) -> ConditionalUpdate {
        ConditionalUpdate {
            key,
            sets: Vec::new(),
            removes: Vec::new(),
            adds: Vec::new(),
            conditions: Vec::new(),
            names: HashMap::new(),
            values: HashMap::new(),
        }
    }
    /// `SET` clause, e.g. `last_step = :step`.
    pub fn set(mut self, clause: impl Into<String>) -> Self {
        self.sets.push(clause.into());
        self
    }
    pub fn remove(mut self, attribute: impl Into<String>) -> Self {
        self.removes.push(attribute.into());
        self
    }
    /// `ADD` clause, e.g. `attempts :one`.
    pub fn add_to(mut self, clause: impl Into<String>) -> Self {
        self.adds.push(clause.into());
        self
    }
    /// Conditions are joined with AND.
    pub fn condition(mut self, condition: impl Into<String>) -> Self {
        self.conditions.push(format!("({})", condition.into()));
        self
    }
    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names
            .insert(placeholder.to_string(), attribute.to_string());
        self
    }
    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_string(), value);
        self
    }

    fn into_parts(self) -> UpdateParts {
        let mut clauses = Vec::new();
        for (keyword, parts) in [
            ("SET", &self.sets),
            ("REMOVE", &self.removes),
            ("ADD", &self.adds),
        ] {
            if !parts.is_empty() {
                clauses.push(format!("{keyword} {}", parts.join(", ")));
            }
        }
        UpdateParts {
            key: self.key,
            expression: clauses.join(" "),
            condition: (!self.conditions.is_empty()).then(|| self.conditions.join(" AND ")),
            names: self.names,
            values: self.values,
        }
    }
}

struct UpdateParts {
    key: (String, String),
    expression: String,
    condition: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

/// Whether an item is still within its lifetime (items without `expires_at` live forever).
pub fn is_live(item: &Item, now: Now) -> bool {
    get_n(item, "expires_at").is_none_or(|expires_at| expires_at > now.secs())
}

/// The sort key of a security log entry: its instant, then a suffix that keeps keys apart.
pub fn event_sort_key(millis: i64, suffix: &str) -> String {
    format!("EVENT#{millis:013}#{suffix}")
}

/// A security log entry, ready to be written.
pub fn event_item(
    account_id: &str,
    kind: crate::events::EventKind,
    client: &RequestClient,
    now: Now,
) -> Result<Item, StoreError> {
    let suffix =
        crate::token::hex(&crate::token::random_bytes::<4>().map_err(|_| StoreError::Internal)?);
    let sort = event_sort_key(now.millis, &suffix);
    Ok(event_item_with_key(account_id, &sort, kind, client, now))
}

/// A security log entry under a given sort key.
pub fn event_item_with_key(
    account_id: &str,
    sort: &str,
    kind: crate::events::EventKind,
    client: &RequestClient,
    now: Now,
) -> Item {
    let mut item = key_item(keys::event(account_id, sort));
    item.insert("type".into(), s(kind.as_str()));
    item.insert("at".into(), n(now.secs()));
    item.insert("ip".into(), s(client.ip.clone()));
    item.insert("user_agent".into(), s(client.user_agent.clone()));
    item.insert(
        "expires_at".into(),
        n(now.secs() + crate::events::RETENTION_SECS),
    );
    item
}
