// Ward's browser front end.
//
// One page, served from the same origin as the JSON API (docs: shared/API.md), with hash routes:
// #/sign-in, #/sign-up and the four settings pages. Views and dialogs are cloned from the
// <template>s in index.html when they are shown and thrown away when they are left, so a page
// never holds the fields of another (and a password typed into a dialog is gone once it closes).
//
// Security notes for whoever changes this file:
// - The session token lives in `session` and in sessionStorage under `ward.session`, nowhere else:
//   no localStorage, no cookie. It is sent only as a Bearer header to relative /v1 paths.
// - Nothing from the API or the user is ever parsed as HTML: the DOM is built with h() and
//   textContent. The page runs under a strict CSP (no inline script or style), so nothing here
//   sets style attributes either: state is shown with `hidden` and classes.

const STORAGE_KEY = 'ward.session';
const SESSION_ENDED = 'Your session has ended. Sign in again.';
const UNAVAILABLE = 'The service is unavailable. Try again in a moment.';

// What people read for each error code of the API's table. The server's own `message` is the
// fallback (and is what invalid_request shows: it names the field that was refused).
const MESSAGES = {
  invalid_request: '',
  unauthorized: SESSION_ENDED,
  invalid_credentials: 'The login or password is incorrect.',
  invalid_code: 'That code is not valid or has already been used. Check it and try again.',
  mfa_token_invalid: 'Your sign-in took too long or was interrupted. Enter your login and password again.',
  invalid_password: 'That password is not correct.',
  session_required: 'This needs a signed-in session: a personal access token cannot do it.',
  not_found: 'That item no longer exists.',
  method_not_allowed: 'The service did not accept this request. Reload the page and try again.',
  login_taken: 'That login is already taken. Choose another one, or sign in.',
  two_factor_already_enabled: 'Two-factor authentication is already on for this account.',
  two_factor_not_enabled: 'Two-factor authentication is off for this account.',
  setup_not_started: 'This setup has expired: it lasts 10 minutes. Start again to get a new QR code.',
  token_limit_reached: 'This account already has 100 tokens, the most it can hold. Revoke one you no longer use, then try again.',
  payload_too_large: 'What you entered is too long.',
  too_many_attempts: 'Too many attempts. Wait a moment, then try again.',
  service_unavailable: UNAVAILABLE,
  internal_error: UNAVAILABLE,
};

// Human labels for the security log's event types.
const EVENTS = {
  account_created: 'Account created',
  signed_in: 'Signed in',
  sign_in_failed: 'Wrong password',
  two_factor_failed: 'Wrong second-factor code',
  two_factor_enabled: 'Two-factor authentication turned on',
  two_factor_disabled: 'Two-factor authentication turned off',
  recovery_code_used: 'Recovery code used',
  recovery_codes_viewed: 'Recovery codes viewed',
  recovery_codes_regenerated: 'New recovery codes generated',
  token_created: 'Access token created',
  token_revoked: 'Access token revoked',
  signed_out: 'Signed out',
  session_ended: 'Session ended',
  throttled: 'Too many attempts: paused',
};

const VIEWS = {
  '#/sign-in': { name: 'sign-in', title: 'Sign in', mount: mountSignIn },
  '#/sign-up': { name: 'sign-up', title: 'Create your account', mount: mountSignUp },
  '#/settings/account': { name: 'account', title: 'Account', mount: mountAccount, signedIn: true },
  '#/settings/tokens': { name: 'tokens', title: 'Personal access tokens', mount: mountTokens, signedIn: true },
  '#/settings/sessions': { name: 'sessions', title: 'Sessions', mount: mountSessions, signedIn: true },
  '#/settings/log': { name: 'log', title: 'Security log', mount: mountLog, signedIn: true },
};

const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

let session = readSession(); // the bearer token, or null when signed out
let me = null;               // the last GET /v1/account answer: the header's login, the codes file
let renderedHash = null;     // the route on screen
let firstRender = true;      // focus stays put on page load; later route changes focus the h1
let signInMessage = '';      // shown on the next sign-in page (why the user is there)
let signInLogin = '';        // the login to put back in the sign-in form

// ---- small DOM helpers

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

// h('p', {class: 'x', onclick: f}, 'text', child…): an element; strings become text nodes.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  el.append(...children.flat().filter((c) => c != null && c !== false));
  return el;
}

function clone(id) {
  return document.getElementById(id).content.cloneNode(true);
}

function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : DATE.format(date);
}

const timeEl = (iso) => h('time', { datetime: iso }, formatTime(iso));
const plural = (n, one, many) => (n === 1 ? one : many);

