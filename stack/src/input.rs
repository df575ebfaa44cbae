//! What a consumer receives instead of the whole event (`input` in outbox.yaml), with
//! EventBridge's semantics: the generator checks and renders it (an input transformer on a
//! Classic bus, a JSONata transformer on a Custom Event Bus), `relay dev` shows it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a consumer's target receives instead of the whole event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Input {
    /// The detail only (`$.detail`).
    Detail,
    /// One value, by path.
    Path(String),
    /// A JSON object of fields, each a path (`$.`...) or a constant string.
    Template(Vec<(String, String)>),
    /// The event with its metadata (a Custom Event Bus's `WITH_METADATA`): `{ Data, Metadata,
    /// SystemMetadata }`, `Data` the whole event.
    Metadata,
}

impl Input {
    /// What a target receives, for people.
    pub fn describe(input: Option<&Input>) -> String {
        match input {
            None => "the whole event".into(),
            Some(Input::Detail) => "the detail".into(),
            Some(Input::Metadata) => "the event with its metadata".into(),
            Some(Input::Path(path)) => format!("`{path}`"),
            Some(Input::Template(fields)) => {
                let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("`{{ {} }}`", fields.join(", "))
            }
        }
    }

    /// What the target receives of `envelope` (EventBridge's InputPath and InputTransformer
    /// semantics: a path that is not in the event gives nothing, `null` in a template).
    /// `Metadata` gives the envelope as a Custom Event Bus's `Data` with no system metadata
    /// (see [`with_metadata`] for the whole).
    pub fn apply(&self, envelope: &Value) -> Value {
        match self {
            Input::Detail => envelope["detail"].clone(),
            Input::Metadata => with_metadata(envelope, &serde_json::Map::new()),
            Input::Path(path) => lookup(envelope, path).cloned().unwrap_or(Value::Null),
            Input::Template(fields) => fields
                .iter()
                .map(|(name, value)| {
                    let value = if is_path(value) {
                        lookup(envelope, value).cloned().unwrap_or(Value::Null)
                    } else {
                        Value::String(value.clone())
                    };
                    (name.clone(), value)
                })
                .collect::<serde_json::Map<_, _>>()
                .into(),
        }
    }
}

impl Input {
    /// The JSONata transformer of a Custom Event Bus subscriber that gives its target what
    /// this input gives on a Classic bus (`{% ... %}`; `None` for `Metadata`, which is the
    /// `WITH_METADATA` transformer). A PutEvents event is `$events.Data`; a path that is not
    /// in the event gives `null`, as the Classic input transformer does, not JSONata's
    /// nothing.
    pub fn jsonata(&self) -> Option<String> {
        let body = match self {
            Input::Metadata => return None,
            Input::Detail => jsonata_path("$.detail")?,
            Input::Path(path) => jsonata_path(path)?,
            Input::Template(fields) => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|(name, value)| {
                        let name = serde_json::to_string(name).expect("strings serialize");
                        let value = if is_path(value) {
                            jsonata_path(value).unwrap_or_else(|| "null".into())
                        } else {
                            serde_json::to_string(value).expect("strings serialize")
                        };
                        format!("{name}: {value}")
                    })
                    .collect();
                format!("{{{}}}", fields.join(", "))
            }
        };
        Some(format!("{{% {body} %}}"))
    }
}

/// A path (`$.detail.order.lines[0]`) as JSONata over `$events.Data`, every field name
/// quoted (`detail-type` is a field, not a subtraction), `null` where the event has no value.
pub fn jsonata_path(path: &str) -> Option<String> {
    let mut expression = String::from("$events.Data");
    for step in path_segments(path)? {
        match step {
            Step::Key(key) if key.contains('`') => return None,
            Step::Key(key) => {
                expression.push_str(".`");
                expression.push_str(key);
                expression.push('`');
            }
            Step::Index(i) => expression.push_str(&format!("[{i}]")),
        }
    }
    Some(format!("($v := {expression}; $exists($v) ? $v : null)"))
}

/// What a `WITH_METADATA` subscriber receives: the event as `Data`, the producer's metadata
/// (none for PutEvents) and the bus's system metadata, every value a string.
pub fn with_metadata(envelope: &Value, system: &serde_json::Map<String, Value>) -> Value {
    serde_json::json!({ "Data": envelope, "Metadata": {}, "SystemMetadata": system })
}

