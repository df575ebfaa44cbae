//! The `tables` section: names, keys, streams, entities and their attributes.

use super::Checker;
use super::names;
use crate::attrs::Attributes;
use crate::config::{AttributeType, DynamoType, StreamView, Table};
use crate::yaml_index::Path;

impl Checker {
    pub(super) fn table(&mut self, path: &Path, table: &Table) {
        if let Some(arn) = &table.existing_stream {
            let name = match path.0.last() {
                Some(crate::yaml_index::Segment::Key(name)) => name.clone(),
                _ => String::new(),
            };
            if let Err(why) = names::stream_arn(arn, &name) {
                self.error(path.key("existing-stream"), format!("`{arn}` {why}"));
            }
        }
        if let Some(global) = &table.global {
            self.global_table(&path.key("global"), table, global);
        }
        if let Some(sort) = &table.keys.sort
            && sort.name == table.keys.partition.name
        {
            self.error(
                path.key("keys").key("sort"),
                "the sort key must differ from the partition key",
            );
        }
        for (entity_name, entity) in &table.entities {
            let entity_path = path.key("entities").key(entity_name);
            let attributes = Attributes::new(table, entity);
            for (attribute, test) in &entity.matches {
                let match_path = entity_path.key("match").key(attribute);
                if test.prefix.is_some() == test.equals.is_some() {
                    self.error(
                        match_path.clone(),
                        "give exactly one of `prefix` or `equals`",
                    );
                }
                match attributes.lookup(std::slice::from_ref(attribute)) {
                    Ok(shape) if shape.dynamo_type() != DynamoType::S => {
                        self.error(
                            match_path,
                            format!(
                                "`{attribute}` is of type {}; items can only be matched on strings",
                                shape.dynamo_type().as_str()
                            ),
                        );
                    }
                    Ok(_) => {}
                    Err(e) => self.lookup_error(match_path, &e),
                }
            }
            for (name, attribute) in &entity.attributes {
                let attribute_path = entity_path.key("attributes").key(name);
                if attributes.is_key(name) {
                    self.error(
                        attribute_path.clone(),
                        format!("`{name}` is a key attribute; keys are declared under `keys`"),
                    );
                }
                self.attribute_type(attribute_path, attribute);
            }
        }
        if let Some(outbox) = &table.outbox {
            let outbox_path = path.key("outbox");
            if !table.entities.is_empty() {
                self.error(
                    path.key("entities"),
                    "an outbox table has no entities: its rows are events",
                )
                .hint = Some("put entities in their own table, or drop `outbox`".into());
            }
            if outbox.type_attribute == outbox.payload_attribute {
                self.error(
                    outbox_path.key("payload-attribute"),
                    "the payload attribute must differ from the type attribute",
                );
            }
            if table.stream == StreamView::KeysOnly || table.stream == StreamView::OldImage {
                self.error(
                    path.key("stream"),
                    format!(
                        "an outbox table's stream must carry the new image, not {}",
                        table.stream.as_str()
                    ),
                )
                .hint = Some("use `stream: NEW_IMAGE` or `NEW_AND_OLD_IMAGES`".into());
            }
        }
    }

    pub(super) fn attribute_type(&mut self, path: Path, attribute: &AttributeType) {
        let spec = &attribute.0;
        let t = spec.dynamo_type;
        let misplaced = [
            ("attributes", spec.attributes.is_some(), DynamoType::M),
            ("items", spec.items.is_some(), DynamoType::L),
            ("enum", spec.allowed.is_some(), DynamoType::S),
            ("format", spec.format.is_some(), DynamoType::S),
        ];
        for (field, present, only) in misplaced {
            if present && t != only {
                self.error(
                    path.key(field),
                    format!(
                        "`{field}` applies to type {}, not {}",
                        only.as_str(),
                        t.as_str()
                    ),
                );
            }
        }
        if spec.allowed.as_ref().is_some_and(Vec::is_empty) {
            self.error(path.key("enum"), "an empty `enum` allows no value at all");
        }
        for (name, nested) in spec.attributes.iter().flatten() {
            self.attribute_type(path.key("attributes").key(name), nested);
        }
        if let Some(items) = &spec.items {
            self.attribute_type(path.key("items"), items);
        }
    }
}
