"""The pages in a real browser: Debian's Chromium driven by Playwright, against the stack that
`make test` starts (WARD_API_URL). Each test gets a fresh browser context; every console error,
page error and Content-Security-Policy refusal fails the test that caused it."""

import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra"))
import api  # noqa: E402
import totp  # noqa: E402

API = os.environ.get("WARD_API_URL", "http://127.0.0.1:9000").rstrip("/")
CHROMIUM = os.environ.get("WARD_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("WARD_SCREENSHOTS", ROOT / ".local" / "screenshots"))
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery staple"

# As this machine's probe starts it: without the background-networking flags Chromium keeps
# trying hosts the closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# --- the API, called directly, for what a test sets up or checks behind the pages' back -------


def call(method, path, body=None, token=None, user_agent=None):
    """(status, JSON body or None, headers) of one request to the API."""
    status, answer, headers, _ = api.request(API + path, method, body, token, user_agent)
    return status, answer, headers


def unique_login():
    return f"browser-{uuid.uuid4().hex[:12]}@example.com"


def code_at(secret, steps_ahead=0):
    return totp.code(secret, int(time.time()) // 30 + steps_ahead)


class Account:
    """An account made through the API: its login, and once enrolled, its secret and codes."""

    def __init__(self):
        self.login = unique_login()
        self.secret = None
        self.codes = []
        status, _, _ = call("POST", "/v1/accounts", {"login": self.login, "password": PASSWORD})
        assert status == 201

    def sign_in(self):
        status, body, _ = call("POST", "/v1/sign-in", {"login": self.login, "password": PASSWORD})
        assert status == 200, body
        return body

    def session(self):
        body = self.sign_in()
        if body["status"] == "signed_in":
            return body["session_token"]
        status, body, _ = call(
            "POST", "/v1/sign-in/verify", {"mfa_token": body["mfa_token"], "recovery_code": self.codes.pop()}
        )
        assert status == 200, body
        return body["session_token"]

    def enrol(self):
        """Two-factor on, with the code of the current step (so the pages use the next one)."""
        token = self.session()
        status, body, _ = call("POST", "/v1/two-factor/setup", {"password": PASSWORD}, token)
        assert status == 200, body
        self.secret = body["secret"]
        status, body, _ = call("POST", "/v1/two-factor/setup/verify", {"code": code_at(self.secret)}, token)
        assert status == 200, body
        self.codes = body["recovery_codes"]
        return self


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.exit(f"{CHROMIUM} is missing: apt-get install chromium (make test installs it as root)", 2)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=API)
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    # What the page complained about: console errors, uncaught exceptions, CSP refusals.
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.relay_failures = []
    page.on("response", lambda response: note_relay_failure(page, response))
    yield page
    # A refused sign-in is the service answering 401/403/429: the browser logs those requests
    # as "Failed to load resource"; anything else is the page's own fault.
    # The local router's own 500s (note_relay_failure) are logged the same way, one each.
    real = [text for text in problems if not re.search(r"status of (401|403|409|429)", text)]
    lost = [text for text in real if "status of 500" in text]
    real = [text for text in real if "status of 500" not in text] + lost[len(page.relay_failures) :]
    assert not real, f"the page reported: {real}"


def note_relay_failure(page, response):
    """cargo lambda watch (1.9.2) now and then answers a request with a 500 of its own although the
    function answered (the README's local development notes). The `web` function has no 500,
    so a 500 for the page or an asset is that; `open_page` loads the page again for it, and only
    for it, and the run prints each."""
    path = urllib.parse.urlsplit(response.url).path
    if response.status == 500 and (path in ("/", "/docs", "/openapi.yaml") or path.startswith("/assets/")):
        page.relay_failures.append(path)


def open_page(page, route="", ready=lambda page: page.wait_for_selector("main h1", timeout=10_000)):
    """Loads the page (`ready` waits until it has rendered); when the local router lost one of its
    files (a 500 of its own, or nothing rendered in time), loads it again, at most twice, and says
    so."""
    for attempt in range(3):
        failures = len(page.relay_failures)
        if attempt:
            # A navigation to the same address but its fragment would not load anything again.
            page.goto("about:blank")
        page.goto(f"{API}/{route}")
        try:
            ready(page)
        except Exception:
            if attempt == 2:
                raise
            print(f"the page did not render in time ({page.relay_failures[failures:]}): loading it again")
            continue
        if len(page.relay_failures) == failures:
            return
        print(f"the local router failed {page.relay_failures[failures:]}: loading the page again")
    raise AssertionError(f"the local router failed every load: {page.relay_failures}")


def screenshot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def assert_accessible(page, where):
    """axe-core, run in the page: no serious or critical violation of WCAG 2.x A/AA rules."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through DevTools, so the page's own CSP (script-src 'self') still holds.
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values:
                ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not serious, f"{where}: {json.dumps(serious, indent=1)}"
    return result


def sign_in(page, login, code=None, recovery_code=None):
    """Signs in through the page; with 2FA on, with the code or recovery code given."""
    open_page(page, "#/sign-in")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if code or recovery_code:
        page.get_by_role("heading", name="Two-factor authentication").wait_for()
        if recovery_code:
            page.get_by_role("button", name="Use a recovery code instead").click()
            page.get_by_label("Recovery code").fill(recovery_code)
        else:
            page.get_by_label("Authentication code").fill(code)
        page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Account", exact=True).wait_for()


def confirm_password(page, password=PASSWORD):
    dialog = page.get_by_role("dialog", name="Confirm your password")
    dialog.get_by_label("Password").fill(password)
    dialog.get_by_role("button", name="Continue").click()
    return dialog


def session_of(page):
    return page.evaluate("sessionStorage.getItem('ward.session')")
