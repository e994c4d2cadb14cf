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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api  # noqa: E402


def send(url, method, body=None):
    api.request(url, method, body, timeout=120)


def main():
    base = sys.argv[1].rstrip("/")
    router = api.router()
    warmed = set()
    for path, target in router.items():
        routes = [{"method": "POST", "function": target}] if isinstance(target, str) else target
        for route in routes:
            if route["function"] in warmed:
                continue
            warmed.add(route["function"])
            concrete = path.replace("{token_id}", "0" * 32).replace("{session_id}", "0" * 32)
            send(f"{base}{concrete}", route["method"], b"{}")
    send(f"{base}/2015-03-31/functions/authorizer/invocations", "POST", json.dumps({}).encode())
    print(f"warmed {len(warmed) + 1} functions")


if __name__ == "__main__":
    main()
