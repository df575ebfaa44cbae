//! The `outbox.yaml` model, version 1: plain serde types, strict (`deny_unknown_fields`).
//!
//! The doc comments here are also the descriptions in the generated JSON Schema of
//! `outbox.yaml` (`generated/outbox.schema.json`), so editors show them on hover.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::shorthand::shorthand;
use crate::shorthand::{FromShorthand, Shorthand, option_string_or_struct, string_or_struct};

/// An `outbox.yaml` file: tables whose changes become domain events on an EventBridge bus,
/// and the consumers those events are routed to.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "outbox.yaml")]
pub struct Config {
    /// Version of this file's format. Only `1` exists.
    #[schemars(extend("const" = 1))]
    pub version: u32,
    /// The service name: prefixes the stack, rule and queue names. Letters, digits and `-`,
    /// starting with a letter.
    pub service: String,
    /// The EventBridge bus the events are put on.
    pub bus: Bus,
    /// The DynamoDB tables whose streams feed the relay, by table name.
    pub tables: BTreeMap<String, Table>,
    /// Who receives the events, by consumer name.
    #[serde(default)]
    pub consumers: BTreeMap<String, Consumer>,
    /// How the relay runs and reads the streams (all optional).
    #[serde(default)]
    pub relay: RelaySettings,
    /// CloudWatch alarms on everything that can lose or delay events, and one dashboard of the
    /// flow (on by default).
    #[serde(default)]
    pub alarms: Alarms,
}

/// The alarms and the dashboard the stacks create. Every alarm notifies one SNS topic; the
/// README's runbook says what to do when each fires.
#[derive(Debug, Clone, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Alarms {
    /// `false`: no alarms, no topic, no dashboard.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Name of the SNS topic the stack creates for the alarms (default `<service>-alarms`).
    pub topic: Option<String>,
    /// ARN of an existing SNS topic to notify instead (then the stack creates none).
    pub existing_topic: Option<String>,
    /// Seconds behind the stream's newest record (the relay's `IteratorAge`) before the
    /// `warn` alarm (default 300) and the `page` alarm (default 3600; streams keep records
    /// 24 hours).
    #[serde(default)]
    pub iterator_age: IteratorAge,
    /// PutEvents entries throttled (and retried) in 5 minutes before the alarm fires
    /// (default 100).
    #[serde(default = "default_put_events_throttles")]
    pub put_events_throttles: u32,
}

impl Default for Alarms {
    fn default() -> Self {
        Alarms {
            enabled: true,
            topic: None,
            existing_topic: None,
            iterator_age: IteratorAge::default(),
            put_events_throttles: default_put_events_throttles(),
        }
    }
}

/// The stepped iterator-age alarms, in seconds.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IteratorAge {
    /// Early warning: the relay is falling behind (default 300, or a quarter of `page` if
    /// that is less).
    pub warn: Option<u32>,
    /// Page someone: records this old are at risk (default 3600, or half the time records
    /// are kept, `relay.maximum-record-age` and the stream's 24 hours, if that is less).
    pub page: Option<u32>,
}

impl IteratorAge {
    /// Seconds after which a record is lost: Lambda gives up on it at `maximum_record_age`,
    /// the stream drops it at 24 hours.
    pub fn lost_at(maximum_record_age: u32) -> u32 {
        maximum_record_age.min(86_400)
    }

    /// The `(warn, page)` thresholds, defaults filled in.
    pub fn resolve(self, maximum_record_age: u32) -> (u32, u32) {
        let page = self
            .page
            .unwrap_or_else(|| (Self::lost_at(maximum_record_age) / 2).min(3_600));
        let warn = self.warn.unwrap_or_else(|| (page / 4).min(300));
        (warn, page)
    }
}

fn default_put_events_throttles() -> u32 {
    100
}

