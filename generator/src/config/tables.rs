//! `tables`: each table's keys, stream, entities and attributes, and the DynamoDB vocabulary
//! (types, images, operations) the rest of the config uses.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::vocabulary::{ALL_DYNAMO_TYPES, DynamoType, Format, Image, PayloadFormat};

use super::{Event, default_true};
use crate::shorthand::shorthand;
use crate::shorthand::{FromShorthand, Shorthand, option_string_or_struct, string_or_struct};

/// A DynamoDB table with a stream.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Table {
    /// The table's primary key.
    pub keys: Keys,
    /// What the stream carries (`StreamViewType`). Conditions and mappings on `old.` need
    /// `OLD_IMAGE` or `NEW_AND_OLD_IMAGES`, on `new.` `NEW_IMAGE` or `NEW_AND_OLD_IMAGES`.
    #[serde(default)]
    pub stream: StreamView,
    /// Entity types stored in this table (single-table design), by entity name. Each says how
    /// to recognise its items and which attributes they have.
    #[serde(default)]
    pub entities: BTreeMap<String, Entity>,
    /// Makes this an explicit outbox table: the application writes event rows in the same
    /// `TransactWriteItems` as its business change, and the relay publishes them.
    pub outbox: Option<OutboxTable>,
    /// The domain events this table's stream produces, by event name.
    #[serde(default)]
    pub events: BTreeMap<String, Event>,
    /// The stream ARN of a table that already exists: the stack reads its stream and does not
    /// create the table (`point-in-time-recovery` and `deletion-protection` do not apply).
    pub existing_stream: Option<String>,
    /// Continuous backups (default `true`).
    #[serde(default = "default_true")]
    pub point_in_time_recovery: bool,
    /// A global table (replicas in several regions, each with its stream, each stream
    /// carrying every write): which relay publishes each write, so it is published once.
    pub global: Option<GlobalTable>,
    /// Protect the table from deletion (default `true`).
    #[serde(default = "default_true")]
    pub deletion_protection: bool,
}

/// Which region's relay publishes a write of a global table. With only `publish-in`, that
/// region's relay publishes every write (the others publish nothing); with
/// `origin-attribute`, the relay of the region the item says it was written in publishes it,
/// and `publish-in` the writes whose item does not say.
#[derive(Debug, Clone, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GlobalTable {
    /// The home region (for example `eu-west-1`).
    pub publish_in: String,
    /// A string attribute the application writes with its region (`AWS_REGION`) on every
    /// write; for a removal, the last write's region.
    pub origin_attribute: Option<String>,
}

/// The primary key of a table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Keys {
    /// The partition (hash) key: an attribute name (type `S`), or `{ name, type }`.
    #[serde(deserialize_with = "string_or_struct")]
    #[schemars(with = "Shorthand<KeyAttribute>")]
    pub partition: KeyAttribute,
    /// The sort (range) key, if the table has one.
    #[serde(default, deserialize_with = "option_string_or_struct")]
    #[schemars(with = "Option<Shorthand<KeyAttribute>>")]
    pub sort: Option<KeyAttribute>,
}

/// A key attribute.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KeyAttribute {
    /// The attribute name.
    pub name: String,
    /// The key type: `S`, `N` or `B`.
    #[serde(rename = "type", default)]
    pub key_type: KeyType,
}

impl FromShorthand for KeyAttribute {
    fn from_shorthand(text: &str) -> Result<Self, String> {
        Ok(KeyAttribute {
            name: text.to_owned(),
            key_type: KeyType::S,
        })
    }

    fn shorthand_schema() -> serde_json::Value {
        serde_json::json!({ "type": "string", "description": "The attribute name (type `S`)." })
    }
}

/// DynamoDB key attribute types.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum KeyType {
    /// String.
    #[default]
    S,
    /// Number.
    N,
    /// Binary.
    B,
}

