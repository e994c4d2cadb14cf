"""schemathesis's hooks for the contract run (infra/contract.py): every case gets an account of
its own, signed in, and enrolled in 2FA where the operation needs it, so that the run reaches the
service's logic instead of its front door (401s) or its throttles (429s, which a shared account
would soon hit).

- Operations that need 2FA on (Verify2FACode, view, regenerate, disable) get an enrolled account
  (sign up, sign in, set up, confirm with the current step's code); Verify2FACode also gets a
  fresh `mfa_token` and a code the account has not used yet, or one of its recovery codes.
- Every other operation gets a fresh signed-in account; set-up's confirmation one with a pending
  secret; a step that follows a link (token create -> revoke, session list -> end) the account
  that owns the id it carries.
- Only bodies generated as valid are filled in, and of those 15% keep the generated (wrong)
  password or code, so the refusals stay covered; one case in ten gets the other 2FA state.

Providers run when a case is generated; `refresh_interval=None` turns their cache off, so `get`
runs for every case. Loaded by schemathesis from `SCHEMATHESIS_HOOKS` (infra/contract.py sets it).
"""

import os
import random
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field

import requests

import schemathesis
from schemathesis.core.parameters import ParameterLocation

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from totp import code as totp_code  # noqa: E402

PASSWORD = "contract test password"
# Share of positive cases whose generated password / code is replaced by the right one; the rest
# keep the generated (wrong) value, so 403 invalid_password / 401 invalid_code stay covered.
RIGHT = float(os.environ.get("WARD_HOOKS_RIGHT", "0.85"))
ENROLLED = ["verify-code", "recovery-view", "recovery-regenerate", "disable"]
# Seeded from the run's seed. Two workers share it, so a run is not repeated exactly; each run
# still draws the same shares.
RNG = random.Random(os.environ.get("WARD_CONTRACT_SEED", "20261129"))


@dataclass
class Account:
    login: str
    password: str
    session: str
    secret: str | None = None
    recovery_codes: list = field(default_factory=list)
    last_step: int = 0
    mfa_token: str | None = None


# Who owns what, so that a stateful step reuses the account its link's source step used.
_LOCK = threading.Lock()
_BY_SESSION: dict[str, Account] = {}
_OWNER: dict[tuple[str, str], Account] = {}


def _base_url(context) -> str:
    return context.operation.schema.get_base_url().rstrip("/")


def _post(base, path, body, session=None, expect=(200, 201)):
    headers = {"Authorization": f"Bearer {session}"} if session else {}
    headers["User-Agent"] = "ward-hooks"
    response = requests.post(f"{base}{path}", json=body, headers=headers, timeout=30)
    if response.status_code not in expect:
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
    return response.json() if response.content else None


def fresh_account(base) -> Account:
    login = f"st-{secrets.token_hex(6)}@example.com"
    _post(base, "/v1/accounts", {"login": login, "password": PASSWORD})
    session = _post(base, "/v1/sign-in", {"login": login, "password": PASSWORD})["session_token"]
    account = Account(login=login, password=PASSWORD, session=session)
    with _LOCK:
        _BY_SESSION[session] = account
    return account


def pending_account(base) -> Account:
    """Signed in, 2FA set-up step 1 done (a pending secret), step 2 not yet."""
    account = fresh_account(base)
    account.secret = _post(base, "/v1/two-factor/setup", {"password": PASSWORD}, account.session)["secret"]
    return account


def enrolled_account(base) -> Account:
    """Signed in with 2FA on: step 1, a TOTP code of the current 30-second step, step 2."""
    account = pending_account(base)
    # The current step's code: Ward accepts one step either side, so a step that ends between
    # the two calls does not matter.
    step = int(time.time()) // 30
    enabled = _post(base, "/v1/two-factor/setup/verify", {"code": totp_code(account.secret, step)}, account.session)
    account.recovery_codes = enabled["recovery_codes"]
    account.last_step = step
    return account


