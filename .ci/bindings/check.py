"""The Python bindings of one generated output on the relay's own dry-run output: every
published entry, as the envelope a consumer receives (JSON text), parses with its deterministic
id and exact decimals; every sample parses; events the schemas refuse (a required field missing
or of the wrong type, an unknown field in a closed detail, an unknown detail-type) are refused,
naming the field.

Usage: python check.py GENERATED_DIR DRYRUN_FILE
"""

import copy
import json
import sys
from decimal import Decimal
from pathlib import Path

generated, dryrun = Path(sys.argv[1]), Path(sys.argv[2])
sys.path.insert(0, str(generated / "bindings" / "python"))
import outbox_events as b  # noqa: E402

POISON = "Outbox Poison Record"


def refused(event, path):
    try:
        b.parse_event(json.dumps(event))
    except b.OutboxEventError as e:
        assert e.path == path, f"refused at {e.path}, expected {path}"
        return
    raise AssertionError(f"accepted, expected a refusal at {path}: {event}")


def envelope_text(entry, i):
    head = {
        "version": "0",
        "id": f"00000000-0000-4000-8000-{i:012}",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "123456789012",
        "time": "2026-12-05T10:00:00Z",
        "region": "eu-west-1",
        "resources": entry["Resources"],
    }
    # The detail as the relay sent it: every digit of its numbers.
    return json.dumps(head)[:-1] + ', "detail": ' + entry["Detail"] + "}"


def numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from numbers(v)
    elif isinstance(value, Decimal):
        yield value


parsed = poison = exact = 0
lines = [line for line in dryrun.read_text().splitlines() if line.strip()]
for i, line in enumerate(lines):
    entry = json.loads(line)
    text = envelope_text(entry, i)
    if entry["DetailType"] == POISON:
        refused(json.loads(text), "$.detail-type")
        poison += 1
        continue
    event = b.parse_event(text)
    assert b.event_id(event) == entry["Resources"][0], text
    sent = json.loads(entry["Detail"], parse_float=Decimal)
    for number in numbers(sent):
        if len(number.as_tuple().digits) > 17:
            # A float would have lost digits; the binding keeps them.
            assert str(number) in repr(event.detail), (number, event.detail)
            exact += 1
    parsed += 1

schemas = sorted((generated / "schemas").glob("*.json"))
refusals = 0
for file in schemas:
    schema = json.loads(file.read_text())
    sample = json.loads(b.SAMPLES[schema["title"]])
    assert b.event_id(b.parse_event(json.dumps(sample))) == sample["resources"][0]
    detail = schema["$defs"]["detail"]
    for field in detail.get("required", []):
        missing = copy.deepcopy(sample)
        del missing["detail"][field]
        refused(missing, f"$.detail.{field}")
        wrong = copy.deepcopy(sample)
        wrong["detail"][field] = 42 if detail["properties"].get(field, {}).get("type") == "string" else "not-this"
        refused(wrong, f"$.detail.{field}")
        refusals += 2
    if detail.get("additionalProperties") is False:
        extra = copy.deepcopy(sample)
        extra["detail"]["outboxUnexpectedField"] = 1
        refused(extra, "$.detail.outboxUnexpectedField")
        refusals += 1
    unknown = copy.deepcopy(sample)
    unknown["detail-type"] = "No Such Event"
    refused(unknown, "$.detail-type")

assert parsed > 0 or not lines, "the dry run published events"
print(f"{generated}: Python bindings parsed {parsed} published events ({poison} dead letters refused, {exact} numbers beyond a float exact), {len(schemas)} samples, {refusals} refusals")
