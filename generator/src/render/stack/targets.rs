//! Rule targets beyond a queue or a function (SNS, Step Functions, Kinesis, Firehose, API
//! destinations, CloudWatch Logs, another account's bus), and what a consumer receives (input
//! transforms): CloudFormation resources and target properties.

use serde_json::{Map, Value, json};

use super::infra;
use crate::ident::Scope;
use crate::plan::naming;
use crate::plan::{ApiDestinationPlan, ConsumerPlan, InputPlan, TargetPlan, is_path};

/// A created resource of a target: its logical id and CloudFormation resource.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The logical id.
    pub id: String,
    /// `Type`, `Properties` and `Metadata`.
    pub resource: Value,
}

/// What a target of one of the further kinds needs.
#[derive(Debug, Clone)]
pub struct RuleTarget {
    /// The ARN the rule delivers to.
    pub arn: Value,
    /// What the stack creates for it (the target itself, resource policies).
    pub resources: Vec<Resource>,
    /// The role EventBridge delivers with (its logical id and its statements), for targets
    /// that take a role; topics and log groups let the rule in by resource policy instead.
    pub role: Option<(String, Vec<Value>)>,
    /// Further target properties (`KinesisParameters`).
    pub parameters: Map<String, Value>,
    /// A stack output: its name, description and value (the delivery role another account's
    /// bus policy names).
    pub output: Option<(String, String, Value)>,
}

/// An ARN in the stack's account and region: `arn:<partition>:<service>:<region>:<account>:<resource>`.
fn regional_arn(service: &str, resource: &str) -> Value {
    json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}") })
}

/// `name_or_arn` as an ARN: an ARN as it is, a name as `resource_prefix` + name in the stack's
/// account and region.
fn arn_of(name_or_arn: &str, service: &str, resource_prefix: &str) -> Value {
    if naming::is_arn(name_or_arn) {
        json!(name_or_arn)
    } else {
        regional_arn(service, &format!("{resource_prefix}{name_or_arn}"))
    }
}

/// A function's ARN from its name (in the stack's account and region) or ARN.
pub fn function_arn(function: &str) -> Value {
    arn_of(function, "lambda", "function:")
}

