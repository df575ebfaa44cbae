//! The relay's mappings resolved to Rust: for every event, the filter as boolean expressions
//! and every detail field as a typed expression over the record. The relay template lays these
//! out; all decisions about types, conversions and escaping are made here.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::attrs::{Attributes, ImagePath, Shape};
use crate::config::{
    Config, DynamoType, Event, FieldSpec, Image, JsonType, Operation, OutboxTable, PayloadFormat,
    Table,
};
use crate::ident::{self, Scope};

/// The relay crate's contents.
#[derive(Debug, Clone, Serialize)]
pub struct RelayPlan {
    /// Service name.
    pub service: String,
    /// Default bus (name or ARN).
    pub bus: String,
    /// Tables, each with its events.
    pub tables: Vec<RelayTable>,
}

/// One table's events.
#[derive(Debug, Clone, Serialize)]
pub struct RelayTable {
    /// Table name (a Rust string literal).
    pub name: String,
    /// Its events.
    pub events: Vec<RelayEvent>,
}

/// One event's generated module.
#[derive(Debug, Clone, Serialize)]
pub struct RelayEvent {
    /// Module name.
    pub module: String,
    /// Event name (literal).
    pub name: String,
    /// Event-id slug (literal).
    pub id_key: String,
    /// `Source` (literal).
    pub source: String,
    /// `DetailType` (literal).
    pub detail_type: String,
    /// The detail's JSON Schema (literal).
    pub schema: String,
    /// Doc comment text.
    pub doc: String,
    /// Boolean expressions that must all hold.
    pub selects: Vec<String>,
    /// The detail struct's fields (entity events).
    pub fields: Vec<RelayField>,
    /// Whether the detail struct borrows from the record.
    pub borrows: bool,
    /// `rest`: names left out, as a Rust slice literal.
    pub rest: Option<String>,
    /// Outbox events: the expression of the whole detail, and its type.
    pub outbox_detail: Option<(String, String)>,
}

/// A detail field.
#[derive(Debug, Clone, Serialize)]
pub struct RelayField {
    /// Rust field name.
    pub ident: String,
    /// JSON name (literal).
    pub name: String,
    /// Rust type.
    pub ty: String,
    /// Expression producing the value (may use `?`).
    pub expr: String,
    /// Optional: skipped when absent.
    pub optional: bool,
}

/// Rust string literal for `text`.
pub fn lit(text: &str) -> String {
    format!("{text:?}")
}

fn slice(names: &BTreeSet<String>) -> String {
    let items: Vec<String> = names.iter().map(|n| lit(n)).collect();
    format!("&[{}]", items.join(", "))
}

const RT: &str = "::outbox_runtime";

fn image_expr(image: Image) -> String {
    match image {
        Image::New => format!("{RT}::Image::New"),
        Image::Old => format!("{RT}::Image::Old"),
    }
}

/// Resolves every event of a validated config; `contracts` give each event's detail schema.
pub fn relay_plan(config: &Config, contracts: &[crate::contract::EventContract]) -> RelayPlan {
    let mut modules = Scope::with_reserved(&["mapping", "main", "Mapping", "DEFAULTS"]);
    let schemas: std::collections::BTreeMap<&str, String> = contracts
        .iter()
        .map(|c| (c.name.as_str(), c.detail.to_string()))
        .collect();
    let tables = config
        .tables
        .iter()
        .map(|(table_name, table)| RelayTable {
            name: lit(table_name),
            events: table
                .events
                .iter()
                .map(|(name, event)| {
                    let schema = schemas.get(name.as_str()).map_or("{}", String::as_str);
                    event_code(&mut modules, table, name, event, schema)
                })
                .collect(),
        })
        .collect();
    RelayPlan {
        service: lit(&config.service),
        bus: lit(config
            .bus
            .name
            .as_ref()
            .or(config.bus.existing.as_ref())
            .map_or("default", String::as_str)),
        tables,
    }
}

fn event_code(
    modules: &mut Scope,
    table: &Table,
    name: &str,
    event: &Event,
    schema: &str,
) -> RelayEvent {
    let mut code = RelayEvent {
        module: modules.snake(name),
        name: lit(name),
        id_key: lit(&ident::id_slug(name)),
        source: lit(&event.source),
        detail_type: lit(event.detail_type.as_deref().unwrap_or(name)),
        schema: lit(schema),
        doc: event
            .description
            .clone()
            .unwrap_or_else(|| format!("The `{name}` event.")),
        selects: Vec::new(),
        fields: Vec::new(),
        borrows: false,
        rest: None,
        outbox_detail: None,
    };
    match &table.outbox {
        Some(outbox) => outbox_event(&mut code, outbox, name, event),
        None => {
            if let Some(entity) = event.entity.as_ref().and_then(|e| table.entities.get(e)) {
                entity_event(&mut code, Attributes::new(table, entity), entity, event);
            }
        }
    }
    code
}

