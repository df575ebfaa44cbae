//! The `outbox.yaml` model, version 1: plain serde types, strict (`deny_unknown_fields`).
//!
//! The doc comments here are also the descriptions in the generated JSON Schema of
//! `outbox.yaml` (`generated/outbox.schema.json`), so editors show them on hover.

mod alarms;
mod bus;
mod consumers;
mod events;
mod relay;
mod tables;

pub use crate::vocabulary::{
    ALL_DYNAMO_TYPES, DriftPolicy, DynamoType, Format, Image, JsonType, Operation, PayloadFormat,
};
pub use alarms::{Alarms, IteratorAge};
pub use bus::{Bus, BusKind, GroupSpec};
pub use consumers::{
    ApiAuth, ApiDestinationTarget, Consumer, EventBusTarget, FirehoseTarget, Input, KinesisTarget,
    LambdaTarget, LogsTarget, Retry, SnsTarget, SqsTarget, StepFunctionsTarget, Target,
};
pub use events::{Event, Field, FieldSpec, Rest, When};
pub use relay::{PoisonPolicy, RelaySettings, StartingPosition};
pub use tables::{
    AttributeType, AttributeTypeSpec, Entity, GlobalTable, KeyAttribute, KeyType, Keys, Match,
    OutboxTable, StreamView, Table,
};

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

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

fn default_true() -> bool {
    true
}
