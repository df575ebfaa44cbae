"""Checks the relay's PutEvents requests for EventBridge's new Custom Event Bus against
botocore's `eventbridgev2` model, decoded with cbor2 (independent of the relay's minicbor and
the fake's ciborium); and the fake's endpoint against botocore's own client.

  check_put_events.py body FILE...   each FILE is a request body: decode, validate, print a line
  check_put_events.py client URL     botocore's client against the fake at URL

Exits 1 with every problem listed.
"""

import datetime
import re
import sys

import botocore.config
import botocore.session
import cbor2
from botocore.exceptions import ClientError

MODEL = botocore.session.get_session().get_service_model("eventbridgev2")


def check(value, shape, where, problems):
    """Validates a decoded value against a botocore shape: members, required, types, lengths,
    patterns."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a map, got {type(value).__name__}")
            return
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{where}: missing required member {name}")
        for name, member in value.items():
            if name not in shape.members:
                problems.append(f"{where}: {name} is not a member of {shape.name}")
                continue
            check(member, shape.members[name], f"{where}.{name}", problems)
    elif kind == "list":
        if not isinstance(value, list):
            problems.append(f"{where}: expected an array")
            return
        bounds(len(value), shape, where, problems)
        for i, item in enumerate(value):
            check(item, shape.member, f"{where}[{i}]", problems)
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{where}: expected a text string, got {type(value).__name__}")
            return
        bounds(len(value), shape, where, problems)
        pattern = shape.metadata.get("pattern")
        if pattern and not re.fullmatch(pattern, value, re.DOTALL):
            problems.append(f"{where}: does not match {pattern}")
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            problems.append(f"{where}: {value} is none of {enum}")
    elif kind == "timestamp":
        if not isinstance(value, datetime.datetime):
            problems.append(f"{where}: expected a tag-1 timestamp, got {value!r}")
    elif kind in ("integer", "long"):
        if not isinstance(value, int):
            problems.append(f"{where}: expected an integer")
    else:
        problems.append(f"{where}: unexpected shape type {kind}")


def bounds(length, shape, where, problems):
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and length < low:
        problems.append(f"{where}: length {length} < {low}")
    if high is not None and length > high:
        problems.append(f"{where}: length {length} > {high}")


def bodies(files):
    problems = []
    shape = MODEL.operation_model("PutEvents").input_shape
    for path in files:
        raw = open(path, "rb").read()
        request = cbor2.loads(raw)
        check(request, shape, path, problems)
        print(f"{path}: {len(request.get('Entries', []))} entries, {len(raw)} bytes")
    return problems


def client(url):
    problems = []
    eb = botocore.session.get_session().create_client(
        "eventbridgev2", region_name="us-east-1", endpoint_url=url,
        aws_access_key_id="test", aws_secret_access_key="test",
        # What the service refuses must reach it (botocore would refuse 101 entries itself).
        config=botocore.config.Config(parameter_validation=False))
    bus = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
    entry = {"Source": "shop.orders", "DetailType": "OrderPlaced", "Detail": '{"id":"1"}',
             "Resources": ["urn:outbox:event:e1:OrderPlaced"],
             "Time": datetime.datetime(2026, 12, 5, tzinfo=datetime.timezone.utc),
             "SystemMetadata": {"EventGroupId": "ORDER#1", "DeduplicationId": "e1:OrderPlaced"}}
    first = eb.put_events(EventBusArn=bus, Entries=[entry])
    again = eb.put_events(EventBusArn=bus, Entries=[entry])
    codes = [first["Entries"][0].get("SuccessCode"), again["Entries"][0].get("SuccessCode")]
    if codes != ["PUBLISHED", "DEDUPLICATED"]:
        problems.append(f"botocore read {codes}, not PUBLISHED then DEDUPLICATED")
    try:
        eb.put_events(EventBusArn=bus, Entries=[entry] * 101)
        problems.append("101 entries were accepted")
    except ClientError as e:
        if e.response["Error"]["Code"] != "InvalidInputException":
            problems.append(f"101 entries: {e.response['Error']}")
    print(f"botocore's eventbridgev2 client against {url}: {codes}")
    return problems


def main():
    mode, rest = sys.argv[1], sys.argv[2:]
    problems = bodies(rest) if mode == "body" else client(rest[0])
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