fn operations(ops: &[Operation]) -> String {
    let ops: Vec<String> = ops
        .iter()
        .map(|op| match op {
            Operation::Insert => format!("{RT}::Operation::Insert"),
            Operation::Modify => format!("{RT}::Operation::Modify"),
            Operation::Remove => format!("{RT}::Operation::Remove"),
        })
        .collect();
    format!("::std::matches!(record.operation, {})", ops.join(" | "))
}

fn outbox_event(code: &mut RelayEvent, outbox: &OutboxTable, name: &str, event: &Event) {
    code.selects.push(operations(&[Operation::Insert]));
    code.selects.push("!record.ttl_expiry".into());
    code.selects.push(format!(
        "{RT}::cond::is_string(record.get({}, {}), {})",
        image_expr(Image::New),
        lit(&outbox.type_attribute),
        lit(event.outbox_type.as_deref().unwrap_or(name))
    ));
    let payload = lit(&outbox.payload_attribute);
    let read = format!("record.get({}, {payload})", image_expr(Image::New));
    code.outbox_detail = Some(match outbox.payload_format {
        PayloadFormat::Map => (
            format!("f.required({payload}, f.map_except({payload}, {read}, &[])?)?"),
            format!("{RT}::ItemExcept<'_>"),
        ),
        PayloadFormat::JsonString => (
            format!(
                "f.json_object({payload}, f.required({payload}, f.string({payload}, {read})?)?)?"
            ),
            format!("&{RT}::RawJson"),
        ),
    });
}

fn entity_event(
    code: &mut RelayEvent,
    attributes: Attributes,
    entity: &crate::config::Entity,
    event: &Event,
) {
    code.selects.push(operations(&event.on));
    for (attribute, test) in &entity.matches {
        let value = format!("{RT}::cond::value(record, {})", lit(attribute));
        if let Some(prefix) = &test.prefix {
            code.selects
                .push(format!("{RT}::cond::has_prefix({value}, {})", lit(prefix)));
        }
        if let Some(equals) = &test.equals {
            code.selects
                .push(format!("{RT}::cond::is_string({value}, {})", lit(equals)));
        }
    }
    if let Some(when) = &event.when {
        if !when.changed.is_empty() {
            let any: Vec<String> = when
                .changed
                .iter()
                .map(|a| format!("{RT}::cond::changed(record, {})", lit(a)))
                .collect();
            code.selects.push(format!("({})", any.join(" || ")));
        }
        for (path, value) in &when.equals {
            let at = cond_path(path);
            code.selects.push(match value {
                serde_json::Value::String(s) => format!("{RT}::cond::is_string({at}, {})", lit(s)),
                serde_json::Value::Number(n) => {
                    format!("{RT}::cond::is_number({at}, {})", lit(&n.to_string()))
                }
                serde_json::Value::Bool(b) => format!("{RT}::cond::is_bool({at}, {b})"),
                _ => format!("{RT}::cond::is_null({at})"),
            });
        }
        for (path, prefix) in &when.prefix {
            code.selects.push(format!(
                "{RT}::cond::has_prefix({}, {})",
                cond_path(path),
                lit(prefix)
            ));
        }
        for path in &when.exists {
            code.selects.push(format!("{}.is_some()", cond_path(path)));
        }
        for path in &when.absent {
            code.selects.push(format!("{}.is_none()", cond_path(path)));
        }
    }
    let redacted: BTreeSet<String> = event.redact.iter().cloned().collect();
    let mut fields = Scope::with_reserved(&["rest"]);
    let mut taken: BTreeSet<String> = event.detail.keys().cloned().collect();
    for (field_name, field) in &event.detail {
        let ident = fields.snake(field_name);
        if let Some(attribute) = ImagePath::picked_attribute(&field.0) {
            taken.insert(attribute);
        }
        code.fields.push(field_code(
            ident, field_name, &field.0, attributes, &redacted,
        ));
    }
    if let Some(rest) = &event.rest {
        let mut except: BTreeSet<String> = rest.except.iter().cloned().collect();
        except.extend(taken);
        except.extend(redacted.iter().cloned());
        code.rest = Some(format!(
            "f.item_except(record.image({}), {})",
            image_expr(match rest.from {
                Image::New => Image::New,
                Image::Old => Image::Old,
            }),
            slice(&except)
        ));
    }
    code.borrows = code.rest.is_some() || code.fields.iter().any(|f| f.ty.contains("'a"));
}

