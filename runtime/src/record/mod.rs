//! Decoding a DynamoDB Streams Lambda event, one record at a time.
//!
//! A well-formed batch decodes in one pass ([`decode_batch`], [`pass`]), straight into
//! [`Record`]s that borrow their strings from the event's text. When any record is malformed,
//! the batch is split into raw records and each is decoded on its own, so that record is an
//! error of its own (with its sequence number), not of the whole invocation.
//! Images decode into borrowed attribute values ([`crate::attribute::read`]), which keep
//! numbers as their exact text: in the one pass for the records whose events read them (by
//! operation and keys, [`ReadsImages`]), else only when something reads them, so a record no
//! event selects costs one scan of its text, not a tree of attribute values.
//! `ApproximateCreationDateTime` is read as float seconds here: `aws_lambda_events` 1.2 reads
//! `1700000000.206` as 206 microseconds.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::attribute::read::{AttributeValue, Item, optional_text};
use crate::error::RecordError;

mod pass;

pub use pass::ReadsImages;

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

impl Operation {
    /// `INSERT`, `MODIFY` or `REMOVE`, as the stream spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "INSERT",
            Operation::Modify => "MODIFY",
            Operation::Remove => "REMOVE",
        }
    }

    /// The operation a record's `eventName` names, if it is one.
    pub fn from_event_name(name: &str) -> Option<Operation> {
        [Operation::Insert, Operation::Modify, Operation::Remove]
            .into_iter()
            .find(|operation| operation.as_str() == name)
    }
}

/// One decoded stream record, borrowing from the event's text; its images decode on first use.
#[derive(Debug)]
pub struct Record<'a> {
    /// `eventID`: unique per record, stable across redeliveries.
    pub event_id: Cow<'a, str>,
    /// `eventSourceARN`, when the record has one.
    pub event_source_arn: Option<Cow<'a, str>>,
    /// `eventName`.
    pub operation: Operation,
    /// The table name, from `eventSourceARN`.
    pub table: Cow<'a, str>,
    /// `dynamodb.SequenceNumber`: what a batch item failure reports.
    pub sequence_number: Option<Cow<'a, str>>,
    /// `dynamodb.ApproximateCreationDateTime`, whole seconds since the epoch.
    pub time: Option<i64>,
    /// Whether DynamoDB's TTL process removed the item (`userIdentity` is the DynamoDB service).
    pub ttl_expiry: bool,
    /// `awsRegion`: the region of the stream the record was read from.
    pub aws_region: Option<Cow<'a, str>>,
    /// The key attributes.
    pub keys: Item<'a>,
    new: LazyImage<'a>,
    old: LazyImage<'a>,
}

/// An image, decoded in the batch's one pass or the first time it is read. A malformed image
/// reads as empty and keeps the error, which the handler reports for the record.
#[derive(Debug, Default)]
struct LazyImage<'a> {
    raw: Option<&'a RawValue>,
    item: std::cell::OnceCell<Item<'a>>,
    error: std::cell::OnceCell<String>,
}

impl<'a> LazyImage<'a> {
    fn new(image: Option<WireImage<'a>>) -> Self {
        match image {
            None => LazyImage::default(),
            Some(WireImage::Raw(raw)) => LazyImage {
                raw: Some(raw),
                ..LazyImage::default()
            },
            Some(WireImage::Decoded(item)) => LazyImage {
                item: item.into(),
                ..LazyImage::default()
            },
        }
    }

    fn get(&self, name: &str) -> &Item<'a> {
        self.item.get_or_init(|| {
            self.raw
                .map(|raw| {
                    serde_json::from_str(raw.get()).unwrap_or_else(|e| {
                        let _ = self.error.set(format!("{name}: {e}"));
                        Item::default()
                    })
                })
                .unwrap_or_default()
        })
    }
}

/// A record as the event writes it, which [`Record::from_wire`] checks: read by this derive
/// record by record, and built field for field by the one pass ([`pass`]).
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(rename = "eventID", borrow)]
    event_id: Cow<'a, str>,
    #[serde(rename = "eventName", borrow)]
    event_name: Cow<'a, str>,
    #[serde(
        rename = "eventSourceARN",
        default,
        borrow,
        deserialize_with = "optional_text"
    )]
    event_source_arn: Option<Cow<'a, str>>,
    #[serde(
        rename = "tableName",
        default,
        borrow,
        deserialize_with = "optional_text"
    )]
    table_name: Option<Cow<'a, str>>,
    #[serde(
        rename = "awsRegion",
        default,
        borrow,
        deserialize_with = "optional_text"
    )]
    aws_region: Option<Cow<'a, str>>,
    #[serde(rename = "userIdentity", borrow)]
    user_identity: Option<UserIdentity<'a>>,
    #[serde(borrow)]
    dynamodb: WireChange<'a>,
}

