//! The batch in one pass: every record straight into [`Wire`], and the images of the records
//! whose events read them (by operation and keys, which a stream record writes before its
//! images) decoded in the same pass; the others kept as raw text.
//!
//! It reads what the derived [`Wire`] reads, field for field (required and optional fields,
//! nulls, unknown fields skipped, a repeated field an error), so a record decodes to the same
//! [`Record`] here as on its own. Anything it refuses, a malformed image it decoded among
//! them, sends the batch to the record-by-record path, where each record is what it was before.

use std::fmt;

use serde::de::{
    DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;

use super::{Operation, Record, UserIdentity, Wire, WireChange, WireImage};
use crate::attribute::read::{Item, Text};

/// Whether the events of a record with this operation and these keys may read its images.
pub type ReadsImages<'r> = &'r dyn Fn(Operation, &Item) -> bool;

/// Every record of a DynamoDB Streams event, in one pass.
pub(super) fn records<'a>(
    text: &'a str,
    reads_images: ReadsImages<'_>,
) -> Result<Vec<Record<'a>>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let records = Batch(reads_images).deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(records)
}

/// `{"Records": [...]}`.
struct Batch<'r>(ReadsImages<'r>);

impl<'de> DeserializeSeed<'de> for Batch<'_> {
    type Value = Vec<Record<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Batch<'_> {
    type Value = Vec<Record<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DynamoDB Streams event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut records = None;
        while let Some(Text(key)) = map.next_key()? {
            if key == "Records" {
                once(&records, "Records")?;
                records = Some(map.next_value_seed(Records(self.0))?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        records.ok_or_else(|| A::Error::missing_field("Records"))
    }
}

/// The records array.
struct Records<'r>(ReadsImages<'r>);

impl<'de> DeserializeSeed<'de> for Records<'_> {
    type Value = Vec<Record<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Records<'_> {
    type Value = Vec<Record<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of stream records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut records = Vec::new();
        while let Some(wire) = seq.next_element_seed(OneRecord(self.0))? {
            records.push(Record::from_wire(wire).map_err(|e| A::Error::custom(e.reason))?);
        }
        Ok(records)
    }
}

/// One record, as the derived [`Wire`] reads it.
struct OneRecord<'r>(ReadsImages<'r>);

impl<'de> DeserializeSeed<'de> for OneRecord<'_> {
    type Value = Wire<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OneRecord<'_> {
    type Value = Wire<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a stream record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut event_id = None;
        let mut event_name = None;
        let mut event_source_arn = None;
        let mut table_name = None;
        let mut aws_region = None;
        let mut user_identity = None;
        let mut dynamodb = None;
        while let Some(Text(key)) = map.next_key()? {
            match key.as_ref() {
                "eventID" => {
                    once(&event_id, "eventID")?;
                    event_id = Some(map.next_value::<Text>()?.0);
                }
                "eventName" => {
                    once(&event_name, "eventName")?;
                    event_name = Some(map.next_value::<Text>()?.0);
                }
                "eventSourceARN" => {
                    once(&event_source_arn, "eventSourceARN")?;
                    event_source_arn = Some(map.next_value::<Option<Text>>()?.map(|t| t.0));
                }
                "tableName" => {
                    once(&table_name, "tableName")?;
                    table_name = Some(map.next_value::<Option<Text>>()?.map(|t| t.0));
                }
                "awsRegion" => {
                    once(&aws_region, "awsRegion")?;
                    aws_region = Some(map.next_value::<Option<Text>>()?.map(|t| t.0));
                }
                "userIdentity" => {
                    once(&user_identity, "userIdentity")?;
                    user_identity = Some(map.next_value::<Option<UserIdentity>>()?);
                }
                "dynamodb" => {
                    once(&dynamodb, "dynamodb")?;
                    // The operation, when the record named it before its change (AWS does).
                    let operation = event_name.as_deref().and_then(Operation::from_event_name);
                    dynamodb = Some(map.next_value_seed(Change {
                        reads_images: self.0,
                        operation,
                    })?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Wire {
            event_id: event_id.ok_or_else(|| A::Error::missing_field("eventID"))?,
            event_name: event_name.ok_or_else(|| A::Error::missing_field("eventName"))?,
            event_source_arn: event_source_arn.flatten(),
            table_name: table_name.flatten(),
            aws_region: aws_region.flatten(),
            user_identity: user_identity.flatten(),
            dynamodb: dynamodb.ok_or_else(|| A::Error::missing_field("dynamodb"))?,
        })
    }
}

/// A record's `dynamodb`, as the derived [`WireChange`] reads it, its images decoded when the
/// record's events read them.
struct Change<'r> {
    reads_images: ReadsImages<'r>,
    operation: Option<Operation>,
}

impl<'de> DeserializeSeed<'de> for Change<'_> {
    type Value = WireChange<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Change<'_> {
    type Value = WireChange<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a stream record's change")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut time = None;
        let mut sequence_number = None;
        let mut keys: Option<Option<Item<'de>>> = None;
        let mut new_image = None;
        let mut old_image = None;
        // Decided at the first image: the operation and the keys come before it in AWS's records.
        let mut decode_images = None;
        while let Some(Text(key)) = map.next_key()? {
            match key.as_ref() {
                "ApproximateCreationDateTime" => {
                    once(&time, "ApproximateCreationDateTime")?;
                    time = Some(map.next_value::<Option<f64>>()?);
                }
                "SequenceNumber" => {
                    once(&sequence_number, "SequenceNumber")?;
                    sequence_number = Some(map.next_value::<Option<Text>>()?.map(|t| t.0));
                }
                "Keys" => {
                    once(&keys, "Keys")?;
                    keys = Some(map.next_value()?);
                }
                "NewImage" | "OldImage" => {
                    let (image, name) = if key == "NewImage" {
                        (&mut new_image, "NewImage")
                    } else {
                        (&mut old_image, "OldImage")
                    };
                    once(image, name)?;
                    let decode = *decode_images.get_or_insert_with(|| {
                        match (self.operation, keys.as_ref().and_then(Option::as_ref)) {
                            (Some(operation), Some(keys)) => (self.reads_images)(operation, keys),
                            _ => false,
                        }
                    });
                    *image = Some(if decode {
                        map.next_value::<Option<Item>>()?.map(WireImage::Decoded)
                    } else {
                        map.next_value::<Option<&RawValue>>()?.map(WireImage::Raw)
                    });
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(WireChange {
            approximate_creation_date_time: time.flatten(),
            sequence_number: sequence_number.flatten(),
            keys: keys.flatten(),
            new_image: new_image.flatten(),
            old_image: old_image.flatten(),
        })
    }
}

/// A field read a second time is an error, as in a derived `Deserialize`.
fn once<T, E: serde::de::Error>(field: &Option<T>, name: &'static str) -> Result<(), E> {
    match field {
        Some(_) => Err(E::duplicate_field(name)),
        None => Ok(()),
    }
}
