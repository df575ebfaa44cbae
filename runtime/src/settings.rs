//! What a relay knows before it handles anything: the generator's defaults for its deployment
//! and the settings the generated stacks put in its environment.

use std::sync::Arc;
use std::time::Duration;

use crate::handler::{Options, PoisonPolicy};
use crate::publish::Limiter;
use crate::publish::limiter::DEFAULT_MAX_IN_FLIGHT;

/// What the generator knows about the relay's deployment.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// The service name (metrics dimension).
    pub service: &'static str,
    /// The bus, when `EVENT_BUS_NAME` (or `EVENT_BUS_ARN`) is not set.
    pub bus: &'static str,
    /// The bus is the new Custom Event Bus (`bus.kind: custom`): entries carry
    /// `SystemMetadata`, and the bus is addressed by the ARN in `EVENT_BUS_ARN`.
    pub custom_bus: bool,
    /// The `source` of poison-record events (`outbox_stack::poison_source`, which the stacks'
    /// IAM policies allow).
    pub poison_source: &'static str,
    /// The stack `relay dev` stands up and `relay poll` reads (`outbox_stack::LocalStack` as
    /// JSON).
    pub local_stack: &'static str,
}

/// The attempt timeout of PutEvents calls (`OUTBOX_ATTEMPT_TIMEOUT_MS`, default 5 s).
pub fn attempt_timeout() -> Duration {
    env_number("OUTBOX_ATTEMPT_TIMEOUT_MS").map_or(Duration::from_secs(5), Duration::from_millis)
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Settings from the environment the generated stacks set; defaults from outbox.yaml.
pub fn options_from_env(defaults: Defaults) -> Options {
    let mut options =
        Options::new(std::env::var("EVENT_BUS_NAME").unwrap_or_else(|_| defaults.bus.to_owned()));
    let arn = std::env::var("EVENT_BUS_ARN").ok();
    let custom_arn = arn
        .as_deref()
        .is_some_and(crate::publish::client::is_custom_bus_arn);
    if defaults.custom_bus || custom_arn {
        // Addressed by its ARN only (the stack passes it; its last part is generated): without
        // one, every request fails saying so, and a dry run still shows the entries.
        options.bus = arn.unwrap_or_else(|| defaults.bus.to_owned());
        options.custom_bus();
    }
    options.dead_letter_source = defaults.poison_source.to_owned();
    if std::env::var("OUTBOX_POISON_POLICY").as_deref() == Ok("dead-letter") {
        options.poison = PoisonPolicy::DeadLetter;
    }
    if std::env::var("OUTBOX_VALIDATE").as_deref() == Ok("off") {
        options.validate = false;
    }
    let max_in_flight = env_number("OUTBOX_MAX_IN_FLIGHT")
        .filter(|n| *n > 0)
        .map_or(DEFAULT_MAX_IN_FLIGHT, |n| n as usize);
    let rate = env_number("OUTBOX_MAX_ENTRIES_PER_SECOND").map(|n| n as f64);
    options.window = Arc::new(Limiter::new(max_in_flight, rate, attempt_timeout()));
    if let Some(n) = env_number("OUTBOX_MAX_ATTEMPTS").filter(|n| *n > 0) {
        options.retry.max_attempts = n as u32;
    }
    options
}