#[derive(Deserialize)]
struct UserIdentity<'a> {
    #[serde(rename = "type", default, borrow, deserialize_with = "optional_text")]
    kind: Option<Cow<'a, str>>,
    #[serde(
        rename = "principalId",
        default,
        borrow,
        deserialize_with = "optional_text"
    )]
    principal_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireChange<'a> {
    #[serde(rename = "ApproximateCreationDateTime")]
    approximate_creation_date_time: Option<f64>,
    #[serde(
        rename = "SequenceNumber",
        default,
        borrow,
        deserialize_with = "optional_text"
    )]
    sequence_number: Option<Cow<'a, str>>,
    #[serde(rename = "Keys", default, borrow)]
    keys: Option<Item<'a>>,
    #[serde(rename = "NewImage", default, borrow)]
    new_image: Option<WireImage<'a>>,
    #[serde(rename = "OldImage", default, borrow)]
    old_image: Option<WireImage<'a>>,
}

/// An image as a record carries it: its text, or decoded in the batch's one pass.
enum WireImage<'a> {
    Raw(&'a RawValue),
    Decoded(Item<'a>),
}

impl<'de: 'a, 'a> Deserialize<'de> for WireImage<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&RawValue>::deserialize(deserializer).map(WireImage::Raw)
    }
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

impl<'a> Record<'a> {
    /// Decodes one raw record (its images when they are first read).
    pub fn decode(raw: &'a RawValue) -> Result<Record<'a>, RecordError> {
        let wire: Wire = serde_json::from_str(raw.get()).map_err(|e| {
            let sequence_number = serde_json::from_str::<SequenceOnly>(raw.get())
                .ok()
                .and_then(|s| s.dynamodb)
                .and_then(|d| d.sequence_number);
            RecordError::decode(sequence_number, format!("the record does not decode: {e}"))
        })?;
        Record::from_wire(wire)
    }

    fn from_wire(wire: Wire<'a>) -> Result<Record<'a>, RecordError> {
        let Wire {
            event_id,
            event_name,
            aws_region,
            event_source_arn,
            table_name,
            user_identity,
            dynamodb,
        } = wire;
        let sequence_number = dynamodb.sequence_number;
        let unreadable = |reason: String| {
            RecordError::decode(sequence_number.as_deref().map(str::to_owned), reason)
        };
        let operation = Operation::from_event_name(&event_name)
            .ok_or_else(|| unreadable(format!("unknown eventName `{event_name}`")))?;
        let table = event_source_arn
            .as_ref()
            .and_then(|arn| match arn {
                Cow::Borrowed(arn) => table_from_arn(arn).map(Cow::Borrowed),
                Cow::Owned(arn) => table_from_arn(arn).map(|t| Cow::Owned(t.to_owned())),
            })
            .or(table_name)
            .ok_or_else(|| {
                unreadable("neither eventSourceARN nor tableName names the table".to_owned())
            })?;
        let ttl_expiry = user_identity.is_some_and(|u| {
            u.kind.as_deref() == Some("Service")
                && u.principal_id.as_deref() == Some("dynamodb.amazonaws.com")
        });
        Ok(Record {
            event_id,
            event_source_arn,
            operation,
            table,
            time: dynamodb
                .approximate_creation_date_time
                .filter(|t| t.is_finite())
                .map(|t| t.floor() as i64),
            ttl_expiry,
            aws_region,
            keys: dynamodb.keys.unwrap_or_default(),
            new: LazyImage::new(dynamodb.new_image),
            old: LazyImage::new(dynamodb.old_image),
            sequence_number,
        })
    }

    /// An image by name (empty when the stream or operation has none).
    pub fn image(&self, image: Image) -> &Item<'a> {
        match image {
            Image::New => self.new.get("NewImage"),
            Image::Old => self.old.get("OldImage"),
        }
    }

    /// Why an image that was read did not decode.
    pub fn image_error(&self) -> Option<&str> {
        self.new
            .error
            .get()
            .or_else(|| self.old.error.get())
            .map(String::as_str)
    }

    /// A top-level attribute of an image.
    pub fn get(&self, image: Image, name: &str) -> Option<&AttributeValue<'a>> {
        self.image(image).get(name)
    }

    /// The sequence number, owned (for errors that outlive the event).
    pub fn sequence_number_owned(&self) -> Option<String> {
        self.sequence_number.as_deref().map(str::to_owned)
    }
}

/// A record of a batch, decoded or why not, with its raw text when it had to be decoded on its
/// own (a record that does not decode is reported from its text).
pub type Decoded<'a> = (Result<Record<'a>, RecordError>, Option<&'a RawValue>);

