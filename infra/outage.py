"""The database and the key store going away under a running stack, end to end.

Runs against a stack of its own (infra/test.sh starts it: the emulator under its supervisor, and
`cargo lambda watch` whose functions talk to that emulator), and checks what clients see:

1. The database silent (it accepts each request and never answers; the emulator's `hang` fault
   on every operation): every route answers `503 service_unavailable` in the contract's shape
   within 10 seconds, all of them at once. When the database answers again, the same functions
   serve again and nothing was changed: the session still works, the token was not revoked, the
   second factor's code was not spent, the account made during the outage does not exist.
2. Only the key secret's store silent: the function that has not read the key ring yet answers
   503 (and spends no code); one that holds the ring keeps serving with it, and once one refresh
   has failed it does not wait on the store again for every request.
3. The database gone (the emulator killed, so its port refuses connections): every route 503 within
   10 seconds. The supervisor reports the exit and starts the emulator again (moto keeps nothing,
   so the table is new), and the same functions serve again without being restarted.

Usage: python infra/outage.py API_URL EMULATOR_URL SUPERVISOR_PID EMULATOR_LOG
"""

import concurrent.futures
import os
import secrets
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api import request as send, router, shown  # noqa: E402
import totp  # noqa: E402

PASSWORD = "outage test password"
LIMIT = 10.0


def call(url, method="GET", body=None, bearer=None, timeout=30):
    status, answer, _, took = send(url, method, body, bearer, timeout=timeout)
    return status, answer, took


class Stack:
    def __init__(self, api, emulator):
        self.api, self.emulator = api, emulator

    def __call__(self, method, path, body=None, bearer=None):
        return call(self.api + path, method, body, bearer)

    def ok(self, method, path, body=None, bearer=None, status=200):
        got, answer, _ = self(method, path, body, bearer)
        if got != status:
            sys.exit(f"{method} {path}: expected {status}, got {got} {shown(answer)}")
        return answer

    def fault(self, operation, match="", fault="hang"):
        rule = {"operation": operation, "match": match, "fault": fault, "times": 1_000_000}
        got, answer, _ = call(self.emulator + "/_ward/faults", "POST", rule)
        if got != 200:
            sys.exit(f"the emulator refused the fault rule: {got} {shown(answer)}")

    def clear(self):
        call(self.emulator + "/_ward/faults", "DELETE")

    def account(self, name):
        credentials = {"login": f"outage-{name}-{secrets.token_hex(4)}@example.com", "password": PASSWORD}
        self.ok("POST", "/v1/accounts", credentials, status=201)
        signed_in = self.ok("POST", "/v1/sign-in", credentials)
        return credentials, signed_in["session_token"]

    def enrolled(self, name):
        credentials, session = self.account(name)
        setup = self.ok("POST", "/v1/two-factor/setup", {"password": PASSWORD}, session)
        step = int(time.time()) // 30
        self.ok("POST", "/v1/two-factor/setup/verify", {"code": totp.code(setup["secret"], step)}, session)
        return credentials, session, setup["secret"], step


def routes():
    """(method, path) of every route the local router serves."""
    found = set()
    for path, target in router().items():
        if isinstance(target, str):
            if target != "web":
                found.add(path)
        else:
            for route in target:
                found.add((route["method"], path))
    return found


