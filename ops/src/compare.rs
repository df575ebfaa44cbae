//! `relay compare`: what one consumer received from each bus while a service moves from a
//! Classic bus to a Custom Event Bus (both stacks deployed, both relays reading the same
//! stream, each bus delivering to a queue of the consumer's): the events only one side
//! received, the events whose bodies differ, and the groups whose events arrived in another
//! order.
//!
//! An event is known by its outbox id (`resources[0]`, the same on both buses; each bus gives
//! it an `id` of its own, and its own `account` and `region`, which the comparison leaves
//! out). A body without it (a consumer's
//! `input` that drops it) is known by its whole text. A group is the FIFO queue's message
//! group, or the value at `--group PATH` in the event.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::{LocalError, aws_error};

/// The envelope's fields each bus sets on its own (its event id, its account and region), left
/// out of the comparison; the rest is what the relay published.
const BUS_FIELDS: [&str; 3] = ["id", "account", "region"];

/// One message a queue delivered.
#[derive(Debug, Clone)]
pub struct Received {
    /// The event's outbox id, or the body's text when it has none.
    pub id: String,
    /// Its group, when the queue or `--group` says.
    pub group: Option<String>,
    /// The body, without what each bus sets on its own (`id`, `account`, `region`).
    pub body: Value,
}

impl Received {
    /// A message's body (JSON, or a string) and its FIFO message group; `group_path` (a path
    /// like `$.detail.orderId`) names the group when the queue has none.
    pub fn new(body: &str, message_group: Option<&str>, group_path: Option<&str>) -> Received {
        let mut body: Value =
            serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()));
        // The event itself: the body, or a `WITH_METADATA` delivery's `Data`.
        let event = if body.get("Data").is_some() && body.get("SystemMetadata").is_some() {
            &mut body["Data"]
        } else {
            &mut body
        };
        if let Some(fields) = event.as_object_mut()
            && fields.contains_key("detail-type")
        {
            for set_by_the_bus in BUS_FIELDS {
                fields.remove(set_by_the_bus);
            }
        }
        let id = event["resources"][0].as_str().map(str::to_owned);
        let id = id.unwrap_or_else(|| body.to_string());
        let by_path = group_path.and_then(|path| {
            let value = outbox_stack::input::lookup(&body, path)?;
            Some(
                value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned),
            )
        });
        Received {
            id,
            group: message_group.map(str::to_owned).or(by_path),
            body,
        }
    }
}

/// What differs between the two sides.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// Messages each side delivered.
    pub classic: usize,
    /// Messages the Custom Event Bus side delivered.
    pub custom: usize,
    /// Events only the Classic side delivered, by id.
    pub only_classic: Vec<String>,
    /// Events only the Custom Event Bus side delivered, by id.
    pub only_custom: Vec<String>,
    /// Events whose bodies differ.
    pub differing: Vec<Difference>,
    /// Groups whose common events arrived in another order.
    pub reordered: Vec<Reordering>,
    /// Events delivered more than once, per side (the count of repeats).
    pub repeated: Repeats,
}

/// One event whose bodies differ.
#[derive(Debug, Serialize)]
pub struct Difference {
    /// The event's id.
    pub id: String,
    /// What the Classic side delivered.
    pub classic: Value,
    /// What the Custom Event Bus side delivered.
    pub custom: Value,
}

/// One group whose common events arrived in another order.
#[derive(Debug, Serialize)]
pub struct Reordering {
    /// The group.
    pub group: String,
    /// Its events' ids as the Classic side delivered them.
    pub classic: Vec<String>,
    /// As the Custom Event Bus side delivered them.
    pub custom: Vec<String>,
}

/// Repeated deliveries, per side.
#[derive(Debug, Default, Serialize)]
pub struct Repeats {
    /// On the Classic side.
    pub classic: usize,
    /// On the Custom Event Bus side.
    pub custom: usize,
}

impl Comparison {
    /// Whether the two sides received the same events, the same bodies, in the same order.
    pub fn same(&self) -> bool {
        self.only_classic.is_empty()
            && self.only_custom.is_empty()
            && self.differing.is_empty()
            && self.reordered.is_empty()
    }
}

/// Each event by id (its first delivery), and how many deliveries repeated one.
fn by_id(side: &[Received]) -> (BTreeMap<&str, &Received>, usize) {
    let mut by_id: BTreeMap<&str, &Received> = BTreeMap::new();
    let mut repeats = 0;
    for received in side {
        if by_id.contains_key(received.id.as_str()) {
            repeats += 1;
        } else {
            by_id.insert(&received.id, received);
        }
    }
    (by_id, repeats)
}

