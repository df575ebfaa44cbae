//! `outbox.schema.json`: the JSON Schema of `outbox.yaml`, generated from the config types so
//! editors autocomplete and check the file exactly as the generator reads it.

use schemars::generate::SchemaSettings;

use crate::config::Config;

/// Where the schema is written, relative to the output directory.
pub const PATH: &str = "outbox.schema.json";

/// The schema as pretty-printed JSON (draft 2020-12).
pub fn render() -> String {
    let schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Config>();
    let mut object = serde_json::Map::new();
    object.insert(
        "$comment".into(),
        format!("{} It describes outbox.yaml.", crate::generated_by(None)).into(),
    );
    if let Some(fields) = schema.as_object() {
        object.extend(fields.clone());
    }
    let mut text = serde_json::to_string_pretty(&object).expect("a JSON value always serializes");
    text.push('\n');
    text
}
