"""Every flow of the user guide, clicked through in Chromium, with the API checked behind it."""

import re
import time
import urllib.request
from pathlib import Path

from conftest import (
    API,
    PASSWORD,
    SHOTS,
    Account,
    assert_accessible,
    call,
    code_at,
    confirm_password,
    open_page,
    screenshot,
    session_of,
    sign_in,
    unique_login,
)
from playwright.sync_api import expect


def codes_on(dialog):
    return [text.strip() for text in dialog.locator("#recovery-codes li").all_inner_texts()]


def test_the_page_is_served_with_a_strict_policy_on_the_apis_origin(page):
    response = page.goto(API + "/")
    headers = response.headers
    policy = headers["content-security-policy"]
    assert policy.startswith("default-src 'self';") and "frame-ancestors 'none'" in policy
    assert "unsafe" not in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.content())
    assert len(assets) == 3, assets
    for asset in assets:
        assert re.fullmatch(r"/assets/[a-z]+\.[0-9a-f]{16}\.[a-z]+", asset), asset
        served = page.request.get(API + asset)
        assert served.status == 200
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert page.request.get(API + "/assets/app.js").status == 404


def test_sign_up_set_up_two_factor_save_the_codes_and_sign_in_with_a_code(page):
    login = unique_login()
    open_page(page, "#/sign-up")
    assert_accessible(page, "sign up")
    screenshot(page, "sign-up")
    assert page.get_by_label("Login").get_attribute("autocomplete") == "username"
    assert page.get_by_label("Password").get_attribute("autocomplete") == "new-password"
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    expect(page.locator("#tf-status")).to_contain_text("Off")
    assert_accessible(page, "account, 2FA off")
    screenshot(page, "account-off")
    # The session lives in this tab's sessionStorage and in memory, nowhere else.
    assert session_of(page).startswith("ward_s_")
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("document.cookie") == ""

    page.get_by_role("button", name="Set Up Two-Factor Authentication").click()
    confirm_password(page)
    setup = page.get_by_role("dialog", name="Set up two-factor authentication")
    expect(setup).to_be_visible()
    qr = setup.get_by_role("img", name="QR code for your authenticator app")
    expect(qr).to_be_visible()
    # The data: image is allowed by the policy and really drawn.
    assert qr.evaluate("image => image.complete && image.naturalWidth > 100")
    secret = re.sub(r"\s", "", setup.locator("#manual-secret").inner_text())
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    assert_accessible(page, "set up, step 1")
    screenshot(page, "setup-qr")
    setup.get_by_label("Six-digit code").fill(code_at(secret))
    setup.get_by_role("button", name="Next").click()

    saving = page.get_by_role("dialog", name="Save your recovery codes")
    expect(saving).to_be_visible()
    codes = codes_on(saving)
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    done = saving.get_by_role("button", name="Done")
    saved = saving.get_by_label("I've saved data")
    expect(done).to_be_disabled()
    # Escape does not close it before the codes are saved.
    page.keyboard.press("Escape")
    expect(saving).to_be_visible()
    saved.check()
    expect(done).to_be_enabled()
    saved.uncheck()
    expect(done).to_be_disabled()
    assert_accessible(page, "save your recovery codes")
    screenshot(page, "recovery-codes")
    with page.expect_download() as waiting:
        saving.get_by_role("button", name="Download").click()
    download = waiting.value
    assert re.fullmatch(r"ward-recovery-codes-\d{4}-\d{2}-\d{2}\.txt", download.suggested_filename)
    text = open(download.path(), encoding="utf-8").read()
    assert "Ward" in text and login in text
    assert all(code in text.splitlines() for code in codes), text
    expect(saved).to_be_checked()
    expect(done).to_be_enabled()
    done.click()
    expect(saving).to_be_hidden()
    expect(page.locator("#tf-status")).to_contain_text("On")
    # Once the dialog is closed, neither the secret nor a code is left in the page.
    html = page.content()
    assert secret not in html and not any(code in html for code in codes)
    expect(page.locator("#codes-remaining")).to_have_text(re.compile(r"\b10\b"))
    assert_accessible(page, "account, 2FA on")
    screenshot(page, "account-on")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert session_of(page) is None

    open_page(page, "#/sign-in")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    code_field = page.get_by_label("Authentication code")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    assert code_field.get_attribute("inputmode") == "numeric"
    assert_accessible(page, "sign in, second step")
    screenshot(page, "sign-in-code")
    # Pasted with the space some apps show in the middle.
    code = code_at(secret, 1)
    code_field.fill(f"{code[:3]} {code[3:]}")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    status, body, _ = call("GET", "/v1/whoami", token=session_of(page))
    assert status == 200 and body["login"] == login


