//! An event's `when` conditions and `detail` fields: attributes that exist in the image, types
//! that convert, constants that fit, conditions that can hold.

use std::collections::BTreeSet;

use super::{Checker, EventContext, constant_fits, describe_match, enum_note, match_allows};
use crate::attrs::{LookupError, Shape};
use crate::config::{DynamoType, FieldSpec, Operation, StreamView, When};
use crate::plan::detail::Conversion;
use crate::yaml_index::Path;

impl Checker {
    pub(super) fn when(
        &mut self,
        path: &Path,
        context: &EventContext,
        when: &When,
        entity: &crate::config::Entity,
    ) {
        for (i, name) in when.changed.iter().enumerate() {
            let item = path.key("changed").index(i);
            if context.attributes.is_key(name) {
                self.error(item.clone(), format!("`{name}` is a key attribute; keys never change in a MODIFY, so this can never hold"));
                continue;
            }
            if let Err(e) = context.attributes.lookup(std::slice::from_ref(name)) {
                self.lookup_error(item.clone(), &e);
            }
            if !context.ops.is_empty() && !context.ops.contains(&Operation::Modify) {
                self.error(item.clone(), "only MODIFY records have both images; with these operations `changed` can never hold")
                    .hint = Some("add MODIFY to `on`".into());
            }
            if context.table.stream != StreamView::NewAndOldImages {
                self.error(
                    item,
                    format!(
                        "`changed` compares both images, but the table's stream is {}",
                        context.table.stream.as_str()
                    ),
                )
                .hint = Some("set the table's `stream: NEW_AND_OLD_IMAGES`".into());
            }
        }
        for (text, value) in &when.equals {
            let item = path.key("equals").key(text);
            let Some((image_path, shape)) = self.image_path(&item, context, text) else {
                continue;
            };
            let expected = shape.dynamo_type();
            let fits = match value {
                serde_json::Value::String(s) => {
                    expected == DynamoType::S
                        && match shape {
                            Shape::Attribute(spec) => spec
                                .allowed
                                .as_ref()
                                .is_none_or(|allowed| allowed.contains(s)),
                            _ => true,
                        }
                }
                serde_json::Value::Number(_) => expected == DynamoType::N,
                serde_json::Value::Bool(_) => expected == DynamoType::Bool,
                serde_json::Value::Null => expected == DynamoType::Null,
                _ => false,
            };
            if !fits {
                self.error(
                    item.clone(),
                    format!(
                        "`{text}` is of type {}{}; it can never equal {value}",
                        expected.as_str(),
                        enum_note(shape)
                    ),
                );
            }
            if let (Some(attribute), serde_json::Value::String(s)) = (image_path.attribute(), value)
                && image_path.segments.len() == 1
                && let Some(test) = entity.matches.get(attribute)
                && !match_allows(test, s)
            {
                self.error(item.clone(), format!("the entity only has items whose `{attribute}` {}, so it can never equal {value}", describe_match(test)));
            }
            if when.absent.iter().any(|a| a == text) {
                self.error(
                    item,
                    format!("`{text}` is also required to be absent, so this can never hold"),
                );
            }
        }
        for (text, prefix) in &when.prefix {
            let item = path.key("prefix").key(text);
            let Some((image_path, shape)) = self.image_path(&item, context, text) else {
                continue;
            };
            if shape.dynamo_type() != DynamoType::S {
                self.error(
                    item.clone(),
                    format!(
                        "`{text}` is of type {}; only strings have a prefix",
                        shape.dynamo_type().as_str()
                    ),
                );
            }
            if let Some(attribute) = image_path.attribute()
                && image_path.segments.len() == 1
                && let Some(entity_prefix) = entity
                    .matches
                    .get(attribute)
                    .and_then(|m| m.prefix.as_ref())
                && !prefix.starts_with(entity_prefix.as_str())
                && !entity_prefix.starts_with(prefix.as_str())
            {
                self.error(item, format!("the entity only has items whose `{attribute}` starts with `{entity_prefix}`, so it can never start with `{prefix}`"));
            }
        }
        for (list, name) in [(&when.exists, "exists"), (&when.absent, "absent")] {
            for (i, text) in list.iter().enumerate() {
                let item = path.key(name).index(i);
                let Some((image_path, _)) = self.image_path(&item, context, text) else {
                    continue;
                };
                if image_path.segments.is_empty() {
                    self.error(item.clone(), "name an attribute, not the whole item");
                }
                if name == "absent"
                    && image_path
                        .attribute()
                        .is_some_and(|a| context.attributes.is_key(a))
                    && image_path.segments.len() == 1
                {
                    self.error(
                        item.clone(),
                        format!(
                            "key attributes are always present, so `{text}` can never be absent"
                        ),
                    );
                }
                if name == "exists" && when.absent.contains(text) {
                    self.error(
                        item,
                        format!(
                            "`{text}` is required to exist and to be absent, so this can never hold"
                        ),
                    );
                }
            }
        }
    }

