"""One whole journey through the Python client that openapi-python-client generates from
docs/openapi.yaml, against a running stack: what a Python integrator would write, with every
answer read as the generated types (a refusal as its typed error, a 429 with its wait).

Usage: python tests/clients/python_journey.py GENERATED_DIR API_URL
(infra/clients.sh generates the client into GENERATED_DIR/ward_client first.)
"""

import os
import sys
import time
import uuid

sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "infra"))

import totp  # noqa: E402
from ward_client import AuthenticatedClient, Client  # noqa: E402
from ward_client.api.accounts import account_events, sign_in, sign_up, verify_code, whoami  # noqa: E402
from ward_client.api.sessions import session_end, session_end_others, session_list  # noqa: E402
from ward_client.api.tokens import token_create, token_list, token_revoke  # noqa: E402
from ward_client.api.two_factor import disable, recovery_view, setup, setup_verify  # noqa: E402
from ward_client.models import (  # noqa: E402
    AccountCreated,
    CodeConfirmation,
    CreatedToken,
    Credentials,
    Enabled,
    ErrorCodeRefused,
    ErrorCodeRefusedError,
    ErrorTooManyAttempts,
    ErrorTooManyAttemptsError,
    ErrorUnauthorized,
    EventPage,
    NewToken,
    PasswordConfirmation,
    PendingSetup,
    RecoveryView,
    SignedIn,
    SignInCredentials,
    TwoFactorRequired,
    Verified,
    VerifyWithCode,
    VerifyWithRecoveryCode,
    Whoami,
)

PASSWORD = "generated client password"


def expect(answer, status, kind):
    assert answer.status_code == status, (answer.status_code, type(answer.parsed).__name__)
    assert isinstance(answer.parsed, kind), (status, type(answer.parsed).__name__, kind.__name__)
    return answer.parsed


def main():
    api = sys.argv[2].rstrip("/")
    anonymous = Client(base_url=api)
    login = f"python-client-{uuid.uuid4().hex[:10]}@example.com"
    credentials = SignInCredentials(login=login, password=PASSWORD)

    created = expect(sign_up.sync_detailed(client=anonymous, body=Credentials(login=login, password=PASSWORD)), 201,
                     AccountCreated)
    assert created.login == login
    first = expect(sign_in.sync_detailed(client=anonymous, body=credentials), 200, SignedIn)
    session = AuthenticatedClient(base_url=api, token=first.session_token)

    # Two-factor on, with a code the test computes from the secret.
    pending = expect(setup.sync_detailed(client=session, body=PasswordConfirmation(password=PASSWORD)), 200,
                     PendingSetup)
    step = int(time.time()) // 30
    enabled = expect(setup_verify.sync_detailed(client=session, body=CodeConfirmation(code=totp.code(pending.secret, step))),
                     200, Enabled)
    assert len(enabled.recovery_codes) == 10

    def mfa_token():
        return expect(sign_in.sync_detailed(client=anonymous, body=credentials), 200, TwoFactorRequired).mfa_token

    # Sign in with the next code, and with a recovery code.
    with_code = expect(verify_code.sync_detailed(
        client=anonymous, body=VerifyWithCode(mfa_token=mfa_token(), code=totp.code(pending.secret, step + 1))),
        200, Verified)
    recovered = expect(verify_code.sync_detailed(
        client=anonymous, body=VerifyWithRecoveryCode(mfa_token=mfa_token(), recovery_code=enabled.recovery_codes[0])),
        200, Verified)
    assert recovered.recovery_codes_remaining == 9
    last = AuthenticatedClient(base_url=api, token=recovered.session_token)
    view = expect(recovery_view.sync_detailed(client=last, body=PasswordConfirmation(password=PASSWORD)), 200,
                  RecoveryView)
    assert view.remaining == 9 and [entry.used for entry in view.recovery_codes].count(True) == 1

    # Five wrong codes: each a typed refusal; the sixth attempt is a typed 429 with its wait.
    token = mfa_token()
    for _ in range(5):
        refused = expect(verify_code.sync_detailed(client=anonymous, body=VerifyWithCode(mfa_token=token, code="000000")),
                         401, ErrorCodeRefused)
        assert refused.error in (ErrorCodeRefusedError.INVALID_CODE, ErrorCodeRefusedError.MFA_TOKEN_INVALID)
    throttled = verify_code.sync_detailed(client=anonymous, body=VerifyWithCode(mfa_token=mfa_token(), code="000000"))
    limit = expect(throttled, 429, ErrorTooManyAttempts)
    assert limit.error == ErrorTooManyAttemptsError.TOO_MANY_ATTEMPTS
    # What is left of the 30 seconds since the fifth failure (a sign-in for the new token ran since).
    wait = int(throttled.headers["Retry-After"])
    assert 27 <= wait <= 30, wait

    # A personal access token: created, used, listed, revoked, refused.
    made = expect(token_create.sync_detailed(client=last, body=NewToken(name="nightly", password=PASSWORD,
                                                                         expires_in_days=7)), 201, CreatedToken)
    script = AuthenticatedClient(base_url=api, token=made.token)
    me = expect(whoami.sync_detailed(client=script), 200, Whoami)
    assert me.auth.value == "token" and me.token_id == made.id
    listed = token_list.sync_detailed(client=last)
    assert listed.status_code == 200 and [t.id for t in listed.parsed.tokens] == [made.id]
    assert token_revoke.sync_detailed(made.id, client=last).status_code == 204
    expect(whoami.sync_detailed(client=script), 401, ErrorUnauthorized)

    # Sessions: the set-up's and the code's are listed beside the caller's; one ended, then the rest.
    sessions = session_list.sync_detailed(client=last).parsed.sessions
    others = [s.id for s in sessions if not s.current]
    assert len(sessions) == 3 and len(others) == 2, len(sessions)
    assert session_end.sync_detailed(others[0], client=last).status_code == 204
    ended = session_end_others.sync_detailed(client=last, body=PasswordConfirmation(password=PASSWORD))
    assert ended.status_code == 200 and ended.parsed.ended == 1
    for dead in (first.session_token, with_code.session_token):
        expect(whoami.sync_detailed(client=AuthenticatedClient(base_url=api, token=dead)), 401, ErrorUnauthorized)

    # The security log, newest first.
    page = expect(account_events.sync_detailed(client=last), 200, EventPage)
    kinds = [event.type_.value for event in page.events]
    for kind in ("session_ended", "token_revoked", "token_created", "throttled", "two_factor_failed",
                 "recovery_codes_viewed", "recovery_code_used", "two_factor_enabled", "account_created"):
        assert kind in kinds, (kind, kinds)
    assert kinds[-1] == "account_created" and kinds.index("token_revoked") < kinds.index("token_created")

    # Disable: the next sign-in needs only the password.
    off = disable.sync_detailed(client=last, body=PasswordConfirmation(password=PASSWORD))
    assert off.status_code == 200 and off.parsed.enabled is False
    expect(sign_in.sync_detailed(client=anonymous, body=credentials), 200, SignedIn)
    print(f"the generated Python client: one journey, {len(kinds)} log entries, a 429 read with its "
          f"{wait} s wait")


if __name__ == "__main__":
    main()
