//! The words outbox.yaml, the plan and the renderers share: DynamoDB attribute types, the JSON
//! types and string formats of event fields, a stream record's images and operations, how an
//! outbox row stores its payload, and what a drifted event does. The config reads them from
//! YAML (`crate::config` re-exports them); the plan and the renderers use them as values.

use schemars::JsonSchema;
use serde::Deserialize;

/// One of the two images of a stream record.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Image {
    /// `NewImage`: the item after the change.
    New,
    /// `OldImage`: the item before the change.
    Old,
}

impl Image {
    /// The prefix used in paths (`new`, `old`).
    pub fn as_str(self) -> &'static str {
        match self {
            Image::New => "new",
            Image::Old => "old",
        }
    }
}

/// DynamoDB attribute types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
pub enum DynamoType {
    /// String.
    S,
    /// Number (exact, up to 38 significant digits).
    N,
    /// Binary (base64 in events).
    B,
    /// Boolean.
    #[serde(rename = "BOOL")]
    Bool,
    /// Null.
    #[serde(rename = "NULL")]
    Null,
    /// String set (an array in events).
    #[serde(rename = "SS")]
    StringSet,
    /// Number set (an array in events).
    #[serde(rename = "NS")]
    NumberSet,
    /// Binary set (an array of base64 strings in events).
    #[serde(rename = "BS")]
    BinarySet,
    /// List.
    L,
    /// Map.
    M,
}

impl DynamoType {
    /// The DynamoDB type descriptor (`S`, `BOOL`, `SS`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DynamoType::S => "S",
            DynamoType::N => "N",
            DynamoType::B => "B",
            DynamoType::Bool => "BOOL",
            DynamoType::Null => "NULL",
            DynamoType::StringSet => "SS",
            DynamoType::NumberSet => "NS",
            DynamoType::BinarySet => "BS",
            DynamoType::L => "L",
            DynamoType::M => "M",
        }
    }

    /// Parses a type descriptor as written in `outbox.yaml`.
    pub fn parse(text: &str) -> Option<DynamoType> {
        ALL_DYNAMO_TYPES.into_iter().find(|t| t.as_str() == text)
    }
}

/// Every DynamoDB type, in documentation order.
pub const ALL_DYNAMO_TYPES: [DynamoType; 10] = [
    DynamoType::S,
    DynamoType::N,
    DynamoType::B,
    DynamoType::Bool,
    DynamoType::Null,
    DynamoType::StringSet,
    DynamoType::NumberSet,
    DynamoType::BinarySet,
    DynamoType::L,
    DynamoType::M,
];

/// String formats carried into the event schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// RFC 3339 date and time.
    DateTime,
    /// RFC 3339 full date.
    Date,
    /// An email address with an ASCII local part (RFC 5321): `ada@example.org`.
    Email,
    /// An internationalized email address (RFC 6531): `radia.müller@example.org` too.
    IdnEmail,
    /// An ASCII host name (RFC 1123).
    Hostname,
    /// An internationalized host name (RFC 5890): `bücher.example` too.
    IdnHostname,
    /// A UUID.
    Uuid,
    /// A URI.
    Uri,
}

impl Format {
    /// The JSON Schema `format` keyword's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::DateTime => "date-time",
            Format::Date => "date",
            Format::Email => "email",
            Format::IdnEmail => "idn-email",
            Format::Hostname => "hostname",
            Format::IdnHostname => "idn-hostname",
            Format::Uuid => "uuid",
            Format::Uri => "uri",
        }
    }
}

/// How an outbox row stores its payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadFormat {
    /// A DynamoDB map attribute.
    #[default]
    Map,
    /// A string attribute holding a JSON object.
    JsonString,
}

/// Stream operations (`eventName` of a stream record).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema, serde::Serialize,
)]
pub enum Operation {
    /// An item was created.
    #[serde(rename = "INSERT")]
    Insert,
    /// An item was updated.
    #[serde(rename = "MODIFY")]
    Modify,
    /// An item was deleted by a request (not by DynamoDB's TTL).
    #[serde(rename = "REMOVE")]
    Remove,
    /// DynamoDB's TTL process deleted an expired item (a REMOVE record whose `userIdentity` is
    /// the DynamoDB service).
    #[serde(rename = "EXPIRE")]
    Expire,
}

impl Operation {
    /// Its name in outbox.yaml.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "INSERT",
            Operation::Modify => "MODIFY",
            Operation::Remove => "REMOVE",
            Operation::Expire => "EXPIRE",
        }
    }

    /// The stream's `eventName` of its records (a TTL deletion is a REMOVE record).
    pub fn event_name(self) -> &'static str {
        match self {
            Operation::Expire => "REMOVE",
            other => other.as_str(),
        }
    }

    /// Whether records of this operation carry the given image.
    pub fn has_image(self, image: Image) -> bool {
        !matches!(
            (self, image),
            (Operation::Insert, Image::Old) | (Operation::Remove | Operation::Expire, Image::New)
        )
    }
}

/// JSON types a field can be converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    /// A JSON string (numbers keep every digit).
    String,
    /// A JSON number.
    Number,
    /// A JSON number without a fraction.
    Integer,
    /// `true` or `false`.
    Boolean,
}

impl JsonType {
    /// The JSON Schema type name.
    pub fn as_str(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Integer => "integer",
            JsonType::Boolean => "boolean",
        }
    }
}

/// What an event whose detail breaks its schema does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DriftPolicy {
    /// To the dead-letter queue with its keys and the reason; the stream goes on.
    #[default]
    DeadLetter,
    /// Published anyway, counted as drifted and logged.
    Publish,
    /// The record is poison (`poison-policy` decides).
    Stop,
}