// The local date as YYYY-MM-DD, for file names.
function localDay(date = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

// "Chrome on Windows", or null when the user agent says nothing we recognise.
function describeAgent(ua) {
  const browser = [[/Edg\//, 'Edge'], [/OPR\//, 'Opera'], [/Firefox\//, 'Firefox'], [/Chrome\//, 'Chrome'],
    [/Safari\//, 'Safari'], [/^curl\//, 'curl']].find(([re]) => re.test(ua));
  if (!browser) return null;
  const os = [[/Windows/, 'Windows'], [/Android/, 'Android'], [/iPhone|iPad/, 'iOS'], [/Mac OS X/, 'macOS'],
    [/CrOS/, 'ChromeOS'], [/Linux/, 'Linux']].find(([re]) => re.test(ua));
  return os ? `${browser[1]} on ${os[1]}` : browser[1];
}

function agentCell(ua) {
  if (!ua) return h('td', { class: 'agent' }, 'Unknown');
  const summary = describeAgent(ua);
  return h('td', { class: 'agent' }, summary, h('span', { class: 'agent-full' }, ua));
}

// A table in a labelled region that scrolls sideways on a narrow screen.
function table(label, headings, rows) {
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': label, tabindex: '0' },
    h('table', {},
      h('thead', {}, h('tr', {}, headings.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows)));
}
const actionsHeading = () => h('span', { class: 'vh' }, 'Actions');

// ---- the session

function readSession() {
  try { return sessionStorage.getItem(STORAGE_KEY); } catch { return null; }
}

function storeSession(token) {
  session = token;
  try { sessionStorage.setItem(STORAGE_KEY, token); } catch { /* private mode: memory only */ }
}

function clearSession() {
  session = null;
  me = null;
  try { sessionStorage.removeItem(STORAGE_KEY); } catch { /* nothing stored */ }
}

// The server no longer accepts our token (expired, signed out or ended from another device).
function dropSession(message) {
  clearSession();
  closeAllDialogs(true);
  signInMessage = message;
  renderedHash = null; // show the sign-in page afresh even if it is on screen
  go('#/sign-in');
}

// ---- the API

class ApiError extends Error {
  constructor(status, code, message, retryAfter = 0) {
    super(message);
    Object.assign(this, { status, code, retryAfter, handled: false });
  }
}

// An error found before anything was sent (an empty field, say): shown as it is.
const problem = (message) => new ApiError(0, 'local', message);

// Calls the API. Resolves with the parsed answer (null for 204); rejects with an ApiError.
// A 401 `unauthorized` on an authenticated call signs the user out here, once for all callers,
// and the error is marked `handled` so that nobody shows it a second time.
async function api(method, path, body, { auth = true } = {}) {
  const token = session;
  const headers = { 'Content-Type': 'application/json' };
  if (auth) headers.Authorization = 'Bearer ' + token;
  let res;
  try {
    res = await fetch(path, {
      method, headers, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', UNAVAILABLE);
  }
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch { /* not JSON: a proxy's error page, say */ }
  if (res.ok && data) return data;
  const code = data?.error ?? (res.status >= 500 ? 'service_unavailable' : 'unknown');
  const err = new ApiError(res.status, code, data?.message ?? '', retryAfter(res));
  if (auth && code === 'unauthorized') {
    err.handled = true;
    if (session && session === token) dropSession(SESSION_ENDED);
  }
  throw err;
}

// Retry-After is seconds (or, by the HTTP spec, a date). Without one, assume the first pause: 30 s.
function retryAfter(res) {
  const value = res.headers.get('Retry-After');
  if (!value) return 30;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(1, Math.ceil(seconds));
  const at = Date.parse(value);
  return Number.isNaN(at) ? 30 : Math.max(1, Math.ceil((at - Date.now()) / 1000));
}

function messageFor(err) {
  if (err.code === 'local' || err.code === 'network') return err.message;
  if (err.status >= 500) return UNAVAILABLE;
  return MESSAGES[err.code] || err.message || 'Something went wrong. Try again.';
}

// ---- forms

const errorArea = (form) => $('.error', form);
const submitButton = (form) => $('[type="submit"]', form);
const isBusy = (form) => form.getAttribute('aria-busy') === 'true';

// Throttles the service told us about, by form (data-form), as the time they end. They survive a
// form being thrown away, so coming back to the page shows the rest of the wait.
const throttledUntil = new Map();
const tickers = new WeakMap();
const isThrottled = (form) => (throttledUntil.get(form.dataset.form) ?? 0) > Date.now();

function say(form, text) {
  if (!isThrottled(form)) errorArea(form).textContent = text;
}

function setBusy(form, busy) {
  form.setAttribute('aria-busy', String(busy));
  for (const button of $$('[type="submit"], [data-close], [data-cancel]', form)) button.disabled = busy;
  if (isThrottled(form)) submitButton(form).disabled = true;
}

// Runs a form's request: clears the old message, disables the buttons while it runs, and shows
// what went wrong. `task` may throw an ApiError (or problem()) to have it reported.
async function runForm(form, task) {
  if (isBusy(form) || isThrottled(form)) return;
  say(form, '');
  setBusy(form, true);
  try {
    await task();
  } catch (err) {
    report(form, err);
  } finally {
    setBusy(form, false);
  }
}

function report(form, err) {
  if (!(err instanceof ApiError)) { console.error(err); say(form, 'Something went wrong. Try again.'); return; }
  if (err.handled) return;
  if (err.code === 'too_many_attempts') {
    throttledUntil.set(form.dataset.form, Date.now() + err.retryAfter * 1000);
    countdown(form);
    return;
  }
  say(form, messageFor(err));
}

// A live countdown in the form's error area, its submit button disabled until the wait is over.
// The message is announced once; the seconds then tick silently (aria-live off), since a screen
// reader reading every second out loud would drown everything else.
function countdown(form) {
  clearInterval(tickers.get(form));
  const area = errorArea(form);
  let announced = false;
  const tick = () => {
    if (!form.isConnected) { clearInterval(timer); return; }
    const left = Math.ceil(((throttledUntil.get(form.dataset.form) ?? 0) - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(timer);
      throttledUntil.delete(form.dataset.form);
      area.removeAttribute('aria-live');
      area.textContent = '';
      submitButton(form).disabled = isBusy(form);
      return;
    }
    if (announced) area.setAttribute('aria-live', 'off');
    area.textContent = `Too many attempts. Try again in ${left} s.`;
    announced = true;
    submitButton(form).disabled = true;
  };
  const timer = setInterval(tick, 1000);
  tickers.set(form, timer);
  tick();
}

function resumeCountdowns(root) {
  for (const form of $$('form[data-form]', root)) if (isThrottled(form)) countdown(form);
}

// Puts a template's content into `root` (replacing what was there).
function place(root, templateId) {
  root.replaceChildren(clone(templateId));
  resumeCountdowns(root);
  return root;
}

// ---- dialogs

// Each open dialog's way to close it for good, and whether it refuses to close just now.
const dialogState = new WeakMap();

// Opens a dialog from a template with showModal(): focus goes into it, Escape closes it (unless
// `keepOpen()` says no, or a request is running), and focus returns to `opener` afterwards.
// The dialog leaves the page when it closes, with anything typed into it.
function openDialog(templateId, { opener = document.activeElement, keepOpen = () => false, onClose } = {}) {
  const dialog = clone(templateId).querySelector('dialog');
  $('#dialogs').append(dialog);
  resumeCountdowns(dialog);
  const refuses = () => keepOpen() || !!$('[aria-busy="true"]', dialog);
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    if (dialog.open) dialog.close();
    for (const input of $$('input', dialog)) if (input.type !== 'checkbox') input.value = '';
    dialog.remove();
    restoreFocus(opener);
    onClose?.();
  };
  dialogState.set(dialog, { finish, refuses });
  dialog.addEventListener('keydown', (e) => { if (e.key === 'Escape' && refuses()) e.preventDefault(); });
  dialog.addEventListener('cancel', (e) => { if (refuses()) e.preventDefault(); });
  dialog.addEventListener('close', () => {
    if (finished) return;
    // A browser may close a dialog in spite of a refused `cancel` (Chrome does on a second
    // Escape without a click between): put it straight back.
    if (refuses()) { dialog.showModal(); return; }
    finish();
  });
  for (const button of $$('[data-close]', dialog)) button.addEventListener('click', finish);
  dialog.showModal();
  ($('[data-autofocus]', dialog) ?? $('input:not(:disabled), button:not(:disabled)', dialog))?.focus();
  return dialog;
}

const closeDialog = (dialog) => dialogState.get(dialog)?.finish();

// Closes every dialog; without `force`, one that refuses (unsaved recovery codes) stays.
function closeAllDialogs(force) {
  for (const dialog of $$('#dialogs dialog')) {
    const state = dialogState.get(dialog);
    if (state && (force || !state.refuses())) state.finish();
  }
}

const isShown = (el) => el?.isConnected && !el.disabled && el.getClientRects().length > 0;

function restoreFocus(opener) {
  if ($('#dialogs dialog[open]')) return; // the next dialog of the flow has the focus
  if (isShown(opener)) opener.focus();
  else focusHeading();
}

function focusHeading() {
  $('#view h1')?.focus();
}

// After a list was redrawn under the focused button, put the focus somewhere sensible.
function refocusIfLost(fallback) {
  if ($('#dialogs dialog[open]')) return;
  const active = document.activeElement;
  if (!active || active === document.body || !isShown(active)) {
    if (isShown(fallback)) fallback.focus(); else focusHeading();
  }
}

// The reusable "Confirm your password" prompt. `action(password)` runs while the prompt is open,
// so a wrong password is said inside it and the user can try again. Resolves with the action's
// answer, or null when the user cancelled.
function askPassword(opener, purpose, action) {
  return new Promise((resolve) => {
    let result = null;
    const dialog = openDialog('tpl-password', { opener, onClose: () => resolve(result) });
    $('[data-purpose]', dialog).textContent = purpose;
    const form = $('form', dialog);
    const input = form.elements.password;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      runForm(form, async () => {
        if (!input.value) { input.focus(); throw problem('Enter your password.'); }
        try {
          result = (await action(input.value)) ?? true;
        } catch (err) {
          if (err.code === 'invalid_password') { input.value = ''; input.focus(); }
          throw err;
        }
        closeDialog(dialog);
      });
    });
  });
}

// A yes/no question. `run`, when given, is the request made on "yes" (its errors are shown in the
// dialog). Resolves true when it went through, false when the user cancelled.
function confirmDialog({ title, text, action, kind = 'danger', opener, run }) {
  return new Promise((resolve) => {
    let confirmed = false;
    const dialog = openDialog('tpl-confirm', { opener, onClose: () => resolve(confirmed) });
    $('h2', dialog).textContent = title;
    $('#confirm-text', dialog).textContent = text;
    const form = $('form', dialog);
    form.dataset.form = 'confirm-' + action.toLowerCase();
    resumeCountdowns(dialog);
    const button = submitButton(form);
    button.textContent = action;
    button.className = kind;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      runForm(form, async () => {
        if (run) await run();
        confirmed = true;
        closeDialog(dialog);
      });
    });
  });
}

// ---- notices

function notify(text) {
  $('#notice').textContent = text;
}

// ---- routing

function go(hash) {
  if (location.hash !== hash) history.pushState(null, '', hash);
  render();
}

function render() {
  let hash = location.hash;
  const wanted = VIEWS[hash];
  // Settings need a session; the sign-in and sign-up pages make no sense with one.
  if (!wanted || !!wanted.signedIn !== !!session) {
    hash = session ? '#/settings/account' : '#/sign-in';
    history.replaceState(null, '', hash);
  }
  if (hash === renderedHash) return;
  renderedHash = hash;
  const view = VIEWS[hash];
  closeAllDialogs(false);
  notify('');
  document.title = `${view.title} – Ward`;
  view.mount($('#view'));
  updateHeader();
  if (!firstRender) focusHeading();
  firstRender = false;
}

function updateHeader() {
  $('#nav').hidden = !session;
  $('#who').hidden = !session;
  $('#who-login').textContent = me?.login ?? '';
  for (const link of $$('#nav a')) {
    if (link.getAttribute('href') === renderedHash) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

async function signOut() {
  const button = $('#sign-out');
  button.disabled = true;
  try {
    // Whatever the answer (even none), this browser forgets the session.
    await fetch('/v1/sign-out', {
      method: 'POST', cache: 'no-store',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + session },
    });
  } catch { /* offline: the session still expires on its own within 12 hours */ }
  button.disabled = false;
  clearSession();
  closeAllDialogs(true);
  go('#/sign-in');
  notify('You are signed out.');
}

// ---- sign in and sign up

// A session was issued: keep it and go to the account page. After a recovery code, say how many
// are left, and urge new ones when few are: the user may be locked out of their phone.
function signedIn(answer) {
  storeSession(answer.session_token);
  signInLogin = '';
  go('#/settings/account');
  const n = answer.recovery_codes_remaining;
  if (typeof n !== 'number') return;
  let text = `You signed in with a recovery code. ${n} ${plural(n, 'recovery code remains', 'recovery codes remain')}.`;
  if (n === 0) text += ' None are left: generate new ones now with View Recovery Codes.';
  else if (n <= 3) text += ' That is not many: generate new ones soon with View Recovery Codes.';
  notify(text);
}

// Step one: login and password.
function mountSignIn(root, { again = false } = {}) {
  place(root, 'tpl-sign-in');
  const form = $('form', root);
  const { login, password } = form.elements;
  login.value = signInLogin;
  if (signInMessage) { say(form, signInMessage); signInMessage = ''; }
  if (again) password.focus();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    runForm(form, async () => {
      const name = login.value.trim();
      if (!name || !password.value) throw problem('Enter your login and your password.');
      let answer;
      try {
        answer = await api('POST', '/v1/sign-in', { login: name, password: password.value }, { auth: false });
      } catch (err) {
        if (err.code === 'invalid_credentials') { password.value = ''; password.focus(); }
        throw err;
      }
      password.value = '';
      signInLogin = name;
      if (answer.status === 'two_factor_required') mountSecondStep(root, answer.mfa_token);
      else signedIn(answer);
    });
  });
}

// Step two, same page: a code from the authenticator app, or a recovery code.
function mountSecondStep(root, mfaToken) {
  place(root, 'tpl-sign-in-code');
  document.title = 'Two-factor authentication – Ward';
  const form = $('form', root);
  const codeField = $('[data-field="code"]', root);
  const recoveryField = $('[data-field="recovery"]', root);
  const toggle = $('[data-toggle]', root);
  let useRecovery = false;
  recoveryField.remove();
  const input = () => $('input', useRecovery ? recoveryField : codeField);

  toggle.addEventListener('click', () => {
    useRecovery = !useRecovery;
    (useRecovery ? codeField : recoveryField).replaceWith(useRecovery ? recoveryField : codeField);
    toggle.textContent = useRecovery ? 'Use an authentication code instead' : 'Use a recovery code instead';
    say(form, '');
    input().focus();
  });
  $('[data-cancel]', root).addEventListener('click', () => mountSignIn(root, { again: true }));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    runForm(form, async () => {
      const field = input();
      const body = { mfa_token: mfaToken };
      if (useRecovery) {
        body.recovery_code = field.value.trim();
        if (!body.recovery_code) { field.focus(); throw problem('Enter one of your recovery codes.'); }
      } else {
        body.code = field.value.replace(/\s+/g, '');
        if (!/^[0-9]{6}$/.test(body.code)) { field.focus(); throw problem('Enter the six-digit code your authenticator app shows.'); }
      }
      let answer;
      try {
        answer = await api('POST', '/v1/sign-in/verify', body, { auth: false });
      } catch (err) {
        if (err.code === 'mfa_token_invalid') {
          // The token is spent or expired: back to step one, saying why.
          signInMessage = messageFor(err);
          mountSignIn(root, { again: true });
          document.title = 'Sign in – Ward';
          return;
        }
        if (err.code === 'invalid_code') { field.value = ''; field.focus(); }
        throw err;
      }
      signedIn(answer);
    });
  });
  input().focus();
}

