//! The stack, built once: every resource of the flow as CloudFormation (tables with streams,
//! the relay's role, log group and one event source mapping per table, the bus, a rule or
//! subscriber per consumer with its target, retry policy and dead-letter queue, the schema
//! registry, least-privilege IAM, the alarms and the dashboard), with the stack's outputs.
//! Built as typed values, never templated. The SAM template ([`super::sam`]) and the CDK app
//! ([`super::cdk`]) both take it; only the relay function itself is spelled by each, because
//! each builds its code its own way (`sam build`, cargo-lambda-cdk's `RustFunction`).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::ident::Scope;
use crate::plan::monitor::{DimensionValue, MetricPlan, MonitoringPlan, QueueKey, TopicPlan};
use crate::plan::naming;
use crate::plan::{ConsumerPlan, Plan, TablePlan, TargetPlan};

mod consumers;
pub mod infra;
mod relay;
pub mod targets;

use consumers::{consumer_resources, subscriber_resources};
use relay::{relay_function, relay_mappings, relay_role};

/// The relay function's logical id.
pub const RELAY: &str = "Relay";

/// The stack both renderings take.
pub struct Stack {
    /// Every resource but the relay function, by logical id.
    pub resources: Map<String, Value>,
    /// The relay function as an `AWS::Lambda::Function` without its code.
    pub relay: Value,
    /// The stack's outputs.
    pub outputs: Map<String, Value>,
}

fn get_att(resource: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [resource, attribute] })
}

fn reference(resource: &str) -> Value {
    json!({ "Ref": resource })
}

fn sub(text: &str) -> Value {
    json!({ "Fn::Sub": text })
}

struct Template {
    resources: Map<String, Value>,
    ids: Scope,
    /// The logical ids of the queues created without a name, by key (alarms and the
    /// dashboard refer to them).
    queues: BTreeMap<QueueKey, String>,
    /// The logical ids of the Custom Event Bus subscribers, by consumer (their alarms and the
    /// dashboard refer to them).
    subscribers: BTreeMap<String, String>,
    /// Outputs beyond the stack's own (a cross-account target's delivery role).
    outputs: Map<String, Value>,
}

impl Template {
    fn add(&mut self, name: &str, resource: Value) -> String {
        let id = self.ids.pascal(name);
        self.resources.insert(id.clone(), resource);
        id
    }

    /// Adds a queue created without a name, known to alarms by `key`.
    fn add_queue(&mut self, key: QueueKey, resource: Value) -> String {
        let id = self.add(&key.0, resource);
        self.queues.insert(key, id.clone());
        id
    }

    /// A metric dimension's value as the stack spells it.
    fn dimension(&self, value: &DimensionValue, bus: &Bus) -> Value {
        match value {
            DimensionValue::Value(text) => json!(text),
            DimensionValue::Queue(key) => get_att(&self.queues[key], "QueueName"),
            DimensionValue::BusArn => bus.arn.clone(),
            DimensionValue::SubscriberArn(consumer) => {
                get_att(&self.subscribers[consumer], "SubscriberArn")
            }
        }
    }
}

