//! Tables of a given size for the growth figures: accounts cloned from one the service made
//! (its profile and login claim, under a new id and login), and security log entries cloned from
//! one of the measured account's own. Written with BatchWriteItem, which the service never uses:
//! only the benchmark fills tables this way.
use crate::Failure;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        ("pk".to_string(), AttributeValue::S(pk)),
        ("sk".to_string(), AttributeValue::S(sk.to_string())),
    ])
}

async fn get(client: &Client, table: &str, key: Item) -> Result<Item, Failure> {
    let output = client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .send()
        .await?;
    output
        .item
        .ok_or_else(|| "a template item is missing".into())
}

/// Every string of `item` with `from` replaced by `to`.
fn replaced(item: &Item, pairs: &[(&str, &str)]) -> Item {
    item.iter()
        .map(|(name, value)| {
            let value = match value {
                AttributeValue::S(text) => {
                    let mut text = text.clone();
                    for (from, to) in pairs {
                        text = text.replace(from, to);
                    }
                    AttributeValue::S(text)
                }
                other => other.clone(),
            };
            (name.clone(), value)
        })
        .collect()
}

async fn write_all(client: &Client, table: &str, items: Vec<Item>) -> Result<(), Failure> {
    for chunk in items.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder().set_item(Some(item.clone())).build()?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, aws_sdk_dynamodb::error::BuildError>>()?;
        while !requests.is_empty() {
            let output = client
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await?;
            requests = output
                .unprocessed_items
                .and_then(|mut left| left.remove(table))
                .unwrap_or_default();
        }
    }
    Ok(())
}

/// Adds `count` accounts to `table`, each a copy of account `account_id` (login `login`) under
/// a fresh id and login.
pub async fn accounts(
    client: &Client,
    table: &str,
    account_id: &str,
    login: &str,
    count: usize,
) -> Result<(), Failure> {
    let profile = get(
        client,
        table,
        key(format!("ACCOUNT#{account_id}"), "PROFILE"),
    )
    .await?;
    let claim = get(client, table, key(format!("LOGIN#{login}"), "LOGIN")).await?;
    let mut items = Vec::with_capacity(count * 2);
    for _ in 0..count {
        let id = ward::crypto::random::new_id()?;
        let clone_login = ward_tests::unique_login("seeded");
        let pairs = [(account_id, id.as_str()), (login, clone_login.as_str())];
        items.push(replaced(&profile, &pairs));
        items.push(replaced(&claim, &pairs));
    }
    write_all(client, table, items).await
}

/// Adds `count` security log entries to account `account_id`, copies of its newest one at
/// earlier instants (one a second, going back).
pub async fn log_entries(
    client: &Client,
    table: &str,
    account_id: &str,
    count: usize,
) -> Result<(), Failure> {
    let newest = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :event)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("ACCOUNT#{account_id}")))
        .expression_attribute_values(":event", AttributeValue::S("EVENT#".into()))
        .scan_index_forward(false)
        .limit(1)
        .send()
        .await?
        .items
        .and_then(|items| items.into_iter().next())
        .ok_or("the account has no log entry to copy")?;
    let sort = match newest.get("sk") {
        Some(AttributeValue::S(sort)) => sort.clone(),
        _ => return Err("an entry without a sort key".into()),
    };
    let millis: i64 = sort
        .split('#')
        .nth(1)
        .and_then(|part| part.parse().ok())
        .ok_or("an entry's sort key holds no instant")?;
    let mut items = Vec::with_capacity(count);
    for back in 1..=count {
        let mut item = newest.clone();
        let suffix = ward::crypto::random::hex(&ward::crypto::random::random_bytes::<4>()?);
        let at = millis - i64::try_from(back)? * 1000;
        item.insert(
            "sk".into(),
            AttributeValue::S(format!("EVENT#{at:013}#{suffix}")),
        );
        item.insert("at".into(), AttributeValue::N((at / 1000).to_string()));
        items.push(item);
    }
    write_all(client, table, items).await
}

/// How many accounts `table` holds (a Scan: the benchmark's, never the service's).
pub async fn account_count(client: &Client, table: &str) -> Result<usize, Failure> {
    let mut count = 0;
    let mut start = None;
    loop {
        let output = client
            .scan()
            .table_name(table)
            .filter_expression("sk = :profile")
            .expression_attribute_values(":profile", AttributeValue::S("PROFILE".into()))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        count += usize::try_from(output.count)?;
        start = output.last_evaluated_key;
        if start.is_none() {
            return Ok(count);
        }
    }
}

/// The usual peer's item (`bench#peer`): a copy of the item the authorizer reads for `token`, so
/// that both references read one real item of the same size.
pub async fn peer_item(client: &Client, table: &str, token: &str) -> Result<(), Failure> {
    let digest = ward::crypto::random::digest(token);
    let mut item = get(client, table, key(format!("TOKEN#{digest}"), "TOKEN")).await?;
    item.extend(key("bench#peer".into(), "bench#peer"));
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await?;
    Ok(())
}

/// How long one GetItem of the peer's item takes, in milliseconds.
pub async fn time_peer_get(client: &Client, table: &str) -> Result<f64, Failure> {
    let started = std::time::Instant::now();
    get(client, table, key("bench#peer".into(), "bench#peer")).await?;
    Ok(started.elapsed().as_secs_f64() * 1e3)
}