function mountSignUp(root) {
  place(root, 'tpl-sign-up');
  const form = $('form', root);
  const { login, password } = form.elements;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    runForm(form, async () => {
      // The service's own rules (API.md), checked here first to save a round trip.
      const name = login.value.trim();
      const length = [...name].length;
      if (length < 3 || length > 254 || new TextEncoder().encode(name).length > 254) {
        login.focus();
        throw problem('A login is 3 to 254 characters long.');
      }
      const passwordLength = [...password.value].length;
      if (passwordLength < 8 || passwordLength > 128) {
        password.focus();
        throw problem('A password is 8 to 128 characters long.');
      }
      try {
        await api('POST', '/v1/accounts', { login: name, password: password.value }, { auth: false });
      } catch (err) {
        if (err.code === 'login_taken') login.focus();
        throw err;
      }
      // The account exists: sign in with the same credentials straight away.
      let answer;
      try {
        answer = await api('POST', '/v1/sign-in', { login: name, password: password.value }, { auth: false });
      } catch (err) {
        signInLogin = name;
        signInMessage = `Your account is ready, but signing in failed: ${messageFor(err)}`;
        go('#/sign-in');
        return;
      }
      if (answer.status !== 'signed_in') { signInLogin = name; go('#/sign-in'); return; }
      signedIn(answer);
      notify('Welcome to Ward. Your account is ready.');
    });
  });
}

