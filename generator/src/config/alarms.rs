//! `alarms`: the alarms and dashboard the stacks create.

use schemars::JsonSchema;
use serde::Deserialize;

use super::default_true;

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
