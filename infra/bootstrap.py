"""Creates the local table and key secret exactly as template.yaml defines them.

Run with the project's .venv (boto3 and PyYAML come with moto). Reads the endpoint, table name and
secret id from the environment that `make dev` and `make test` set. Idempotent.
"""

import os
import secrets
import sys
import time

import boto3
import yaml


class CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !GetAtt, ...) as plain values."""


def _any_tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}


CloudFormationLoader.add_multi_constructor("!", _any_tag)


def resource_of_type(template, kind):
    for resource in template["Resources"].values():
        if resource["Type"] == kind:
            return resource["Properties"]
    sys.exit(f"template.yaml has no {kind}")


def create_table(dynamodb, name, props):
    existing = dynamodb.list_tables()["TableNames"]
    if name in existing:
        return
    arguments = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props["BillingMode"],
    }
    if "StreamSpecification" in props:
        arguments["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": props["StreamSpecification"]["StreamViewType"],
        }
    dynamodb.create_table(**arguments)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]},
        )


def create_secret(secretsmanager, secret_id, props):
    generate = props["GenerateSecretString"]
    length = int(generate["PasswordLength"])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    value = "".join(secrets.choice(alphabet) for _ in range(length))
    try:
        secretsmanager.create_secret(Name=secret_id, SecretString=value, Description=props.get("Description", ""))
    except secretsmanager.exceptions.ResourceExistsException:
        pass


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "template.yaml"), encoding="utf-8") as handle:
        template = yaml.load(handle, Loader=CloudFormationLoader)
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    region = os.environ.get("AWS_REGION", "us-east-1")
    session = boto3.session.Session(region_name=region)
    for attempt in range(100):
        try:
            dynamodb = session.client("dynamodb", endpoint_url=endpoint)
            dynamodb.list_tables()
            break
        except Exception:  # the emulator is still starting
            time.sleep(0.1)
    else:
        sys.exit(f"the DynamoDB emulator at {endpoint} did not answer")
    create_table(dynamodb, os.environ["TABLE_NAME"], resource_of_type(template, "AWS::DynamoDB::Table"))
    create_secret(
        session.client("secretsmanager", endpoint_url=endpoint),
        os.environ["KEY_SECRET_ID"],
        resource_of_type(template, "AWS::SecretsManager::Secret"),
    )


if __name__ == "__main__":
    main()
