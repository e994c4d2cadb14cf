"""Checks every IAM action that template.yaml grants against the published IAM action catalog.

An action that does not exist (`dynamodb:TransactWriteItems`, say: each item of a transaction is
authorised by the action it performs) is accepted by CloudFormation and by cfn-lint on a SAM
template, and then refuses every call at run time. The catalog is policy_sentry's copy of the AWS
Service Authorization Reference, pinned in infra/requirements.txt. A wildcard in an action or a
resource fails too: each function's policy names exactly what it calls.

Usage: python infra/iam_actions.py template.yaml
"""

import json
import os
import sys

import yaml
from policy_sentry.querying.actions import get_actions_for_service

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bootstrap import CloudFormationLoader  # noqa: E402


def as_list(value):
    return value if isinstance(value, list) else [value]


def granted(template):
    """(resource name, action, resource) of every statement of every function's policies."""
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for policy in resource["Properties"].get("Policies", []):
            if not isinstance(policy, dict) or "Statement" not in policy:
                yield name, f"{policy!r} (only inline statements are checked)", None
                continue
            for statement in policy["Statement"]:
                odd = sorted(set(statement) - {"Effect", "Action", "Resource"})
                if statement.get("Effect") != "Allow" or odd:
                    yield name, f"a statement other than Allow/Action/Resource ({odd or statement.get('Effect')})", None
                    continue
                for action in as_list(statement.get("Action", [])):
                    for target in as_list(statement.get("Resource", [])):
                        yield name, action, target


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        template = yaml.load(handle, Loader=CloudFormationLoader)
    catalog = {}
    problems = []
    checked = 0
    for function, action, target in granted(template):
        checked += 1
        if target is None:
            problems.append(f"{function}: {action} (only Allow statements of Action and Resource are checked)")
            continue
        if "*" in action or "*" in json.dumps(target):
            problems.append(f"{function}: wildcard in {action} on {target}")
            continue
        service = action.split(":", 1)[0]
        if service not in catalog:
            catalog[service] = {known.lower() for known in get_actions_for_service(service)}
        if action.lower() not in catalog[service]:
            problems.append(f"{function}: {action} is not an IAM action")
    if problems:
        print("template.yaml grants what IAM does not know:", *problems, sep="\n  ")
        sys.exit(1)
    print(f"template.yaml: {checked} grants, every action in the IAM catalog, no wildcard")


if __name__ == "__main__":
    main()