fn cond_path(text: &str) -> String {
    let path = ImagePath::parse(text).unwrap_or(ImagePath {
        image: Image::New,
        segments: Vec::new(),
    });
    let keys: Vec<String> = path.segments.iter().map(|s| lit(s)).collect();
    format!(
        "{RT}::cond::path(record, {}, &[{}])",
        image_expr(path.image),
        keys.join(", ")
    )
}

fn field_code(
    ident: String,
    name: &str,
    spec: &FieldSpec,
    attributes: Attributes,
    redacted: &BTreeSet<String>,
) -> RelayField {
    let f = lit(name);
    if let Some(constant) = &spec.constant {
        return RelayField {
            ident,
            name: lit(name),
            ty: format!("&'static {RT}::RawJson"),
            expr: format!("f.constant({f}, {})?", lit(&constant.to_string())),
            optional: false,
        };
    }
    let path = ImagePath::parse(spec.from.as_deref().unwrap_or_default()).unwrap_or(ImagePath {
        image: Image::New,
        segments: Vec::new(),
    });
    let shape = attributes.lookup(&path.segments).unwrap_or(Shape::Item);
    let image = image_expr(path.image);
    if matches!(shape, Shape::Item) {
        let mut except: BTreeSet<String> = spec.except.iter().cloned().collect();
        except.extend(redacted.iter().cloned());
        return RelayField {
            ident,
            name: lit(name),
            ty: format!("{RT}::ItemExcept<'a>"),
            expr: format!("f.item_except(record.image({image}), {})", slice(&except)),
            optional: false,
        };
    }
    let value = match path.segments.as_slice() {
        [attribute] => format!("record.get({image}, {})", lit(attribute)),
        segments => {
            let keys: Vec<String> = segments.iter().map(|s| lit(s)).collect();
            format!(
                "f.path({f}, record.image({image}), &[{}])?",
                keys.join(", ")
            )
        }
    };
    let dynamo_type = shape.dynamo_type();
    let (mut expr, mut ty) = match dynamo_type {
        DynamoType::S => (format!("f.string({f}, {value})?"), "&'a str".to_owned()),
        DynamoType::N => (
            format!("f.number({f}, {value})?"),
            format!("{RT}::Number<'a>"),
        ),
        DynamoType::Bool => (format!("f.boolean({f}, {value})?"), "bool".to_owned()),
        DynamoType::B => (
            format!("f.binary({f}, {value})?"),
            format!("{RT}::Binary<'a>"),
        ),
        DynamoType::M if !spec.except.is_empty() => (
            format!(
                "f.map_except({f}, {value}, {})?",
                slice(&spec.except.iter().cloned().collect())
            ),
            format!("{RT}::ItemExcept<'a>"),
        ),
        other => (
            format!("f.typed({f}, {}, {value})?", lit(other.as_str())),
            format!("{RT}::Attr<'a>"),
        ),
    };
    if let Some(prefix) = &spec.strip_prefix {
        expr = format!(
            "{expr}.map(|v| f.strip_prefix({f}, v, {})).transpose()?",
            lit(prefix)
        );
    }
    let conversion = match (dynamo_type, spec.json_type) {
        (DynamoType::S, Some(JsonType::Number)) => Some((
            "f.string_to_number({f}, v)",
            format!("{RT}::Number<'a>"),
            true,
        )),
        (DynamoType::S | DynamoType::N, Some(JsonType::Integer)) => {
            let text = if dynamo_type == DynamoType::N {
                "v.as_str()"
            } else {
                "v"
            };
            Some((
                if text == "v" {
                    "f.to_integer({f}, v)"
                } else {
                    "f.to_integer({f}, v.as_str())"
                },
                format!("{RT}::Number<'a>"),
                true,
            ))
        }
        (DynamoType::S, Some(JsonType::Boolean)) => {
            Some(("f.string_to_boolean({f}, v)", "bool".to_owned(), true))
        }
        (DynamoType::N, Some(JsonType::String)) => {
            Some(("v.as_str()", "&'a str".to_owned(), false))
        }
        (DynamoType::Bool, Some(JsonType::String)) => Some((
            "if v { \"true\" } else { \"false\" }",
            "&'a str".to_owned(),
            false,
        )),
        _ => None,
    };
    if let Some((convert, new_ty, fallible)) = conversion {
        let convert = convert.replace("{f}", &f);
        expr = if fallible {
            format!("{expr}.map(|v| {convert}).transpose()?")
        } else {
            format!("{expr}.map(|v| {convert})")
        };
        ty = new_ty;
    }
    let required = spec.required.unwrap_or(match shape {
        Shape::Key(_) | Shape::Item => true,
        Shape::Attribute(a) => a.required,
    });
    if required {
        expr = format!("f.required({f}, {expr})?");
    } else {
        ty = format!("::std::option::Option<{ty}>");
    }
    RelayField {
        ident,
        name: lit(name),
        ty,
        expr,
        optional: !required,
    }
}