def next_code(account: Account) -> str:
    """A code Ward accepts once: one step after the last accepted one (within the +-1 step window)."""
    step = max(int(time.time()) // 30, account.last_step + 1)
    account.last_step = step
    return totp_code(account.secret, step)


def positive_body(case) -> bool:
    """Only a body generated as valid gets the right values; a negative body is left as generated."""
    return isinstance(case.body, dict) and not (case.meta and case.meta.is_negative_at(ParameterLocation.BODY))


def fill_password(case, account):
    if positive_body(case) and isinstance(case.body.get("password"), str) and RNG.random() < RIGHT:
        case.body["password"] = account.password


def set_bearer(case, account):
    # Only called for operations that declare `security` (not sign-up / sign-in / verify-code).
    if case.headers is None:
        case.headers = {}
    case.headers["Authorization"] = f"Bearer {account.session}"


def _op(context) -> str:
    return context.operation.schema.get_operation_id(context.operation)


@schemathesis.auth(refresh_interval=None).apply_to(operation_id=ENROLLED)
class EnrolledAccount:
    """2FA-on account per case; for verify-code also a fresh mfa_token from SignIn."""

    def get(self, case, context):
        base = _base_url(context)
        # One case in ten gets an account without 2FA (409 two_factor_not_enabled).
        if _op(context) != "verify-code" and RNG.random() < 0.1:
            return fresh_account(base)
        account = enrolled_account(base)
        if _op(context) == "verify-code":
            account.mfa_token = _post(base, "/v1/sign-in", {"login": account.login, "password": account.password})["mfa_token"]
        return account

    def set(self, case, account, context):
        if _op(context) != "verify-code":
            set_bearer(case, account)
            fill_password(case, account)
            return
        if not positive_body(case):
            return
        if isinstance(case.body.get("mfa_token"), str):
            case.body["mfa_token"] = account.mfa_token
        if RNG.random() < RIGHT:
            if isinstance(case.body.get("code"), str):
                case.body["code"] = next_code(account)
            if isinstance(case.body.get("recovery_code"), str):
                case.body["recovery_code"] = RNG.choice(account.recovery_codes)


@schemathesis.auth(refresh_interval=None).skip_for(operation_id=ENROLLED)
class FreshAccount:
    """Fresh signed-in account per case (pending 2FA for setup-verify), or the owner of a linked resource."""

    def get(self, case, context):
        operation = _op(context)
        base = _base_url(context)
        # A stateful step that follows a link carries an id some earlier step's account owns: reuse it.
        for kind, name in (("token", "token_id"), ("session", "session_id")):
            value = case.path_parameters.get(name) if case.path_parameters else None
            if value is not None:
                with _LOCK:
                    owner = _OWNER.get((kind, str(value)))
                if owner is not None:
                    return owner
        # whoami reached through the WhoamiWithToken link already carries the personal access token:
        # hand it back as the credential, so the case counts as explicitly authenticated (a `None`
        # here leaves the header alone but makes the `ignored_auth` check treat it as generated).
        header = str((case.headers or {}).get("Authorization", ""))
        if operation == "whoami" and header.startswith("Bearer ward_pat_"):
            return Account(login="", password="", session=header[len("Bearer "):])
        if operation == "sign-up":
            return "sign-up"  # no account needed, only a login nobody has
        if operation == "setup-verify":
            return pending_account(base)
        if operation in ("setup", "sign-in") and RNG.random() < 0.2:
            return enrolled_account(base)  # setup: 409 already enabled; sign-in: two_factor_required
        account = fresh_account(base)
        if operation == "token-list":
            # A fresh account has no tokens; give it one, so the list (and the RevokeFirstToken link) has data.
            _post(base, "/v1/tokens", {"name": "contract", "password": account.password}, account.session)
        return account

    def set(self, case, account, context):
        operation = _op(context)
        if operation == "sign-up":
            if positive_body(case) and isinstance(case.body.get("login"), str) and RNG.random() < RIGHT:
                case.body["login"] = f"st-{secrets.token_hex(6)}@example.com"
            return
        if operation == "sign-in":
            if positive_body(case) and RNG.random() < RIGHT:
                case.body["login"], case.body["password"] = account.login, account.password
            return
        set_bearer(case, account)
        fill_password(case, account)
        if operation == "setup-verify" and positive_body(case) and isinstance(case.body.get("code"), str):
            if RNG.random() < RIGHT:
                case.body["code"] = totp_code(account.secret, int(time.time()) // 30)


@schemathesis.hook
def after_call(context, case, response):
    """Remember which account owns the tokens and sessions a response names (for linked steps)."""
    operation = context.operation
    if operation is None or response.status_code not in (200, 201):
        return
    header = str((case.headers or {}).get("Authorization", ""))
    with _LOCK:
        account = _BY_SESSION.get(header[len("Bearer "):])
    if account is None:
        return
    operation_id = operation.schema.get_operation_id(operation)
    try:
        body = response.json()
    except Exception:
        return
    with _LOCK:
        if operation_id == "token-create":
            _OWNER[("token", body["id"])] = account
        elif operation_id == "token-list":
            for token in body.get("tokens", []):
                _OWNER[("token", token["id"])] = account
        elif operation_id == "session-list":
            for session in body.get("sessions", []):
                _OWNER[("session", session["id"])] = account


@schemathesis.hook
def filter_case(context, case):
    """Drops bodies that are not UTF-8. `cargo lambda watch` answers those with a 500 of its own
    before any function sees them; in AWS, API Gateway hands them to the function base64-encoded,
    and the service answers 400 (tests/tests/handlers.rs, infra/events/post-not-utf8.json, and the
    invalid UTF-8 case of tests/tests/hostile.rs)."""
    body = case.body
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True
