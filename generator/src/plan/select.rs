//! Which records produce an event, resolved once into typed conditions: the relay's filter
//! code and the generated README both read these.

use serde::Serialize;
use serde_json::Value;

use crate::attrs::ImagePath;
use crate::config::{Entity, Event, OutboxTable};
use crate::vocabulary::Operation;

/// One condition a record must meet; an event's conditions must all hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Condition {
    /// The record's operation is one of these.
    Operation {
        /// The operations.
        operations: Vec<Operation>,
    },
    /// Not a deletion by DynamoDB's TTL.
    NotExpired,
    /// The entity's `match`: the attribute (new image, else old) starts with a prefix.
    MatchPrefix {
        /// The attribute.
        attribute: String,
        /// The prefix.
        prefix: String,
    },
    /// The entity's `match`: the attribute (new image, else old) is this string.
    MatchEquals {
        /// The attribute.
        attribute: String,
        /// The string.
        value: String,
    },
    /// An outbox row's type attribute (new image) is this string.
    RowType {
        /// The type attribute.
        attribute: String,
        /// The event's row type.
        value: String,
    },
    /// One of these attributes differs between the old and the new image.
    Changed {
        /// The attributes.
        attributes: Vec<String>,
    },
    /// A global table's write is published by this region's relay: the record's `awsRegion` is
    /// the item's origin attribute (new image, else old), or `home` when the item has none
    /// (or none is declared).
    PublishedHere {
        /// The region that publishes writes whose origin is not known.
        home: String,
        /// The string attribute the application writes its region in.
        origin_attribute: Option<String>,
    },
    /// The value at a path equals a JSON value.
    Equals {
        /// Image and path.
        path: ImagePath,
        /// The value.
        value: Value,
    },
    /// The string at a path starts with a prefix.
    Prefix {
        /// Image and path.
        path: ImagePath,
        /// The prefix.
        prefix: String,
    },
    /// A path has a value.
    Exists {
        /// Image and path.
        path: ImagePath,
    },
    /// A path has no value.
    Absent {
        /// Image and path.
        path: ImagePath,
    },
}

impl Condition {
    /// The condition in words, for the conditions a user declared under `when` (the operation
    /// and the entity are said elsewhere).
    pub fn describe(&self) -> Option<String> {
        match self {
            Condition::Changed { attributes } => {
                Some(format!("`{}` changed", attributes.join("` or `")))
            }
            Condition::Equals { path, value } => Some(format!("`{path}` = {value}")),
            Condition::Prefix { path, prefix } => Some(format!("`{path}` starts with `{prefix}`")),
            Condition::Exists { path } => Some(format!("`{path}` exists")),
            Condition::Absent { path } => Some(format!("`{path}` is absent")),
            Condition::PublishedHere {
                home,
                origin_attribute: None,
            } => Some(format!("read in {home} (global table)")),
            Condition::PublishedHere {
                home,
                origin_attribute: Some(attribute),
            } => Some(format!(
                "read in the region `{attribute}` names, else in {home} (global table)"
            )),
            _ => None,
        }
    }
}

/// The conditions of an outbox table's event: an inserted row of its type.
pub fn outbox(outbox: &OutboxTable, name: &str, event: &Event) -> Vec<Condition> {
    vec![
        Condition::Operation {
            operations: vec![Operation::Insert],
        },
        Condition::NotExpired,
        Condition::RowType {
            attribute: outbox.type_attribute.clone(),
            value: event.outbox_type.clone().unwrap_or_else(|| name.to_owned()),
        },
    ]
}

/// The conditions of an entity's event: its operations, the entity's `match`, then `when`.
pub fn entity(entity: &Entity, event: &Event) -> Vec<Condition> {
    let mut conditions = vec![Condition::Operation {
        operations: event.on.clone(),
    }];
    for (attribute, test) in &entity.matches {
        if let Some(prefix) = &test.prefix {
            conditions.push(Condition::MatchPrefix {
                attribute: attribute.clone(),
                prefix: prefix.clone(),
            });
        }
        if let Some(value) = &test.equals {
            conditions.push(Condition::MatchEquals {
                attribute: attribute.clone(),
                value: value.clone(),
            });
        }
    }
    let Some(when) = &event.when else {
        return conditions;
    };
    if !when.changed.is_empty() {
        conditions.push(Condition::Changed {
            attributes: when.changed.clone(),
        });
    }
    conditions.extend(when.equals.iter().map(|(path, value)| Condition::Equals {
        path: ImagePath::validated(path),
        value: value.clone(),
    }));
    conditions.extend(when.prefix.iter().map(|(path, prefix)| Condition::Prefix {
        path: ImagePath::validated(path),
        prefix: prefix.clone(),
    }));
    conditions.extend(when.exists.iter().map(|path| Condition::Exists {
        path: ImagePath::validated(path),
    }));
    conditions.extend(when.absent.iter().map(|path| Condition::Absent {
        path: ImagePath::validated(path),
    }));
    conditions
}
