//! Static verification of consumer rules against the events they can receive: a pattern that no
//! event's schema can satisfy deploys fine and never fires, so it is an error here, located in
//! outbox.yaml with the reason; a pattern every event of its types satisfies is a warning.
//!
//! A rule can receive exactly the events the consumer lists (its `source` and `detail-type`
//! come from them), so only its content pattern (on `detail`) can be dead. A field is judged
//! against the detail's JSON Schema: its type, its `enum`, whether it is required, whether the
//! detail is closed (`additionalProperties: false`).

use serde_json::Value;

use crate::diag::Diagnostic;
use crate::pattern::{AnythingBut, Condition, Field, Node, Pattern, condition_matches};
use crate::plan::schema::Schema;
use crate::plan::{EventPlan, Plan};
use crate::yaml_index::Path;

/// Errors and warnings about every consumer's pattern, judged against the planned events'
/// detail schemas.
pub fn check(plan: &Plan) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for consumer in &plan.consumers {
        let name = &consumer.name;
        let Some(pattern) = &consumer.pattern else {
            continue;
        };
        let at = Path::root().key("consumers").key(name).key("pattern");
        let parsed = match Pattern::from_value(&serde_json::json!({ "detail": pattern })) {
            Ok(parsed) => parsed,
            Err(e) => {
                out.push(
                    Diagnostic::error(
                        pattern_path(&at, &e.path),
                        format!("EventBridge would refuse this pattern: {}", e.message),
                    )
                    .hint(
                        "see the operators EventBridge takes in the README's outbox.yaml reference",
                    ),
                );
                continue;
            }
        };
        let Some((_, Field::Nested(detail))) = parsed.root.fields.first() else {
            continue;
        };
        let events: Vec<&EventPlan> = plan
            .events
            .iter()
            .filter(|c| consumer.events.contains(&c.name))
            .collect();
        let verdicts: Vec<Vec<Problem>> = events
            .iter()
            .map(|event| {
                let mut problems = Vec::new();
                node(
                    detail,
                    Schema::of(&event.detail.schema),
                    &mut Vec::new(),
                    &mut problems,
                );
                for p in &mut problems {
                    p.reason = format!("in {}, {}", event.name, p.reason);
                }
                problems
            })
            .collect();
        if !events.is_empty() && verdicts.iter().all(|v| !v.is_empty()) {
            let mut seen = std::collections::BTreeSet::new();
            for problem in verdicts.into_iter().flatten() {
                if seen.insert((problem.path.clone(), problem.reason.clone())) {
                    let path = problem.path.iter().fold(at.clone(), |p, k| {
                        match k.strip_prefix('[').and_then(|i| i.strip_suffix(']')) {
                            Some(i) => p.index(i.parse().unwrap_or_default()),
                            None => p.key(k),
                        }
                    });
                    out.push(
                        Diagnostic::error(
                            path,
                            format!("the rule can never match: {}", problem.reason),
                        )
                        .hint("the consumer would deploy and never receive an event; fix the field or the value"),
                    );
                }
            }
        } else if !events.is_empty()
            && events
                .iter()
                .all(|event| always(detail, Schema::of(&event.detail.schema)))
        {
            out.push(
                Diagnostic::warning(
                    at.clone(),
                    "this pattern matches every event the consumer receives, so it filters nothing",
                )
                .hint("leave `pattern` out, or make its conditions say what the consumer wants"),
            );
        }
    }
    out
}

/// `detail.a.b[0]` (a pattern error's path) as a path under the consumer's `pattern`.
fn pattern_path(at: &Path, pattern_path: &str) -> Path {
    let inner = pattern_path.strip_prefix("detail").unwrap_or(pattern_path);
    let mut path = at.clone();
    for part in inner.split('.').filter(|p| !p.is_empty()) {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        path = path.key(key);
        if let Some(i) = index {
            path = path.index(i);
        }
    }
    path
}

struct Problem {
    /// Keys, and `[i]` for an index (an `$or` branch).
    path: Vec<String>,
    reason: String,
}

/// A field's schema in an object schema, and whether the object always has it.
fn property<'a>(schema: Schema<'a>, key: &str) -> (Option<Schema<'a>>, bool) {
    (schema.property(key), schema.requires(key))
}

/// Collects why `pattern` cannot match an object of `schema` (nothing: it can).
fn node(pattern: &Node, schema: Schema, path: &mut Vec<String>, out: &mut Vec<Problem>) {
    for (key, field) in &pattern.fields {
        path.push(key.clone());
        let (property, required) = property(schema, key);
        match (property, field) {
            (None, Field::Leaf(conditions)) if conditions.contains(&Condition::Exists(false)) => {}
            (None, _) if schema.closed() => {
                let known: Vec<&str> = schema.properties().map(|(name, _)| name).collect();
                out.push(Problem {
                    path: path.clone(),
                    reason: format!(
                        "`{key}` is not a field of the detail{} (fields: {})",
                        crate::diag::suggestion(key, known.iter().copied()),
                        known.join(", ")
                    ),
                });
            }
            (None, _) => {}
            (Some(property), Field::Leaf(conditions)) => {
                let reasons: Vec<String> = conditions
                    .iter()
                    .filter_map(|c| leaf(c, property, required, key).err())
                    .collect();
                if reasons.len() == conditions.len() {
                    out.push(Problem {
                        path: path.clone(),
                        reason: reasons.join("; "),
                    });
                }
            }
            (Some(property), Field::Nested(inner)) => {
                let object = if property.admits("object") {
                    Some(property)
                } else if property.admits("array") {
                    property.items().filter(|i| i.admits("object"))
                } else {
                    None
                };
                match object {
                    Some(object) => node(inner, object, path, out),
                    None => out.push(Problem {
                        path: path.clone(),
                        reason: format!(
                            "`{key}` is a {}, not an object with fields",
                            property.describe()
                        ),
                    }),
                }
            }
        }
        path.pop();
    }
    if !pattern.any_of.is_empty() {
        let branches: Vec<Vec<Problem>> = pattern
            .any_of
            .iter()
            .enumerate()
            .map(|(i, branch)| {
                let mut problems = Vec::new();
                path.extend(["$or".to_owned(), format!("[{i}]")]);
                node(branch, schema, path, &mut problems);
                path.truncate(path.len() - 2);
                problems
            })
            .collect();
        if branches.iter().all(|b| !b.is_empty()) {
            out.extend(branches.into_iter().flatten());
        }
    }
}