/// Settings of the relay function and its event source mappings.
#[derive(Debug, Clone, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RelaySettings {
    /// The Cargo package name of the generated relay crate (default `relay`). Give each relay
    /// its own when several are members of one Cargo workspace; its binary stays `relay`.
    #[serde(default = "default_package")]
    pub package: String,
    /// Records per invocation (1-10000, default 100).
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    /// Seconds to gather a batch (0-300, default 1).
    #[serde(default = "default_batching_window")]
    pub batching_window: u32,
    /// Concurrent batches per shard (1-10, default 1). Above 1, records of one item still go
    /// to the same batch in order.
    #[serde(default = "default_one")]
    pub parallelization_factor: u32,
    /// Where a new mapping starts reading (default `TRIM_HORIZON`: nothing is skipped).
    #[serde(default)]
    pub starting_position: StartingPosition,
    /// Retries of a failed batch before it goes to the failure queue (0-10000, default 10).
    #[serde(default = "default_retry_attempts")]
    pub maximum_retry_attempts: u32,
    /// Oldest record (seconds) still retried (60-604800, default 86400).
    #[serde(default = "default_record_age")]
    pub maximum_record_age: u32,
    /// Function memory in MB (128-10240, default 256).
    #[serde(default = "default_memory")]
    pub memory: u32,
    /// Function timeout in seconds (1-900, default 60).
    #[serde(default = "default_timeout")]
    pub timeout: u32,
    /// Reserved concurrency of the function (unset: none).
    pub reserved_concurrency: Option<u32>,
    /// Days the relay's logs are kept (a CloudWatch Logs retention value, default 30).
    #[serde(default = "default_log_retention")]
    pub log_retention: u32,
    /// What happens to a record that cannot be decoded, mapped or validated: `fail` (the
    /// default: bisect, retries, then the failure queue) or `dead-letter` (an
    /// `Outbox Poison Record` event on the bus, and the stream goes on).
    #[serde(default)]
    pub poison_policy: PoisonPolicy,
    /// What an event whose detail breaks its schema does (the item drifted from the declared
    /// entity): `dead-letter` (the default: an `Outbox Poison Record` with the keys and the
    /// reason goes to the `<service>-dead-letters` queue and the stream goes on), `publish`
    /// (published anyway, counted as drifted) or `stop` (the record is poison, see
    /// `poison-policy`). Events may override it.
    #[serde(default)]
    pub drift_policy: DriftPolicy,
}

impl Default for RelaySettings {
    fn default() -> Self {
        RelaySettings {
            package: default_package(),
            batch_size: default_batch_size(),
            batching_window: default_batching_window(),
            parallelization_factor: default_one(),
            starting_position: StartingPosition::default(),
            maximum_retry_attempts: default_retry_attempts(),
            maximum_record_age: default_record_age(),
            memory: default_memory(),
            timeout: default_timeout(),
            reserved_concurrency: None,
            log_retention: default_log_retention(),
            poison_policy: PoisonPolicy::default(),
            drift_policy: DriftPolicy::default(),
        }
    }
}

fn default_package() -> String {
    "relay".to_owned()
}

fn default_batch_size() -> u32 {
    100
}

fn default_batching_window() -> u32 {
    1
}

fn default_one() -> u32 {
    1
}

fn default_retry_attempts() -> u32 {
    10
}

fn default_record_age() -> u32 {
    86_400
}

fn default_memory() -> u32 {
    256
}

fn default_timeout() -> u32 {
    60
}

fn default_log_retention() -> u32 {
    30
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

/// `StartingPosition` of the event source mappings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StartingPosition {
    /// The oldest record still in the stream.
    #[default]
    TrimHorizon,
    /// Only records written after the mapping is created.
    Latest,
}

impl StartingPosition {
    /// The name AWS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            StartingPosition::TrimHorizon => "TRIM_HORIZON",
            StartingPosition::Latest => "LATEST",
        }
    }
}

/// Poison-record handling of the relay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PoisonPolicy {
    /// Report the record as failed.
    #[default]
    Fail,
    /// Publish it as an `Outbox Poison Record` event and go on.
    DeadLetter,
}

