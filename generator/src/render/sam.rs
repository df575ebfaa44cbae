//! `sam/template.yaml`: the stack ([`super::stack`]) as an AWS SAM template, with the relay as
//! an `AWS::Serverless::Function` that `sam build` builds with cargo-lambda; and the SAM CLI
//! configuration beside it.

use serde_json::{Value, json};

use super::stack::{RELAY, Stack, infra};
use super::{Files, RenderError};
use crate::plan::Plan;

/// Where the template is written.
pub const PATH: &str = "sam/template.yaml";
/// The SAM CLI configuration next to it.
pub const CONFIG_PATH: &str = "sam/samconfig.toml";
/// Keeps `sam build`'s output out of git.
pub const GITIGNORE_PATH: &str = "sam/.gitignore";

/// Renders the template and the SAM CLI config into `files`.
pub fn render(plan: &Plan, stack: &Stack, files: &mut Files) -> Result<(), RenderError> {
    let mut resources = stack.resources.clone();
    resources.insert(RELAY.to_owned(), serverless_function(&stack.relay));
    let template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": infra::stack_description(plan),
        "Resources": resources,
        "Outputs": stack.outputs
    });
    let yaml = serde_saphyr::to_string(&template).map_err(|e| RenderError {
        path: PATH.to_owned(),
        message: e.to_string(),
    })?;
    files.insert(
        PATH.into(),
        format!(
            "# {}\n# Deploy: sam build && sam deploy (see ../README.md).\n{yaml}",
            crate::generated_by(Some(&plan.config_file))
        ),
    );
    files.insert(
        GITIGNORE_PATH.into(),
        format!("# {}\n.aws-sam/\n", crate::generated_by(None)),
    );
    files.insert(
        CONFIG_PATH.into(),
        format!(
            "# {}\nversion = 0.1\n\n[default.global.parameters]\nstack_name = \"{}\"\n\n[default.build.parameters]\n# SAM would key its cache on the relay crate alone, not the runtime crate it depends on.\ncached = false\nbeta_features = true\n\n[default.deploy.parameters]\ncapabilities = \"CAPABILITY_IAM\"\nconfirm_changeset = true\nresolve_s3 = true\n",
            crate::generated_by(Some(&plan.config_file)),
            plan.service
        ),
    );
    Ok(())
}

/// The relay function as SAM builds it: the crate beside the template, built by cargo-lambda
/// (`rust-cargolambda`), its tracing in SAM's spelling.
fn serverless_function(function: &Value) -> Value {
    let mut properties = function["Properties"].clone();
    let map = properties
        .as_object_mut()
        .expect("a function's properties are an object");
    map.remove("TracingConfig");
    map.insert("Tracing".into(), json!("Active"));
    map.insert("CodeUri".into(), json!("../relay"));
    let mut metadata =
        json!({ "BuildMethod": "rust-cargolambda", "BuildProperties": { "Binary": "relay" } });
    if let (Some(m), Some(suppressions)) =
        (metadata.as_object_mut(), function["Metadata"].as_object())
    {
        m.extend(suppressions.clone());
    }
    json!({
        "Type": "AWS::Serverless::Function",
        "Metadata": metadata,
        "Properties": properties
    })
}