def every_route(plain, enrolled, mfa_token, code, token):
    """A request to every route that gets as far as the database, keyed like `routes()`."""
    _, session = plain
    _, two_factor = enrolled
    password = {"password": PASSWORD}
    fresh = {"login": f"outage-new-{secrets.token_hex(4)}@example.com", "password": PASSWORD}
    requests = {
        "/v1/accounts": ("POST", "/v1/accounts", fresh, None),
        "/v1/sign-in": ("POST", "/v1/sign-in", plain[0], None),
        "/v1/sign-in/verify": ("POST", "/v1/sign-in/verify", {"mfa_token": mfa_token, "code": code}, None),
        "/v1/sign-out": ("POST", "/v1/sign-out", None, session),
        "/v1/account": ("GET", "/v1/account", None, session),
        "/v1/whoami": ("GET", "/v1/whoami", None, token["token"]),
        "/v1/account/events": ("GET", "/v1/account/events", None, session),
        "/v1/two-factor/setup": ("POST", "/v1/two-factor/setup", password, session),
        "/v1/two-factor/setup/verify": ("POST", "/v1/two-factor/setup/verify", {"code": "123456"}, session),
        "/v1/two-factor/recovery-codes/view": ("POST", "/v1/two-factor/recovery-codes/view", password, two_factor),
        "/v1/two-factor/recovery-codes/regenerate": (
            "POST", "/v1/two-factor/recovery-codes/regenerate", password, two_factor),
        "/v1/two-factor/disable": ("POST", "/v1/two-factor/disable", password, two_factor),
        ("GET", "/v1/tokens"): ("GET", "/v1/tokens", None, session),
        ("POST", "/v1/tokens"): ("POST", "/v1/tokens", {"name": "outage", "password": PASSWORD}, session),
        ("PUT", "/v1/tokens"): None,
        ("PATCH", "/v1/tokens"): None,
        ("DELETE", "/v1/tokens"): None,
        "/v1/tokens/{token_id}": ("DELETE", f"/v1/tokens/{token['id']}", None, session),
        "/v1/sessions": ("GET", "/v1/sessions", None, session),
        "/v1/sessions/{session_id}": ("DELETE", f"/v1/sessions/{'0' * 32}", None, session),
        "/v1/sessions/end-others": ("POST", "/v1/sessions/end-others", password, session),
    }
    missing = routes() - set(requests)
    if missing:
        sys.exit(f"routes this check does not cover: {sorted(missing, key=str)}")
    # The methods a function answers with 405 never reach the database.
    return {key: value for key, value in requests.items() if value is not None}, fresh


def all_503(stack, requests, what):
    """Every request at once; each must be the contract's 503 within LIMIT seconds."""
    with concurrent.futures.ThreadPoolExecutor(len(requests)) as pool:
        answers = dict(zip(requests, pool.map(lambda r: stack(*r), requests.values())))
    slowest = 0.0
    for key, (status, body, took) in answers.items():
        shaped = isinstance(body, dict) and set(body) == {"error", "message"}
        if status != 503 or not shaped or body["error"] != "service_unavailable" or took >= LIMIT:
            sys.exit(f"{what}: {key} answered {status} {shown(body)} in {took:.1f} s")
        slowest = max(slowest, took)
    print(f"{what}: {len(answers)} routes at once, each 503 service_unavailable, slowest {slowest:.1f} s")