/// The event bus: either one the stack creates (`name`) or an existing one (`existing`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Bus {
    /// Name of a bus the generated stack creates.
    pub name: Option<String>,
    /// Name or ARN of a bus that already exists (for example `default`, or a shared bus in
    /// another account). A Custom Event Bus is given by its ARN
    /// (`arn:aws:events:REGION:ACCOUNT:event-busv2/NAME/ID`).
    pub existing: Option<String>,
    /// `classic` (the default: rules deliver each event at least once, in no order) or
    /// `custom`: EventBridge's new Custom Event Bus, whose FIFO subscribers deliver each
    /// aggregate's events in order, and which drops an event published again within 300 s.
    #[serde(default)]
    pub kind: BusKind,
    /// Days a Custom Event Bus the stack creates keeps events, for consumers that start at a
    /// point in time (1-365, default 1).
    pub retention_days: Option<u32>,
    /// On a Classic bus, days an archive of the service's events keeps them, so `relay replay`
    /// can send a time range to one consumer again (default 30; 0: no archive).
    pub archive_days: Option<u32>,
}

/// Which kind of EventBridge bus.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BusKind {
    /// A Custom Event Bus - Classic (or the default bus): rules and targets.
    #[default]
    Classic,
    /// The new Custom Event Bus (`eventbridgev2`): subscribers, ordering per event group,
    /// deduplication at publish time.
    Custom,
}

/// What groups an event on a Custom Event Bus: a path (`new.customerId`) or `{ const: NAME }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum GroupSpec {
    /// The value at a path of an image, like a detail field's `from`.
    Path(String),
    /// One group for every event of this kind.
    Const {
        /// The group.
        #[serde(rename = "const")]
        value: String,
    },
}

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

/// A domain event produced from a table's stream.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Event {
    /// The entity whose items produce this event (tables with entities).
    pub entity: Option<String>,
    /// The stream operations the event reacts to. Outbox tables: `[INSERT]`.
    #[serde(default)]
    pub on: Vec<Operation>,
    /// Conditions on the images; all must hold.
    pub when: Option<When>,
    /// The EventBridge `Source` (for example `myapp.users`). Must not start with `aws.`.
    pub source: String,
    /// The EventBridge `DetailType`. Default: the event name.
    pub detail_type: Option<String>,
    /// The version of the event's schema, carried in every event.
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    /// Shown in the schemas and the generated documentation.
    pub description: Option<String>,
    /// Fields of the event's `detail`, by field name.
    #[serde(default)]
    pub detail: BTreeMap<String, Field>,
    /// Adds every attribute of an image that no `detail` field took, except those listed.
    pub rest: Option<Rest>,
    /// Attributes that must never leave the table: never copied by `rest` or whole-image
    /// fields, and an error to pick.
    #[serde(default)]
    pub redact: Vec<String>,
    /// What this event does when its detail breaks its schema (default: the relay's
    /// `drift-policy`).
    pub drift_policy: Option<DriftPolicy>,
    /// On a Custom Event Bus, the aggregate the event belongs to (its `EventGroupId`): events
    /// of one group reach ordered consumers in order. Default: the item's partition key value.
    pub group: Option<GroupSpec>,
    /// The event has a snapshot form: `relay backfill` turns every item of its entity that the
    /// table holds into this event, as if the item had just been inserted (so the event must
    /// react to `INSERT` and read only the new image).
    #[serde(default)]
    pub snapshot: bool,
    /// Outbox tables: the value of the type attribute that selects this event.
    /// Default: the event name.
    pub outbox_type: Option<String>,
    /// Outbox tables: the payload's fields and types (the event's detail).
    #[serde(default)]
    pub payload: BTreeMap<String, AttributeType>,
}

fn default_schema_version() -> u32 {
    1
}

/// Conditions on a record's images. All listed conditions must hold.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct When {
    /// At least one of these attributes differs between `OldImage` and `NewImage`.
    #[serde(default)]
    pub changed: Vec<String>,
    /// Path (`new.status`) -> the value it must have (string, number or boolean).
    #[serde(default)]
    pub equals: BTreeMap<String, serde_json::Value>,
    /// Path -> text the string value must start with.
    #[serde(default)]
    pub prefix: BTreeMap<String, String>,
    /// Paths that must be present.
    #[serde(default)]
    pub exists: Vec<String>,
    /// Paths that must be absent.
    #[serde(default)]
    pub absent: Vec<String>,
}

/// A field of an event's detail: a path (`new.email`) or a full declaration.
#[derive(Debug, Clone)]
pub struct Field(pub FieldSpec);

