"""Runs schemathesis against the local stack: every operation of docs/openapi.yaml, reached with
accounts of its own (infra/contract_hooks.py), in every phase: the document's examples, the
coverage phase's boundaries, fuzzing, and the stateful phase that follows the document's links
(sign up -> sign in, token create -> revoke and whoami, token list -> revoke, session list -> end).
Valid and invalid data alike (`mode = "all"`, infra/contract.toml).

Then it reads schemathesis's NDJSON report and prints, for every operation, the statuses its cases
got, and fails when an operation never succeeded (no 2xx: only the front door's 401, 403 and 404,
the throttles' 429 or the validation's 400 say nothing about the logic behind them), and when the
stateful phase ran no case.

Usage (from infra/test.sh, with the stack running): python infra/contract.py API_URL
Exits non-zero when a check fails or an operation was not reached.
"""

import collections
import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
]


def schemathesis(api, report, seconds):
    command = [
        os.path.join(os.path.dirname(sys.executable), "schemathesis"),
        "--config-file", os.path.join(ROOT, "infra", "contract.toml"),
        "run",
        os.path.join(ROOT, "docs", "openapi.yaml"),
        "--url", api,
        "--phases", "examples,coverage,fuzzing,stateful",
        "--checks", ",".join(CHECKS),
        "--max-examples", os.environ.get("WARD_CONTRACT_EXAMPLES", "25"),
        "--max-time", str(seconds),
        "--seed", os.environ.get("WARD_CONTRACT_SEED", "20261129"),
        "--generation-deterministic",
        "--report-ndjson-path", report,
        "--no-color",
    ]
    environment = {
        **os.environ,
        "SCHEMATHESIS_TELEMETRY": "false",
        "SCHEMATHESIS_HOOKS": os.path.join(ROOT, "infra", "contract_hooks.py"),
        "WARD_REPORT": report,
    }
    # schemathesis keeps its databases in the working directory: a scratch one under .local/.
    scratch = os.path.dirname(report)
    return subprocess.call(command, env=environment, cwd=scratch)


def statuses(report):
    """Every status each operation's cases got, by phase, from the NDJSON report. Requests a
    check makes on its own (ignored_auth without credentials, say) are not cases."""
    seen = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    with open(report, encoding="utf-8") as lines:
        for line in lines:
            finished = json.loads(line).get("ScenarioFinished")
            if finished is None:
                continue
            recorder = finished["recorder"]
            for case_id, interaction in recorder.get("interactions", {}).items():
                response = interaction.get("response")
                node = recorder.get("cases", {}).get(case_id, {})
                case = node.get("value", {})
                if response is None or "method" not in case:
                    continue
                if node.get("parent_id") and not node.get("transition"):
                    continue
                phase = ((case.get("meta") or {}).get("phase") or {}).get("name", "?")
                seen[f"{case['method'].upper()} {case['path']}"][phase][response["status_code"]] += 1
    return seen


def operations():
    with open(os.path.join(ROOT, "docs", "openapi.yaml"), encoding="utf-8") as document:
        paths = yaml.safe_load(document)["paths"]
    return sorted(
        f"{method.upper()} {path}"
        for path, item in paths.items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    )


def summary(report):
    seen = statuses(report)
    unreached = []
    stateful = sum(sum(phases.get("stateful", {}).values()) for phases in seen.values())
    print(f"\n{'operation':<45} statuses its cases got (all phases), then by phase")
    for label in operations():
        total = collections.Counter()
        for counts in seen[label].values():
            total.update(counts)
        print(f"{label:<45} {dict(sorted(total.items()))}")
        for phase, counts in sorted(seen[label].items()):
            print(f"{'':<47}{phase}: {dict(sorted(counts.items()))}")
        if not any(200 <= status < 300 for status in total):
            unreached.append(label)
    if unreached:
        print("\nOperations whose cases never succeeded (no 2xx):", *unreached, sep="\n  ")
        return 1
    if stateful == 0:
        print("\nThe stateful phase ran no case.")
        return 1
    print(f"\nEvery one of the {len(operations())} operations succeeded in some of its cases; "
          f"the stateful phase ran {stateful}.")
    return 0


def main():
    api = sys.argv[1].rstrip("/")
    scratch = os.path.join(ROOT, ".local", "contract")
    os.makedirs(scratch, exist_ok=True)
    report = os.path.join(scratch, "report.ndjson")
    if os.path.exists(report):
        os.remove(report)
    checked = schemathesis(api, report, int(os.environ.get("WARD_CONTRACT_SECONDS", "180")))
    reached = summary(report)
    sys.exit(max(checked, reached))


if __name__ == "__main__":
    main()