/// The `StreamViewType` of a table's stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamView {
    /// Only the key attributes.
    KeysOnly,
    /// The item as it is after the change.
    NewImage,
    /// The item as it was before the change.
    OldImage,
    /// Both images (the default).
    #[default]
    NewAndOldImages,
}

impl StreamView {
    /// The name AWS uses (`NEW_AND_OLD_IMAGES`).
    pub fn as_str(self) -> &'static str {
        match self {
            StreamView::KeysOnly => "KEYS_ONLY",
            StreamView::NewImage => "NEW_IMAGE",
            StreamView::OldImage => "OLD_IMAGE",
            StreamView::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }

    /// Whether records carry the given image.
    pub fn carries(self, image: Image) -> bool {
        matches!(
            (self, image),
            (StreamView::NewAndOldImages, _)
                | (StreamView::NewImage, Image::New)
                | (StreamView::OldImage, Image::Old)
        )
    }
}

/// An entity type in a single-table design.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Entity {
    /// How to recognise this entity's items: attribute name -> `{ prefix }` or `{ equals }`.
    /// All must hold. Empty: every item of the table.
    #[serde(default, rename = "match")]
    pub matches: BTreeMap<String, Match>,
    /// The entity's attributes (besides the keys), with their DynamoDB types.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeType>,
}

/// A test on a string attribute: exactly one of `prefix` or `equals`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Match {
    /// The value starts with this text.
    pub prefix: Option<String>,
    /// The value is exactly this text.
    pub equals: Option<String>,
}

/// The type of an attribute: a DynamoDB type name (`S`, `N`, `M`, ...) or a full declaration.
#[derive(Debug, Clone)]
pub struct AttributeType(pub AttributeTypeSpec);

/// A full attribute type declaration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AttributeTypeSpec {
    /// The DynamoDB type.
    #[serde(rename = "type")]
    pub dynamo_type: DynamoType,
    /// The attribute is always present (otherwise the event schema makes it optional).
    #[serde(default)]
    pub required: bool,
    /// For `M`: the map's attributes.
    pub attributes: Option<BTreeMap<String, AttributeType>>,
    /// For `L`: the type of every element.
    pub items: Option<Box<AttributeType>>,
    /// For `S`: the only values allowed.
    #[serde(rename = "enum")]
    pub allowed: Option<Vec<String>>,
    /// For `S`: a JSON Schema format the value follows.
    pub format: Option<Format>,
    /// Shown in the event schema.
    pub description: Option<String>,
}

impl FromShorthand for AttributeTypeSpec {
    fn from_shorthand(text: &str) -> Result<Self, String> {
        let dynamo_type = DynamoType::parse(text).ok_or_else(|| {
            let names: Vec<&str> = ALL_DYNAMO_TYPES.iter().map(|t| t.as_str()).collect();
            format!(
                "unknown DynamoDB type `{text}`, expected one of {}",
                names.join(", ")
            )
        })?;
        Ok(AttributeTypeSpec {
            dynamo_type,
            required: false,
            attributes: None,
            items: None,
            allowed: None,
            format: None,
            description: None,
        })
    }

    fn shorthand_schema() -> serde_json::Value {
        let names: Vec<&str> = ALL_DYNAMO_TYPES.iter().map(|t| t.as_str()).collect();
        serde_json::json!({ "type": "string", "enum": names })
    }
}

shorthand!(AttributeType, AttributeTypeSpec);

/// Makes a table an explicit outbox (Debezium outbox style).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OutboxTable {
    /// The attribute naming the event type of a row; rows are routed by it to the event
    /// whose `outbox-type` (default: the event name) it equals.
    pub type_attribute: String,
    /// The attribute holding the event's detail.
    pub payload_attribute: String,
    /// How the payload is stored: a DynamoDB map (`map`, the default) or a JSON string
    /// (`json-string`).
    #[serde(default)]
    pub payload_format: PayloadFormat,
    /// The table's TTL attribute, if rows expire once published. The REMOVE records TTL
    /// expiry produces are skipped.
    pub ttl_attribute: Option<String>,
}