// ---- settings: account

function mountAccount(root) {
  place(root, 'tpl-account');
  const setup = $('[data-setup]', root);
  const view = $('[data-view]', root);
  const disable = $('[data-disable]', root);
  setup.addEventListener('click', () => setUpTwoFactor(setup));
  view.addEventListener('click', () => viewRecoveryCodes(view));
  disable.addEventListener('click', () => disableTwoFactor(disable));
  loadAccount();
}

// (Re)draws the account page from GET /v1/account. After a dialog flow (`refocus`), a focused
// button that the new state hides hands the focus to its successor.
async function loadAccount({ refocus = false } = {}) {
  const root = $('#view');
  const area = $('[data-load-error]', root);
  if (!area) return; // not on the account page
  let account;
  try {
    account = await api('GET', '/v1/account');
  } catch (err) {
    if (!err.handled && area.isConnected) area.textContent = messageFor(err);
    return;
  }
  me = account;
  updateHeader();
  if (!area.isConnected) return; // the user has moved on meanwhile
  area.textContent = '';
  $('[data-login]', root).textContent = account.login;
  $('[data-created]', root).replaceChildren(timeEl(account.created_at));

  const tf = account.two_factor ?? {};
  const on = !!tf.enabled;
  const left = tf.recovery_codes_remaining ?? 0;
  const status = [h('p', { id: 'tf-status' }, 'Two-factor authentication: ', h('strong', {}, on ? 'On' : 'Off'),
    on && tf.enabled_at ? [' since ', timeEl(tf.enabled_at)] : [])];
  if (on) status.push(h('p', { id: 'codes-remaining' }, 'Unused recovery codes: ', h('strong', {}, String(left))));
  if (on && left <= 3) {
    status.push(h('p', { class: 'callout' }, left === 0
      ? 'You have no recovery codes left. Generate new ones from View Recovery Codes.'
      : 'You are running low on recovery codes. Generate new ones from View Recovery Codes.'));
  }
  $('[data-tf-status]', root).replaceChildren(...status);
  for (const el of $$('[data-when]', root)) el.hidden = el.dataset.when !== (on ? 'on' : 'off');
  $('[data-setup]', root).hidden = on;
  $('[data-view]', root).hidden = !on;
  $('[data-disable]', root).hidden = !on;
  if (refocus) refocusIfLost($(on ? '[data-view]' : '[data-setup]', root));
}