/// Whether a leaf condition can hold for a value of `schema`, or why not.
fn leaf(condition: &Condition, schema: Schema, required: bool, key: &str) -> Result<(), String> {
    // An array field matches through its elements (items without a schema: any value).
    static ANY: Value = Value::Null;
    let values = if schema.admits("array") && schema.types().is_some() {
        schema.items().unwrap_or(Schema::of(&ANY))
    } else {
        schema
    };
    let allowed = values.enum_values();
    let kind = |wanted: &str, what: &str| {
        if values.admits(wanted) {
            Ok(())
        } else {
            Err(format!(
                "`{key}` is a {}; {what} only matches a {wanted}",
                values.describe()
            ))
        }
    };
    let in_enum = |test: &dyn Fn(&Value) -> bool, what: String| match allowed {
        Some(values) if !values.iter().any(test) => Err(format!(
            "{what} is none of the values `{key}` can have ({})",
            values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => Ok(()),
    };
    match condition {
        Condition::Exists(true) => Ok(()),
        Condition::Exists(false) if required => Err(format!(
            "`{key}` is always present, so `exists: false` never holds"
        )),
        Condition::Exists(false) => Ok(()),
        Condition::String(s) => {
            kind("string", &format!("\"{s}\""))?;
            in_enum(&|v| v.as_str() == Some(s.as_str()), format!("\"{s}\""))
        }
        Condition::Number(n) => {
            kind("number", &n.text)?;
            in_enum(&|v| n.matches(v), n.text.clone())
        }
        Condition::Bool(b) => kind("boolean", &format!("{b}")),
        Condition::Null => kind("null", "null"),
        Condition::Numeric(_) => kind("number", "numeric matching"),
        Condition::Prefix(..)
        | Condition::Suffix(..)
        | Condition::EqualsIgnoreCase(_)
        | Condition::Wildcard(_)
        | Condition::Cidr(..) => {
            let what = match condition {
                Condition::Prefix(..) => "prefix matching",
                Condition::Suffix(..) => "suffix matching",
                Condition::EqualsIgnoreCase(_) => "equals-ignore-case",
                Condition::Wildcard(_) => "wildcard matching",
                _ => "CIDR matching",
            };
            kind("string", what)?;
            in_enum(&|v| condition_matches(condition, v), format!("the {what}"))
        }
        Condition::AnythingBut(_) => match allowed {
            Some(values) if values.iter().all(|v| !condition_matches(condition, v)) => Err(
                format!("`anything-but` excludes every value `{key}` can have"),
            ),
            _ => Ok(()),
        },
    }
}

/// Whether an `anything-but` cannot exclude any value of `schema`: its values are of another
/// type (strings against a number), so every value passes.
fn excludes_no_value_of(but: &AnythingBut, schema: Schema) -> bool {
    let Some(types) = schema.types() else {
        return false;
    };
    if types.contains(&"array") {
        return false;
    }
    match but {
        AnythingBut::Numbers(_) => !types.iter().any(|t| matches!(*t, "number" | "integer")),
        _ => !types.contains(&"string"),
    }
}

/// Whether `pattern` holds for every object `schema` describes (a filter that filters nothing).
fn always(pattern: &Node, schema: Schema) -> bool {
    let fields = pattern.fields.iter().all(|(key, field)| {
        let (property, required) = property(schema, key);
        match (property, field) {
            (Some(property), Field::Leaf(conditions)) if required => {
                let string = property.types() == Some(vec!["string"]);
                conditions.iter().any(|c| match c {
                    Condition::Exists(true) => !property.admits("object"),
                    Condition::AnythingBut(but) => excludes_no_value_of(but, property),
                    Condition::Prefix(p, _) | Condition::Suffix(p, _) => p.is_empty() && string,
                    Condition::Wildcard(w) => w == "*" && string,
                    _ => false,
                }) || property.enum_values().is_some_and(|values| {
                    values
                        .iter()
                        .all(|v| conditions.iter().any(|c| condition_matches(c, v)))
                })
            }
            (Some(property), Field::Nested(inner)) if required => {
                property.types() == Some(vec!["object"]) && always(inner, property)
            }
            (None, Field::Leaf(conditions)) => {
                schema.closed() && conditions.contains(&Condition::Exists(false))
            }
            _ => false,
        }
    });
    fields && (pattern.any_of.is_empty() || pattern.any_of.iter().any(|b| always(b, schema)))
}