def function_processes(emulator):
    """The pids of the functions (the binaries cargo lambda watch runs) whose AWS endpoint is this
    emulator."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    names = set(os.listdir(os.path.join(root, "functions")))
    wanted = f"AWS_ENDPOINT_URL={emulator}".encode()
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                variables = handle.read().split(b"\0")
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if wanted in variables and os.path.basename(exe) in names:
            found.add(int(pid))
    return found


def serving(log):
    """The pid of the emulator the supervisor started last."""
    try:
        with open(f"{log}.pid") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return None


def main():
    api, emulator = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/")
    supervisor, log = int(sys.argv[3]), sys.argv[4]
    stack = Stack(api, emulator)
    started = time.monotonic()

    plain = stack.account("plain")
    credentials, two_factor, secret, step = stack.enrolled("2fa")
    token = stack.ok("POST", "/v1/tokens", {"name": "outage", "password": PASSWORD}, plain[1], status=201)
    mfa_token = stack.ok("POST", "/v1/sign-in", credentials)["mfa_token"]
    code = totp.code(secret, step + 1)
    functions = function_processes(emulator)
    if not functions:
        sys.exit(f"no function process talks to {emulator}")

    # 1. The database silent.
    requests, fresh = every_route(plain, (credentials, two_factor), mfa_token, code, token)
    stack.fault("*")
    try:
        all_503(stack, requests, "database silent")
    finally:
        stack.clear()
    stack.ok("GET", "/v1/whoami", bearer=plain[1])
    whoami = stack.ok("GET", "/v1/whoami", bearer=token["token"])
    if whoami["auth"] != "token":
        sys.exit(f"the token no longer works: {shown(whoami)}")
    status, answer, _ = stack("POST", "/v1/sign-in", fresh)
    if status != 401:
        sys.exit(f"the account signed up while the database was silent exists: {status} {shown(answer)}")
    print("database silent: afterwards the session and the token work, no account was made")

    # 2. The key store silent. verify-code has not read the key ring yet (the code above was never
    # checked); setup read it while enrolling, and the ring it holds is older than its refresh time
    # (KEY_REFRESH_SECS, which infra/test.sh sets to 2 s: phase 1 alone takes longer).
    refresh = int(os.environ.get("KEY_REFRESH_SECS", "300"))
    if refresh > 3:
        sys.exit(f"KEY_REFRESH_SECS is {refresh}: this check needs the functions to refresh within 3 s")
    sessions = [stack.account(name)[1] for name in ("keys-1", "keys-2")]
    time.sleep(refresh)
    stack.fault("GetSecretValue", match="SecretId")
    try:
        status, answer, waited = stack("POST", "/v1/sign-in/verify", {"mfa_token": mfa_token, "code": code})
        if status != 503 or answer.get("error") != "service_unavailable" or waited >= LIMIT:
            sys.exit(f"key store silent: verify-code answered {status} {shown(answer)} in {waited:.1f} s")
        timings = []
        for session in sessions:
            got, answer, took = stack("POST", "/v1/two-factor/setup", {"password": PASSWORD}, session)
            if got != 200:
                sys.exit(f"key store silent: setup with the ring it holds answered {got} {shown(answer)}")
            timings.append(took)
        if timings[0] < 1.5:
            sys.exit(f"key store silent: setup did not try the store ({timings[0]:.1f} s)")
        if timings[1] >= 1.0:
            sys.exit(f"key store silent: setup waited on the store again ({timings[1]:.1f} s)")
        print(f"key store silent: verify-code 503 in {waited:.1f} s; setup served with the ring it holds "
              f"({timings[0]:.1f} s, then {timings[1]:.2f} s)")
    finally:
        stack.clear()
    signed_in = stack.ok("POST", "/v1/sign-in/verify", {"mfa_token": mfa_token, "code": code})
    if signed_in.get("status") != "signed_in":
        sys.exit(f"the code refused while the key store was silent does not sign in: {shown(signed_in)}")
    print("key store silent: afterwards the unspent code signs in")

    # 3. The database gone. The supervisor is held while the emulator is killed, so the port stays
    # closed for as long as the check takes; then it is let go and must start the emulator again.
    emulator_pid = serving(log)
    if emulator_pid is None:
        sys.exit(f"the supervisor has not written {log}.pid")
    os.kill(supervisor, signal.SIGSTOP)
    try:
        os.kill(emulator_pid, signal.SIGKILL)
        time.sleep(0.5)
        requests, _ = every_route(plain, (credentials, two_factor), mfa_token, code, token)
        all_503(stack, requests, "database gone")
    finally:
        os.kill(supervisor, signal.SIGCONT)
    deadline = time.monotonic() + 60
    while not (os.path.exists(f"{log}.ready") and serving(log) not in (None, emulator_pid)):
        if time.monotonic() > deadline:
            sys.exit("the supervisor did not start the emulator again within 60 s")
        time.sleep(0.2)
    with open(log, encoding="utf-8", errors="replace") as handle:
        if "the DynamoDB emulator exited" not in handle.read():
            sys.exit(f"the supervisor did not report the emulator's exit in {log}")
    stack.account("after")
    print("database gone: the supervisor reported it and started it again; a new account signs in")

    after = function_processes(emulator)
    if after != functions:
        sys.exit(f"functions were restarted: {sorted(functions)} before, {sorted(after)} after")
    print(f"the same {len(functions)} function processes served throughout "
          f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
