//! The relay's mappings as Rust: for every event of the plan, its conditions as boolean
//! expressions and every detail field as a typed expression over the record. The relay
//! template lays these out; the meaning of each field comes from the plan
//! ([`crate::plan::detail`]), this module only spells it in Rust.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::attrs::ImagePath;
use crate::ident::Scope;
use crate::plan::detail::{Conversion, Field, Source};
use crate::plan::select::Condition;
use crate::plan::{EventPlan, GroupPlan, Plan};
use crate::vocabulary::{DriftPolicy, DynamoType, Image, Operation, PayloadFormat};

/// The relay crate's contents.
#[derive(Debug, Clone, Serialize)]
pub struct RelayCode {
    /// Service name (literal).
    pub service: String,
    /// Default bus, name or ARN (literal).
    pub bus: String,
    /// The `source` of poison-record events (literal).
    pub poison_source: String,
    /// The bus is a Custom Event Bus.
    pub custom_bus: bool,
    /// Tables, each with its events.
    pub tables: Vec<RelayTable>,
    /// `Mapper::reads_images`.
    pub reads_images: ReadsImagesCode,
}

/// The generated `Mapper::reads_images`: its parameters' names (`_`-prefixed when unused) and
/// its body.
#[derive(Debug, Clone, Serialize)]
pub struct ReadsImagesCode {
    /// The operation parameter.
    pub operation: &'static str,
    /// The keys parameter.
    pub keys: &'static str,
    /// The boolean expression.
    pub expr: String,
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
    /// The `outbox_runtime::Drift` variant.
    pub drift: &'static str,
    /// The `outbox_runtime::Group` expression.
    pub group: String,
    /// Produced by `relay backfill`.
    pub snapshot: bool,
    /// Doc comment text.
    pub doc: String,
    /// Boolean expressions that must all hold.
    pub selects: Vec<String>,
    /// The detail struct's fields (entity events).
    pub fields: Vec<RelayField>,
    /// Whether the detail struct borrows from the record.
    pub borrows: bool,
    /// `rest`: the expression of the rest of the image.
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

fn slice_ordered(names: &[String]) -> String {
    let items: Vec<String> = names.iter().map(|n| lit(n)).collect();
    format!("&[{}]", items.join(", "))
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

/// The relay code of every event of the plan.
pub fn relay_code(plan: &Plan) -> RelayCode {
    let mut modules = Scope::with_reserved(&["mapping", "main", "Mapping", "DEFAULTS"]);
    let tables = plan
        .tables
        .iter()
        .map(|table| RelayTable {
            name: lit(&table.name),
            events: plan
                .events
                .iter()
                .filter(|e| e.table == table.name)
                .map(|event| event_code(&mut modules, event))
                .collect(),
        })
        .collect();
    RelayCode {
        service: lit(&plan.service),
        bus: lit(if plan.bus.name.is_empty() {
            "default"
        } else {
            &plan.bus.name
        }),
        poison_source: lit(&plan.relay.poison_source),
        custom_bus: plan.bus.custom,
        tables,
        reads_images: reads_images(plan),
    }
}

/// Whether any event may read the images of a record with this operation and these keys:
/// per event, its conditions that the operation and the keys decide (the others count as
/// met); any event of any table, since a stream record names its table after its images.
fn reads_images(plan: &Plan) -> ReadsImagesCode {
    // Per event: the conditions the operation and the keys decide, in Rust.
    let mut any: Vec<Vec<(bool, String)>> = Vec::new();
    for event in &plan.events {
        let Some(table) = plan.tables.iter().find(|t| t.name == event.table) else {
            continue;
        };
        let is_key = |attribute: &str| {
            attribute == table.partition_key || table.sort_key.as_deref() == Some(attribute)
        };
        // (whether it reads the operation, else the keys; the expression)
        let all: Vec<(bool, String)> = event
            .conditions
            .iter()
            .filter_map(|condition| match condition {
                Condition::Operation { operations } => Some((true, operation_is(operations))),
                Condition::MatchPrefix { attribute, prefix } if is_key(attribute) => Some((
                    false,
                    format!(
                        "{RT}::cond::has_prefix(keys.get({}), {})",
                        lit(attribute),
                        lit(prefix)
                    ),
                )),
                Condition::MatchEquals { attribute, value } if is_key(attribute) => Some((
                    false,
                    format!(
                        "{RT}::cond::is_string(keys.get({}), {})",
                        lit(attribute),
                        lit(value)
                    ),
                )),
                _ => None,
            })
            .collect();
        if !any.contains(&all) {
            any.push(all);
        }
    }
    if any.iter().any(Vec::is_empty) || any.is_empty() {
        // An event that any record may produce, or no event at all.
        return ReadsImagesCode {
            operation: "_operation",
            keys: "_keys",
            expr: if any.is_empty() { "false" } else { "true" }.to_owned(),
        };
    }
    let reads = |operation: bool| any.iter().flatten().any(|(op, _)| *op == operation);
    ReadsImagesCode {
        operation: if reads(true) {
            "operation"
        } else {
            "_operation"
        },
        keys: if reads(false) { "keys" } else { "_keys" },
        expr: any
            .iter()
            .map(|all| {
                let all: Vec<&str> = all.iter().map(|(_, code)| code.as_str()).collect();
                match any.len() {
                    1 => all.join(" && "),
                    _ => format!("({})", all.join(" && ")),
                }
            })
            .collect::<Vec<_>>()
            .join(" || "),
    }
}

/// `operation` is one of `operations` (EXPIRE is a REMOVE: whether DynamoDB's TTL made it is
/// not known yet where this is asked).
fn operation_is(operations: &[Operation]) -> String {
    let ops: Vec<String> = [
        (Operation::Insert, "Insert"),
        (Operation::Modify, "Modify"),
        (Operation::Remove, "Remove"),
    ]
    .into_iter()
    .filter(|(op, _)| {
        operations.contains(op)
            || (*op == Operation::Remove && operations.contains(&Operation::Expire))
    })
    .map(|(_, name)| format!("{RT}::Operation::{name}"))
    .collect();
    format!("::std::matches!(operation, {})", ops.join(" | "))
}

fn event_code(modules: &mut Scope, event: &EventPlan) -> RelayEvent {
    let mut code = RelayEvent {
        module: modules.snake(&event.name),
        name: lit(&event.name),
        id_key: lit(&event.slug),
        source: lit(&event.source),
        detail_type: lit(&event.detail_type),
        schema: lit(&event.detail.schema.to_string()),
        drift: match event.drift {
            DriftPolicy::DeadLetter => "DeadLetter",
            DriftPolicy::Publish => "Publish",
            DriftPolicy::Stop => "Stop",
        },
        snapshot: event.snapshot,
        group: match &event.group {
            GroupPlan::Key { attribute } => format!("{RT}::Group::Key({})", lit(attribute)),
            GroupPlan::Const { value } => format!("{RT}::Group::Const({})", lit(value)),
            GroupPlan::Path { path } => format!(
                "{RT}::Group::Path({}, {})",
                image_expr(path.image),
                slice_ordered(&path.segments)
            ),
        },
        doc: event
            .description
            .clone()
            .unwrap_or_else(|| format!("The `{}` event.", event.name)),
        selects: event.conditions.iter().map(condition).collect(),
        fields: Vec::new(),
        borrows: false,
        rest: None,
        outbox_detail: None,
    };
    let detail = &event.detail;
    if let Some(payload) = &detail.payload {
        let name = lit(&payload.attribute);
        let read = format!("record.get({}, {name})", image_expr(Image::New));
        code.outbox_detail = Some(match payload.format {
            PayloadFormat::Map => (
                format!("f.required({name}, f.map_except({name}, {read}, &[])?)?"),
                format!("{RT}::ItemExcept<'_>"),
            ),
            PayloadFormat::JsonString => (
                format!("f.json_object({name}, f.required({name}, f.string({name}, {read})?)?)?"),
                format!("&{RT}::RawJson"),
            ),
        });
        return code;
    }
    let mut idents = Scope::with_reserved(&["rest"]);
    code.fields = detail
        .fields
        .iter()
        .map(|field| field_code(idents.snake(&field.name), field))
        .collect();
    code.rest = detail.rest.as_ref().map(|rest| {
        format!(
            "f.item_except(record.image({}), {})",
            image_expr(rest.image),
            slice(&rest.except)
        )
    });
    code.borrows = code.rest.is_some() || code.fields.iter().any(|f| f.ty.contains("'a"));
    code
}

fn condition(condition: &Condition) -> String {
    match condition {
        Condition::Operation { operations } => operations_code(operations),
        Condition::NotExpired => "!record.ttl_expiry".into(),
        Condition::PublishedHere {
            home,
            origin_attribute,
        } => format!(
            "{RT}::cond::published_here(record, {}, {})",
            lit(home),
            origin_attribute
                .as_deref()
                .map_or_else(|| "None".to_owned(), |a| format!("Some({})", lit(a)))
        ),
        Condition::RowType { attribute, value } => format!(
            "{RT}::cond::is_string(record.get({}, {}), {})",
            image_expr(Image::New),
            lit(attribute),
            lit(value)
        ),
        Condition::MatchPrefix { attribute, prefix } => format!(
            "{RT}::cond::has_prefix({RT}::cond::value(record, {}), {})",
            lit(attribute),
            lit(prefix)
        ),
        Condition::MatchEquals { attribute, value } => format!(
            "{RT}::cond::is_string({RT}::cond::value(record, {}), {})",
            lit(attribute),
            lit(value)
        ),
        Condition::Changed { attributes } => {
            let any: Vec<String> = attributes
                .iter()
                .map(|a| format!("{RT}::cond::changed(record, {})", lit(a)))
                .collect();
            format!("({})", any.join(" || "))
        }
        Condition::Equals { path, value } => {
            let at = cond_path(path);
            match value {
                serde_json::Value::String(s) => format!("{RT}::cond::is_string({at}, {})", lit(s)),
                serde_json::Value::Number(n) => {
                    format!("{RT}::cond::is_number({at}, {})", lit(&n.to_string()))
                }
                serde_json::Value::Bool(b) => format!("{RT}::cond::is_bool({at}, {b})"),
                _ => format!("{RT}::cond::is_null({at})"),
            }
        }
        Condition::Prefix { path, prefix } => format!(
            "{RT}::cond::has_prefix({}, {})",
            cond_path(path),
            lit(prefix)
        ),
        Condition::Exists { path } => format!("{}.is_some()", cond_path(path)),
        Condition::Absent { path } => format!("{}.is_none()", cond_path(path)),
    }
}

/// The record's operation is one of `operations`; REMOVE and EXPIRE are the same stream
/// operation, told apart by `record.ttl_expiry`.
fn operations_code(operations: &[Operation]) -> String {
    let has = |op| operations.contains(&op);
    let mut ops: Vec<String> = [Operation::Insert, Operation::Modify]
        .into_iter()
        .filter(|op| has(*op))
        .map(|op| match op {
            Operation::Insert => format!("{RT}::Operation::Insert"),
            _ => format!("{RT}::Operation::Modify"),
        })
        .collect();
    let removes = format!("{RT}::Operation::Remove");
    match (has(Operation::Remove), has(Operation::Expire)) {
        (true, true) => ops.push(removes),
        (true, false) => {
            ops.push(removes);
            return format!(
                "::std::matches!(record.operation, {}) && !record.ttl_expiry",
                ops.join(" | ")
            );
        }
        (false, true) => {
            let expired = format!("(record.operation == {removes} && record.ttl_expiry)");
            return if ops.is_empty() {
                expired
            } else {
                format!(
                    "(::std::matches!(record.operation, {}) || {expired})",
                    ops.join(" | ")
                )
            };
        }
        (false, false) => {}
    }
    format!("::std::matches!(record.operation, {})", ops.join(" | "))
}

fn cond_path(path: &ImagePath) -> String {
    let keys: Vec<String> = path.segments.iter().map(|s| lit(s)).collect();
    format!(
        "{RT}::cond::path(record, {}, &[{}])",
        image_expr(path.image),
        keys.join(", ")
    )
}

fn field_code(ident: String, field: &Field) -> RelayField {
    let f = lit(&field.name);
    let (mut expr, mut ty) = match &field.source {
        Source::Constant { value } => (
            format!("f.constant({f}, {})?", lit(&value.to_string())),
            format!("&'static {RT}::RawJson"),
        ),
        Source::Item { image, except } => (
            format!(
                "f.item_except(record.image({}), {})",
                image_expr(*image),
                slice(except)
            ),
            format!("{RT}::ItemExcept<'a>"),
        ),
        Source::Payload { .. } => unreachable!("payload keys are not fields of their own"),
        Source::Attribute {
            image,
            path,
            dynamo_type,
            except,
            strip_prefix,
            conversion,
        } => {
            let (expr, ty) = attribute_code(&f, *image, path, *dynamo_type, except);
            let expr = match strip_prefix {
                Some(prefix) => format!(
                    "{expr}.map(|v| f.strip_prefix({f}, v, {})).transpose()?",
                    lit(prefix)
                ),
                None => expr,
            };
            let (expr, ty) = match conversion {
                Some(conversion) => convert(&f, expr, *dynamo_type, *conversion),
                None => (expr, ty),
            };
            // An attribute is read as an `Option`: absent values are skipped, or refused
            // below when the field is required.
            if field.required {
                (format!("f.required({f}, {expr})?"), ty)
            } else {
                (expr, format!("::std::option::Option<{ty}>"))
            }
        }
    };
    if matches!(field.source, Source::Constant { .. } | Source::Item { .. }) && !field.required {
        // Always there; `required: false` leaves it out of the schema's `required` list, so
        // the struct says the same.
        expr = format!("::std::option::Option::Some({expr})");
        ty = format!("::std::option::Option<{ty}>");
    }
    RelayField {
        ident,
        name: f,
        ty,
        expr,
        optional: !field.required,
    }
}

/// Reading an attribute (or a key inside a map) of its declared type: an `Option`.
fn attribute_code(
    f: &str,
    image: Image,
    path: &[String],
    dynamo_type: DynamoType,
    except: &[String],
) -> (String, String) {
    let image = image_expr(image);
    let value = match path {
        [attribute] => format!("record.get({image}, {})", lit(attribute)),
        segments => {
            let keys: Vec<String> = segments.iter().map(|s| lit(s)).collect();
            format!(
                "f.path({f}, record.image({image}), &[{}])?",
                keys.join(", ")
            )
        }
    };
    match dynamo_type {
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
        DynamoType::M if !except.is_empty() => (
            format!(
                "f.map_except({f}, {value}, {})?",
                slice(&except.iter().cloned().collect())
            ),
            format!("{RT}::ItemExcept<'a>"),
        ),
        other => (
            format!("f.typed({f}, {}, {value})?", lit(other.as_str())),
            format!("{RT}::Attr<'a>"),
        ),
    }
}

/// A declared change of JSON type, applied inside the `Option`.
fn convert(f: &str, expr: String, from: DynamoType, conversion: Conversion) -> (String, String) {
    let number = format!("{RT}::Number<'a>");
    let (convert, ty, fallible) = match conversion {
        Conversion::StringToNumber => (format!("f.string_to_number({f}, v)"), number, true),
        Conversion::ToInteger if from == DynamoType::N => {
            (format!("f.to_integer({f}, v.as_str())"), number, true)
        }
        Conversion::ToInteger => (format!("f.to_integer({f}, v)"), number, true),
        Conversion::StringToBoolean => (
            format!("f.string_to_boolean({f}, v)"),
            "bool".to_owned(),
            true,
        ),
        Conversion::NumberToString => ("v.as_str()".to_owned(), "&'a str".to_owned(), false),
        Conversion::BooleanToString => (
            "if v { \"true\" } else { \"false\" }".to_owned(),
            "&'a str".to_owned(),
            false,
        ),
    };
    let expr = if fallible {
        format!("{expr}.map(|v| {convert}).transpose()?")
    } else {
        format!("{expr}.map(|v| {convert})")
    };
    (expr, ty)
}
