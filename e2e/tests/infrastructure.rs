//! The generated SAM template, read back: event source mappings report batch item failures,
//! bisect, bound their retries and have an on-failure destination; the stream filters are valid,
//! within AWS limits, and let through exactly the records the relay turns into events (on a
//! 1,500-record batch); IAM and resource policies are scoped; data is encrypted at rest.

use std::collections::BTreeSet;

use outbox::pattern::Pattern;
use serde_json::Value;

fn template() -> Value {
    let text =
        std::fs::read_to_string(e2e::workspace().join("generated/sam/template.yaml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

fn resources<'a>(template: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

#[test]
fn event_source_mappings_are_safe() {
    let template = template();
    let functions = resources(&template, "AWS::Serverless::Function");
    assert_eq!(functions.len(), 1);
    let relay = &functions[0].1;
    assert_eq!(relay["Properties"]["Runtime"], "provided.al2023");
    assert_eq!(relay["Properties"]["Architectures"][0], "arm64");
    assert_eq!(relay["Metadata"]["BuildMethod"], "rust-cargolambda");
    assert!(
        relay["Properties"].get("Policies").is_none(),
        "no SAM policy templates"
    );
    let mappings = resources(&template, "AWS::Lambda::EventSourceMapping");
    assert_eq!(
        mappings.len(),
        resources(&template, "AWS::DynamoDB::Table").len(),
        "one mapping per table"
    );
    for (_, mapping) in mappings {
        let p = &mapping["Properties"];
        assert_eq!(p["FunctionName"]["Ref"], *functions[0].0, "the relay's");
        assert_eq!(p["FunctionResponseTypes"][0], "ReportBatchItemFailures");
        assert_eq!(p["BisectBatchOnFunctionError"], true);
        let retries = p["MaximumRetryAttempts"].as_i64().unwrap();
        assert!((0..=10_000).contains(&retries), "bounded retries");
        let age = p["MaximumRecordAgeInSeconds"].as_i64().unwrap();
        assert!((60..=604_800).contains(&age), "bounded record age");
        assert!(p["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"].is_array());
        let filters = p["FilterCriteria"]["Filters"].as_array().unwrap();
        assert!(!filters.is_empty() && filters.len() <= 5);
        for filter in filters {
            let pattern = filter["Pattern"].as_str().unwrap();
            assert!(pattern.len() <= 4_096);
            // Valid as EventBridge (and Lambda's filtering, the same language) validates.
            Pattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        }
    }
}

#[test]
fn stream_filters_pass_exactly_the_records_that_produce_events() {
    let template = template();
    let mapping = template["Resources"]["RelayAppTableStream"].clone();
    let filters: Vec<Pattern> = mapping["Properties"]["FilterCriteria"]["Filters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| Pattern::parse(f["Pattern"].as_str().unwrap()).unwrap())
        .collect();
    let batch = e2e::example_batch(1_500, 11);
    let produced: BTreeSet<String> = e2e::dry_run(&batch, &[])
        .iter()
        .map(|e| {
            e["Resources"][0]
                .as_str()
                .unwrap()
                .split(':')
                .nth(3)
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut passed = 0;
    for record in batch["Records"].as_array().unwrap() {
        let id = record["eventID"].as_str().unwrap();
        // Lambda event filtering: a record invokes the relay when any filter matches it.
        let passes = filters.iter().any(|f| f.matches(record));
        if produced.contains(id) {
            assert!(passes, "the filters drop {id}, which produces an event");
        }
        passed += usize::from(passes);
    }
    let records = batch["Records"].as_array().unwrap().len();
    assert!(
        passed < records * 2 / 3,
        "the filters drop records no event wants ({passed} of {records} pass)"
    );
}

#[test]
fn permissions_are_scoped() {
    let template = template();
    let allowed_star = [
        "dynamodb:ListStreams",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    ];
    for (_, role) in resources(&template, "AWS::IAM::Role") {
        assert!(
            role["Properties"].get("ManagedPolicyArns").is_none(),
            "no managed policies"
        );
        for policy in role["Properties"]["Policies"].as_array().unwrap() {
            for statement in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
                if statement["Resource"] == "*" {
                    let actions: Vec<&str> = match &statement["Action"] {
                        Value::String(a) => vec![a.as_str()],
                        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap()).collect(),
                        _ => panic!("an action"),
                    };
                    assert!(
                        actions.iter().all(|a| allowed_star.contains(a)),
                        "`*` for {actions:?}"
                    );
                }
                if statement["Action"] == "events:PutEvents" {
                    assert!(
                        statement["Condition"]["StringEquals"]["events:source"].is_array(),
                        "PutEvents limited to its sources"
                    );
                }
            }
        }
    }
    for (name, policy) in resources(&template, "AWS::SQS::QueuePolicy") {
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
        {
            assert_ne!(statement["Principal"], "*", "{name}");
            assert!(
                statement["Condition"]["ArnEquals"]["aws:SourceArn"].is_object(),
                "{name} is pinned to its rule"
            );
        }
    }
    for (name, permission) in resources(&template, "AWS::Lambda::Permission") {
        assert!(
            permission["Properties"]["SourceArn"].is_object(),
            "{name} is pinned to its rule"
        );
    }
    for (name, table) in resources(&template, "AWS::DynamoDB::Table") {
        assert_eq!(
            table["Properties"]["SSESpecification"]["SSEEnabled"], true,
            "{name}"
        );
        assert_eq!(
            table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
            true,
            "{name}"
        );
    }
    for (name, queue) in resources(&template, "AWS::SQS::Queue") {
        assert_eq!(queue["Properties"]["SqsManagedSseEnabled"], true, "{name}");
    }
    // One per consumer, and the route of dead-lettered events to their queue.
    let rules = resources(&template, "AWS::Events::Rule");
    assert_eq!(rules.len(), 3);
    let dead_letters = rules
        .iter()
        .find(|(n, _)| n.as_str() == "DeadLettersRule")
        .unwrap()
        .1;
    assert_eq!(
        dead_letters["Properties"]["EventPattern"],
        serde_json::json!({"source": ["myapp.outbox"], "detail-type": ["Outbox Poison Record"]})
    );
    let shipped = rules
        .iter()
        .find(|(n, _)| n.as_str() == "ShippedOrdersRule")
        .unwrap()
        .1;
    assert_eq!(
        shipped["Properties"]["EventPattern"]["source"][0],
        "myapp.orders"
    );
    assert_eq!(
        shipped["Properties"]["EventPattern"]["detail-type"][0],
        "OrderStatusChanged"
    );
    assert_eq!(
        shipped["Properties"]["EventPattern"]["detail"]["status"][0],
        "SHIPPED"
    );
    assert!(shipped["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"].is_object());
}

/// The alarms that page before events are lost: the relay's iterator age (stepped), every
/// queue where undelivered events end up (the failure queue, every dead-letter queue, the
/// dead-lettered events' queue) not empty, every rule's failed invocations; all notify the
/// alarm topic; one dashboard.
#[test]
fn alarms_watch_every_place_events_can_wait_or_be_lost() {
    let template = template();
    let alarms = resources(&template, "AWS::CloudWatch::Alarm");
    let topic = resources(&template, "AWS::SNS::Topic")[0].0;
    let watching = |namespace: &str, metric: &str, dimension: &Value| -> Vec<&Value> {
        alarms
            .iter()
            .map(|(_, a)| &a["Properties"])
            .filter(|p| p["Namespace"] == namespace && p["MetricName"] == metric)
            .filter(|p| {
                p["Dimensions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| &d["Value"] == dimension)
            })
            .collect()
    };
    for (_, alarm) in &alarms {
        let p = &alarm["Properties"];
        assert_eq!(p["AlarmActions"][0]["Ref"], topic.as_str(), "{p}");
        assert_eq!(p["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
        assert!(p["AlarmDescription"].as_str().unwrap().contains("Runbook"));
    }
    let relay = &resources(&template, "AWS::Serverless::Function")[0].1;
    let function = &relay["Properties"]["FunctionName"];
    let ages: Vec<u64> = watching("AWS/Lambda", "IteratorAge", function)
        .iter()
        .map(|p| p["Threshold"].as_u64().unwrap())
        .collect();
    assert_eq!(ages.len(), 2, "warn and page");
    assert!(
        ages.iter().all(|ms| *ms < 86_400_000),
        "before the stream drops records"
    );
    assert_eq!(watching("AWS/Lambda", "Errors", function).len(), 1);
    let mut queues = 0;
    for (id, queue) in resources(&template, "AWS::SQS::Queue") {
        let last_stop = queue["Properties"].get("RedrivePolicy").is_none();
        let name = queue["Properties"].get("QueueName");
        let dead_letters = name.is_some_and(|n| n == "myapp-dead-letters");
        if !last_stop && !dead_letters {
            continue;
        }
        let dimension = match name {
            Some(name) => name.clone(),
            None => serde_json::json!({ "Fn::GetAtt": [id, "QueueName"] }),
        };
        assert_eq!(
            watching("AWS/SQS", "ApproximateNumberOfMessagesVisible", &dimension).len(),
            1,
            "{id} has an alarm"
        );
        queues += 1;
    }
    // The failure queue; the dead-letter queues of three rules and two consumer queues; the
    // dead-lettered events' queue.
    assert_eq!(queues, 7);
    for (id, rule) in resources(&template, "AWS::Events::Rule") {
        assert_eq!(
            watching(
                "AWS/Events",
                "FailedInvocations",
                &rule["Properties"]["Name"]
            )
            .len(),
            1,
            "{id} has an alarm"
        );
    }
    assert_eq!(
        resources(&template, "AWS::CloudWatch::Dashboard").len(),
        1,
        "one dashboard"
    );
}

/// The stack `relay dev` stands up and `relay poll` reads, for every good golden case: the
/// description each relay carries parses, names the same tables, filters and consumers as the
/// SAM template deploys, and every stream filter is a valid pattern.
#[test]
fn every_golden_case_describes_its_local_stack() {
    let cases = e2e::workspace().join("generator/tests/cases");
    let mut checked = 0;
    for case in std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().path())
    {
        if !case
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("ok-")
        {
            continue;
        }
        // What the relay reads: the file the generator wrote into its crate.
        let text =
            std::fs::read_to_string(case.join("expected/relay/src/local_stack.json")).unwrap();
        let stack = outbox_ops::LocalStack::parse(&text).unwrap();
        let sam: Value = serde_saphyr::from_str(
            &std::fs::read_to_string(case.join("expected/sam/template.yaml")).unwrap(),
        )
        .unwrap();
        let rules: BTreeSet<&str> = resources(&sam, "AWS::Events::Rule")
            .iter()
            .filter_map(|(_, r)| r["Properties"]["Name"].as_str())
            .collect();
        let local_rules: BTreeSet<&str> = stack
            .consumers
            .iter()
            .map(|c| c.rule_name.as_str())
            .collect();
        assert_eq!(local_rules, rules, "{}", case.display());
        for consumer in &stack.consumers {
            let deployed = resources(&sam, "AWS::Events::Rule")
                .into_iter()
                .find(|(_, r)| r["Properties"]["Name"] == consumer.rule_name.as_str())
                .unwrap();
            assert_eq!(
                deployed.1["Properties"]["EventPattern"],
                consumer.pattern,
                "{}: {}",
                case.display(),
                consumer.name
            );
        }
        let config: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(case.join("outbox.yaml")).unwrap())
                .unwrap();
        assert_eq!(
            stack.tables.len(),
            config["tables"].as_object().unwrap().len()
        );
        for table in &stack.tables {
            for filter in &table.filters {
                Pattern::from_value(filter).unwrap();
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 5);
}

/// The contract example with one consumer of every kind of target: each rule delivers to its
/// target with the least it needs (a role allowed exactly the target's action on the target,
/// or a resource policy pinned to the rule), a retry policy and a dead-letter queue.
#[test]
fn every_kind_of_target_gets_least_privilege_retries_and_a_dead_letter_queue() {
    let text = std::fs::read_to_string(
        e2e::workspace().join("examples/targets/generated/sam/template.yaml"),
    )
    .unwrap();
    let template: Value = serde_saphyr::from_str(&text).unwrap();
    let all = template["Resources"].as_object().unwrap();
    let rules = resources(&template, "AWS::Events::Rule");
    // What each kind's role may do; `None`: a resource policy lets the rule in instead.
    let expected: [(&str, Option<&[&str]>); 9] = [
        ("UserCreatedConsumer", None),
        ("ShippedOrdersQueue", None),
        ("OrderNotifications", None),
        ("Fulfilment", Some(&["states:StartExecution"])),
        ("OrderStream", Some(&["kinesis:PutRecord"])),
        (
            "Analytics",
            Some(&["firehose:PutRecord", "firehose:PutRecordBatch"]),
        ),
        ("CrmWebhook", Some(&["events:InvokeApiDestination"])),
        ("DebugTap", None),
        ("PartnerBus", Some(&["events:PutEvents"])),
    ];
    for (id, actions) in expected {
        let (_, rule) = rules
            .iter()
            .find(|(_, r)| r["Properties"]["Targets"][0]["Id"] == id)
            .unwrap_or_else(|| panic!("no rule targets {id}"));
        let target = &rule["Properties"]["Targets"][0];
        assert!(
            target["RetryPolicy"]["MaximumRetryAttempts"].is_u64(),
            "{id}"
        );
        let dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap();
        assert_eq!(all[dlq]["Type"], "AWS::SQS::Queue", "{id}");
        match actions {
            Some(actions) => {
                let role_id = target["RoleArn"]["Fn::GetAtt"][0].as_str().unwrap();
                let role = &all[role_id]["Properties"];
                let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
                assert_eq!(trust["Principal"]["Service"], "events.amazonaws.com");
                assert!(trust["Condition"]["StringEquals"]["aws:SourceAccount"].is_object());
                let statements = role["Policies"][0]["PolicyDocument"]["Statement"]
                    .as_array()
                    .unwrap();
                assert_eq!(statements.len(), 1, "{id}");
                assert_eq!(statements[0]["Action"], serde_json::json!(actions), "{id}");
                assert_eq!(
                    statements[0]["Resource"], target["Arn"],
                    "{id}: exactly its target"
                );
            }
            None => assert!(target.get("RoleArn").is_none(), "{id}"),
        }
    }
    // The topic policy pins the orderNotifications rule; the log policy the debugTap rule.
    let topic_policy = &resources(&template, "AWS::SNS::TopicPolicy")[0].1["Properties"];
    assert_eq!(
        topic_policy["PolicyDocument"]["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"]
            [0],
        "OrderNotificationsRule"
    );
    let log_policy = &resources(&template, "AWS::Logs::ResourcePolicy")[0].1["Properties"];
    assert_eq!(
        log_policy["PolicyDocument"]["Fn::Sub"][1]["RuleArn"]["Fn::GetAtt"][0],
        "DebugTapRule"
    );
    // A created delivery stream writes to its bucket alone, with a role only Firehose of this
    // account can assume.
    let (_, role) = resources(&template, "AWS::IAM::Role")
        .into_iter()
        .find(|(_, r)| {
            r["Properties"]["AssumeRolePolicyDocument"]
                .to_string()
                .contains("firehose.amazonaws.com")
        })
        .expect("the delivery stream's role");
    let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert!(trust["Condition"]["StringEquals"]["sts:ExternalId"].is_object());
    for statement in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
    {
        let resource = statement["Resource"].as_str().unwrap();
        assert!(
            resource.starts_with("arn:aws:s3:::myapp-data-lake"),
            "{resource}"
        );
    }
    // The secret is resolved at deploy time, never written into the template.
    let connection = &resources(&template, "AWS::Events::Connection")[0].1["Properties"];
    let key = connection["AuthParameters"]["ApiKeyAuthParameters"]["ApiKeyValue"]
        .as_str()
        .unwrap();
    assert!(key.starts_with("{{resolve:secretsmanager:arn:"), "{key}");
    // Another account's bus names this stack's role: the stack outputs it.
    assert!(template["Outputs"]["PartnerBusDeliveryRoleArn"]["Value"].is_object());
}

/// The Custom Event Bus example (`examples/ordered`): every kind of target a subscriber
/// delivers to, each with a delivery role allowed its target's actions (and its dead-letter
/// queue) on exactly that target, its parameters (a Kinesis partition key, an ordered
/// function's synchronous invocation, the other bus's group and deduplication id) and its
/// `input` as a transformer; and two alarms per subscriber on its own metrics (`EventBus` and
/// `Subscriber` by ARN), one of them metric math over failed attempts.
#[test]
fn every_subscriber_delivers_with_least_privilege_its_input_and_alarms() {
    let text = std::fs::read_to_string(
        e2e::workspace().join("examples/ordered/generated/sam/template.yaml"),
    )
    .unwrap();
    let template: Value = serde_saphyr::from_str(&text).unwrap();
    let all = template["Resources"].as_object().unwrap();
    let subscribers = resources(&template, "AWS::EventsV2::Subscriber");
    let expected: [(&str, &[&str], Option<&str>); 9] = [
        (
            "UserCreatedConsumerSubscriber",
            &["lambda:InvokeFunction"],
            None,
        ),
        ("ShippedOrdersSubscriber", &["sqs:SendMessage"], None),
        (
            "OrderNotificationsSubscriber",
            &["sns:Publish"],
            Some("JSONATA"),
        ),
        (
            "FulfilWorkflowSubscriber",
            &["states:StartExecution"],
            Some("JSONATA"),
        ),
        (
            "OrderStreamSubscriber",
            &["kinesis:PutRecord", "kinesis:PutRecords"],
            Some("JSONATA"),
        ),
        (
            "AnalyticsSubscriber",
            &["firehose:PutRecord", "firehose:PutRecordBatch"],
            Some("WITH_METADATA"),
        ),
        (
            "CrmWebhookSubscriber",
            &["events:InvokeApiDestination"],
            Some("JSONATA"),
        ),
        ("PartnerBusSubscriber", &["events:PutEvents"], None),
        (
            "RegionalBusSubscriber",
            &["events:PutEvents"],
            Some("JSONATA"),
        ),
    ];
    for (id, actions, transformer) in expected {
        let (_, subscriber) = subscribers
            .iter()
            .find(|(name, _)| name.as_str() == id)
            .unwrap_or_else(|| panic!("no subscriber {id}"));
        let p = &subscriber["Properties"];
        let invoke = &p["InvokeConfiguration"];
        let role = &all[invoke["RoleArn"]["Fn::GetAtt"][0].as_str().unwrap()]["Properties"];
        let statements = role["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap();
        assert_eq!(statements.len(), 2, "{id}: its target and its dead letters");
        let action = &statements[0]["Action"];
        let granted: Vec<&str> = match action.as_str() {
            Some(one) => vec![one],
            None => action
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect(),
        };
        assert_eq!(granted, actions, "{id}");
        assert_eq!(
            statements[0]["Resource"], invoke["TargetArn"],
            "{id}: exactly its target"
        );
        assert_eq!(
            statements[1]["Resource"], p["OnFailureConfiguration"]["Arn"],
            "{id}: its dead-letter queue"
        );
        assert_eq!(
            p["Transformer"]["Type"].as_str(),
            transformer,
            "{id}: its input"
        );
        for alarm in ["EventsDropped", "EventDeliveryAttempts"] {
            let watching = resources(&template, "AWS::CloudWatch::Alarm")
                .into_iter()
                .filter(|(_, a)| {
                    let p = &a["Properties"];
                    let metrics = p["Metrics"]
                        .as_array()
                        .map(|m| m[0]["MetricStat"]["Metric"].clone());
                    let metric = metrics.unwrap_or_else(|| p.clone());
                    metric["MetricName"] == alarm
                        && metric["Namespace"] == "AWS/EventsV2"
                        && metric["Dimensions"][1]["Value"]["Fn::GetAtt"]
                            == serde_json::json!([id, "SubscriberArn"])
                })
                .count();
            assert_eq!(watching, 1, "{id}: an alarm on {alarm}");
        }
    }
    let parameters = |id: &str| all[id]["Properties"]["InvokeConfiguration"].clone();
    assert!(
        parameters("OrderStreamSubscriber")["KinesisParameters"]["PartitionKey"]
            .as_str()
            .unwrap()
            .contains("$events.Data.`detail`.`orderId`")
    );
    assert_eq!(
        parameters("RegionalBusSubscriber")["EventBusV2Parameters"]["SystemMetadata"]["EventGroupId"],
        "{% $events.SystemMetadata.EventGroupId %}"
    );
    assert_eq!(
        parameters("ShippedOrdersSubscriber")["SqsParameters"]["MessageDeduplicationId"],
        "{% $events.SystemMetadata.\"aws:EventId\" %}"
    );
    // The failing-deliveries alarm is attempts minus deliveries.
    let (_, failing) = resources(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .find(|(_, a)| {
            a["Properties"]["AlarmName"] == "myapp-ordered-shippedOrders-delivery-failing"
        })
        .unwrap();
    let metrics = failing["Properties"]["Metrics"].as_array().unwrap();
    assert_eq!(
        metrics[1]["MetricStat"]["Metric"]["MetricName"],
        "EventsDelivered"
    );
    assert_eq!(metrics[2]["Expression"], "m - minus");
}
