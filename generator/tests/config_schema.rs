//! The committed JSON Schema of `outbox.yaml` accepts every example config and rejects what the
//! generator rejects for its shape.

mod common;

use std::fs;
use std::path::Path;

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../generated/outbox.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

fn yaml(text: &str) -> serde_json::Value {
    serde_saphyr::from_str_with_options(text, outbox::load::yaml_options())
        .expect("example configs parse")
}

#[test]
fn every_example_config_is_valid_against_the_schema() {
    let validator = schema();
    let mut configs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../outbox.yaml")];
    configs.extend(
        common::case_dirs()
            .into_iter()
            .filter(|d| d.file_name().unwrap().to_string_lossy().starts_with("ok-"))
            .map(|d| d.join("outbox.yaml")),
    );
    assert!(configs.len() >= 4);
    for config in configs {
        let value = yaml(&fs::read_to_string(&config).unwrap());
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", config.display());
    }
}

#[test]
fn the_schema_rejects_unknown_fields_wrong_versions_and_bad_types() {
    let validator = schema();
    let base = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/ok-minimal/outbox.yaml"),
    )
    .unwrap();
    assert!(validator.is_valid(&yaml(&base)));
    for (old, new) in [
        ("source: shop.users", "sorce: shop.users"),
        ("version: 1", "version: 2"),
        ("age: N", "age: INT"),
        ("on: [INSERT]", "on: [UPSERT]"),
        ("sqs: { queue: welcome }", "pubsub: { topic: welcome }"),
        ("sqs: { queue: welcome }", "kinesis: { stream: welcome }"),
    ] {
        assert!(base.contains(old), "{old}");
        let changed = yaml(&base.replace(old, new));
        assert!(!validator.is_valid(&changed), "the schema accepted `{new}`");
    }
}