def test_a_recovery_code_signs_in_once_and_regenerating_kills_the_old_set(page, context):
    account = Account().enrol()
    first, second = account.codes[0], account.codes[1]
    sign_in(page, account.login, recovery_code=first.upper().replace("-", " "))
    expect(page.locator("#notice")).to_contain_text("9 recovery codes remain")

    page.get_by_role("button", name="View Recovery Codes").click()
    confirm_password(page, "not the password")
    expect(page.get_by_role("dialog", name="Confirm your password").get_by_role("alert")).to_contain_text(
        re.compile("password", re.I)
    )
    confirm_password(page)
    viewing = page.get_by_role("dialog", name="Recovery codes")
    expect(viewing).to_be_visible()
    expect(viewing.locator("#recovery-codes del")).to_have_count(1)
    expect(viewing.locator("#recovery-codes li").filter(has_text="(used)")).to_contain_text(first)
    assert_accessible(page, "view recovery codes")
    screenshot(page, "view-codes")

    viewing.get_by_role("button", name="Generate new recovery codes").click()
    confirming = page.get_by_role("dialog", name="Generate new recovery codes?")
    confirming.get_by_role("button", name="Generate").click()
    saving = page.get_by_role("dialog", name="Save your recovery codes")
    expect(saving).to_be_visible()
    fresh = codes_on(saving)
    assert len(fresh) == 10 and not set(fresh) & set(account.codes)
    saved = saving.get_by_label("I've saved data")
    expect(saved).not_to_be_checked()
    saving.get_by_role("button", name="Copy").click()
    expect(saved).to_be_checked()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert all(code in copied for code in fresh), copied
    saving.get_by_role("button", name="Done").click()
    expect(page.locator("#codes-remaining")).to_have_text(re.compile(r"\b10\b"))

    # Behind the pages: an old code is refused, a new one signs in.
    mfa = account.sign_in()["mfa_token"]
    status, body, _ = call("POST", "/v1/sign-in/verify", {"mfa_token": mfa, "recovery_code": second})
    assert (status, body["error"]) == (401, "invalid_code")
    status, body, _ = call("POST", "/v1/sign-in/verify", {"mfa_token": mfa, "recovery_code": fresh[0]})
    assert status == 200, body


def test_a_personal_access_token_is_shown_once_copied_and_revoked(page):
    account = Account()
    sign_in(page, account.login)
    page.get_by_role("link", name="Access tokens").click()
    expect(page.get_by_role("heading", name="Personal access tokens")).to_be_visible()
    expect(page.get_by_text("No tokens yet.")).to_be_visible()
    page.get_by_label("Name").fill("deploy script")
    page.get_by_label("Expires in (days)").fill("7")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create token").click()
    shown = page.locator("#new-token")
    expect(shown).to_have_text(re.compile(r"^ward_pat_"))
    token = shown.inner_text().strip()
    page.get_by_role("button", name="Copy token").click()
    expect(page.get_by_role("button", name=re.compile("Copied"))).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token
    expect(page.get_by_role("button", name="Revoke deploy script")).to_be_visible()
    assert_accessible(page, "tokens")
    screenshot(page, "tokens")
    status, body, _ = call("GET", "/v1/whoami", token=token)
    assert status == 200 and body["auth"] == "token"
    page.get_by_role("button", name="I've copied it").click()
    expect(shown).to_be_hidden()
    assert token not in page.content()

    page.get_by_role("button", name="Revoke deploy script").click()
    page.get_by_role("dialog", name="Revoke this token?").get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("No tokens yet.")).to_be_visible()
    status, _, _ = call("GET", "/v1/whoami", token=token)
    assert status == 401


