//! The relay in the SAM template: its role (exactly what it reads and puts) and its function
//! with one event source mapping per table.

use serde_json::{Map, Value, json};

use super::{Bus, Plan, TablePlan, get_att, infra, reference};
use crate::ident;

pub(super) fn relay_role(
    plan: &Plan,
    tables: &[(Value, &TablePlan)],
    bus: &Bus,
    failure_queue: &str,
    log_group: &str,
) -> Value {
    let streams: Vec<Value> = tables.iter().map(|(stream, _)| stream.clone()).collect();
    let sources = &plan.relay.sources;
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{ "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" }, "Action": "sts:AssumeRole" }]
            },
            "Policies": [{
                "PolicyName": "relay",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        { "Sid": "ReadItsStreams", "Effect": "Allow", "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"], "Resource": streams },
                        { "Sid": "ListStreamsHasNoResourceLevelPermission", "Effect": "Allow", "Action": "dynamodb:ListStreams", "Resource": "*" },
                        { "Sid": "PutItsEventsOnItsBus", "Effect": "Allow", "Action": "events:PutEvents", "Resource": bus.arn, "Condition": { "StringEquals": { "events:source": sources } } },
                        { "Sid": "SendFailedBatchesToItsQueue", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": get_att(failure_queue, "Arn") },
                        { "Sid": "WriteItsLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": get_att(log_group, "Arn") },
                        { "Sid": "XRayHasNoResourceLevelPermission", "Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*" }
                    ]
                }
            }]
        }
    })
}

pub(super) fn relay_function(
    plan: &Plan,
    tables: &[(Value, &TablePlan)],
    bus: &Bus,
    failure_queue: &str,
    log_group: &str,
    role: &str,
) -> Value {
    let relay = &plan.relay;
    let reading = &relay.reading;
    let mut events = Map::new();
    for (stream, table) in tables {
        let mut properties = json!({
            "Stream": stream,
            "StartingPosition": reading.starting_position,
            "BatchSize": reading.batch_size,
            "MaximumBatchingWindowInSeconds": reading.batching_window,
            "ParallelizationFactor": reading.parallelization_factor,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": true,
            "MaximumRetryAttempts": reading.maximum_retry_attempts,
            "MaximumRecordAgeInSeconds": reading.maximum_record_age,
            "DestinationConfig": { "OnFailure": { "Destination": get_att(failure_queue, "Arn") } }
        });
        if !table.filters.is_empty() {
            let filters: Vec<Value> = table
                .filters
                .iter()
                .map(|f| json!({ "Pattern": f.to_string() }))
                .collect();
            properties["FilterCriteria"] = json!({ "Filters": filters });
        }
        events.insert(
            format!("{}Stream", ident::pascal(&table.name)),
            json!({ "Type": "DynamoDB", "Properties": properties }),
        );
    }
    let mut environment = json!({ "EVENT_BUS_NAME": bus.name });
    if plan.bus.custom {
        environment["EVENT_BUS_ARN"] = bus.arn.clone();
    }
    if let (Some(e), Value::Object(rest)) =
        (environment.as_object_mut(), infra::relay_environment(relay))
    {
        e.extend(rest);
    }
    let mut metadata =
        json!({ "BuildMethod": "rust-cargolambda", "BuildProperties": { "Binary": "relay" } });
    if let (Some(m), Value::Object(suppressions)) =
        (metadata.as_object_mut(), infra::relay_metadata(relay))
    {
        m.extend(suppressions);
    }
    let mut function = json!({
        "Type": "AWS::Serverless::Function",
        "Metadata": metadata,
        "Properties": {
            "FunctionName": plan.relay.name,
            "Description": plan.relay.description,
            "CodeUri": "../relay",
            "Handler": "bootstrap",
            "Runtime": "provided.al2023",
            "Architectures": ["arm64"],
            "MemorySize": relay.memory,
            "Timeout": relay.timeout,
            "Role": get_att(role, "Arn"),
            "Tracing": "Active",
            "LoggingConfig": { "LogGroup": reference(log_group), "LogFormat": "JSON" },
            "Environment": { "Variables": environment },
            "Events": events
        }
    });
    if let Some(reserved) = relay.reserved_concurrency {
        function["Properties"]["ReservedConcurrentExecutions"] = json!(reserved);
    }
    function
}
