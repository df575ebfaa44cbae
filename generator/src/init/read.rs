//! Reads what [`super::propose`] needs from a live table, read only: DescribeTable, and Scan
//! pages until `sample` items (a consistent-read-free, `Limit`ed scan). Credentials, region and
//! endpoint come from the standard AWS configuration (`AWS_PROFILE`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL`), or `--endpoint`.

use aws_sdk_dynamodb::error::ProvideErrorMetadata as _;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::propose::{Item, TableInfo};

/// Why the table could not be read; each names the table and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// DescribeTable: no such table.
    #[error("table `{table}` does not exist at {at}")]
    NoTable {
        /// The table.
        table: String,
        /// Region or endpoint asked.
        at: String,
    },
    /// The table has no stream to relay from.
    #[error(
        "table `{0}` has no stream: enable one (NEW_AND_OLD_IMAGES) before the relay can read it, e.g. `aws dynamodb update-table --table-name {0} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES`"
    )]
    NoStream(String),
    /// Any other failure (credentials, permissions, network).
    #[error("cannot {operation} table `{table}` at {at}: {message}")]
    Unreadable {
        /// DescribeTable or Scan.
        operation: &'static str,
        /// The table.
        table: String,
        /// Region or endpoint asked.
        at: String,
        /// The service's or the transport's message.
        message: String,
    },
}

/// The table's description and up to `sample` of its items.
pub fn read(
    table: &str,
    endpoint: Option<&str>,
    sample: usize,
) -> Result<(TableInfo, Vec<Item>), ReadError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime starts");
    runtime.block_on(read_async(table, endpoint, sample))
}

async fn read_async(
    table: &str,
    endpoint: Option<&str>,
    sample: usize,
) -> Result<(TableInfo, Vec<Item>), ReadError> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    let config = loader.load().await;
    let at = endpoint.map_or_else(
        || {
            config.region().map_or_else(
                || "the default region".to_owned(),
                |r| format!("region {r}"),
            )
        },
        str::to_owned,
    );
    let client = aws_sdk_dynamodb::Client::new(&config);
    let unreadable = |operation: &'static str| {
        let (table, at) = (table.to_owned(), at.clone());
        move |message: String| ReadError::Unreadable {
            operation,
            table,
            at,
            message,
        }
    };
    let described = match client.describe_table().table_name(table).send().await {
        Ok(described) => described,
        Err(e) if e.code() == Some("ResourceNotFoundException") => {
            return Err(ReadError::NoTable {
                table: table.to_owned(),
                at,
            });
        }
        Err(e) => return Err(unreadable("describe")(message(&e))),
    };
    let description = described
        .table
        .unwrap_or_else(|| aws_sdk_dynamodb::types::TableDescription::builder().build());
    let type_of = |name: &str| {
        description
            .attribute_definitions()
            .iter()
            .find(|d| d.attribute_name() == name)
            .map_or_else(
                || "S".to_owned(),
                |d| d.attribute_type().as_str().to_owned(),
            )
    };
    let key = |kind: aws_sdk_dynamodb::types::KeyType| {
        description
            .key_schema()
            .iter()
            .find(|k| *k.key_type() == kind)
            .map(|k| (k.attribute_name().to_owned(), type_of(k.attribute_name())))
    };
    let stream = description
        .stream_specification()
        .filter(|s| s.stream_enabled())
        .and_then(|s| s.stream_view_type())
        .map(|v| v.as_str().to_owned());
    let Some(stream_view) = stream else {
        return Err(ReadError::NoStream(table.to_owned()));
    };
    let info = TableInfo {
        name: table.to_owned(),
        partition: key(aws_sdk_dynamodb::types::KeyType::Hash)
            .unwrap_or_else(|| ("pk".to_owned(), "S".to_owned())),
        sort: key(aws_sdk_dynamodb::types::KeyType::Range),
        stream_view: Some(stream_view),
        stream_arn: description.latest_stream_arn().map(str::to_owned),
    };

    let mut items = Vec::new();
    let mut start = None;
    while items.len() < sample {
        let page = client
            .scan()
            .table_name(table)
            .limit(i32::try_from(sample - items.len()).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| unreadable("scan")(message(&e)))?;
        items.extend(page.items().iter().map(|item| {
            item.iter()
                .map(|(name, value)| (name.clone(), dynamodb_json(value)))
                .collect::<Map<_, _>>()
        }));
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    Ok((info, items))
}

fn message<E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata>(e: &E) -> String {
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => {
            let mut text = e.to_string();
            let mut source = e.source();
            while let Some(cause) = source {
                text = format!("{text}: {cause}");
                source = cause.source();
            }
            text
        }
    }
}

/// An SDK attribute value as DynamoDB JSON (`{"N": "1"}`), binary as base64.
fn dynamodb_json(value: &AttributeValue) -> Value {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b.as_ref()) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => {
            json!({ "BS": v.iter().map(|b| b64(b.as_ref())).collect::<Vec<_>>() })
        }
        AttributeValue::L(v) => json!({ "L": v.iter().map(dynamodb_json).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({
            "M": m.iter().map(|(k, v)| (k.clone(), dynamodb_json(v))).collect::<Map<_, _>>()
        }),
        _ => json!({ "NULL": true }),
    }
}