/// Every record of a batch: in one pass when the batch is well formed (with the images of the
/// records `reads_images` picks), else record by record (each decoded when it is taken).
pub fn decode_batch<'a>(
    text: &'a str,
    reads_images: ReadsImages<'_>,
) -> Result<Records<'a>, serde_json::Error> {
    if let Ok(records) = pass::records(text, reads_images) {
        return Ok(Records::Whole(records.into_iter()));
    }
    Ok(Records::Split(RawBatch::parse(text)?.records.into_iter()))
}

/// The records of a batch, in stream order, as [`Decoded`] pairs.
#[derive(Debug)]
pub enum Records<'a> {
    /// The batch decoded in one pass.
    Whole(std::vec::IntoIter<Record<'a>>),
    /// A batch with a malformed record: each record decodes from its own text.
    Split(std::vec::IntoIter<&'a RawValue>),
}

impl<'a> Iterator for Records<'a> {
    type Item = Decoded<'a>;

    fn next(&mut self) -> Option<Decoded<'a>> {
        match self {
            Records::Whole(records) => records.next().map(|record| (Ok(record), None)),
            Records::Split(raws) => raws.next().map(|raw| (Record::decode(raw), Some(raw))),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Records::Whole(records) => records.size_hint(),
            Records::Split(raws) => raws.size_hint(),
        }
    }
}

impl ExactSizeIterator for Records<'_> {}

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
    // The resource is the sixth field: what follows the fifth colon. One pass over the bytes:
    // this runs for every record, and a substring search costs more than the ARN is long.
    let (fifth_colon, _) = arn.bytes().enumerate().filter(|&(_, b)| b == b':').nth(4)?;
    let rest = arn[fifth_colon + 1..].strip_prefix("table/")?;
    Some(rest.split_once('/').map_or(rest, |(name, _)| name)).filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{decode_batch, table_from_arn};

    #[test]
    fn a_records_strings_borrow_from_the_event_text() {
        let event = r#"{"Records":[{"eventID":"e1","eventName":"INSERT",
            "eventSourceARN":"arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/x",
            "userIdentity":{"type":"Service","principalId":"dynamodb.amazonaws.com"},
            "dynamodb":{"SequenceNumber":"100","Keys":{"id":{"S":"k"}}}}]}"#;
        let (record, _) = decode_batch(event, &|_, _| false).unwrap().next().unwrap();
        let record = record.unwrap();
        assert!(matches!(record.event_id, Cow::Borrowed("e1")));
        assert!(matches!(record.sequence_number, Some(Cow::Borrowed("100"))));
        assert!(matches!(record.event_source_arn, Some(Cow::Borrowed(_))));
        assert!(matches!(record.table, Cow::Borrowed("t")));
        assert!(record.ttl_expiry);
    }

    #[test]
    fn escaped_strings_and_missing_optional_fields_still_decode() {
        let event = r#"{"Records":[{"eventID":"e\u0031","eventName":"REMOVE",
            "tableName":"t\u0032","dynamodb":{"Keys":{"id":{"S":"k"}}}}]}"#;
        let (record, _) = decode_batch(event, &|_, _| false).unwrap().next().unwrap();
        let record = record.unwrap();
        assert_eq!(record.event_id, "e1");
        assert!(matches!(&record.table, Cow::Owned(t) if t == "t2"));
        assert_eq!(record.sequence_number, None);
        assert_eq!(record.event_source_arn, None);
        assert!(!record.ttl_expiry);
    }

    #[test]
    fn the_table_is_the_name_in_the_arns_resource() {
        for (arn, table) in [
            (
                "arn:aws:dynamodb:eu-west-1:123456789012:table/app-table/stream/2026-01-01T00:00:00.000",
                Some("app-table"),
            ),
            ("arn:aws:dynamodb:eu-west-1:123456789012:table/t", Some("t")),
            (
                "arn:aws-cn:dynamodb:cn-north-1:123456789012:table/a.b_c-d/stream/x",
                Some("a.b_c-d"),
            ),
            ("arn:aws:dynamodb:eu-west-1:123456789012:table/", None),
            ("arn:aws:dynamodb:eu-west-1:table/t/stream/x", None),
            ("arn:aws:dynamodb:eu-west-1:123456789012:index/t", None),
            ("table/t", None),
            ("arn:aws:dynamodb:eu-west-1:123456789012:tables/t", None),
            ("arn:aws:dynamodb:eu-west-1:123456789012:table", None),
        ] {
            assert_eq!(table_from_arn(arn), table, "{arn}");
        }
    }
}
