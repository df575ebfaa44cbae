//! What a consumer receives instead of the whole event (`input` in outbox.yaml), with
//! EventBridge's semantics: the generator checks and renders it, `relay dev` shows it.

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
}

impl Input {
    /// What a target receives, for people.
    pub fn describe(input: Option<&Input>) -> String {
        match input {
            None => "the whole event".into(),
            Some(Input::Detail) => "the detail".into(),
            Some(Input::Path(path)) => format!("`{path}`"),
            Some(Input::Template(fields)) => {
                let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("`{{ {} }}`", fields.join(", "))
            }
        }
    }

    /// What the target receives of `envelope` (EventBridge's InputPath and InputTransformer
    /// semantics: a path that is not in the event gives nothing, `null` in a template).
    pub fn apply(&self, envelope: &Value) -> Value {
        match self {
            Input::Detail => envelope["detail"].clone(),
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

fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path_segments(path)?
        .into_iter()
        .try_fold(value, |v, step| match step {
            Step::Key(key) => v.get(key),
            Step::Index(i) => v.get(i),
        })
}
