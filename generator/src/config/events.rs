//! A table's `events`: what selects each event's records and how its detail is computed.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::vocabulary::JsonType;

use super::{AttributeType, DriftPolicy, GroupSpec, Image, Operation};
use crate::shorthand::FromShorthand;
use crate::shorthand::shorthand;

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
