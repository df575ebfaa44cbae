//! The relay in the stack: its role (exactly what it reads and puts), its function and one
//! event source mapping per table.

use serde_json::{Value, json};

use super::{Bus, Plan, TablePlan, Template, get_att, infra, reference};

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

/// The relay's event source mappings, one per table: what the stream hands it and where a
/// batch goes when it keeps failing.
pub(super) fn relay_mappings(
    plan: &Plan,
    tables: &[(Value, &TablePlan)],
    relay: &str,
    failure_queue: &str,
    t: &mut Template,
) {
    let reading = &plan.relay.reading;
    for (stream, table) in tables {
        let mut properties = json!({
            "EventSourceArn": stream,
            "FunctionName": reference(relay),
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
        t.add(
            &format!("relay {} stream", table.name),
            json!({ "Type": "AWS::Lambda::EventSourceMapping", "Properties": properties }),
        );
    }
}

/// The relay function, without its code (each rendering adds it: `sam build`, `RustFunction`).
pub(super) fn relay_function(plan: &Plan, bus: &Bus, log_group: &str, role: &str) -> Value {
    let relay = &plan.relay;
    let mut environment = json!({ "EVENT_BUS_NAME": bus.name });
    if plan.bus.custom {
        environment["EVENT_BUS_ARN"] = bus.arn.clone();
    }
    if let (Some(e), Value::Object(rest)) =
        (environment.as_object_mut(), infra::relay_environment(relay))
    {
        e.extend(rest);
    }
    let mut function = json!({
        "Type": "AWS::Lambda::Function",
        "Metadata": infra::relay_metadata(relay),
        "Properties": {
            "FunctionName": relay.name,
            "Description": relay.description,
            "Handler": "bootstrap",
            "Runtime": "provided.al2023",
            "Architectures": ["arm64"],
            "MemorySize": relay.memory,
            "Timeout": relay.timeout,
            "Role": get_att(role, "Arn"),
            "TracingConfig": { "Mode": "Active" },
            "LoggingConfig": { "LogGroup": reference(log_group), "LogFormat": "JSON" },
            "Environment": { "Variables": environment }
        }
    });
    if let Some(reserved) = relay.reserved_concurrency {
        function["Properties"]["ReservedConcurrentExecutions"] = json!(reserved);
    }
    function
}
