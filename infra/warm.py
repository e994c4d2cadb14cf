"""Starts one instance of every function of a `cargo lambda watch` before the suite needs it.

cargo lambda watch starts a function with `cargo run` on its first request; when several start at
once, beside a running `cargo test`, a start can wait on cargo's locks long enough for the request
to fail (seen as an occasional 500 with the emulator's own error body). Warming each function once,
one after the other, moves every start before the tests. Each request is refused before the
function reads a key or the table (no bearer token, an empty body), so what a cold function does
on its first real request (fetch the key ring, say) still happens in the tests.

Usage: python infra/warm.py API_URL
"""

import json
import os
import sys
import tomllib
import urllib.error
import urllib.request


def send(url, method, body=None):
    request = urllib.request.Request(url, data=body, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
    except urllib.error.HTTPError:
        pass


def main():
    api = sys.argv[1].rstrip("/")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "Cargo.toml"), "rb") as handle:
        router = tomllib.load(handle)["workspace"]["metadata"]["lambda"]["watch"]["router"]
    warmed = set()
    for path, target in router.items():
        routes = [{"method": "POST", "function": target}] if isinstance(target, str) else target
        for route in routes:
            if route["function"] in warmed:
                continue
            warmed.add(route["function"])
            concrete = path.replace("{token_id}", "0" * 32).replace("{session_id}", "0" * 32)
            send(f"{api}{concrete}", route["method"], b"{}")
    send(f"{api}/2015-03-31/functions/authorizer/invocations", "POST", json.dumps({}).encode())
    print(f"warmed {len(warmed) + 1} functions")


if __name__ == "__main__":
    main()
