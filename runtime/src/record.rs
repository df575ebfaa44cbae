//! Decoding a DynamoDB Streams Lambda event, one record at a time.
//!
//! The batch is split into raw records first and each is decoded on its own, so one malformed
//! record is an error of that record (with its sequence number), not of the whole invocation.
//! Images decode into `serde_dynamo` attribute values, which keep numbers as their exact text.
//! `ApproximateCreationDateTime` is read as float seconds here: `aws_lambda_events` 1.2 reads
//! `1700000000.206` as 206 microseconds.

use serde::Deserialize;
use serde_dynamo::{AttributeValue, Item};
use serde_json::value::RawValue;

use crate::error::RecordError;

/// A Lambda event from a DynamoDB stream, its records still undecoded.
#[derive(Debug, Deserialize)]
pub struct RawBatch<'a> {
    /// The records, in stream order.
    #[serde(rename = "Records", borrow)]
    pub records: Vec<&'a RawValue>,
}

impl<'a> RawBatch<'a> {
    /// Splits event JSON into its records.
    pub fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// The stream operation of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `INSERT`
    Insert,
    /// `MODIFY`
    Modify,
    /// `REMOVE`
    Remove,
}

/// One decoded stream record.
#[derive(Debug)]
pub struct Record {
    /// `eventID`: unique per record, stable across redeliveries.
    pub event_id: String,
    /// `eventName`.
    pub operation: Operation,
    /// The table name, from `eventSourceARN`.
    pub table: String,
    /// `dynamodb.SequenceNumber`: what a batch item failure reports.
    pub sequence_number: Option<String>,
    /// `dynamodb.ApproximateCreationDateTime`, whole seconds since the epoch.
    pub time: Option<i64>,
    /// Whether DynamoDB's TTL process removed the item (`userIdentity` is the DynamoDB service).
    pub ttl_expiry: bool,
    /// The key attributes.
    pub keys: Item,
    /// `NewImage`, empty when the stream or operation has none.
    pub new: Item,
    /// `OldImage`, empty when the stream or operation has none.
    pub old: Item,
}

#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "eventID")]
    event_id: String,
    #[serde(rename = "eventName")]
    event_name: String,
    #[serde(rename = "eventSourceARN")]
    event_source_arn: Option<String>,
    #[serde(rename = "tableName")]
    table_name: Option<String>,
    #[serde(rename = "userIdentity")]
    user_identity: Option<UserIdentity>,
    dynamodb: WireChange,
}

#[derive(Deserialize)]
struct UserIdentity {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "principalId")]
    principal_id: Option<String>,
}

#[derive(Deserialize)]
struct WireChange {
    #[serde(rename = "ApproximateCreationDateTime")]
    approximate_creation_date_time: Option<f64>,
    #[serde(rename = "SequenceNumber")]
    sequence_number: Option<String>,
    #[serde(rename = "Keys", default)]
    keys: Option<Item>,
    #[serde(rename = "NewImage", default)]
    new_image: Option<Item>,
    #[serde(rename = "OldImage", default)]
    old_image: Option<Item>,
}

/// Just enough of a record to report it when the rest does not decode.
#[derive(Deserialize)]
struct SequenceOnly {
    dynamodb: Option<SequenceOnlyChange>,
}

#[derive(Deserialize)]
struct SequenceOnlyChange {
    #[serde(rename = "SequenceNumber")]
    sequence_number: Option<String>,
}

impl Record {
    /// Decodes one raw record.
    pub fn decode(raw: &RawValue) -> Result<Record, RecordError> {
        let wire: Wire = serde_json::from_str(raw.get()).map_err(|e| {
            let sequence_number = serde_json::from_str::<SequenceOnly>(raw.get())
                .ok()
                .and_then(|s| s.dynamodb)
                .and_then(|d| d.sequence_number);
            RecordError::decode(sequence_number, format!("the record does not decode: {e}"))
        })?;
        let sequence_number = wire.dynamodb.sequence_number;
        let operation = match wire.event_name.as_str() {
            "INSERT" => Operation::Insert,
            "MODIFY" => Operation::Modify,
            "REMOVE" => Operation::Remove,
            other => {
                return Err(RecordError::decode(
                    sequence_number,
                    format!("unknown eventName `{other}`"),
                ));
            }
        };
        let table = wire
            .event_source_arn
            .as_deref()
            .and_then(table_from_arn)
            .or(wire.table_name.as_deref())
            .ok_or_else(|| {
                RecordError::decode(
                    sequence_number.clone(),
                    "neither eventSourceARN nor tableName names the table",
                )
            })?
            .to_owned();
        let ttl_expiry = wire.user_identity.is_some_and(|u| {
            u.kind.as_deref() == Some("Service")
                && u.principal_id.as_deref() == Some("dynamodb.amazonaws.com")
        });
        Ok(Record {
            event_id: wire.event_id,
            operation,
            table,
            time: wire
                .dynamodb
                .approximate_creation_date_time
                .filter(|t| t.is_finite())
                .map(|t| t.floor() as i64),
            ttl_expiry,
            keys: wire.dynamodb.keys.unwrap_or_default(),
            new: wire.dynamodb.new_image.unwrap_or_default(),
            old: wire.dynamodb.old_image.unwrap_or_default(),
            sequence_number,
        })
    }

    /// An image by name.
    pub fn image(&self, image: Image) -> &Item {
        match image {
            Image::New => &self.new,
            Image::Old => &self.old,
        }
    }

    /// A top-level attribute of an image.
    pub fn get(&self, image: Image, name: &str) -> Option<&AttributeValue> {
        self.image(image).get(name)
    }
}

/// NewImage or OldImage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Image {
    /// `NewImage`
    New,
    /// `OldImage`
    Old,
}

impl Image {
    /// `new` or `old`, as paths in outbox.yaml write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Image::New => "new",
            Image::Old => "old",
        }
    }
}

/// The table name in `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL`.
pub fn table_from_arn(arn: &str) -> Option<&str> {
    let resource = arn.split(':').nth(5)?;
    let rest = resource.strip_prefix("table/")?;
    Some(rest.split('/').next().unwrap_or(rest)).filter(|name| !name.is_empty())
}
