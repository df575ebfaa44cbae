//! `bus`: the event bus the events go to.

use schemars::JsonSchema;
use serde::Deserialize;

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