fn statement(sid: &str, actions: &[&str], resource: &Value) -> Value {
    json!({ "Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource })
}

/// What delivers to a target: a Classic bus's rule (by its ARN), or a Custom Event Bus's
/// subscriber, which always delivers with its role and takes its parameters as JSONata.
#[derive(Debug, Clone, Copy)]
pub enum Via<'a> {
    /// A rule, by its ARN (the resource policies of topics and log groups name it).
    Rule(&'a Value),
    /// A subscriber.
    Subscriber,
}

/// The target of a consumer whose kind is neither a queue nor a function; `None` for those.
pub fn rule_target(consumer: &ConsumerPlan, via: Via, ids: &mut Scope) -> Option<RuleTarget> {
    let name = &consumer.name;
    let mut resources = Vec::new();
    let mut add = |ids: &mut Scope, what: &str, resource: Value| {
        let id = ids.pascal(&format!("{name} {what}"));
        resources.push(Resource {
            id: id.clone(),
            resource,
        });
        id
    };
    let role = |ids: &mut Scope, statements: Vec<Value>| {
        Some((ids.pascal(&format!("{name} target role")), statements))
    };
    let mut parameters = Map::new();
    let mut output = None;
    let (arn, role) = match &consumer.target {
        TargetPlan::Lambda { .. } | TargetPlan::Sqs { .. } => return None,
        TargetPlan::Sns { topic, created } => {
            let arn = if *created {
                let id = add(
                    ids,
                    "topic",
                    json!({
                        "Type": "AWS::SNS::Topic",
                        "Metadata": infra::target_topic_metadata(),
                        "Properties": { "TopicName": topic }
                    }),
                );
                json!({ "Ref": id })
            } else {
                json!(topic)
            };
            let Via::Rule(rule_arn) = via else {
                let statements = vec![statement("PublishToIt", &["sns:Publish"], &arn)];
                return Some(RuleTarget {
                    role: role(ids, statements),
                    arn,
                    resources,
                    parameters,
                    output,
                });
            };
            if *created {
                add(
                    ids,
                    "topic policy",
                    json!({
                        "Type": "AWS::SNS::TopicPolicy",
                        "Properties": {
                            "Topics": [arn],
                            "PolicyDocument": { "Version": "2012-10-17", "Statement": [{
                                "Sid": "OnlyItsRule",
                                "Effect": "Allow",
                                "Principal": { "Service": "events.amazonaws.com" },
                                "Action": "sns:Publish",
                                "Resource": arn,
                                "Condition": { "ArnEquals": { "aws:SourceArn": rule_arn.clone() } }
                            }] }
                        }
                    }),
                );
            }
            (arn, None)
        }
        TargetPlan::StepFunctions { state_machine } => {
            let arn = arn_of(state_machine, "states", "stateMachine:");
            let statements = vec![statement(
                "StartItsExecutions",
                &["states:StartExecution"],
                &arn,
            )];
            (arn, role(ids, statements))
        }
        TargetPlan::Kinesis {
            stream,
            created,
            partition_key,
        } => {
            let arn = if *created {
                let id = add(
                    ids,
                    "stream",
                    json!({
                        "Type": "AWS::Kinesis::Stream",
                        "Properties": {
                            "Name": stream,
                            "StreamModeDetails": { "StreamMode": "ON_DEMAND" },
                            "StreamEncryption": { "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis" }
                        }
                    }),
                );
                json!({ "Fn::GetAtt": [id, "Arn"] })
            } else {
                json!(stream)
            };
            let parameters_of_kind = match via {
                Via::Rule(_) => json!({ "PartitionKeyPath": partition_key }),
                Via::Subscriber => json!({ "PartitionKey": subscriber_value(partition_key) }),
            };
            parameters.insert("KinesisParameters".into(), parameters_of_kind);
            // A subscriber delivers batches (up to 500 records).
            let actions: &[&str] = match via {
                Via::Rule(_) => &["kinesis:PutRecord"],
                Via::Subscriber => &["kinesis:PutRecord", "kinesis:PutRecords"],
            };
            let statements = vec![statement("PutItsRecords", actions, &arn)];
            (arn, role(ids, statements))
        }
        TargetPlan::Firehose {
            delivery_stream,
            created,
        } => {
            let arn = match created {
                Some((bucket, prefix)) => {
                    let role = add(ids, "delivery stream role", firehose_role(bucket));
                    let id = add(
                        ids,
                        "delivery stream",
                        json!({
                            "Type": "AWS::KinesisFirehose::DeliveryStream",
                            "Properties": {
                                "DeliveryStreamName": delivery_stream,
                                "DeliveryStreamType": "DirectPut",
                                "DeliveryStreamEncryptionConfigurationInput": { "KeyType": "AWS_OWNED_CMK" },
                                "ExtendedS3DestinationConfiguration": {
                                    "BucketARN": bucket,
                                    "RoleARN": { "Fn::GetAtt": [role, "Arn"] },
                                    "Prefix": prefix,
                                    "ErrorOutputPrefix": format!("{prefix}errors/!{{firehose:error-output-type}}/"),
                                    "CompressionFormat": "GZIP",
                                    "BufferingHints": { "IntervalInSeconds": 300, "SizeInMBs": 5 }
                                }
                            }
                        }),
                    );
                    json!({ "Fn::GetAtt": [id, "Arn"] })
                }
                None => arn_of(delivery_stream, "firehose", "deliverystream/"),
            };
            let statements = vec![statement(
                "PutItsRecords",
                &["firehose:PutRecord", "firehose:PutRecordBatch"],
                &arn,
            )];
            (arn, role(ids, statements))
        }
        TargetPlan::ApiDestination {
            destination,
            created,
        } => {
            let arn = match created {
                Some(api) => {
                    let connection = add(ids, "connection", connection(api));
                    let id = add(
                        ids,
                        "api destination",
                        json!({
                            "Type": "AWS::Events::ApiDestination",
                            "Properties": {
                                "Name": destination,
                                "ConnectionArn": { "Fn::GetAtt": [connection, "Arn"] },
                                "InvocationEndpoint": api.endpoint,
                                "HttpMethod": api.method,
                                "InvocationRateLimitPerSecond": api.rate_limit
                            }
                        }),
                    );
                    json!({ "Fn::GetAtt": [id, "Arn"] })
                }
                None => json!(destination),
            };
            let statements = vec![statement(
                "InvokeItsDestination",
                &["events:InvokeApiDestination"],
                &arn,
            )];
            (arn, role(ids, statements))
        }
        TargetPlan::Logs {
            log_group,
            retention_days,
        } => {
            let Via::Rule(rule_arn) = via else {
                unreachable!("the checks keep log groups off a Custom Event Bus")
            };
            // EventBridge takes the group's ARN without the `:*` of its GetAtt.
            let (arn, group_name) = match retention_days {
                Some(days) => {
                    let id = add(
                        ids,
                        "log group",
                        json!({
                            "Type": "AWS::Logs::LogGroup",
                            "Metadata": infra::log_group_metadata(),
                            "Properties": { "LogGroupName": log_group, "RetentionInDays": days }
                        }),
                    );
                    // `Ref` (the name) makes the rule wait for the group.
                    (
                        regional_arn("logs", &format!("log-group:${{{id}}}")),
                        log_group.clone(),
                    )
                }
                None => (
                    json!(log_group),
                    log_group
                        .split(":log-group:")
                        .nth(1)
                        .unwrap_or(log_group)
                        .to_owned(),
                ),
            };
            add(
                ids,
                "log group policy",
                json!({
                    "Type": "AWS::Logs::ResourcePolicy",
                    "Properties": {
                        "PolicyName": format!("{}-logs", consumer.rule),
                        "PolicyDocument": { "Fn::Sub": [logs_policy(&group_name), { "RuleArn": rule_arn.clone() }] }
                    }
                }),
            );
            (arn, None)
        }
        TargetPlan::EventBus { arn } => {
            if matches!(via, Via::Subscriber) && arn.contains(":event-busv2/") {
                // The other Custom Event Bus keeps each group's order and drops repeats.
                parameters.insert(
                    "EventBusV2Parameters".into(),
                    json!({ "SystemMetadata": {
                        "EventGroupId": infra::MESSAGE_GROUP,
                        "DeduplicationId": "{% $events.SystemMetadata.DeduplicationId %}"
                    } }),
                );
            }
            let arn = json!(arn);
            let statements = vec![statement("PutOnItsBus", &["events:PutEvents"], &arn)];
            let role = role(ids, statements);
            if let Some((id, _)) = &role {
                output = Some((
                    format!("{}DeliveryRoleArn", crate::ident::pascal(name)),
                    format!(
                        "The role {} {} puts events on the other bus with: name it in that bus's policy.",
                        match via {
                            Via::Rule(_) => "rule",
                            Via::Subscriber => "subscriber",
                        },
                        consumer.rule
                    ),
                    json!({ "Fn::GetAtt": [id, "Arn"] }),
                ));
            }
            (arn, role)
        }
    };
    Some(RuleTarget {
        arn,
        resources,
        role,
        parameters,
        output,
    })
}

/// A path into the event as a subscriber's parameter: a JSONata expression over its event.
fn subscriber_value(path: &str) -> String {
    let expression = outbox_stack::input::jsonata_path(path).unwrap_or_else(|| "null".into());
    format!("{{% {expression} %}}")
}

/// The role a created delivery stream writes to its bucket with: trusted by Firehose of this
/// account only, allowed what Firehose's S3 destination needs on that bucket alone.
fn firehose_role(bucket: &str) -> Value {
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": { "Service": "firehose.amazonaws.com" },
                    "Action": "sts:AssumeRole",
                    "Condition": { "StringEquals": { "sts:ExternalId": { "Ref": "AWS::AccountId" } } }
                }]
            },
            "Policies": [{ "PolicyName": "delivery", "PolicyDocument": { "Version": "2012-10-17", "Statement": [
                statement("FindItsBucket", &["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], &json!(bucket)),
                statement("WriteItsObjects", &["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"], &json!(format!("{bucket}/*")))
            ] } }]
        }
    })
}

