"""Every example in docs/openapi.yaml against the schema it illustrates.

An example that breaks its own schema teaches integrators the wrong thing, and generators and
mock servers take examples at their word. Checked here: each media type's `example` and each
`examples` entry's `value` (requests and responses), and each schema's own `example`, against
the schema in the same place, with JSON Schema 2020-12 as OpenAPI 3.1 uses it.

Usage: python infra/examples.py [docs/openapi.yaml]
Prints every example that does not validate, and how many did; exits 1 if any did not.
"""

import os
import sys

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def escape(part):
    return str(part).replace("~", "~0").replace("/", "~1")


def examples(node, pointer):
    """(where, example, pointer of the schema it illustrates) for every example under `node`."""
    if isinstance(node, dict):
        if "schema" in node and ("example" in node or "examples" in node):
            schema = f"{pointer}/schema"
            if "example" in node:
                yield f"{pointer}/example", node["example"], schema
            for name, entry in (node.get("examples") or {}).items():
                if isinstance(entry, dict) and "value" in entry:
                    yield f"{pointer}/examples/{escape(name)}/value", entry["value"], schema
        if "example" in node and ("type" in node or "$ref" in node or "properties" in node):
            yield f"{pointer}/example", node["example"], pointer
        for key, value in node.items():
            if key not in ("example", "examples"):
                yield from examples(value, f"{pointer}/{escape(key)}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from examples(value, f"{pointer}/{index}")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "openapi.yaml")
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    checked, wrong = 0, []
    for where, example, schema in examples(document, "#"):
        root = dict(document)
        root["$ref"] = schema
        validator = jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())
        errors = list(validator.iter_errors(example))
        checked += 1
        for error in errors:
            wrong.append(f"{where}: {error.json_path}: {error.message}")
    for line in wrong:
        print(line)
    print(f"{checked} examples checked against their schemas, {len(wrong)} problems")
    sys.exit(1 if wrong or not checked else 0)


if __name__ == "__main__":
    main()
