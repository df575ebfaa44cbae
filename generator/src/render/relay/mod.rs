//! `relay/`: the relay crate. Rust comes from templates, is parsed with `syn` and printed with
//! `prettyplease`, so it is always valid and formatted the same way.

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};

mod mapping;

use super::{Files, RenderError};
use crate::plan::Plan;

const TEMPLATES: [(&str, &str); 4] = [
    (
        "relay/Cargo.toml",
        include_str!("../../../templates/relay/Cargo.toml.j2"),
    ),
    (
        "relay/src/lib.rs",
        include_str!("../../../templates/relay/lib.rs.j2"),
    ),
    (
        "relay/src/main.rs",
        include_str!("../../../templates/relay/main.rs.j2"),
    ),
    (
        "relay/src/mapping.rs",
        include_str!("../../../templates/relay/mapping.rs.j2"),
    ),
];

/// Cargo settings for builds started in the relay's directory (`sam build`, `cargo lambda
/// build`): the release profile the benchmarks measure. A relay that is a member of a user's
/// workspace would have its own `[profile]` ignored, with a warning on every build; a config file
/// applies in both layouts.
pub const CARGO_CONFIG: &str = "relay/.cargo/config.toml";

/// The local stack, read by the relay's `local` feature (`outbox_stack::LocalStack`).
pub const LOCAL_STACK: &str = "relay/src/local_stack.json";

/// The `@generated` header of Rust files.
fn rust_header(config_file: &str) -> String {
    format!("// {}\n\n", crate::generated_by(Some(config_file)))
}

/// Renders the relay crate into `files`.
pub fn render(plan: &Plan, files: &mut Files) -> Result<(), RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.add_filter("rust_str", |text: String| format!("{text:?}"));
    env.add_filter("toml_str", |text: String| format!("{text:?}"));
    for (path, source) in TEMPLATES {
        env.add_template(path, source).map_err(|e| fail(path, e))?;
    }
    let ctx = context! {
        relay => Value::from(Serde(&mapping::relay_code(plan))),
        config_file => plan.config_file.clone(),
        service => plan.service.clone(),
        package => plan.relay.package.clone(),
        version => crate::VERSION,
        generated => crate::generated_by(Some(&plan.config_file)),
    };
    for (path, _) in TEMPLATES {
        let text = env
            .get_template(path)
            .and_then(|t| t.render(&ctx))
            .map_err(|e| fail(path, e))?;
        let contents = if path.ends_with(".rs") {
            let file = syn::parse_file(&text).map_err(|e| RenderError {
                path: path.to_owned(),
                message: format!("generated Rust does not parse: {e}\n{text}"),
            })?;
            format!(
                "{}{}",
                rust_header(&plan.config_file),
                prettyplease::unparse(&file)
            )
        } else {
            text
        };
        files.insert(path.into(), contents);
    }
    files.insert(LOCAL_STACK.into(), plan.local_stack.to_json());
    files.insert(
        CARGO_CONFIG.into(),
        format!(
            "# {}\n# Profiles for builds started here (`sam build`, `cargo lambda build --release`, `cargo\n# run -- poll`), in either layout: the release profile the benchmarks measure (thin LTO,\n# stripped), and dependencies without debug info (faster local builds).\n[profile.dev.package.\"*\"]\ndebug = false\n\n[profile.release]\nlto = \"thin\"\nstrip = true\n",
            crate::generated_by(Some(&plan.config_file))
        ),
    );
    Ok(())
}

fn fail(path: &str, e: minijinja::Error) -> RenderError {
    RenderError {
        path: path.to_owned(),
        message: format!("{e:#}"),
    }
}
