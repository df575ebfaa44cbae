"""Translates a SAM template to plain CloudFormation offline (aws-sam-translator), the way
`sam deploy` would, so CloudFormation linters can check the result.

Usage: python translate.py TEMPLATE.yaml OUTPUT.json
"""

import json
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class OfflinePolicies(ManagedPolicyLoader):
    """No IAM calls: the generated template names no managed policies."""

    def __init__(self):
        pass

    def load(self):
        return {}


def main() -> int:
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and not str(properties.get("CodeUri", "")).startswith("s3://"):
            properties["CodeUri"] = "s3://outbox-artifacts/relay.zip"
    try:
        output = transform(template, {}, OfflinePolicies())
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(f"{source}: {cause.message}", file=sys.stderr)
        return 1
    with open(target, "w", encoding="utf-8") as f:
        json.dump(output, f, indent=1, sort_keys=True)
    print(f"{source}: translated to {target} ({len(output['Resources'])} resources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
