"""Shows that the SAM template (translated to CloudFormation) and the CDK app (synthesized) deploy
the same architecture: the same resources, and for each the settings that matter (tables, event
source mappings with their filters, the relay, rules with their patterns and delivery settings,
queues, resource policies, IAM, schemas, log group, outputs). Also checks the least-privilege
rules on both. Exits 1 with every difference listed.

Usage: python compare.py SAM_TRANSLATED.json CDK_SYNTHESIZED.json
"""

import json
import re
import sys
from collections import Counter

# Where a `*` resource is allowed: actions without resource-level permissions.
STAR_ACTIONS = {"dynamodb:ListStreams", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# What CDK's `grantSendMessages` adds next to sqs:SendMessage (read-only, same queue).
CDK_QUEUE_EXTRAS = {"sqs:GetQueueAttributes", "sqs:GetQueueUrl"}


class Template:
    def __init__(self, path):
        self.path = path
        self.data = json.load(open(path))
        self.resources = self.data["Resources"]

    def of_type(self, kind):
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def name(self, logical_id):
        """A resource's AWS name; for unnamed ones, its type and logical id (without the hash
        CDK appends)."""
        r = self.resources[logical_id]
        p = r.get("Properties", {})
        for key in ("TableName", "QueueName", "Name", "FunctionName", "LogGroupName", "RegistryName",
                    "TopicName", "AlarmName", "DashboardName", "PolicyName"):
            if key in p:
                return p[key]
        return f"{r['Type']}:{re.sub(r'[0-9A-F]{8}$', '', logical_id)}"

    def resolve(self, value):
        """Replaces references by the names of what they point at, and spells ARNs built with
        Fn::Sub or Fn::Join the same way, so both templates compare."""
        if isinstance(value, dict):
            if set(value) == {"Ref"}:
                target = value["Ref"]
                return f"ref:{self.name(target)}" if target in self.resources else "${%s}" % target
            if set(value) == {"Fn::GetAtt"}:
                target, attribute = value["Fn::GetAtt"]
                return f"{self.name(target)}.{attribute}"
            if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
                return value["Fn::Sub"]
            if set(value) == {"Fn::Sub"}:
                text, variables = value["Fn::Sub"]
                for name, v in variables.items():
                    text = text.replace("${%s}" % name, str(self.resolve(v)))
                return text
            if set(value) == {"Fn::Join"} and value["Fn::Join"][0] == "":
                return "".join(str(self.resolve(part)) for part in value["Fn::Join"][1])
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


def relay_statements(t):
    """Every IAM statement that applies to the relay's role."""
    (function,) = t.of_type("AWS::Lambda::Function").values()
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = []
    for policy in t.resources[role_id]["Properties"].get("Policies", []):
        statements += policy["PolicyDocument"]["Statement"]
    for policy in t.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def as_list(value):
    return value if isinstance(value, list) else [value]


def least_privilege(t, problems):
    for s in relay_statements(t):
        actions = set(as_list(s["Action"]))
        if "*" in as_list(s["Resource"]) and not actions <= STAR_ACTIONS:
            problems.append(f"{t.path}: `*` resource for {sorted(actions)}")
        if any("*" in a for a in actions):
            problems.append(f"{t.path}: wildcard action {sorted(actions)}")
    for role in t.of_type("AWS::IAM::Role").values():
        if role["Properties"].get("ManagedPolicyArns"):
            problems.append(f"{t.path}: a role with managed policies {role['Properties']['ManagedPolicyArns']}")
    for policy in t.of_type("AWS::SQS::QueuePolicy").values():
        for s in policy["Properties"]["PolicyDocument"]["Statement"]:
            source = s.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn")
            if s.get("Principal") == "*" or not source:
                problems.append(f"{t.path}: queue policy statement not pinned to a rule: {s}")
    for subscriber in t.of_type("AWS::EventsV2::Subscriber").values():
        role = t.resources[subscriber["Properties"]["InvokeConfiguration"]["RoleArn"]["Fn::GetAtt"][0]]
        for policy in role["Properties"].get("Policies", []):
            for s in policy["PolicyDocument"]["Statement"]:
                if "*" in as_list(s["Resource"]) or any("*" in a for a in as_list(s["Action"])):
                    problems.append(f"{t.path}: a delivery role statement with `*`: {s}")
        trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        if any(s.get("Principal") != {"Service": "events.amazonaws.com"} or "Condition" not in s for s in trust):
            problems.append(f"{t.path}: a delivery role not limited to EventBridge of its account: {trust}")
    for rule in t.of_type("AWS::Events::Rule").values():
        for target in rule["Properties"]["Targets"]:
            if "RoleArn" not in target:
                continue
            role = t.resources[target["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
            for policy in role.get("Policies", []):
                for s in policy["PolicyDocument"]["Statement"]:
                    if "*" in as_list(s["Resource"]) or any("*" in a for a in as_list(s["Action"])):
                        problems.append(f"{t.path}: a rule target role statement with `*`: {s}")
            if any(s.get("Principal") != {"Service": "events.amazonaws.com"} or "Condition" not in s
                   for s in role["AssumeRolePolicyDocument"]["Statement"]):
                problems.append(f"{t.path}: a rule target role not limited to EventBridge of its account")
    for role in t.of_type("AWS::IAM::Role").values():
        if "firehose.amazonaws.com" not in json.dumps(role["Properties"]["AssumeRolePolicyDocument"]):
            continue
        for policy in role["Properties"].get("Policies", []):
            for s in policy["PolicyDocument"]["Statement"]:
                if "*" in as_list(s["Resource"]) or any("*" in a for a in as_list(s["Action"])):
                    problems.append(f"{t.path}: a delivery stream role statement with `*`: {s}")
    for policy in t.of_type("AWS::SNS::TopicPolicy").values():
        for s in policy["Properties"]["PolicyDocument"]["Statement"]:
            if s.get("Principal") == "*" or not s.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn"):
                problems.append(f"{t.path}: topic policy statement not pinned to a rule: {s}")
    for policy in t.of_type("AWS::Logs::ResourcePolicy").values():
        text = json.dumps(policy["Properties"]["PolicyDocument"])
        if "aws:SourceArn" not in text:
            problems.append(f"{t.path}: log group resource policy not pinned to a rule")
    for permission in t.of_type("AWS::Lambda::Permission").values():
        if "SourceArn" not in permission["Properties"]:
            problems.append(f"{t.path}: Lambda permission without SourceArn")


def views(t):
    """What must be equal, by resource kind, with references resolved to names."""
    r = t.resolve
    tables = sorted(
        (
            p["TableName"],
            json.dumps(r({k: p.get(k) for k in (
                "BillingMode", "AttributeDefinitions", "KeySchema", "StreamSpecification",
                "SSESpecification", "PointInTimeRecoverySpecification", "DeletionProtectionEnabled",
            )}), sort_keys=True),
            x.get("DeletionPolicy"),
        )
        for x in t.of_type("AWS::DynamoDB::Table").values()
        for p in [x["Properties"]]
    )
    mappings = sorted(
        json.dumps({
            **r({k: p.get(k) for k in (
                "EventSourceArn", "StartingPosition", "BatchSize", "MaximumBatchingWindowInSeconds",
                "ParallelizationFactor", "FunctionResponseTypes", "BisectBatchOnFunctionError",
                "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "DestinationConfig",
            )}),
            "Filters": sorted(json.dumps(json.loads(f["Pattern"]), sort_keys=True)
                              for f in p.get("FilterCriteria", {}).get("Filters", [])),
        }, sort_keys=True)
        for x in t.of_type("AWS::Lambda::EventSourceMapping").values()
        for p in [x["Properties"]]
    )
    functions = [
        json.dumps(r({k: p.get(k) for k in (
            "FunctionName", "Description", "Runtime", "Handler", "Architectures", "MemorySize", "Timeout",
            "TracingConfig", "Environment", "ReservedConcurrentExecutions",
        )} | {"LogFormat": p.get("LoggingConfig", {}).get("LogFormat"),
              "LogGroup": r(p.get("LoggingConfig", {}).get("LogGroup"))}), sort_keys=True)
        for x in t.of_type("AWS::Lambda::Function").values()
        for p in [x["Properties"]]
    ]
    rules = sorted(
        json.dumps(r({
            "Name": p["Name"], "Description": p.get("Description"), "EventBusName": p.get("EventBusName"),
            "EventPattern": p["EventPattern"], "State": p.get("State"),
            "Targets": [{
                "Arn": target["Arn"],
                "RetryPolicy": target.get("RetryPolicy"),
                "DeadLetter": "DeadLetterConfig" in target,
                "SqsParameters": target.get("SqsParameters"),
                "KinesisParameters": target.get("KinesisParameters"),
                "Role": r(target.get("RoleArn")),
                "InputPath": target.get("InputPath"),
                "InputTransformer": target.get("InputTransformer"),
            } for target in p["Targets"]],
        }), sort_keys=True)
        for x in t.of_type("AWS::Events::Rule").values()
        for p in [x["Properties"]]
    )
    queues = sorted(
        json.dumps({
            "QueueName": p.get("QueueName"),
            "Fifo": p.get("FifoQueue", False),
            "ContentBasedDeduplication": p.get("ContentBasedDeduplication", False),
            "SqsManagedSseEnabled": p.get("SqsManagedSseEnabled"),
            "MessageRetentionPeriod": p.get("MessageRetentionPeriod"),
            "maxReceiveCount": p.get("RedrivePolicy", {}).get("maxReceiveCount"),
        }, sort_keys=True)
        for x in t.of_type("AWS::SQS::Queue").values()
        for p in [x["Properties"]]
    )
    queue_policies = sorted(
        json.dumps(r({
            "Queues": p["Queues"],
            "Grants": sorted(
                (s["Principal"]["Service"], str(r(s["Condition"]["ArnEquals"]["aws:SourceArn"])))
                for s in p["PolicyDocument"]["Statement"]
            ),
        }), sort_keys=True)
        for x in t.of_type("AWS::SQS::QueuePolicy").values()
        for p in [x["Properties"]]
    )
    permissions = sorted(
        json.dumps(r({k: p[k] for k in ("Action", "Principal", "SourceArn", "FunctionName")}), sort_keys=True)
        for x in t.of_type("AWS::Lambda::Permission").values()
        for p in [x["Properties"]]
    )
    schemas = sorted(
        (r(p["RegistryName"]), p["SchemaName"], p["Type"], p.get("Description"), p["Content"])
        for x in t.of_type("AWS::EventSchemas::Schema").values()
        for p in [x["Properties"]]
    )
    registries = sorted(
        (p["RegistryName"], p.get("Description")) for x in t.of_type("AWS::EventSchemas::Registry").values()
        for p in [x["Properties"]]
    )
    log_groups = sorted(
        (p.get("LogGroupName"), p.get("RetentionInDays")) for x in t.of_type("AWS::Logs::LogGroup").values()
        for p in [x["Properties"]]
    )
    buses = sorted(x["Properties"]["Name"] for x in t.of_type("AWS::Events::EventBus").values())
    archives = sorted(
        json.dumps(r(x["Properties"]), sort_keys=True) for x in t.of_type("AWS::Events::Archive").values()
    )
    custom_buses = sorted(
        json.dumps(r(x["Properties"]), sort_keys=True) for x in t.of_type("AWS::EventsV2::EventBus").values()
    )
    subscribers = sorted(
        json.dumps(r(x["Properties"]), sort_keys=True) for x in t.of_type("AWS::EventsV2::Subscriber").values()
    )
    # What each subscriber's delivery role trusts and allows, by subscriber.
    delivery = sorted(
        json.dumps({
            "subscriber": p["Name"],
            "trust": r(t.resources[p["InvokeConfiguration"]["RoleArn"]["Fn::GetAtt"][0]]["Properties"]["AssumeRolePolicyDocument"]),
            "statements": sorted(
                json.dumps(r({k: s_[k] for k in ("Effect", "Action", "Resource")}), sort_keys=True)
                for policy in t.resources[p["InvokeConfiguration"]["RoleArn"]["Fn::GetAtt"][0]]["Properties"]["Policies"]
                for s_ in policy["PolicyDocument"]["Statement"]
            ),
        }, sort_keys=True)
        for x in t.of_type("AWS::EventsV2::Subscriber").values()
        for p in [x["Properties"]]
    )
    # What each rule target's role trusts and allows, by rule.
    target_roles = sorted(
        json.dumps({
            "rule": p["Name"],
            "trust": r(role["AssumeRolePolicyDocument"]),
            "statements": sorted(
                json.dumps(r({k: s_[k] for k in ("Effect", "Action", "Resource")}), sort_keys=True)
                for policy in role.get("Policies", [])
                for s_ in policy["PolicyDocument"]["Statement"]
            ),
        }, sort_keys=True)
        for x in t.of_type("AWS::Events::Rule").values()
        for p in [x["Properties"]]
        for target in p["Targets"] if "RoleArn" in target
        for role in [t.resources[target["RoleArn"]["Fn::GetAtt"][0]]["Properties"]]
    )
    # The further targets' own resources and resource policies, as deployed.
    further = {
        kind: sorted(json.dumps(r(x["Properties"]), sort_keys=True) for x in t.of_type(kind).values())
        for kind in ("AWS::SNS::TopicPolicy", "AWS::Logs::ResourcePolicy", "AWS::Kinesis::Stream",
                     "AWS::Events::Connection", "AWS::Events::ApiDestination",
                     "AWS::KinesisFirehose::DeliveryStream")
    }
    # The roles created delivery streams write to their buckets with.
    further["firehose roles"] = sorted(
        json.dumps(r(x["Properties"]), sort_keys=True) for x in t.of_type("AWS::IAM::Role").values()
        if "firehose.amazonaws.com" in json.dumps(x["Properties"]["AssumeRolePolicyDocument"])
    )
    alarms = sorted(
        json.dumps(r({k: p.get(k) for k in (
            "AlarmName", "AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic", "Period",
            "EvaluationPeriods", "Threshold", "ComparisonOperator", "TreatMissingData", "AlarmActions", "OKActions",
        )}), sort_keys=True)
        for x in t.of_type("AWS::CloudWatch::Alarm").values()
        for p in [x["Properties"]]
    )
    topics = sorted(
        json.dumps(x["Properties"], sort_keys=True) for x in t.of_type("AWS::SNS::Topic").values()
    )
    dashboards = sorted(
        (p["DashboardName"], json.dumps(json.loads(r(p["DashboardBody"])), sort_keys=True))
        for x in t.of_type("AWS::CloudWatch::Dashboard").values()
        for p in [x["Properties"]]
    )
    grants = {}
    for s in relay_statements(t):
        for action in as_list(s["Action"]):
            if action in CDK_QUEUE_EXTRAS:
                continue
            grants.setdefault(action, set()).update(
                json.dumps(r(x), sort_keys=True) for x in as_list(s["Resource"])
            )
            if s.get("Condition"):
                grants[action].add(json.dumps(r(s["Condition"]), sort_keys=True))
    grants = {k: sorted(v) for k, v in sorted(grants.items())}
    kinds = Counter(x["Type"] for x in t.resources.values() if x["Type"] not in ("AWS::IAM::Policy",))
    return {
        "resource kinds": dict(sorted(kinds.items())),
        "tables": tables, "event source mappings": mappings, "relay": functions, "rules": rules,
        "queues": queues, "queue policies": queue_policies, "lambda permissions": permissions,
        "schemas": schemas, "registries": registries, "log groups": log_groups, "buses": buses,
        "alarms": alarms, "alarm topics": topics, "dashboards": dashboards,
        "archives": archives, "custom buses": custom_buses, "subscribers": subscribers, "delivery roles": delivery,
        "target roles": target_roles, **further,
        "relay IAM (action -> resources, conditions)": grants,
        "outputs": sorted(t.data.get("Outputs", {})),
    }


def main():
    sam, cdk = Template(sys.argv[1]), Template(sys.argv[2])
    problems = []
    least_privilege(sam, problems)
    least_privilege(cdk, problems)
    a, b = views(sam), views(cdk)
    for key in a:
        if a[key] != b[key]:
            problems.append(
                f"{key} differ:\n  SAM: {json.dumps(a[key], indent=1, default=str)}\n  CDK: {json.dumps(b[key], indent=1, default=str)}"
            )
    for p in problems:
        print(p)
    summary = ", ".join(f"{len(v)} {k}" for k, v in a.items() if isinstance(v, (list, dict)))
    print(f"{sys.argv[1]} vs {sys.argv[2]}: {'the same architecture' if not problems else f'{len(problems)} differences'} ({summary})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
