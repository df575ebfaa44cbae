//! Every rendering says the same about every detail field: for each good golden case and the
//! committed example, the event's JSON Schema (`schemas/<event>.json`), the relay's `Detail`
//! struct (`relay/src/mapping.rs`) and the generated README's field table agree on which
//! fields exist, which are required, and (where the schema names one) their JSON type. Each
//! reads the plan; a renderer that re-derived a field's meaning would show here.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// What one rendering says about a field: required, and its JSON type if it names one.
type Fields = BTreeMap<String, (bool, Option<String>)>;

fn outputs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut dirs: Vec<PathBuf> = common::good_dirs()
        .into_iter()
        .map(|case| common::expected_dir(&case))
        .filter(|dir| dir.join("relay").exists())
        .collect();
    dirs.push(root.join("generated"));
    dirs
}

/// Event name -> the detail's declared fields, from `schemas/*.json` (the `rest` attributes
/// are left out: the README and the struct show them as one `rest`).
fn schemas(dir: &Path, readme: &BTreeMap<String, Fields>) -> BTreeMap<String, Fields> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(dir.join("schemas")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let schema: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let name = schema["title"].as_str().unwrap().to_owned();
        let detail = &schema["$defs"]["detail"];
        let required: Vec<&str> = detail["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let declared = readme.get(&name).cloned().unwrap_or_default();
        let fields = detail["properties"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(field, _)| declared.contains_key(*field))
            .map(|(field, s)| {
                let json_type = s["type"].as_str().map(str::to_owned);
                (
                    field.clone(),
                    (required.contains(&field.as_str()), json_type),
                )
            })
            .collect();
        out.insert(name, fields);
    }
    out
}

/// Event name -> fields, from the README's `### Event` sections and their tables.
fn readme(dir: &Path) -> BTreeMap<String, Fields> {
    let text = fs::read_to_string(dir.join("README.md")).unwrap();
    let mut out: BTreeMap<String, Fields> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            current = Some(name.to_owned());
            out.entry(name.to_owned()).or_default();
            continue;
        }
        if line.starts_with("## ") {
            current = None;
        }
        let (Some(event), Some(row)) = (&current, line.strip_prefix("| `")) else {
            continue;
        };
        let cells: Vec<&str> = row.split(" | ").collect();
        let field = cells[0].trim_end_matches('`').to_owned();
        let json_type = cells[cells.len() - 2].to_owned();
        let required = match cells[cells.len() - 1].trim_end_matches(" |") {
            "yes" => true,
            "no" => false,
            other => panic!("{}: {event}.{field}: required is {other:?}", dir.display()),
        };
        out.get_mut(event)
            .unwrap()
            .insert(field, (required, Some(json_type)));
    }
    out
}

/// Event name -> fields of its `Detail` struct (`Option<...>`: not required), from the
/// relay's `mapping.rs`; outbox events have no struct.
fn relay(dir: &Path) -> BTreeMap<String, Fields> {
    let text = fs::read_to_string(dir.join("relay/src/mapping.rs")).unwrap();
    let file = syn::parse_file(&text).unwrap();
    let mut out = BTreeMap::new();
    for item in file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        let Some((_, items)) = module.content else {
            continue;
        };
        let mut name = None;
        let mut fields = None;
        for item in items {
            match item {
                syn::Item::Static(spec) if spec.ident == "SPEC" => {
                    let syn::Expr::Struct(init) = *spec.expr else {
                        continue;
                    };
                    for field in init.fields {
                        if let (syn::Member::Named(member), syn::Expr::Lit(lit)) =
                            (&field.member, &field.expr)
                            && member == "name"
                            && let syn::Lit::Str(text) = &lit.lit
                        {
                            name = Some(text.value());
                        }
                    }
                }
                syn::Item::Struct(detail) if detail.ident == "Detail" => {
                    let mut found = Fields::new();
                    for field in &detail.fields {
                        let rename = field.attrs.iter().find_map(|attr| {
                            let mut rename = None;
                            let _ = attr.parse_nested_meta(|meta| {
                                if meta.path.is_ident("rename") {
                                    rename = Some(meta.value()?.parse::<syn::LitStr>()?.value());
                                } else if meta.input.peek(syn::Token![=]) {
                                    meta.value()?.parse::<syn::LitStr>()?;
                                }
                                Ok(())
                            });
                            rename
                        });
                        let Some(json_name) = rename else {
                            continue; // `rest`, flattened
                        };
                        let optional = matches!(&field.ty, syn::Type::Path(p)
                            if p.path.segments.last().is_some_and(|s| s.ident == "Option"));
                        found.insert(json_name, (!optional, None));
                    }
                    fields = Some(found);
                }
                _ => {}
            }
        }
        if let (Some(name), Some(fields)) = (name, fields) {
            out.insert(name, fields);
        }
    }
    out
}

#[test]
fn schema_relay_and_readme_agree_on_every_field() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for dir in outputs() {
        let readme = readme(&dir);
        let schemas = schemas(&dir, &readme);
        let relay = relay(&dir);
        assert_eq!(
            readme.keys().collect::<Vec<_>>(),
            schemas.keys().collect::<Vec<_>>(),
            "{}: the README and the schemas list different events",
            dir.display()
        );
        for (event, documented) in &readme {
            let schema = &schemas[event];
            for (field, (required, json_type)) in documented {
                compared += 1;
                let at = format!("{}: {event}.{field}", dir.display());
                match schema.get(field) {
                    None => failures.push(format!("{at}: in the README, not in the schema")),
                    Some((schema_required, schema_type)) => {
                        if schema_required != required {
                            failures.push(format!(
                                "{at}: required {required} in the README, {schema_required} in the schema"
                            ));
                        }
                        if let Some(schema_type) = schema_type
                            && Some(schema_type) != json_type.as_ref()
                        {
                            failures.push(format!(
                                "{at}: {json_type:?} in the README, {schema_type} in the schema"
                            ));
                        }
                    }
                }
                if let Some(code) = relay.get(event) {
                    match code.get(field) {
                        None => failures.push(format!("{at}: in the README, not in `Detail`")),
                        Some((code_required, _)) if code_required != required => {
                            failures.push(format!(
                                "{at}: required {required} in the README, {code_required} in `Detail`"
                            ))
                        }
                        Some(_) => {}
                    }
                }
            }
            if let Some(code) = relay.get(event) {
                for field in code.keys().filter(|f| !documented.contains_key(*f)) {
                    failures.push(format!(
                        "{}: {event}.{field}: in `Detail`, not in the README",
                        dir.display()
                    ));
                }
            }
        }
    }
    assert!(compared >= 30, "compared only {compared} fields");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
