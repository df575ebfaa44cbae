"""Validates a CloudFormation template with cloudformation-validate (offline; the validator that
checks EventBridge event patterns). Exits 1 on any error-severity diagnostic.

Usage: python validate.py TEMPLATE
"""

import sys

from cloudformation_validate import RegoEngine


def main() -> int:
    path = sys.argv[1]
    report = RegoEngine().validate_template(path)
    errors = 0
    for d in report.diagnostics:
        print(f"{path}: [{d.severity.name}] {d.rule_id}: {d.message}")
        if d.severity.name.upper() in ("ERROR", "CRITICAL"):
            errors += 1
    print(f"{path}: {len(report.diagnostics)} diagnostics, {errors} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
