"""Every example in docs/openapi.yaml against the schema it illustrates.

An example that breaks its own schema teaches integrators the wrong thing, and generators and
mock servers take examples at their word. Checked here: each media type's and parameter's
`example` and each `examples` entry's `value` (an Example object's, `$ref`s followed), and each
schema's own `example` and `examples` list, against the schema in the same place, with JSON
Schema 2020-12 as OpenAPI 3.1 uses it.

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


SCHEMA_KEYS = {"type", "$ref", "properties", "items", "allOf", "oneOf", "anyOf", "enum", "const", "pattern"}


def resolve(document, node):
    """An Example object given as a `$ref` (to `components/examples`), followed."""
    while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#/"):
        target = document
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def examples(document, node, pointer):
    """(where, example, pointer of the schema it illustrates) for every example under `node`:
    a media type's or a parameter's `example` and `examples` (Example objects, `$ref`s to them
    followed), and a schema's own `example` and JSON Schema `examples` list."""
    if isinstance(node, dict):
        if "schema" in node and ("example" in node or "examples" in node):
            schema = f"{pointer}/schema"
            if "example" in node:
                yield f"{pointer}/example", node["example"], schema
            for name, entry in (node.get("examples") or {}).items():
                entry = resolve(document, entry)
                where = f"{pointer}/examples/{escape(name)}"
                if not isinstance(entry, dict) or ("value" not in entry and "externalValue" not in entry):
                    yield where, Unreadable(), schema
                elif "value" in entry:
                    yield f"{where}/value", entry["value"], schema
        elif SCHEMA_KEYS & set(node):
            if "example" in node:
                yield f"{pointer}/example", node["example"], pointer
            if isinstance(node.get("examples"), list):
                for index, value in enumerate(node["examples"]):
                    yield f"{pointer}/examples/{index}", value, pointer
        for key, value in node.items():
            if key not in ("example", "examples"):
                yield from examples(document, value, f"{pointer}/{escape(key)}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from examples(document, value, f"{pointer}/{index}")


class Unreadable:
    """An `examples` entry that is neither an Example object nor a reference to one."""


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "openapi.yaml")
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    checked, wrong, validators = 0, [], {}
    for where, example, schema in examples(document, document, "#"):
        if isinstance(example, Unreadable):
            wrong.append(f"{where}: not an Example object")
            continue
        validator = validators.get(schema)
        if validator is None:
            root = dict(document)
            root["$ref"] = schema
            validator = jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())
            validators[schema] = validator
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