/// A created API destination's connection; its secret is resolved by CloudFormation at deploy
/// time (a dynamic reference), never written into the template.
fn connection(api: &ApiDestinationPlan) -> Value {
    let secret = &api.secret;
    let auth = match api.authorization {
        "BASIC" => json!({ "BasicAuthParameters": {
            "Username": format!("{{{{resolve:secretsmanager:{secret}:SecretString:username}}}}"),
            "Password": format!("{{{{resolve:secretsmanager:{secret}:SecretString:password}}}}")
        } }),
        _ => json!({ "ApiKeyAuthParameters": {
            "ApiKeyName": api.header,
            "ApiKeyValue": format!("{{{{resolve:secretsmanager:{secret}}}}}")
        } }),
    };
    json!({
        "Type": "AWS::Events::Connection",
        "Properties": {
            "Name": api.connection,
            "Description": format!("Authenticates the events sent to {}.", api.endpoint),
            "AuthorizationType": api.authorization,
            "AuthParameters": auth
        }
    })
}

/// The resource policy that lets exactly one rule write to a log group (text for `Fn::Sub`
/// with `RuleArn`).
fn logs_policy(group_name: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "OnlyItsRule",
            "Effect": "Allow",
            "Principal": { "Service": ["events.amazonaws.com", "delivery.logs.amazonaws.com"] },
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": format!("arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{group_name}:*"),
            "Condition": { "ArnEquals": { "aws:SourceArn": "${RuleArn}" } }
        }]
    })
    .to_string()
}