async function setUpTwoFactor(opener) {
  const setup = await askPassword(opener, 'To set up two-factor authentication, confirm your password.',
    (password) => api('POST', '/v1/two-factor/setup', { password }));
  if (!setup) { loadAccount({ refocus: true }); return; }
  const outcome = await setupDialog(setup, opener);
  if (outcome === 'again') setUpTwoFactor(opener);
  else if (outcome) showNewCodes(outcome, opener, 'Two-factor authentication is on.');
}

// Scan (or type) the secret, then prove it with a code. Resolves with the recovery codes,
// 'again' when the pending setup expired and the user asked to start over, or null.
function setupDialog(setup, opener) {
  return new Promise((resolve) => {
    let outcome = null;
    const dialog = openDialog('tpl-setup', { opener, onClose: () => resolve(outcome) });
    const image = $('.qr img', dialog);
    if (/^data:image\/png;base64,/.test(setup.qr_png)) image.src = setup.qr_png;
    else image.closest('.qr').hidden = true;
    // Spaces every four characters for reading; authenticator apps ignore them.
    $('#manual-secret', dialog).textContent = String(setup.secret).replace(/(.{4})(?=.)/g, '$1 ');
    const form = $('form', dialog);
    const input = form.elements.code;
    const again = $('[data-again]', dialog);
    again.addEventListener('click', () => { outcome = 'again'; closeDialog(dialog); });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      runForm(form, async () => {
        const code = input.value.replace(/\s+/g, '');
        if (!/^[0-9]{6}$/.test(code)) { input.focus(); throw problem('Enter the six-digit code your authenticator app shows.'); }
        try {
          outcome = (await api('POST', '/v1/two-factor/setup/verify', { code })).recovery_codes;
        } catch (err) {
          input.value = '';
          if (err.code === 'setup_not_started') {
            // The pending secret is gone: this QR code is useless now. Offer a fresh one.
            submitButton(form).hidden = true;
            input.disabled = true;
            again.hidden = false;
            again.focus();
          } else {
            input.focus();
          }
          throw err;
        }
        closeDialog(dialog);
      });
    });
  });
}

