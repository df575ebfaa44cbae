//! A typed view of the JSON Schemas the plan gives each event's detail (and that `breaking` reads
//! back from a generated tree): the one place that knows how a schema spells a field's type,
//! whether the object requires it, its nested object or list items, its allowed values. The
//! pattern and path checks, the catalog, the bindings and `breaking` all walk schemas through it.

use serde_json::Value;

/// A node of a JSON Schema (an object's, a field's, a list's items).
#[derive(Debug, Clone, Copy)]
pub struct Schema<'a>(&'a Value);

impl<'a> Schema<'a> {
    /// The view of a schema value.
    pub fn of(value: &'a Value) -> Schema<'a> {
        Schema(value)
    }

    /// The schema as JSON.
    pub fn value(self) -> &'a Value {
        self.0
    }

    /// Its `type`s (one, or a list), if it declares any.
    pub fn types(self) -> Option<Vec<&'a str>> {
        match self.0.get("type")? {
            Value::String(t) => Some(vec![t.as_str()]),
            Value::Array(ts) => Some(ts.iter().filter_map(Value::as_str).collect()),
            _ => None,
        }
    }

    /// Its `type` as written (a name or a list), for showing.
    pub fn type_json(self) -> Option<&'a Value> {
        self.0.get("type")
    }

    /// Its one `type`, when it declares exactly one.
    pub fn single_type(self) -> Option<&'a str> {
        self.0.get("type").and_then(Value::as_str)
    }

    /// Whether a value of JSON type `wanted` can be one of it (no `type`: any value can; an
    /// integer is a number).
    pub fn admits(self, wanted: &str) -> bool {
        self.types().is_none_or(|ts| {
            ts.contains(&wanted) || (wanted == "number" && ts.contains(&"integer"))
        })
    }

    /// Its types in words (`string or null`), `any value` without one.
    pub fn describe(self) -> String {
        match self.types() {
            Some(ts) => ts.join(" or "),
            None => "any value".into(),
        }
    }

    /// An object's fields, in the schema's order.
    pub fn properties(self) -> impl Iterator<Item = (&'a str, Schema<'a>)> {
        self.0
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, schema)| (name.as_str(), Schema(schema)))
    }

    /// Whether it declares fields at all (`properties`).
    pub fn has_properties(self) -> bool {
        self.0.get("properties").is_some_and(Value::is_object)
    }

    /// An object's field.
    pub fn property(self, name: &str) -> Option<Schema<'a>> {
        self.0
            .get("properties")
            .and_then(|p| p.get(name))
            .map(Schema)
    }

    /// The names of the fields an object always has (`required`).
    pub fn required(self) -> Vec<&'a str> {
        self.0
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect()
    }

    /// Whether an object always has the field `name`.
    pub fn requires(self, name: &str) -> bool {
        self.required().contains(&name)
    }

    /// Whether an object refuses fields it does not declare (`additionalProperties: false`).
    pub fn closed(self) -> bool {
        self.0.get("additionalProperties") == Some(&Value::Bool(false))
    }

    /// Whether an object explicitly allows undeclared fields (`additionalProperties: true`).
    pub fn explicitly_open(self) -> bool {
        self.0.get("additionalProperties") == Some(&Value::Bool(true))
    }

    /// A list's items.
    pub fn items(self) -> Option<Schema<'a>> {
        self.0.get("items").map(Schema)
    }

    /// The values it allows (`enum`).
    pub fn enum_values(self) -> Option<&'a Vec<Value>> {
        self.0.get("enum").and_then(Value::as_array)
    }

    /// The one value it allows (`const`).
    pub fn constant(self) -> Option<&'a Value> {
        self.0.get("const")
    }

    /// Its string `format`.
    pub fn format(self) -> Option<&'a str> {
        self.0.get("format").and_then(Value::as_str)
    }

    /// Its `description`.
    pub fn description(self) -> Option<&'a str> {
        self.0.get("description").and_then(Value::as_str)
    }

    /// Whether a string is encoded (`contentEncoding`, base64 for binary attributes).
    pub fn encoded(self) -> bool {
        self.0.get("contentEncoding").is_some()
    }

    /// Whether a list holds no duplicates (`uniqueItems`: a DynamoDB set).
    pub fn unique_items(self) -> bool {
        self.0.get("uniqueItems") == Some(&Value::Bool(true))
    }
}
