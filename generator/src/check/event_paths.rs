//! Paths into events that consumers declare (an input path or template, a Kinesis partition
//! key), checked against the events' schemas after planning: a path no event of the consumer
//! has would deliver nothing (or fail delivery), so it is an error located in outbox.yaml; a
//! path into an open object that the schema does not declare is a warning.

use crate::diag::Diagnostic;
use crate::plan::schema::Schema;
use crate::plan::{
    ConsumerPlan, EventPlan, InputPlan, Plan, Step, TargetPlan, is_path, path_segments,
};
use crate::yaml_index::Path;

/// The fields of the EventBridge envelope every event has.
const ENVELOPE: [&str; 9] = [
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
];

/// Errors and warnings about every consumer's paths into its events.
pub fn check(plan: &Plan) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for consumer in &plan.consumers {
        let at = Path::root().key("consumers").key(&consumer.name);
        let events: Vec<&EventPlan> = plan
            .events
            .iter()
            .filter(|e| consumer.events.contains(&e.name))
            .collect();
        for (path, text, scalar) in declared_paths(consumer, &at) {
            check_path(&events, &path, &text, scalar, &mut out);
        }
    }
    out
}

/// A consumer's paths into its events: where each is declared, the path, and whether it must
/// lead to a scalar (a partition key).
fn declared_paths(consumer: &ConsumerPlan, at: &Path) -> Vec<(Path, String, bool)> {
    let mut paths = Vec::new();
    if let TargetPlan::Kinesis { partition_key, .. } = &consumer.target {
        paths.push((
            at.key("target").key("kinesis").key("partition-key"),
            partition_key.clone(),
            true,
        ));
    }
    match &consumer.input {
        Some(InputPlan::Path(path)) => {
            paths.push((at.key("input").key("path"), path.clone(), false));
        }
        Some(InputPlan::Template(fields)) => {
            for (field, value) in fields {
                if is_path(value) {
                    let here = at.key("input").key("template").key(field);
                    paths.push((here, value.clone(), false));
                }
            }
        }
        Some(InputPlan::Detail | InputPlan::Metadata) | None => {}
    }
    paths
}

/// What a path leads to in one event.
enum Found<'a> {
    /// A node of the schema (`None`: somewhere the schema leaves open).
    Node(Option<Schema<'a>>),
    /// Not there: why.
    Missing(String),
    /// Maybe there: an open object does not declare it.
    Undeclared(String),
}

fn check_path(
    events: &[&EventPlan],
    at: &Path,
    text: &str,
    scalar: bool,
    out: &mut Vec<Diagnostic>,
) {
    let Some(segments) = path_segments(text) else {
        out.push(
            Diagnostic::error(at.clone(), format!("`{text}` is not a path into the event")).hint(
                "a path is `$.` and field names joined by `.` (`[0]` for a list item), for example `$.detail.orderId`",
            ),
        );
        return;
    };
    let mut missing = Vec::new();
    let mut undeclared = Vec::new();
    for event in events {
        match find(event, &segments) {
            Found::Node(node) => {
                if scalar && let Some(kind) = node.and_then(non_scalar) {
                    out.push(Diagnostic::error(
                        at.clone(),
                        format!("`{text}` is {kind} in {}: a partition key must be a string or a number", event.name),
                    ));
                }
            }
            Found::Missing(why) => missing.push(format!("in {}, {why}", event.name)),
            Found::Undeclared(why) => undeclared.push(format!("in {}, {why}", event.name)),
        }
    }
    if !missing.is_empty() {
        out.push(
            Diagnostic::error(
                at.clone(),
                format!("`{text}` is not in the event: {}", missing.join("; ")),
            )
            .hint("the target would receive nothing there; see the event's fields in schemas/"),
        );
    } else if !undeclared.is_empty() {
        out.push(
            Diagnostic::warning(
                at.clone(),
                format!("`{text}` may be missing: {}", undeclared.join("; ")),
            )
            .hint("declare the field in the event's detail to make it part of the contract"),
        );
    }
}

fn find<'a>(event: &'a EventPlan, steps: &[Step<'_>]) -> Found<'a> {
    let Some((first, rest)) = steps.split_first() else {
        return Found::Node(None);
    };
    let Step::Key(first) = *first else {
        return Found::Missing("the event is an object, not a list".into());
    };
    if !ENVELOPE.contains(&first) {
        return Found::Missing(format!(
            "`{first}` is not a field of the envelope ({})",
            ENVELOPE.join(", ")
        ));
    }
    if first == "resources" {
        return match rest {
            [] | [Step::Index(_)] => Found::Node(None),
            _ => Found::Missing("`resources` is a list of strings".into()),
        };
    }
    if first != "detail" {
        return match rest.first() {
            Some(_) => Found::Missing(format!("`{first}` is a string")),
            None => Found::Node(None),
        };
    }
    let mut node = Schema::of(&event.detail.schema);
    let mut walked = String::from("detail");
    for step in rest {
        match *step {
            Step::Index(i) => {
                if types(node).contains(&"array") {
                    match node.items() {
                        Some(items) => node = items,
                        None => return Found::Node(None),
                    }
                } else if node.types().is_some() {
                    return Found::Missing(format!(
                        "`{walked}` is {}, not a list",
                        type_name(node)
                    ));
                } else {
                    return Found::Node(None);
                }
                walked.push_str(&format!("[{i}]"));
            }
            Step::Key(key) => {
                if !node.has_properties() {
                    return match non_scalar(node) {
                        None if node.types().is_some() => Found::Missing(format!(
                            "`{walked}` is {} and has no field `{key}`",
                            type_name(node)
                        )),
                        _ => Found::Node(None),
                    };
                }
                match node.property(key) {
                    Some(child) => node = child,
                    None if node.closed() => {
                        let known: Vec<&str> = node.properties().map(|(name, _)| name).collect();
                        return Found::Missing(format!(
                            "`{walked}` has no field `{key}` (its fields: {})",
                            known.join(", ")
                        ));
                    }
                    None => {
                        return Found::Undeclared(format!("`{walked}` does not declare `{key}`"));
                    }
                }
                walked.push('.');
                walked.push_str(key);
            }
        }
    }
    Found::Node(Some(node))
}

fn types(node: Schema<'_>) -> Vec<&str> {
    node.types().unwrap_or_default()
}

fn type_name(node: Schema) -> String {
    let names: Vec<&str> = types(node).into_iter().filter(|t| *t != "null").collect();
    match names.as_slice() {
        [] => "a value".into(),
        [one] => format!(
            "a{} {one}",
            if one.starts_with(['a', 'i', 'o']) {
                "n"
            } else {
                ""
            }
        ),
        many => format!("one of {}", many.join(", ")),
    }
}

/// `Some(what it is)` if a schema node is an object or an array.
fn non_scalar(node: Schema) -> Option<String> {
    types(node)
        .iter()
        .any(|t| *t == "object" || *t == "array")
        .then(|| type_name(node))
}