// The "Save your recovery codes" dialog, after setup and after regenerating. It will not close
// until the user has ticked "I've saved data" (Download and Copy tick it for them).
function showNewCodes(codes, opener, doneNotice) {
  let saved = null;
  const dialog = openDialog('tpl-save-codes', {
    opener,
    keepOpen: () => !saved?.checked,
    onClose: () => {
      if (!session) return; // signed out meanwhile
      notify(doneNotice);
      loadAccount({ refocus: true });
    },
  });
  saved = $('#saved-check', dialog);
  const done = $('[data-done]', dialog);
  const tick = () => { saved.checked = true; done.disabled = false; };
  saved.addEventListener('change', () => { done.disabled = !saved.checked; });
  done.addEventListener('click', () => closeDialog(dialog));
  showCodeList(dialog, codes.map((code) => ({ code, used: false })));
  wireExport(dialog, codes, tick);
}

function showCodeList(dialog, codes) {
  $('[data-codes]', dialog).replaceWith(h('ul', { id: 'recovery-codes', class: 'codes' },
    codes.map(({ code, used }) => (used ? h('li', { class: 'used' }, h('del', {}, code), ' (used)') : h('li', {}, code)))));
}

// Download and Copy buttons for a list of codes; `onSaved` runs once the codes are safely out.
function wireExport(dialog, codes, onSaved = () => {}) {
  const status = $('[data-status]', dialog);
  const error = $('.error', dialog);
  const download = $('[data-download]', dialog);
  const copy = $('[data-copy]', dialog);
  download.disabled = copy.disabled = codes.length === 0;
  download.addEventListener('click', () => {
    error.textContent = '';
    status.textContent = `Downloaded ${saveCodesFile(codes, dialog)}.`;
    onSaved();
  });
  copy.addEventListener('click', async () => {
    status.textContent = error.textContent = '';
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
    } catch {
      error.textContent = 'Your browser did not allow copying. Use Download, or select the codes and copy them yourself.';
      return;
    }
    status.textContent = 'Copied to the clipboard.';
    onSaved();
  });
}

// Saves the codes as a plain-text file; returns its name.
function saveCodesFile(codes, container) {
  const day = localDay();
  const name = `ward-recovery-codes-${day}.txt`;
  const text = [`Ward recovery codes for ${me?.login ?? 'your account'}`, `Date: ${day}`, ...codes,
    'Each code works once.'].join('\n') + '\n';
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const link = h('a', { href: url, download: name, hidden: true });
  container.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
  return name;
}

async function viewRecoveryCodes(opener) {
  // The password typed to view the codes, kept only while this flow's dialogs are open, for
  // "Generate new recovery codes" (which needs it too). Dropped whichever way the flow ends.
  let password = null;
  const codes = await askPassword(opener, 'To see your recovery codes, confirm your password.', async (typed) => {
    const answer = await api('POST', '/v1/two-factor/recovery-codes/view', { password: typed });
    password = typed;
    return answer;
  });
  let focusRegenerate = false;
  while (codes && session) {
    if (!(await codesDialog(codes, opener, focusRegenerate))) break;
    let fresh = null;
    const confirmed = await confirmDialog({
      title: 'Generate new recovery codes?',
      text: 'Your current recovery codes will stop working at once.',
      action: 'Generate',
      kind: 'primary',
      opener,
      run: async () => {
        fresh = (await api('POST', '/v1/two-factor/recovery-codes/regenerate', { password })).recovery_codes;
      },
    });
    if (confirmed) {
      password = null;
      showNewCodes(fresh, opener, 'New recovery codes are ready. Your old codes no longer work.');
      return;
    }
    focusRegenerate = true; // cancelled: back to the codes, where the user was
  }
  password = null;
}