def test_another_session_is_ended_and_then_every_other(page):
    account = Account()
    elsewhere = account.session()
    sign_in(page, account.login)
    page.get_by_role("link", name="Sessions").click()
    expect(page.get_by_role("heading", name="Sessions")).to_be_visible()
    rows = page.locator("tr[data-session-id]")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="This session")).to_have_count(1)
    assert_accessible(page, "sessions")
    screenshot(page, "sessions")
    rows.filter(has_not_text="This session").get_by_role("button", name=re.compile("^End session")).click()
    expect(rows).to_have_count(1)
    assert call("GET", "/v1/whoami", token=elsewhere)[0] == 401
    assert call("GET", "/v1/whoami", token=session_of(page))[0] == 200

    two, three = account.session(), account.session()
    page.get_by_role("button", name="End every other session").click()
    confirm_password(page)
    expect(page.locator("#notice")).to_contain_text("Ended 2 other sessions.")
    expect(rows).to_have_count(1)
    assert call("GET", "/v1/whoami", token=two)[0] == 401
    assert call("GET", "/v1/whoami", token=three)[0] == 401
    assert call("GET", "/v1/whoami", token=session_of(page))[0] == 200


def test_disabling_asks_for_a_confirmation_and_then_the_password(page):
    account = Account().enrol()
    sign_in(page, account.login, code=code_at(account.secret, 1))
    page.get_by_role("button", name="Disable Two-Factor Authentication").click()
    confirming = page.get_by_role("dialog", name="Disable two-factor authentication?")
    confirming.get_by_role("button", name="Cancel").click()
    expect(page.locator("#tf-status")).to_contain_text("On")
    page.get_by_role("button", name="Disable Two-Factor Authentication").click()
    assert_accessible(page, "disable, confirmation")
    confirming.get_by_role("button", name="Disable").click()
    confirm_password(page)
    expect(page.locator("#tf-status")).to_contain_text("Off")
    expect(page.locator("#notice")).to_contain_text("Two-factor authentication is off.")
    assert account.sign_in()["status"] == "signed_in"


def test_errors_are_explained_without_moving_the_form_and_a_lock_counts_down(page):
    account = Account()
    open_page(page, "#/sign-in")
    button = page.get_by_role("button", name="Sign in")
    before = button.bounding_box()
    page.get_by_label("Login").fill(account.login)
    page.get_by_label("Password").fill("not the password")
    button.click()
    alert = page.locator("main").get_by_role("alert")
    expect(alert).to_contain_text(re.compile(r"login or password", re.I))
    assert button.bounding_box() == before, "the error moved the form"
    # Nine more wrong passwords lock the login; the page shows the wait and counts it down.
    for _ in range(9):
        call("POST", "/v1/sign-in", {"login": account.login, "password": "not the password"})
    page.get_by_label("Password").fill(PASSWORD)
    button.click()
    expect(alert).to_contain_text(re.compile(r"Try again in \d+ s"))
    expect(button).to_be_disabled()
    first = int(re.search(r"(\d+) s", alert.inner_text()).group(1))
    time.sleep(2.2)
    later = int(re.search(r"(\d+) s", alert.inner_text()).group(1))
    assert 0 < later < first, (first, later)
    assert button.bounding_box() == before
    assert_accessible(page, "sign in, locked")
    screenshot(page, "sign-in-locked")