/// The system metadata a Custom Event Bus gives an event (`$events.SystemMetadata`): every
/// value a string, those without a value left out. `event_id` is the bus's id for it.
pub fn system_metadata(
    event_id: &str,
    source: &str,
    detail_type: &str,
    group: Option<&str>,
    deduplication_id: Option<&str>,
) -> serde_json::Map<String, Value> {
    let mut system = serde_json::Map::new();
    system.insert("aws:EventId".into(), event_id.into());
    system.insert("aws:Source".into(), source.into());
    system.insert("aws:DetailType".into(), detail_type.into());
    system.insert("aws:DeliveryType".into(), "LIVE".into());
    if let Some(group) = group {
        system.insert("EventGroupId".into(), group.into());
    }
    if let Some(id) = deduplication_id {
        system.insert("DeduplicationId".into(), id.into());
    }
    system.insert("ContentType".into(), "application/json".into());
    system
}

/// Whether a template value is a path into the event (else a constant).
pub fn is_path(value: &str) -> bool {
    value == "$" || value.starts_with("$.")
}

/// A step of a path into an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// A field of an object.
    Key(&'a str),
    /// An item of a list.
    Index(usize),
}

/// The steps of a path `$.a.b[0].c` (`None` if it is not one).
pub fn path_segments(path: &str) -> Option<Vec<Step<'_>>> {
    if path == "$" {
        return Some(Vec::new());
    }
    let mut steps = Vec::new();
    for segment in path.strip_prefix("$.")?.split('.') {
        let (key, mut indexes) = match segment.find('[') {
            Some(at) => (&segment[..at], &segment[at..]),
            None => (segment, ""),
        };
        if key.is_empty() || key.contains([']', '*', ' ']) {
            return None;
        }
        steps.push(Step::Key(key));
        while !indexes.is_empty() {
            let close = indexes.find(']')?;
            steps.push(Step::Index(indexes.get(1..close)?.parse().ok()?));
            indexes = indexes.get(close + 1..)?;
            if !indexes.is_empty() && !indexes.starts_with('[') {
                return None;
            }
        }
    }
    Some(steps)
}

/// The value at `path` (`$.a.b[0]`) in `value`; `None` when it is not there or not a path.
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path_segments(path)?
        .into_iter()
        .try_fold(value, |v, step| match step {
            Step::Key(key) => v.get(key),
            Step::Index(i) => v.get(i),
        })
}

/// What a target receives of `envelope` on a Custom Event Bus: the envelope itself (`RAW`,
/// `input` is `None`), `with_metadata`, or the JSONata transformer [`Input::jsonata`]
/// evaluated by a JSONata implementation (jsonata-rs) over `$events`, `system` the bus's
/// system metadata.
#[cfg(feature = "jsonata")]
pub fn receives(
    input: Option<&Input>,
    envelope: &Value,
    system: &serde_json::Map<String, Value>,
) -> Result<Value, String> {
    let Some(input) = input else {
        return Ok(envelope.clone());
    };
    let events = with_metadata(envelope, system);
    let Some(expression) = input.jsonata() else {
        return Ok(events);
    };
    let body = expression
        .strip_prefix("{%")
        .and_then(|e| e.strip_suffix("%}"))
        .unwrap_or(&expression);
    let arena = bumpalo::Bump::new();
    let jsonata = jsonata_rs::JsonAta::new(body, &arena).map_err(|e| e.to_string())?;
    let bindings = std::collections::HashMap::from([("events", &events)]);
    let result = jsonata
        .evaluate(None, Some(&bindings))
        .map_err(|e| e.to_string())?;
    to_json(result)
}

/// A JSONata value as JSON: numbers as the 64-bit floats JSONata computes with (an integral one
/// as an integer, as JSON text shows it), object fields in name order (jsonata-rs keeps them in
/// a hash map), nothing (`undefined`) as `null`. Not through jsonata-rs's own serializer, which
/// prints 1.2345678901234568e29 as `1.23456789012345`.
#[cfg(feature = "jsonata")]
fn to_json<'a>(value: &'a jsonata_rs::Value<'a>) -> Result<Value, String> {
    Ok(if value.is_undefined() || value.is_null() {
        Value::Null
    } else if value.is_bool() {
        Value::Bool(value.as_bool())
    } else if value.is_number() {
        let n = value.as_f64();
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        if n.fract() == 0.0 && n.abs() <= EXACT && !(n == 0.0 && n.is_sign_negative()) {
            Value::from(n as i64)
        } else {
            serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
        }
    } else if value.is_string() {
        Value::String(value.as_str().into_owned())
    } else if value.is_array() {
        Value::Array(
            value
                .members()
                .map(|v| to_json(v))
                .collect::<Result<_, _>>()?,
        )
    } else if value.is_object() {
        let mut fields: Vec<(String, Value)> = value
            .entries()
            .map(|(k, v)| Ok((k.to_string(), to_json(v)?)))
            .collect::<Result<_, String>>()?;
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        Value::Object(fields.into_iter().collect())
    } else {
        return Err("the expression gives a function, not JSON".into());
    })
}