/// Builds the stack of `plan`.
pub fn build(plan: &Plan) -> Stack {
    let mut t = Template {
        resources: Map::new(),
        ids: Scope::default(),
        queues: BTreeMap::new(),
        subscribers: BTreeMap::new(),
        outputs: Map::new(),
    };
    let bus = bus(plan, &mut t);
    let tables: Vec<(Value, &TablePlan)> = plan
        .tables
        .iter()
        .map(|table| match &table.existing_stream {
            Some(arn) => (json!(arn), table),
            None => {
                let id = t.add(&format!("{} table", table.name), table_resource(table));
                (get_att(&id, "StreamArn"), table)
            }
        })
        .collect();
    let failure_queue = t.add_queue(QueueKey::failure_queue(), dead_letter_queue(false));
    let log_group = t.add(
        "relay log group",
        json!({
            "Type": "AWS::Logs::LogGroup",
            "Metadata": infra::log_group_metadata(),
            "Properties": { "LogGroupName": plan.relay.log_group, "RetentionInDays": plan.relay.log_retention }
        }),
    );
    let role = t.add(
        "relay role",
        relay_role(plan, &tables, &bus, &failure_queue, &log_group),
    );
    let relay = t.ids.pascal(RELAY);
    let function = relay_function(plan, &bus, &log_group, &role);
    relay_mappings(plan, &tables, &relay, &failure_queue, &mut t);
    for consumer in &plan.consumers {
        if plan.bus.custom {
            subscriber_resources(consumer, &bus, &mut t);
        } else {
            consumer_resources(consumer, &bus, &mut t);
        }
    }
    schema_registry(plan, &mut t);
    let mut outputs = json!({
        "EventBusName": { "Value": bus.name.clone() },
        "EventBusArn": { "Value": bus.arn.clone() },
        "RelayFunctionArn": { "Value": get_att(&relay, "Arn") },
        "RelayFailureQueueUrl": { "Value": reference(&failure_queue) }
    });
    if let Some(archive) = &plan.bus.archive {
        let mut properties = infra::archive(archive, plan);
        properties["SourceArn"] = bus.arn.clone();
        let id = t.add(
            "event archive",
            json!({ "Type": "AWS::Events::Archive", "Properties": properties }),
        );
        outputs["EventArchiveName"] = json!({ "Value": reference(&id) });
    }
    if let Some(monitoring) = &plan.monitoring {
        let (topic, dashboard) = monitoring_resources(monitoring, &bus, &mut t);
        outputs["AlarmTopicArn"] = json!({ "Value": topic });
        outputs["DashboardName"] = json!({ "Value": reference(&dashboard) });
    }
    outputs
        .as_object_mut()
        .expect("outputs are an object")
        .extend(std::mem::take(&mut t.outputs));
    Stack {
        resources: t.resources,
        relay: function,
        outputs: outputs.as_object().cloned().expect("outputs are an object"),
    }
}

struct Bus {
    name: Value,
    arn: Value,
}

fn bus(plan: &Plan, t: &mut Template) -> Bus {
    if plan.bus.custom {
        if plan.bus.created {
            let id = t.add(
                "event bus",
                json!({
                    "Type": "AWS::EventsV2::EventBus",
                    "Properties": {
                        "Name": plan.bus.name,
                        "Description": infra::custom_bus_description(plan),
                        "StorageConfiguration": { "RetentionPeriodInDays": plan.bus.retention_days }
                    }
                }),
            );
            // `Ref` of a Custom Event Bus is its ARN.
            return Bus {
                name: json!(plan.bus.name),
                arn: reference(&id),
            };
        }
        return Bus {
            name: json!(infra::bus_name(&plan.bus.name)),
            arn: json!(plan.bus.name),
        };
    }
    if plan.bus.created {
        let id = t.add(
            "event bus",
            json!({ "Type": "AWS::Events::EventBus", "Properties": { "Name": plan.bus.name } }),
        );
        return Bus {
            name: reference(&id),
            arn: get_att(&id, "Arn"),
        };
    }
    let arn = if naming::is_arn(&plan.bus.name) {
        json!(plan.bus.name)
    } else {
        sub(&format!(
            "arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:event-bus/{}",
            plan.bus.name
        ))
    };
    Bus {
        name: json!(plan.bus.name),
        arn,
    }
}

