"""`make load`: whole journeys from dozens of concurrent clients against a running `make dev`.

Each client runs journeys one after another until the time or the request budget is spent; a
journey is what a user and their script do in their first minutes:

    sign up, sign in, enable 2FA (setup, confirm with a code), sign in with a code, present that
    code again (refused), sign in with a recovery code, present it again (refused), list the
    sessions, end one, end the others, create a personal access token, use it on whoami and the
    authorizer, revoke it, and see it refused on both.

Every answer is checked against docs/openapi.yaml: a status the operation documents, a body its
schema accepts, `Cache-Control: no-store`. Anything else (and any answer that does not come, or
does not come from the service) is counted and shown. Every step also checks what the contract
says must happen (a replayed code is refused, an ended session is dead), counted apart.

When the time is up, every account made is read back: its status, recovery codes (exactly the one
used), sessions (only the journey's last), tokens (the revoked one listed nowhere live) and its
security log, entry by entry in the order the journey wrote it.

Loopback only, and bounded: --seconds (60), --clients (32), --max-requests (200,000).

Usage: python infra/load.py [--url http://127.0.0.1:9000] [--seconds 60] [--clients 32]
Exit status 1 when any answer was not in the contract or any account read back differently.
"""

import argparse
import collections
import http.client
import ipaddress
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
import urllib.parse

import jsonschema
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api import shown  # noqa: E402
import totp  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "load test password 1"
AUTHORIZER = "/2015-03-31/functions/authorizer/invocations"
# The security log of one journey, oldest first, as the read-back expects it.
JOURNEY_EVENTS = [
    "account_created",
    "signed_in",
    "two_factor_enabled",
    "signed_in",
    "two_factor_failed",
    "recovery_code_used",
    "signed_in",
    "two_factor_failed",
    "session_ended",
    "session_ended",
    "token_created",
    "token_revoked",
]