def test_the_security_log_is_paged(page):
    account = Account()
    # account_created, then 25 sessions opened and signed out, and the pages' own sign-in: 52
    # entries, a page of 50 and one of 2.
    for _ in range(25):
        status, _, _ = call("POST", "/v1/sign-out", token=account.session())
        assert status == 204
    sign_in(page, account.login)
    page.get_by_role("link", name="Security log").click()
    expect(page.get_by_role("heading", name="Security log")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("Signed in")
    assert_accessible(page, "security log")
    screenshot(page, "security-log")
    older = page.get_by_role("button", name="Show older events")
    older.click()
    expect(rows).to_have_count(52)
    expect(older).to_be_hidden()
    expect(rows.last).to_contain_text("Account created")
    kinds = [row.split("\t")[0] for row in rows.all_inner_texts()]
    assert sum("Signed out" in kind for kind in kinds) == 25, kinds


def test_the_keyboard_alone_signs_in_and_focus_is_always_visible(page):
    account = Account()
    open_page(page, "#/sign-in")
    assert page.get_by_label("Login").get_attribute("autocomplete") == "username"
    assert page.get_by_label("Password").get_attribute("autocomplete") == "current-password"
    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const e = document.activeElement, s = getComputedStyle(e);
                return {label: e.labels && e.labels[0] ? e.labels[0].textContent.trim() : e.textContent.trim(),
                        outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2}; }"""
        )
        seen.append(focused)
        assert focused["outline"], f"no visible focus on {focused['label']!r}"
        if focused["label"] == "Login":
            break
    else:
        raise AssertionError(f"Tab never reached the login field: {seen}")
    page.keyboard.type(account.login)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    assert page.get_by_label("Login", exact=True).count() == 0


def test_every_page_fits_a_small_phone(page):
    account = Account()
    page.set_viewport_size({"width": 360, "height": 780})
    open_page(page, "#/sign-in")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "sign-in-360")
    sign_in(page, account.login)
    for link, heading in [
        ("Account", "Account"),
        ("Access tokens", "Personal access tokens"),
        ("Sessions", "Sessions"),
        ("Security log", "Security log"),
    ]:
        page.get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{heading}: {width} px wide at 360"
        assert_accessible(page, f"{heading} at 360 px")
    screenshot(page, "security-log-360")


def test_a_session_ended_elsewhere_sends_the_page_back_to_sign_in(page):
    account = Account()
    sign_in(page, account.login)
    token = session_of(page)
    other = account.session()
    status, body, _ = call("GET", "/v1/sessions", token=other)
    mine = next(session["id"] for session in body["sessions"] if not session["current"])
    assert call("DELETE", f"/v1/sessions/{mine}", token=other)[0] == 204
    page.get_by_role("link", name="Sessions").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("main").get_by_role("alert")).to_contain_text("Your session has ended. Sign in again.")
    assert session_of(page) is None
    assert call("GET", "/v1/whoami", token=token)[0] == 401


def test_a_second_step_whose_enrolment_ended_restarts_at_the_password(page):
    account = Account().enrol()
    open_page(page, "#/sign-in")
    page.get_by_label("Login").fill(account.login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    # Meanwhile 2FA is disabled: the mfa_token the page holds belongs to the old enrolment.
    status, _, _ = call("POST", "/v1/two-factor/disable", {"password": PASSWORD}, account.session())
    assert status == 200
    page.get_by_label("Authentication code").fill(code_at(account.secret, 1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("main").get_by_role("alert")).to_contain_text(re.compile("login and password again"))
    assert session_of(page) is None


MARKUP = '<img src=x onerror="window.__injected=1"><b>bold</b><script>window.__injected=2</script>'


def test_markup_in_a_user_agent_or_a_token_name_is_shown_as_text(page):
    """Whoever sends a request chooses its user agent, and a token's name is the user's: the
    sessions, tokens and security log pages show both as text, and nothing in them runs."""
    account = Account()
    status, body, _ = call("POST", "/v1/sign-in", {"login": account.login, "password": PASSWORD}, user_agent=MARKUP)
    assert status == 200, body
    token = body["session_token"]
    status, body, _ = call("POST", "/v1/tokens", {"name": MARKUP, "password": PASSWORD}, token)
    assert status == 201, body
    sign_in(page, account.login)
    for link, heading in (("Sessions", "Sessions"), ("Access tokens", "Personal access tokens"),
                          ("Security log", "Security log")):
        page.get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        expect(page.get_by_text(MARKUP).first).to_be_visible()
        main = page.locator("main")
        assert main.locator("img, b, script").count() == 0, link
        assert page.evaluate("window.__injected") is None, link


def test_the_api_reference_renders_the_contract_from_this_origin(page):
    """/docs renders /openapi.yaml (this origin's copy of docs/openapi.yaml) with the embedded
    Redoc, sandboxed under its own policy, and asks nothing of any other origin."""
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    open_page(page, "docs", ready=lambda page: page.get_by_role("heading", name="SignIn").first.wait_for(timeout=20_000))
    expect(page.get_by_role("heading", name=re.compile("^Ward")).first).to_be_visible()
    expect(page.get_by_role("heading", name="Verify2FACode").first).to_be_visible()
    assert asked and all(url.startswith(API) or url.startswith(("blob:", "data:")) for url in asked), asked
    # Sandboxed: an origin of its own, so Redoc cannot reach the account pages' session.
    assert page.evaluate("window.origin") == "null"
    reach = "() => { try { sessionStorage.getItem('ward.session'); return 'reached'; } catch (e) { return 'refused'; } }"
    assert page.evaluate(reach) == "refused"
    # The first screen only: the whole reference is tens of thousands of pixels tall.
    page.screenshot(path=str(SHOTS / "api-reference.png"))
    with urllib.request.urlopen(f"{API}/openapi.yaml", timeout=30) as response:
        served = response.read().decode()
        assert response.headers["content-type"] == "application/yaml; charset=utf-8"
    assert served == (Path(__file__).parents[2] / "docs" / "openapi.yaml").read_text()