    /// Checks one detail field; returns the top-level attribute it takes, if any.
    pub(super) fn field(
        &mut self,
        path: &Path,
        context: &EventContext,
        field: &FieldSpec,
        redacted: &BTreeSet<&str>,
    ) {
        if field.from.is_some() == field.constant.is_some() {
            self.error(path.clone(), "give exactly one of `from` or `const`")
                .hint = Some(
                "`from: new.<attribute>` copies an attribute, `const: <value>` sets a fixed value"
                    .into(),
            );
            return;
        }
        if let Some(constant) = &field.constant {
            for (name, present) in [
                ("strip-prefix", field.strip_prefix.is_some()),
                ("except", !field.except.is_empty()),
            ] {
                if present {
                    self.error(
                        path.key(name),
                        format!("`{name}` does not apply to a constant"),
                    );
                }
            }
            if let Some(json_type) = field.json_type
                && !constant_fits(constant, json_type)
            {
                self.error(
                    path.key("const"),
                    format!("{constant} is not of type {}", json_type.as_str()),
                );
            }
            return;
        }
        let from = field.from.as_deref().unwrap_or_default();
        let Some((image_path, shape)) = self.image_path(&path.key("from"), context, from) else {
            return;
        };
        let dynamo_type = shape.dynamo_type();
        if let Some(attribute) = image_path.attribute()
            && redacted.contains(attribute)
        {
            self.error(
                path.key("from"),
                format!("`{attribute}` is redacted for this event and must not leave the table"),
            )
            .hint = Some(format!(
                "remove this field, or remove `{attribute}` from `redact`"
            ));
        }
        if let (Some(strip), [attribute]) = (&field.strip_prefix, image_path.segments.as_slice())
            && let Some(test) = context.entity.matches.get(attribute)
        {
            let never = match (&test.prefix, &test.equals) {
                (Some(prefix), _) => {
                    !prefix.starts_with(strip.as_str()) && !strip.starts_with(prefix.as_str())
                }
                (_, Some(value)) => !value.starts_with(strip.as_str()),
                _ => false,
            };
            if never {
                self.error(
                    path.key("strip-prefix"),
                    format!(
                        "the entity only has items whose `{attribute}` {}, so `{strip}` can never be stripped from it: every record of this event would fail",
                        describe_match(test)
                    ),
                )
                .hint = Some(match (&test.prefix, &test.equals) {
                    (Some(prefix), _) => format!("strip the prefix the entity matches on: `strip-prefix: \"{prefix}\"`"),
                    _ => "the value is always the same: leave `strip-prefix` out, or use `const`".into(),
                });
            }
        }
        let missing: Vec<&str> = context
            .ops
            .iter()
            .filter(|op| !op.has_image(image_path.image))
            .map(|op| op.as_str())
            .collect();
        if field.required == Some(true)
            && !image_path.segments.is_empty()
            && !missing.is_empty()
            && missing.len() < context.ops.len()
        {
            self.error(
                path.key("required"),
                format!(
                    "{} records have no {} image, so `{from}` is never on them and a required field would fail every one of them",
                    missing.join("/"),
                    image_path.image.as_str()
                ),
            )
            .hint = Some(format!(
                "leave `required` out: the field is then optional, and absent from the events of {} records",
                missing.join("/")
            ));
        }
        if field.strip_prefix.is_some() && dynamo_type != DynamoType::S {
            self.error(
                path.key("strip-prefix"),
                format!(
                    "`{from}` is of type {}; only strings have a prefix to strip",
                    dynamo_type.as_str()
                ),
            );
        }
        if !field.except.is_empty() {
            if dynamo_type != DynamoType::M {
                self.error(
                    path.key("except"),
                    format!(
                        "`except` leaves attributes out of a map, but `{from}` is of type {}",
                        dynamo_type.as_str()
                    ),
                );
            } else {
                for (i, name) in field.except.iter().enumerate() {
                    let mut segments = image_path.segments.clone();
                    segments.push(name.clone());
                    if let Err(e) = context.attributes.lookup(&segments)
                        && !matches!(&e, LookupError::Unknown { known, .. } if known.is_empty())
                    {
                        self.lookup_error(path.key("except").index(i), &e);
                    }
                }
            }
        }
        if let Some(json_type) = field.json_type
            && Conversion::to(dynamo_type, json_type).is_err()
        {
            self.error(
                path.key("type"),
                format!(
                    "`{from}` is of type {}, which cannot be converted to {}",
                    dynamo_type.as_str(),
                    json_type.as_str()
                ),
            )
            .hint = Some(Conversion::TABLE_IN_WORDS.into());
        }
    }
}
