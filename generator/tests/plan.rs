//! The resolved model: what a detail field means (its source, requiredness, schema) decided
//! once, in the plan, for the cases where a second derivation went wrong.

use std::path::Path;

use outbox::plan::detail::Source;
use outbox::plan::{EventPlan, Plan};

/// The example config with `OrderStatusChanged`'s detail replaced by `detail`.
fn example_with_order_detail(on: &str, detail: &str) -> Plan {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let example = std::fs::read_to_string(root.join("outbox.yaml")).unwrap();
    let original = "        on: [MODIFY]\n        when:\n          changed: [status]\n        source: myapp.orders\n        detail:\n          orderId: { from: new.pk, strip-prefix: \"ORDER#\" }\n          previousStatus: old.status\n          status: new.status\n          order: { from: new, except: [pk, sk] }\n";
    assert!(
        example.contains(original),
        "the example's OrderStatusChanged"
    );
    // The consumer's pattern reads `status`, which some of these details leave out.
    let config = example
        .replace(
            original,
            &format!("        on: {on}\n        source: myapp.orders\n{detail}"),
        )
        .replace("    pattern:\n      status: [SHIPPED]\n", "");
    let generated =
        outbox::generate_text("outbox.yaml", config.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(generated.warnings.error_count(), 0);
    let loaded = outbox::load::load("outbox.yaml", config.as_bytes()).unwrap();
    outbox::plan::plan(&loaded.config, "outbox.yaml")
}

fn event<'a>(plan: &'a Plan, name: &str) -> &'a EventPlan {
    plan.events.iter().find(|e| e.name == name).unwrap()
}

fn required(event: &EventPlan) -> Vec<&str> {
    event.detail.schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn rest_keeps_an_attribute_a_field_reads_from_the_other_image() {
    let plan = example_with_order_detail(
        "[MODIFY]",
        "        detail:\n          orderId: { from: new.pk, strip-prefix: \"ORDER#\" }\n          previousStatus: old.status\n        rest: { from: new, except: [pk, sk] }\n",
    );
    let order = event(&plan, "OrderStatusChanged");
    let rest = order.detail.rest.as_ref().unwrap();
    assert!(!rest.except.contains("status"), "{:?}", rest.except);
    assert!(rest.fields.iter().any(|f| f.name == "status" && f.required));
    assert!(order.detail.schema["properties"]["status"].is_object());
    assert!(required(order).contains(&"status"));
    // What a field takes from the same image, the field's own name and `except` stay out.
    for left_out in ["pk", "sk", "orderId", "previousStatus"] {
        assert!(rest.except.contains(left_out), "{left_out}");
    }
    let plan = example_with_order_detail(
        "[MODIFY]",
        "        detail:\n          currentStatus: new.status\n        rest: { from: new }\n",
    );
    let rest = event(&plan, "OrderStatusChanged")
        .detail
        .rest
        .clone()
        .unwrap();
    assert!(rest.except.contains("status"));
}

#[test]
fn a_value_some_operations_lack_is_optional_everywhere() {
    let plan = example_with_order_detail(
        "[INSERT, MODIFY]",
        "        detail:\n          orderId: { from: new.pk, strip-prefix: \"ORDER#\" }\n          previousStatus: old.status\n          before: { from: old, except: [pk, sk] }\n        rest: { from: old, except: [pk, sk] }\n",
    );
    let order = event(&plan, "OrderStatusChanged");
    let field = |name: &str| order.detail.fields.iter().find(|f| f.name == name).unwrap();
    // The old status is declared required, but INSERT records have no old image.
    assert!(!field("previousStatus").required);
    assert!(field("orderId").required);
    // The whole old image is always an object (empty on INSERT), with nothing required in it.
    assert!(field("before").required);
    assert!(field("before").schema.get("required").is_none());
    assert!(matches!(field("before").source, Source::Item { .. }));
    let rest = order.detail.rest.as_ref().unwrap();
    assert!(rest.fields.iter().all(|f| !f.required));
    assert_eq!(required(order), ["before", "orderId"]);

    let plan = example_with_order_detail(
        "[MODIFY, REMOVE]",
        "        detail:\n          orderId: { from: old.pk, strip-prefix: \"ORDER#\" }\n        rest: { from: new, except: [pk, sk] }\n",
    );
    let order = event(&plan, "OrderStatusChanged");
    assert!(
        order
            .detail
            .rest
            .as_ref()
            .unwrap()
            .fields
            .iter()
            .all(|f| !f.required)
    );
    assert_eq!(required(order), ["orderId"]);
}

#[test]
fn a_declared_format_reaches_the_schema_the_relay_asserts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let example = std::fs::read_to_string(root.join("outbox.yaml")).unwrap();
    let config = example.replace(
        "email: { type: S, required: true, format: email }",
        "email: { type: S, required: true, format: idn-email }",
    );
    assert_ne!(config, example);
    let loaded = outbox::load::load("outbox.yaml", config.as_bytes()).unwrap();
    let plan = outbox::plan::plan(&loaded.config, "outbox.yaml");
    let user = event(&plan, "UserCreated");
    assert_eq!(
        user.detail.schema["properties"]["email"]["format"],
        "idn-email"
    );
}