class Contract:
    """The documented answers of docs/openapi.yaml, by operation and status."""

    def __init__(self):
        with open(os.path.join(ROOT, "docs", "openapi.yaml"), encoding="utf-8") as handle:
            self.document = yaml.safe_load(handle)
        self.operations = []
        for template, item in self.document["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
            for method, operation in item.items():
                if isinstance(operation, dict) and "responses" in operation:
                    escaped = template.replace("~", "~0").replace("/", "~1")
                    self.operations.append((method.upper(), pattern, operation, f"#/paths/{escaped}/{method}"))
        self.validators = {}

    def resolve(self, pointer):
        node = self.document
        for part in pointer.lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def problems(self, method, path, status, headers, body):
        """What is wrong with one answer, by the contract; an empty list when nothing is."""
        found = [(op, at) for m, pattern, op, at in self.operations if m == method and pattern.match(path)]
        if not found:
            return [f"{method} {path} is not an operation of the contract"]
        operation, at = found[0]
        responses = operation["responses"]
        key = str(status) if str(status) in responses else ("default" if "default" in responses else None)
        if key is None:
            return [f"status {status} is not documented for {operation['operationId']}"]
        problems = []
        if headers.get("cache-control") != "no-store":
            problems.append(f"Cache-Control is {headers.get('cache-control')!r}")
        response = responses[key]
        base = f"{at}/responses/{key}"
        while "$ref" in response:
            base = response["$ref"]
            response = self.resolve(base)
        content = response.get("content")
        if not content:
            if body not in (b"", None):
                problems.append(f"a body where none is documented: {body[:200]!r}")
            return problems
        if "application/json" not in headers.get("content-type", ""):
            problems.append(f"content type {headers.get('content-type')!r}")
        try:
            value = json.loads(body)
        except ValueError:
            return problems + [f"a body that is not JSON: {body[:200]!r}"]
        pointer = base + "/content/application~1json/schema"
        validator = self.validators.get(pointer)
        if validator is None:
            schema = dict(self.document)
            schema["$ref"] = pointer
            validator = jsonschema.Draft202012Validator(schema)
            self.validators[pointer] = validator
        for error in validator.iter_errors(value):
            problems.append(f"{error.json_path}: {error.message}")
        return problems


class Tally:
    def __init__(self, contract):
        self.contract = contract
        self.lock = threading.Lock()
        self.latencies = collections.defaultdict(list)
        self.statuses = collections.defaultdict(collections.Counter)
        self.violations = []
        self.discrepancies = []
        self.requests = 0

    def answer(self, route, seconds, status, problems):
        with self.lock:
            self.requests += 1
            self.latencies[route].append(seconds)
            self.statuses[route][status] += 1
            if problems:
                self.violations.append((route, status, problems))

    def discrepancy(self, what):
        with self.lock:
            self.discrepancies.append(what)


class Client:
    """One client's keep-alive connection, every answer timed and checked."""

    def __init__(self, url, tally):
        self.url = urllib.parse.urlsplit(url)
        self.tally = tally
        self.connection = None
        self.user_agent = f"ward-load/{secrets.token_hex(3)}"

    def send(self, route, method, path, body=None, bearer=None, check=True):
        headers = {"content-type": "application/json", "user-agent": self.user_agent}
        if bearer:
            headers["authorization"] = f"Bearer {bearer}"
        data = None if body is None else json.dumps(body).encode()
        started = time.monotonic()
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=60)
        try:
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            # Not resent: a request that may have arrived is never sent twice, and an answer that
            # does not come is counted, whatever the reason.
            self.connection.close()
            self.connection = None
            self.tally.answer(route, time.monotonic() - started, "no answer", [repr(error)])
            raise Lost(route) from error
        took = time.monotonic() - started
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
        problems = self.tally.contract.problems(method, path, response.status, answer_headers, raw) if check else []
        self.tally.answer(route, took, response.status, problems)
        try:
            value = json.loads(raw) if raw else None
        except ValueError:
            value = None
        if response.getheader("connection", "").lower() == "close":
            self.connection.close()
            self.connection = None
        return response.status, value

    def expect(self, route, status, method, path, body=None, bearer=None):
        got, value = self.send(route, method, path, body, bearer)
        if got != status:
            self.tally.discrepancy(f"{route}: expected {status}, got {got} {shown(value)}")
            raise Lost(route)
        return value

    def authorizer(self, token, allowed):
        event = json.loads(json.dumps(AUTHORIZER_EVENT))
        event["identitySource"] = [f"Bearer {token}"]
        event["headers"]["authorization"] = f"Bearer {token}"
        status, value = self.send("authorizer", "POST", AUTHORIZER, event, check=False)
        if status != 200 or not isinstance(value, dict) or value.get("isAuthorized") is not allowed:
            decided = value.get("isAuthorized") if isinstance(value, dict) else None
            self.tally.discrepancy(f"authorizer: expected isAuthorized {allowed}, got {status} {decided}")


with open(os.path.join(ROOT, "infra", "events", "authorizer-request.json"), encoding="utf-8") as saved:
    AUTHORIZER_EVENT = json.load(saved)


class Lost(Exception):
    """A journey that cannot go on (its answer was counted where it went wrong)."""