fn queue(metadata: Value, extra: Value) -> Value {
    let mut properties = json!({ "SqsManagedSseEnabled": true });
    if let (Some(p), Some(e)) = (properties.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    json!({ "Type": "AWS::SQS::Queue", "Metadata": metadata, "Properties": properties })
}

/// A queue that is itself the last stop (a dead-letter queue or a failure destination): it
/// keeps messages 14 days, and has no redrive policy of its own.
fn dead_letter_queue(fifo: bool) -> Value {
    let mut properties = json!({ "MessageRetentionPeriod": infra::LAST_STOP_RETENTION });
    if fifo {
        properties["FifoQueue"] = json!(true);
    }
    queue(infra::last_stop_queue_metadata(), properties)
}

fn table_resource(table: &TablePlan) -> Value {
    let mut attributes = vec![
        json!({ "AttributeName": table.partition_key, "AttributeType": table.partition_type }),
    ];
    let mut keys = vec![json!({ "AttributeName": table.partition_key, "KeyType": "HASH" })];
    if let (Some(name), Some(key_type)) = (&table.sort_key, table.sort_type) {
        attributes.push(json!({ "AttributeName": name, "AttributeType": key_type }));
        keys.push(json!({ "AttributeName": name, "KeyType": "RANGE" }));
    }
    json!({
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": infra::table_metadata(table),
        "Properties": {
            "TableName": table.name,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": attributes,
            "KeySchema": keys,
            "StreamSpecification": { "StreamViewType": table.stream },
            "SSESpecification": { "SSEEnabled": true },
            "PointInTimeRecoverySpecification": { "PointInTimeRecoveryEnabled": table.point_in_time_recovery },
            "DeletionProtectionEnabled": table.deletion_protection
        }
    })
}

fn schema_registry(plan: &Plan, t: &mut Template) {
    if plan.events.is_empty() {
        return;
    }
    let (registry_name, description) = infra::registry(plan);
    let registry = t.add(
        "schema registry",
        json!({ "Type": "AWS::EventSchemas::Registry", "Properties": { "RegistryName": registry_name, "Description": description } }),
    );
    for contract in &plan.events {
        let content = crate::render::schemas::openapi(contract).to_string();
        t.add(
            &format!("{} schema", contract.name),
            json!({
                "Type": "AWS::EventSchemas::Schema",
                "Properties": {
                    "RegistryName": get_att(&registry, "RegistryName"),
                    "SchemaName": format!("{}@{}", contract.source, contract.slug),
                    "Type": "OpenApi3",
                    "Description": format!("{} (schema version {})", contract.name, contract.schema_version),
                    "Content": content
                }
            }),
        );
    }
}

/// The alarms, the topic they notify and the dashboard; returns the topic's ARN and the
/// dashboard's id.
fn monitoring_resources(
    monitoring: &MonitoringPlan,
    bus: &Bus,
    t: &mut Template,
) -> (Value, String) {
    let topic = match &monitoring.topic {
        TopicPlan::Existing(arn) => json!(arn),
        TopicPlan::Create(name) => {
            let id = t.add(
                "alarm topic",
                json!({
                    "Type": "AWS::SNS::Topic",
                    "Metadata": infra::alarm_topic_metadata(),
                    "Properties": { "TopicName": name }
                }),
            );
            reference(&id)
        }
    };
    for alarm in &monitoring.alarms {
        let dimensions = |metric: &MetricPlan| -> Vec<Value> {
            metric
                .dimensions
                .iter()
                .map(|d| json!({ "Name": d.name, "Value": t.dimension(&d.value, bus) }))
                .collect()
        };
        let mut properties = json!({
            "AlarmName": alarm.name,
            "AlarmDescription": alarm.description,
        });
        let watched = match &alarm.minus {
            None => json!({
                "Namespace": alarm.metric.namespace,
                "MetricName": alarm.metric.name,
                "Dimensions": dimensions(&alarm.metric),
                "Statistic": alarm.statistic,
                "Period": alarm.period
            }),
            Some(minus) => {
                let stat = |id: &str, metric: &MetricPlan| {
                    json!({
                        "Id": id,
                        "MetricStat": {
                            "Metric": { "Namespace": metric.namespace, "MetricName": metric.name, "Dimensions": dimensions(metric) },
                            "Period": alarm.period,
                            "Stat": alarm.statistic
                        },
                        "ReturnData": false
                    })
                };
                json!({ "Metrics": [
                    stat("m", &alarm.metric),
                    stat("minus", minus),
                    { "Id": "difference", "Expression": "m - minus", "Label": alarm.key, "ReturnData": true }
                ] })
            }
        };
        let properties_map = properties
            .as_object_mut()
            .expect("an alarm's properties are an object");
        properties_map.extend(watched.as_object().cloned().unwrap_or_default());
        properties_map.extend(
            json!({
                "EvaluationPeriods": alarm.evaluation_periods,
                "Threshold": alarm.threshold,
                "ComparisonOperator": infra::ALARM_COMPARISON,
                "TreatMissingData": infra::ALARM_MISSING_DATA,
                "AlarmActions": [topic],
                "OKActions": [topic]
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
        t.add(
            &format!("{} alarm", alarm.key),
            json!({ "Type": "AWS::CloudWatch::Alarm", "Properties": properties }),
        );
    }
    let dashboard = &monitoring.dashboard;
    let names: Map<String, Value> = dashboard
        .placeholders
        .iter()
        .map(|(name, value)| (name.clone(), t.dimension(value, bus)))
        .collect();
    let id = t.add(
        "dashboard",
        json!({
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardName": dashboard.name,
                "DashboardBody": { "Fn::Sub": [dashboard.body, names] }
            }
        }),
    );
    (topic, id)
}