shorthand!(Field, FieldSpec);

/// How one detail field is computed.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FieldSpec {
    /// Where the value comes from: `new.<attribute>` or `old.<attribute>`, with dots for
    /// nested map keys (`new.address.city`); `new` or `old` alone is the whole item.
    pub from: Option<String>,
    /// A constant value instead of `from`.
    #[serde(rename = "const")]
    pub constant: Option<serde_json::Value>,
    /// Convert the value to this JSON type.
    #[serde(rename = "type")]
    pub json_type: Option<JsonType>,
    /// Remove this prefix from a string value (`USER#` for `USER#42` -> `42`).
    pub strip_prefix: Option<String>,
    /// With a whole item or map: attributes to leave out.
    #[serde(default)]
    pub except: Vec<String>,
    /// Overrides whether the field is required in the event schema.
    pub required: Option<bool>,
}

impl FromShorthand for FieldSpec {
    fn from_shorthand(text: &str) -> Result<Self, String> {
        Ok(FieldSpec {
            from: Some(text.to_owned()),
            ..FieldSpec::default()
        })
    }

    fn shorthand_schema() -> serde_json::Value {
        serde_json::json!({ "type": "string", "description": "A path: `new.<attribute>` or `old.<attribute>`." })
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

/// Every attribute of an image that no detail field took, except the listed ones.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rest {
    /// The image to copy from.
    pub from: Image,
    /// Attributes to leave out (typically the keys).
    #[serde(default)]
    pub except: Vec<String>,
}

/// A consumer of events: an EventBridge rule and its target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Consumer {
    /// The events it receives, by event name.
    pub events: Vec<String>,
    /// An EventBridge content pattern on the events' `detail`, for example
    /// `{ status: [SHIPPED] }`.
    pub pattern: Option<serde_json::Value>,
    /// Where matching events go.
    pub target: Target,
    /// What the target receives: the whole event (default), `detail`, `{ path: ... }` or
    /// `{ template: { field: path, ... } }`.
    pub input: Option<Input>,
    /// How EventBridge retries delivery.
    #[serde(default)]
    pub retry: Retry,
    /// Give the target a dead-letter queue for events EventBridge cannot deliver (default
    /// `true`).
    #[serde(default = "default_true")]
    pub dead_letter_queue: bool,
    /// On a Custom Event Bus, where a new subscriber starts: `horizon` (the oldest event the
    /// bus keeps) or a time (RFC 3339); default: events published from now on. Replacing a
    /// subscriber is how a consumer re-processes a time range.
    pub start_at: Option<String>,
    /// Needs each aggregate's events in order (a Custom Event Bus only): a FIFO subscriber to
    /// an SQS FIFO queue (grouped by the event's group) or a Lambda function invoked
    /// synchronously.
    #[serde(default)]
    pub ordered: bool,
    /// Shown in the generated documentation.
    pub description: Option<String>,
}

fn default_true() -> bool {
    true
}

/// The target of a consumer's rule. Where a target takes a name or an ARN, a name means the
/// stack creates it (SNS topic, Kinesis stream, log group) or finds it in the stack's account
/// and region (function, state machine, delivery stream); an ARN means it exists.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub enum Target {
    /// An existing Lambda function.
    Lambda(LambdaTarget),
    /// An SQS queue the stack creates.
    Sqs(SqsTarget),
    /// An SNS topic: created by name, or existing by ARN.
    Sns(SnsTarget),
    /// An existing Step Functions state machine (a Standard one: EventBridge starts an
    /// execution per event).
    StepFunctions(StepFunctionsTarget),
    /// A Kinesis data stream: created by name (on-demand, encrypted), or existing by ARN.
    Kinesis(KinesisTarget),
    /// An Amazon Data Firehose delivery stream: created by name (writing to an existing S3
    /// bucket), or existing by name or ARN.
    Firehose(FirehoseTarget),
    /// An HTTP endpoint (an API destination and its connection, created), or an existing API
    /// destination by ARN.
    ApiDestination(ApiDestinationTarget),
    /// A CloudWatch Logs log group (a debug tap): created by name (`/aws/events/...`), or
    /// existing by ARN.
    Logs(LogsTarget),
    /// An event bus, typically in another account, by ARN (that account's bus policy must let
    /// this stack's delivery role put events: see the generated README).
    EventBus(EventBusTarget),
}

