"""Runs schemathesis against the local stack, with a signed-in session for the routes that need one.

Usage (from infra/test.sh, with the stack running): python infra/contract.py API_URL
Prints schemathesis's report; exits non-zero when a check fails.
"""

import json
import os
import secrets
import subprocess
import sys
import urllib.request


def post(url, body):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def session(api):
    credentials = {"login": f"contract-{secrets.token_hex(4)}@example.com", "password": "contract test password"}
    post(f"{api}/v1/accounts", credentials)
    return post(f"{api}/v1/sign-in", credentials)["session_token"]


def schemathesis(api, seconds, *selection):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [
        os.path.join(os.path.dirname(sys.executable), "schemathesis"),
        "run",
        os.path.join(root, "docs", "openapi.yaml"),
        "--url", api,
        "--header", f"Authorization: Bearer {session(api)}",
        *selection,
        "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                    "response_headers_conformance,response_schema_conformance",
        "--max-examples", os.environ.get("WARD_CONTRACT_EXAMPLES", "25"),
        "--max-time", str(seconds),
        "--workers", "2",
        "--request-timeout", "30",
        "--seed", os.environ.get("WARD_CONTRACT_SEED", "20261129"),
        "--generation-deterministic",
        "--no-color",
    ]
    return subprocess.call(command, env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"})


def main():
    api = sys.argv[1].rstrip("/")
    seconds = int(os.environ.get("WARD_CONTRACT_SECONDS", "90"))
    # Examples and the coverage phase, valid and invalid inputs alike (boundaries, wrong types,
    # missing fields). Sign-out revokes the session the run authenticates with, so it gets runs
    # (and sessions) of its own.
    runs = [
        schemathesis(api, seconds, "--phases", "examples,coverage", "--mode", "all", "--exclude-path", "/v1/sign-out"),
        schemathesis(api, 30, "--phases", "examples,coverage", "--mode", "all", "--include-path", "/v1/sign-out"),
        # Fuzzing with valid inputs only: its invalid inputs include bodies that are not UTF-8,
        # which cargo lambda watch answers with a 500 of its own before any function sees them
        # (the functions answer such bytes with 400; see the handler tests).
        schemathesis(api, seconds, "--phases", "fuzzing", "--mode", "positive", "--exclude-path", "/v1/sign-out"),
    ]
    sys.exit(max(runs))


if __name__ == "__main__":
    main()