// Shows the current codes. Resolves true when the user asks for new ones, false when closed.
function codesDialog(answer, opener, focusRegenerate) {
  return new Promise((resolve) => {
    let regenerate = false;
    const dialog = openDialog('tpl-view-codes', { opener, onClose: () => resolve(regenerate) });
    const all = answer.recovery_codes ?? [];
    showCodeList(dialog, all);
    $('[data-remaining]', dialog).textContent = `${answer.remaining} of ${all.length} remain`;
    wireExport(dialog, all.filter((c) => !c.used).map((c) => c.code));
    const more = $('[data-regenerate]', dialog);
    more.addEventListener('click', () => { regenerate = true; closeDialog(dialog); });
    if (focusRegenerate) more.focus();
  });
}

async function disableTwoFactor(opener) {
  const sure = await confirmDialog({
    title: 'Disable two-factor authentication?',
    text: 'Your account will then be protected by your password alone. Your authenticator app and recovery codes will no longer work for Ward.',
    action: 'Disable',
    opener,
  });
  if (!sure) return;
  const done = await askPassword(opener, 'To disable two-factor authentication, confirm your password.',
    (password) => api('POST', '/v1/two-factor/disable', { password }));
  if (!done) return;
  notify('Two-factor authentication is off.');
  await loadAccount({ refocus: true });
}

// ---- settings: access tokens

function mountTokens(root) {
  place(root, 'tpl-tokens');
  const form = $('form', root);
  const { name, days, password } = form.elements;
  const panel = $('[data-new-token]', root);
  const copy = $('[data-copy]', panel);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    runForm(form, async () => {
      const label = name.value.trim();
      const lifetime = Number(days.value);
      if (!label) { name.focus(); throw problem('Give the token a name.'); }
      if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 366) {
        days.focus();
        throw problem('Enter a whole number of days from 1 to 366.');
      }
      if (!password.value) { password.focus(); throw problem('Enter your password.'); }
      let token;
      try {
        token = await api('POST', '/v1/tokens', { name: label, password: password.value, expires_in_days: lifetime });
      } catch (err) {
        if (err.code === 'invalid_password') { password.value = ''; password.focus(); }
        throw err;
      }
      form.reset();
      $('[data-about]', panel).replaceChildren(`“${token.name}” expires `, timeEl(token.expires_at), '.');
      $('#new-token', panel).textContent = token.token;
      panel.dataset.id = token.id;
      errorArea(panel).textContent = '';
      copy.textContent = 'Copy token';
      panel.hidden = false;
      copy.focus();
      notify('Token created. Copy it now: it is shown only this once.');
      loadTokens(root);
    });
  });

  copy.addEventListener('click', async () => {
    errorArea(panel).textContent = '';
    try {
      await navigator.clipboard.writeText($('#new-token', panel).textContent);
    } catch {
      errorArea(panel).textContent = 'Your browser did not allow copying. Select the token and copy it yourself.';
      return;
    }
    copy.textContent = 'Copied';
  });
  loadTokens(root);
}

async function loadTokens(root) {
  const slot = $('[data-list]', root);
  const area = $('[data-list-error]', root);
  let tokens;
  try {
    tokens = (await api('GET', '/v1/tokens')).tokens;
  } catch (err) {
    if (!err.handled) area.textContent = messageFor(err);
    return;
  }
  area.textContent = '';
  if (!tokens.length) { slot.replaceChildren(h('p', { class: 'empty' }, 'No tokens yet.')); return; }
  const now = Date.now();
  slot.replaceChildren(table('Your tokens', ['Name', 'Created', 'Expires', 'Last used', actionsHeading()],
    tokens.map((t) => h('tr', {},
      h('td', {}, t.name),
      h('td', {}, timeEl(t.created_at)),
      h('td', {}, Date.parse(t.expires_at) < now ? 'Expired ' : '', timeEl(t.expires_at)),
      h('td', {}, t.last_used_at ? timeEl(t.last_used_at) : 'Never'),
      h('td', {}, h('button', {
        type: 'button', class: 'secondary small', 'aria-label': `Revoke ${t.name}`,
        onclick: (e) => revokeToken(e.currentTarget, t, root),
      }, 'Revoke'))))));
}

