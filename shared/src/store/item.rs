//! Items as DynamoDB holds them: attribute values, the update builder, and the reading helpers
//! every layout uses.

use crate::domain::error::StorageError;
use crate::domain::Now;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

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

pub fn required_s(item: &Item, name: &str) -> Result<String, StorageError> {
    get_s(item, name).map(str::to_string).ok_or_else(|| {
        tracing::error!(attribute = name, "an item lacks a required attribute");
        StorageError::Internal
    })
}

/// An item holding only its key.
pub fn key_item((pk, sk): (String, String)) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

/// Whether an item is still within its lifetime (items without `expires_at` live forever).
pub fn is_live(item: &Item, now: Now) -> bool {
    get_n(item, "expires_at").is_none_or(|expires_at| expires_at > now.secs())
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

    pub(crate) fn into_parts(self) -> UpdateParts {
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

pub(crate) struct UpdateParts {
    pub key: (String, String),
    pub expression: String,
    pub condition: Option<String>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

pub fn get_bool(item: &Item, name: &str) -> Option<bool> {
    item.get(name)
        .and_then(|value| value.as_bool().ok())
        .copied()
}

pub fn required_b(item: &Item, name: &str) -> Result<Vec<u8>, StorageError> {
    get_b(item, name)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| missing(name))
}

fn missing(name: &str) -> StorageError {
    tracing::error!(attribute = name, "an item lacks a required attribute");
    StorageError::Internal
}