/// The target properties that give a consumer what its `input` says (`InputPath`, or an
/// `InputTransformer` whose template is a JSON object); none for the whole event.
pub fn input(consumer: &ConsumerPlan) -> Map<String, Value> {
    let mut properties = Map::new();
    match &consumer.input {
        None => {}
        Some(InputPlan::Detail) => {
            properties.insert("InputPath".into(), json!("$.detail"));
        }
        Some(InputPlan::Path(path)) => {
            properties.insert("InputPath".into(), json!(path));
        }
        Some(InputPlan::Metadata) => {
            unreachable!("the checks keep `input: metadata` to a Custom Event Bus")
        }
        Some(InputPlan::Template(fields)) => {
            let mut paths = Map::new();
            let mut template = Vec::new();
            for (i, (field, value)) in fields.iter().enumerate() {
                let key = serde_json::to_string(field).expect("strings serialize");
                if is_path(value) {
                    let variable = variable_name(field, i);
                    template.push(format!("{key}: <{variable}>"));
                    paths.insert(variable, json!(value));
                } else {
                    let text = serde_json::to_string(value).expect("strings serialize");
                    template.push(format!("{key}: {text}"));
                }
            }
            properties.insert(
                "InputTransformer".into(),
                json!({ "InputPathsMap": paths, "InputTemplate": format!("{{{}}}", template.join(", ")) }),
            );
        }
    }
    properties
}

/// An input transformer's variable for a template field: the field's name where EventBridge
/// takes it (letters, digits, `_`, `-`; not `aws.`), else `field<i>`.
fn variable_name(field: &str, i: usize) -> String {
    let usable = !field.is_empty()
        && field.len() <= 100
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if usable {
        field.to_owned()
    } else {
        format!("field{i}")
    }
}