async function revokeToken(opener, token, root) {
  let gone = false;
  const revoked = await confirmDialog({
    title: 'Revoke this token?',
    text: `Anything that uses “${token.name}” will stop working at once. This cannot be undone.`,
    action: 'Revoke',
    opener,
    run: async () => {
      try {
        await api('DELETE', `/v1/tokens/${encodeURIComponent(token.id)}`);
      } catch (err) {
        if (err.code !== 'not_found') throw err;
        gone = true; // revoked elsewhere already: the outcome the user wanted
      }
    },
  });
  if (!revoked) return;
  const panel = $('[data-new-token]', root);
  if (panel?.dataset.id === token.id) panel.hidden = true;
  notify(gone ? `“${token.name}” was already revoked.` : `Token “${token.name}” revoked.`);
  await loadTokens(root);
  refocusIfLost($('[data-list] .table-wrap', root));
}

// ---- settings: sessions

function mountSessions(root) {
  place(root, 'tpl-sessions');
  const endOthers = $('[data-end-others]', root);
  endOthers.addEventListener('click', async () => {
    const answer = await askPassword(endOthers, 'To end every other session, confirm your password.',
      (password) => api('POST', '/v1/sessions/end-others', { password }));
    if (!answer) return;
    const n = answer.ended ?? 0;
    notify(`Ended ${n} other ${plural(n, 'session', 'sessions')}.`);
    await loadSessions(root);
  });
  loadSessions(root);
}

async function loadSessions(root) {
  const slot = $('[data-list]', root);
  const area = $('[data-list-error]', root);
  let sessions;
  try {
    sessions = (await api('GET', '/v1/sessions')).sessions;
  } catch (err) {
    if (!err.handled) area.textContent = messageFor(err);
    return;
  }
  area.textContent = '';
  slot.replaceChildren(table('Your sessions', ['Started', 'Expires', 'IP address', 'Browser', actionsHeading()],
    sessions.map((s) => h('tr', { 'data-session-id': s.id },
      h('td', {}, timeEl(s.created_at)),
      h('td', {}, timeEl(s.expires_at)),
      h('td', {}, s.ip || 'Unknown'),
      agentCell(s.user_agent),
      h('td', {}, s.current
        ? h('span', { class: 'badge' }, 'This session')
        : h('button', {
          type: 'button', class: 'secondary small', 'aria-label': `End session started ${formatTime(s.created_at)}`,
          onclick: (e) => endSession(e.currentTarget, s, root),
        }, 'End'))))));
}

async function endSession(button, target, root) {
  const area = $('[data-list-error]', root);
  button.disabled = true;
  area.textContent = '';
  try {
    await api('DELETE', `/v1/sessions/${encodeURIComponent(target.id)}`);
    notify('Session ended.');
  } catch (err) {
    if (err.handled) return;
    if (err.code !== 'not_found') { // not_found: it ended on its own meanwhile; just redraw
      button.disabled = false;
      area.textContent = messageFor(err);
      return;
    }
  }
  await loadSessions(root);
  refocusIfLost($('[data-end-others]', root));
}

// ---- settings: security log

function mountLog(root) {
  place(root, 'tpl-log');
  const slot = $('[data-list]', root);
  const area = $('[data-list-error]', root);
  const more = $('[data-more]', root);
  let body = null;   // the table's tbody, once there is an event to show
  let cursor = null; // where the next (older) page starts

  async function nextPage() {
    more.disabled = true;
    area.textContent = '';
    let page;
    try {
      page = await api('GET', '/v1/account/events' + (cursor ? '?cursor=' + encodeURIComponent(cursor) : ''));
    } catch (err) {
      more.disabled = false;
      if (!err.handled) area.textContent = messageFor(err);
      return;
    }
    const events = page.events ?? [];
    if (events.length && !body) {
      const wrap = table('Security log events', ['What happened', 'When', 'IP address', 'Browser'], []);
      body = $('tbody', wrap);
      slot.replaceChildren(wrap);
    }
    body?.append(...events.map((e) => h('tr', {},
      h('td', {}, EVENTS[e.type] ?? e.type),
      h('td', {}, timeEl(e.at)),
      h('td', {}, e.ip || 'Unknown'),
      agentCell(e.user_agent))));
    cursor = page.next_cursor ?? null;
    if (!body && !cursor) slot.replaceChildren(h('p', { class: 'empty' }, 'No events yet.'));
    const hadFocus = document.activeElement === more;
    more.disabled = false;
    more.hidden = !cursor;
    if (hadFocus && more.hidden) (body?.closest('.table-wrap') ?? $('h1', root)).focus();
  }

  more.addEventListener('click', nextPage);
  nextPage();
}

// ---- start

async function start() {
  $('#sign-out').addEventListener('click', signOut);
  // Links change the hash (hashchange); Back and Forward also fire popstate. render() ignores repeats.
  window.addEventListener('hashchange', render);
  window.addEventListener('popstate', render);
  if (session) {
    // A token from earlier in this tab: check it before showing anything that needs it.
    try {
      me = await api('GET', '/v1/account');
    } catch (err) {
      if (err.handled) return; // expired: dropSession() has shown the sign-in page
      // Service unreachable: keep the token and let the page say so.
    }
  }
  render();
}

start();