/// Compares what the two sides received (each in the order its queue delivered).
pub fn compare(classic: &[Received], custom: &[Received]) -> Comparison {
    let (classic_ids, classic_repeats) = by_id(classic);
    let (custom_ids, custom_repeats) = by_id(custom);
    let only = |a: &BTreeMap<&str, &Received>, b: &BTreeMap<&str, &Received>| -> Vec<String> {
        a.keys()
            .filter(|id| !b.contains_key(*id))
            .map(|id| (*id).to_owned())
            .collect()
    };
    let differing = classic_ids
        .iter()
        .filter_map(|(id, c)| {
            let v2 = custom_ids.get(id)?;
            let custom_event = v2.body.get("Data").filter(|_| c.body.get("Data").is_none());
            let custom_body = custom_event.unwrap_or(&v2.body);
            (c.body != *custom_body).then(|| Difference {
                id: (*id).to_owned(),
                classic: c.body.clone(),
                custom: v2.body.clone(),
            })
        })
        .collect();
    // Each common event's group (either side's), then each group's order on both sides.
    let group_of: BTreeMap<&str, &str> = custom
        .iter()
        .chain(classic)
        .filter(|r| {
            classic_ids.contains_key(r.id.as_str()) && custom_ids.contains_key(r.id.as_str())
        })
        .filter_map(|r| Some((r.id.as_str(), r.group.as_deref()?)))
        .collect();
    let order = |side: &[Received]| {
        let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for received in side {
            if let Some(group) = group_of.get(received.id.as_str())
                && seen.insert(received.id.as_str())
            {
                groups.entry(group).or_default().push(received.id.clone());
            }
        }
        groups
    };
    let (classic_order, mut custom_order) = (order(classic), order(custom));
    let reordered = classic_order
        .into_iter()
        .filter_map(|(group, classic)| {
            let custom = custom_order.remove(group).unwrap_or_default();
            (classic != custom).then(|| Reordering {
                group: group.to_owned(),
                classic,
                custom,
            })
        })
        .collect();
    Comparison {
        classic: classic.len(),
        custom: custom.len(),
        only_classic: only(&classic_ids, &custom_ids),
        only_custom: only(&custom_ids, &classic_ids),
        differing,
        reordered,
        repeated: Repeats {
            classic: classic_repeats,
            custom: custom_repeats,
        },
    }
}

/// Every message a queue holds, in the order it delivers them, until it has had none for
/// `idle`. Messages are not deleted: each stays hidden for `visibility` and then returns to
/// the queue (a FIFO queue's group waits that long).
pub async fn read_queue(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    idle: Duration,
    visibility: Duration,
    group_path: Option<&str>,
) -> Result<Vec<Received>, LocalError> {
    let mut received = Vec::new();
    let mut last = Instant::now();
    while last.elapsed() < idle {
        let output = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(i32::try_from(visibility.as_secs()).unwrap_or(i32::MAX))
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId,
            )
            .send()
            .await
            .map_err(aws_error("ReceiveMessage"))?;
        if output.messages().is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        last = Instant::now();
        for message in output.messages() {
            let group = message
                .attributes()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                })
                .map(String::as_str);
            received.push(Received::new(
                message.body().unwrap_or_default(),
                group,
                group_path,
            ));
        }
    }
    Ok(received)
}

#[cfg(test)]
mod tests {
    use super::{Received, compare};

    fn event(id: &str, bus_id: &str, order: &str, status: &str) -> String {
        format!(
            r#"{{"version":"0","id":"{bus_id}","detail-type":"OrderStatusChanged","source":"shop","resources":["{id}"],"detail":{{"orderId":"{order}","status":"{status}"}}}}"#
        )
    }

    fn side(events: &[(&str, &str, &str)], bus: &str) -> Vec<Received> {
        events
            .iter()
            .map(|(id, order, status)| {
                Received::new(
                    &event(id, &format!("{bus}-{id}"), order, status),
                    None,
                    Some("$.detail.orderId"),
                )
            })
            .collect()
    }

    #[test]
    fn the_same_events_from_two_buses_compare_equal_whatever_ids_the_buses_gave() {
        let events = [
            ("e1", "1", "PAID"),
            ("e2", "1", "SHIPPED"),
            ("e3", "2", "PAID"),
        ];
        let comparison = compare(&side(&events, "classic"), &side(&events, "v2"));
        assert!(comparison.same(), "{comparison:?}");
        assert_eq!((comparison.classic, comparison.custom), (3, 3));
    }

    #[test]
    fn missing_extra_differing_reordered_and_repeated_events_are_each_reported() {
        let classic = side(
            &[
                ("e1", "1", "PAID"),
                ("e2", "1", "SHIPPED"),
                ("e3", "2", "PAID"),
                ("e4", "3", "PAID"),
            ],
            "classic",
        );
        let custom = side(
            &[
                ("e2", "1", "SHIPPED"),
                ("e1", "1", "PAID"),
                ("e3", "2", "CANCELLED"),
                ("e5", "4", "PAID"),
                ("e5", "4", "PAID"),
            ],
            "v2",
        );
        let comparison = compare(&classic, &custom);
        assert!(!comparison.same());
        assert_eq!(comparison.only_classic, ["e4"]);
        assert_eq!(comparison.only_custom, ["e5"]);
        assert_eq!(comparison.differing.len(), 1);
        assert_eq!(comparison.differing[0].id, "e3");
        assert_eq!(
            comparison.differing[0].custom["detail"]["status"],
            "CANCELLED"
        );
        assert_eq!(comparison.reordered.len(), 1);
        assert_eq!(comparison.reordered[0].group, "1");
        assert_eq!(comparison.reordered[0].classic, ["e1", "e2"]);
        assert_eq!(comparison.reordered[0].custom, ["e2", "e1"]);
        assert_eq!(comparison.repeated.custom, 1);
    }

    #[test]
    fn a_delivery_with_metadata_compares_by_its_data_and_a_fifo_group_wins() {
        let classic = vec![Received::new(&event("e1", "c", "1", "PAID"), None, None)];
        let with_metadata = format!(
            r#"{{"Data":{},"Metadata":{{}},"SystemMetadata":{{"EventGroupId":"ORDER#1"}}}}"#,
            event("e1", "v", "1", "PAID")
        );
        let custom = vec![Received::new(&with_metadata, Some("ORDER#1"), None)];
        assert_eq!(custom[0].id, "e1");
        assert_eq!(custom[0].group.as_deref(), Some("ORDER#1"));
        assert!(compare(&classic, &custom).same());
        // A body without an outbox id is known by its text.
        let shaped = Received::new(r#"{"orderId":"1"}"#, None, None);
        assert_eq!(shaped.id, r#"{"orderId":"1"}"#);
    }
}