def journey(client, run, number):
    """One user's first minutes; returns what the read-back must find."""
    credentials = {"login": f"load-{run}-{number}@example.com", "password": PASSWORD}
    tally = client.tally
    client.expect("sign-up", 201, "POST", "/v1/accounts", credentials)
    first = client.expect("sign-in", 200, "POST", "/v1/sign-in", credentials)["session_token"]
    password = {"password": PASSWORD}
    setup = client.expect("setup", 200, "POST", "/v1/two-factor/setup", password, first)
    step = int(time.time()) // 30
    enabled = client.expect("setup-verify", 200, "POST", "/v1/two-factor/setup/verify",
                            {"code": totp.code(setup["secret"], step)}, first)
    recovery = enabled["recovery_codes"]

    def mfa_token():
        answer = client.expect("sign-in", 200, "POST", "/v1/sign-in", credentials)
        if answer.get("status") != "two_factor_required":
            tally.discrepancy(f"sign-in of an enrolled account: {answer.get('status')}")
            raise Lost("sign-in")
        return answer["mfa_token"]

    code = totp.code(setup["secret"], step + 1)
    second = client.expect("verify-code", 200, "POST", "/v1/sign-in/verify",
                           {"mfa_token": mfa_token(), "code": code})["session_token"]
    status, value = client.send("verify-code", "POST", "/v1/sign-in/verify", {"mfa_token": mfa_token(), "code": code})
    if status != 401 or (value or {}).get("error") != "invalid_code":
        tally.discrepancy(f"a code accepted twice: {status} {shown(value)}")
    third = client.expect("verify-recovery", 200, "POST", "/v1/sign-in/verify",
                          {"mfa_token": mfa_token(), "recovery_code": recovery[0]})
    if third.get("recovery_codes_remaining") != 9:
        tally.discrepancy(f"a recovery sign-in with {third.get('recovery_codes_remaining')} codes left, not 9")
    last = third["session_token"]
    status, value = client.send("verify-recovery", "POST", "/v1/sign-in/verify",
                                {"mfa_token": mfa_token(), "recovery_code": recovery[0]})
    if status != 401 or (value or {}).get("error") != "invalid_code":
        tally.discrepancy(f"a recovery code accepted twice: {status} {shown(value)}")

    sessions = client.expect("session-list", 200, "GET", "/v1/sessions", None, last)["sessions"]
    others = [s["id"] for s in sessions if not s["current"]]
    if len(sessions) != 3 or len(others) != 2:
        tally.discrepancy(f"{len(sessions)} sessions listed, {len(others)} of them others; expected 3 and 2")
        raise Lost("session-list")
    client.expect("session-end", 204, "DELETE", f"/v1/sessions/{others[0]}", None, last)
    ended = client.expect("session-end-others", 200, "POST", "/v1/sessions/end-others", password, last)
    if ended.get("ended") != 1:
        tally.discrepancy(f"end-others ended {ended.get('ended')}, expected 1")
    for dead in (first, second):
        status, _ = client.send("whoami", "GET", "/v1/whoami", None, dead)
        if status != 401:
            tally.discrepancy(f"an ended session still works: {status}")

    token = client.expect("token-create", 201, "POST", "/v1/tokens", {"name": "nightly", "password": PASSWORD}, last)
    whoami = client.expect("whoami", 200, "GET", "/v1/whoami", None, token["token"])
    if whoami.get("auth") != "token" or whoami.get("token_id") != token["id"]:
        tally.discrepancy(f"whoami with a token: auth {whoami.get('auth')}, the token's id: {whoami.get('token_id') == token['id']}")
    client.authorizer(token["token"], True)
    client.expect("token-revoke", 204, "DELETE", f"/v1/tokens/{token['id']}", None, last)
    status, _ = client.send("whoami", "GET", "/v1/whoami", None, token["token"])
    if status != 401:
        tally.discrepancy(f"a revoked token still works on whoami: {status}")
    client.authorizer(token["token"], False)
    return {"credentials": credentials, "session": last, "used": recovery[0], "recovery": recovery}


