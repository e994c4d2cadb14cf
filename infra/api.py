"""What the scripts that talk to a running Ward share: one request to the API, the local router's
table, and what a message may show of an answer.

Imported by infra/outage.py, infra/load.py, infra/warm.py and the browser tests' conftest.py
(each puts infra/ on its path, as they do for totp.py).
"""

import json
import os
import time
import tomllib
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def request(url, method="GET", body=None, bearer=None, user_agent=None, timeout=30):
    """(status, JSON body, or the text when it is not JSON, or None when empty; headers; seconds)
    of one request. An answer with an error status is an answer like any other."""
    headers = {"content-type": "application/json"}
    if bearer:
        headers["authorization"] = f"Bearer {bearer}"
    if user_agent:
        headers["user-agent"] = user_agent
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    started = time.monotonic()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers),
                                    timeout=timeout) as response:
            status, raw, answer_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, answer_headers = error.code, error.read(), error.headers
    took = time.monotonic() - started
    try:
        answer = json.loads(raw) if raw else None
    except ValueError:
        answer = raw.decode("utf-8", "replace")
    return status, answer, answer_headers, took


def router():
    """The local router of `cargo lambda watch`, from the workspace's Cargo.toml: path -> a
    function's name, or a list of {method, function}."""
    with open(os.path.join(ROOT, "Cargo.toml"), "rb") as handle:
        return tomllib.load(handle)["workspace"]["metadata"]["lambda"]["watch"]["router"]


def shown(value):
    """What a message shows of an answer: its error code, or the names of its fields (never their
    values, which may be tokens)."""
    if isinstance(value, dict):
        return value.get("error") or sorted(value)
    return type(value).__name__