/// An SNS topic target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SnsTarget {
    /// The topic's name (created) or ARN (existing).
    pub topic: String,
}

/// A Step Functions target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StepFunctionsTarget {
    /// The state machine's name (in the stack's account and region) or ARN.
    pub state_machine: String,
}

/// A Kinesis data stream target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KinesisTarget {
    /// The stream's name (created) or ARN (existing).
    pub stream: String,
    /// The record's partition key: a path into the event, for example `$.detail.orderId`
    /// (one shard keeps an aggregate's events together).
    pub partition_key: String,
}

/// A Firehose target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FirehoseTarget {
    /// The delivery stream's name or ARN. With `bucket`, the stack creates a stream of that
    /// name; without, it exists (in the stack's account and region, by name).
    pub delivery_stream: String,
    /// The S3 bucket (ARN, `arn:aws:s3:::NAME`) a created stream writes to, gzipped.
    pub bucket: Option<String>,
    /// The key prefix of the objects it writes (default `events/`).
    pub prefix: Option<String>,
}

/// An API destination target: an HTTP endpoint the stack creates a connection and a
/// destination for, or an existing destination.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ApiDestinationTarget {
    /// An existing API destination's ARN (then nothing else is given).
    pub arn: Option<String>,
    /// The HTTPS endpoint the events are sent to.
    pub endpoint: Option<String>,
    /// The HTTP method (default POST).
    #[serde(default = "default_method")]
    pub method: String,
    /// Invocations per second at most (1-300, default 300).
    #[serde(default = "default_rate_limit")]
    pub rate_limit: u32,
    /// How the connection authenticates; the secret is read from Secrets Manager at deploy
    /// time, never written into the template.
    pub auth: Option<ApiAuth>,
}

fn default_method() -> String {
    "POST".into()
}

fn default_rate_limit() -> u32 {
    300
}

/// How an API destination's connection authenticates.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub enum ApiAuth {
    /// An API key in a header; the secret's whole value is the key.
    ApiKey {
        /// The header, for example `x-api-key`.
        header: String,
        /// The secret's ARN.
        secret: String,
    },
    /// HTTP basic authentication; the secret is JSON with `username` and `password`.
    Basic {
        /// The secret's ARN.
        secret: String,
    },
}

/// A CloudWatch Logs target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LogsTarget {
    /// The log group's name (created; it must start with `/aws/events/`) or ARN (existing).
    pub log_group: String,
    /// Days a created log group keeps events (default 7: a debug tap, not an archive).
    #[serde(default = "default_tap_retention")]
    pub retention_days: u32,
}

fn default_tap_retention() -> u32 {
    7
}

/// An event bus target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EventBusTarget {
    /// The bus's ARN.
    pub arn: String,
}

/// What a consumer receives instead of the whole event.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub enum Input {
    /// The detail only.
    Detail,
    /// One value of the event, by path, for example `$.detail.order`.
    Path(String),
    /// A JSON object: each field a path into the event (`$.detail.orderId`, `$.time`) or a
    /// constant string.
    Template(BTreeMap<String, String>),
}

/// A Lambda function target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LambdaTarget {
    /// The function's name or ARN.
    pub function: String,
}

/// An SQS queue target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SqsTarget {
    /// The queue name (a `.fifo` suffix makes a FIFO queue).
    pub queue: String,
}

/// EventBridge's retry policy for a target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Retry {
    /// Retries before giving up (0-185, default 185).
    #[serde(default = "default_attempts")]
    pub maximum_attempts: u32,
    /// Seconds an event may wait for delivery (60-86400, default 86400).
    #[serde(default = "default_event_age")]
    pub maximum_event_age: u32,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            maximum_attempts: default_attempts(),
            maximum_event_age: default_event_age(),
        }
    }
}

fn default_attempts() -> u32 {
    185
}

fn default_event_age() -> u32 {
    86_400
}