def read_back(client, made):
    """The account reads exactly as its journey left it (True once read; what differs is a
    discrepancy)."""
    tally, session = client.tally, made["session"]
    login = made["credentials"]["login"]
    account = client.expect("account", 200, "GET", "/v1/account", None, session)
    two_factor = account.get("two_factor", {})
    if account.get("login") != login or not two_factor.get("enabled") or two_factor.get("recovery_codes_remaining") != 9:
        tally.discrepancy(f"{login}: account reads login {account.get('login') == login}, two_factor {two_factor}")
    sessions = client.expect("session-list", 200, "GET", "/v1/sessions", None, session)["sessions"]
    if [s["current"] for s in sessions] != [True]:
        tally.discrepancy(f"{login}: sessions read current flags {[s['current'] for s in sessions]}")
    tokens = client.expect("token-list", 200, "GET", "/v1/tokens", None, session)["tokens"]
    if tokens:
        tally.discrepancy(f"{login}: {len(tokens)} tokens listed after the revoke")
    events = client.expect("account-events", 200, "GET", "/v1/account/events", None, session)
    types = [event["type"] for event in reversed(events["events"])]
    if types != JOURNEY_EVENTS or events.get("next_cursor") is not None:
        tally.discrepancy(f"{login}: the security log reads {types}")
    view = client.expect("recovery-view", 200, "POST", "/v1/two-factor/recovery-codes/view",
                         {"password": PASSWORD}, session)
    used = [entry["code"] for entry in view["recovery_codes"] if entry["used"]]
    shown = [entry["code"] for entry in view["recovery_codes"]]
    if used != [made["used"]] or shown != made["recovery"] or view.get("remaining") != 9:
        tally.discrepancy(f"{login}: recovery codes read {len(used)} used of {len(shown)}")
    return True


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def loopback(url):
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return False
    return all(ipaddress.ip_address(address).is_loopback for address in addresses)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("WARD_API_URL", "http://127.0.0.1:9000"))
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--max-requests", type=int, default=200_000)
    arguments = parser.parse_args()
    if not loopback(arguments.url):
        sys.exit(f"{arguments.url} is not on this machine: the load program runs against loopback only")
    if not 1 <= arguments.clients <= 256 or not 0 < arguments.seconds <= 3600 or not 0 < arguments.max_requests <= 200_000:
        sys.exit("--clients 1 to 256, --seconds up to 3600, --max-requests up to 200000")

    tally = Tally(Contract())
    run = secrets.token_hex(4)
    made, made_lock = [], threading.Lock()
    counter = iter(range(1, 1 << 62))
    started = time.monotonic()
    stop_at = started + arguments.seconds

    def worker():
        client = Client(arguments.url, tally)
        while time.monotonic() < stop_at and tally.requests < arguments.max_requests:
            with made_lock:
                number = next(counter)
            try:
                result = journey(client, run, number)
            except Lost:
                continue
            with made_lock:
                made.append(result)

    print(f"==> {arguments.clients} clients, {arguments.seconds:.0f} s, against {arguments.url}")
    threads = [threading.Thread(target=worker) for _ in range(arguments.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    print(f"{len(made)} whole journeys in {elapsed:.1f} s: {len(made) / elapsed:.1f} a second, "
          f"{tally.requests} requests ({tally.requests / elapsed:.0f} a second)")
    print(f"{'route':<20} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses")
    for route in sorted(tally.latencies):
        values = tally.latencies[route]
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(tally.statuses[route].items(), key=str))
        print(f"{route:<20} {len(values):>8} {percentile(values, .5) * 1e3:>8.0f} {percentile(values, .95) * 1e3:>8.0f} "
              f"{percentile(values, .99) * 1e3:>8.0f} {max(values) * 1e3:>8.0f}  {statuses}")

    print(f"==> reading back {len(made)} accounts")
    reader = Client(arguments.url, tally)
    read = 0
    for result in made:
        try:
            read += read_back(reader, result)
        except Lost:
            pass
    five_hundreds = sum(n for counts in tally.statuses.values() for s, n in counts.items()
                        if isinstance(s, int) and s >= 500)
    print(f"read back {read} of {len(made)} accounts")
    print(f"answers not in the contract: {len(tally.violations)}; discrepancies: {len(tally.discrepancies)}; "
          f"5xx: {five_hundreds}")
    for route, status, problems in tally.violations[:10]:
        print(f"  {route} {status}: {'; '.join(problems)[:400]}")
    for what in tally.discrepancies[:10]:
        print(f"  {what[:400]}")
    failed = tally.violations or tally.discrepancies or five_hundreds or read != len(made) or not made
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
