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
const SIGNED_OUT = 'You are signed out.';
const SIGN_OUT_UNREACHED = 'This browser has forgotten your session, but Ward could not be reached to end it. '
  + 'Sign in again and end it from the Sessions page (it also ends by itself within 12 hours).';
const UNEXPECTED = 'The service sent an answer this page does not understand. Reload the page and try again.';
// The answers of the two-factor routes that say the account's 2FA changed behind this page's back
// (in another tab, say): the dialog of the flow closes and the account page is redrawn.
const TWO_FACTOR_CHANGED = new Set(['two_factor_not_enabled', 'two_factor_already_enabled']);

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
let leaveView = null;        // what the view on screen does when it is left (forgets secrets)
let accountPage = null;      // the account view's own elements, while it is on screen

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

// Runs `fn` once the page has been drawn with what is there now (two frames on): a live region
// that has just been inserted, or just been emptied, is then seen to change.
function afterRender(fn) {
  let frame = requestAnimationFrame(() => { frame = requestAnimationFrame(fn); });
  return () => cancelAnimationFrame(frame);
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
  for (const { timer } of tickers.values()) clearInterval(timer);
  tickers.clear();
  throttledUntil.clear();
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
  if (auth) {
    if (!token) {
      // Signed out meanwhile (a request finishing after Sign out, say): nothing to send.
      const err = new ApiError(401, 'unauthorized', SESSION_ENDED);
      err.handled = true;
      closeAllDialogs(true);
      go('#/sign-in');
      throw err;
    }
    headers.Authorization = 'Bearer ' + token;
  }
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
  return (Object.hasOwn(MESSAGES, err.code) && MESSAGES[err.code]) || err.message || 'Something went wrong. Try again.';
}

// A SignIn or Verify2FACode answer that really issued a session.
const issuedSession = (answer) => answer?.status === 'signed_in'
  && typeof answer.session_token === 'string' && answer.session_token !== '';

// ---- forms

const errorArea = (form) => $('.error', form);
const submitButton = (form) => $('[type="submit"]', form);
const isBusy = (form) => form.getAttribute('aria-busy') === 'true';

// Throttles the service told us about, as the time they end, by key: the form's data-throttle, or
// its data-form, or (the sign-in forms) a key made of the login, so that a wait for one login is
// never shown to another. The password-confirmed routes share one key ("password"), as they share
// the service's count. Waits survive a form being thrown away, so coming back to the page shows
// the rest of the wait; signing out forgets them all.
const throttledUntil = new Map();
const throttleKeys = new WeakMap(); // form → () => its key, for keys that depend on what is typed
const tickers = new Map();          // form → { timer, key } of the countdown it shows
const keyOf = (form) => throttleKeys.get(form)?.() ?? form.dataset.throttle ?? form.dataset.form;
const isThrottled = (form, key = keyOf(form)) => (throttledUntil.get(key) ?? 0) > Date.now();

function say(form, text) {
  if (isThrottled(form)) return;
  const area = errorArea(form);
  area.classList.remove('is-ready');
  area.textContent = text;
}

function setBusy(form, busy) {
  form.setAttribute('aria-busy', String(busy));
  const controls = '[type="submit"], [data-close], [data-cancel], [data-toggle], [data-again]';
  for (const button of $$(controls, form)) button.disabled = busy;
  if (isThrottled(form)) submitButton(form).disabled = true;
}

// Ties the form's error message to the field it is about (aria-invalid, aria-describedby).
let errorIds = 0;
function markInvalid(input) {
  const area = errorArea(input.form);
  if (!area.id) area.id = `error-${++errorIds}`;
  input.setAttribute('aria-invalid', 'true');
  const ids = (input.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
  if (!ids.includes(area.id)) input.setAttribute('aria-describedby', [...ids, area.id].join(' '));
}

// Undoes markInvalid() for the fields under `root`.
function clearInvalid(root) {
  const inputs = root.matches?.('input') ? [root] : $$('input[aria-invalid]', root);
  for (const input of inputs) {
    const area = input.form && errorArea(input.form);
    input.removeAttribute('aria-invalid');
    if (!area?.id) continue;
    const ids = (input.getAttribute('aria-describedby') ?? '').split(/\s+/).filter((id) => id && id !== area.id);
    if (ids.length) input.setAttribute('aria-describedby', ids.join(' '));
    else input.removeAttribute('aria-describedby');
  }
}

// A problem with one field: it is marked, focused, and the message is about it.
function fieldProblem(input, message) {
  markInvalid(input);
  input.focus();
  return problem(message);
}

// Runs a form's request: clears the old message, disables the buttons while it runs, and shows
// what went wrong. `task` may throw an ApiError (or problem()) to have it reported.
async function runForm(form, task) {
  if (isBusy(form) || isThrottled(form)) return;
  const key = keyOf(form); // a 429 is about what was sent, even if the login is edited meanwhile
  clearInvalid(form);
  say(form, '');
  setBusy(form, true);
  try {
    await task();
  } catch (err) {
    report(form, err, key);
  } finally {
    setBusy(form, false);
  }
}

function report(form, err, key = keyOf(form)) {
  if (!(err instanceof ApiError)) { console.error(err); say(form, 'Something went wrong. Try again.'); return; }
  if (err.handled) return;
  if (err.code === 'too_many_attempts') {
    throttledUntil.set(key, Date.now() + err.retryAfter * 1000);
    if (keyOf(form) === key) countdown(form);
    return;
  }
  say(form, messageFor(err));
}

function stopCountdown(form) {
  clearInterval(tickers.get(form)?.timer);
  tickers.delete(form);
}

// A live countdown in the form's error area, its submit button disabled until the wait is over.
// The sentence is inserted once, and read out once (the area is role=alert); only the number then
// changes, in a span whose changes are not announced (aria-live=off), since a screen reader
// reading every second out loud would drown everything else. The end is announced once.
function countdown(form) {
  stopCountdown(form);
  const key = keyOf(form);
  const area = errorArea(form);
  const left = () => Math.ceil(((throttledUntil.get(key) ?? 0) - Date.now()) / 1000);
  const seconds = h('span', { 'aria-live': 'off' }, String(Math.max(left(), 1)));
  area.classList.remove('is-ready');
  area.replaceChildren('Too many attempts. Try again in ', seconds, ' s.');
  submitButton(form).disabled = true;
  const tick = () => {
    if (!form.isConnected) { stopCountdown(form); return; }
    const n = left();
    if (n <= 0) {
      stopCountdown(form);
      throttledUntil.delete(key);
      area.textContent = 'You can try again now.';
      area.classList.add('is-ready');
      submitButton(form).disabled = isBusy(form);
      return;
    }
    seconds.textContent = String(n);
    submitButton(form).disabled = true;
  };
  tickers.set(form, { timer: setInterval(tick, 1000), key });
}

// Shows the wait of the form's present key, if any, and drops a countdown that was for another
// (the sign-in form after its login was edited).
function syncThrottle(form) {
  const running = tickers.get(form);
  const key = keyOf(form);
  if (running?.key === key) return;
  if (running) {
    stopCountdown(form);
    errorArea(form).textContent = '';
    submitButton(form).disabled = isBusy(form);
  }
  if (isThrottled(form, key)) countdown(form);
}

function resumeCountdowns(root) {
  for (const form of $$('form[data-form]', root)) syncThrottle(form);
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

// The account's two-factor state is not what the page showed (changed in another tab, say): the
// flow's dialog has closed; redraw the account page and say what happened.
function twoFactorChanged(err) {
  if (!session) return;
  notify(messageFor(err));
  loadAccount({ refocus: true });
}

// The reusable "Confirm your password" prompt. `action(password)` runs while the prompt is open,
// so a wrong password is said inside it and the user can try again. Resolves with the action's
// answer, or null when the user cancelled (or the account's 2FA changed: twoFactorChanged()).
function askPassword(opener, purpose, action) {
  return new Promise((resolve) => {
    let result = null;
    let changed = null;
    const dialog = openDialog('tpl-password', {
      opener,
      onClose: () => { if (changed) twoFactorChanged(changed); resolve(result); },
    });
    $('[data-purpose]', dialog).textContent = purpose;
    const form = $('form', dialog);
    const input = form.elements.password;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      runForm(form, async () => {
        if (!input.value) throw fieldProblem(input, 'Enter your password.');
        try {
          result = (await action(input.value)) ?? true;
        } catch (err) {
          if (TWO_FACTOR_CHANGED.has(err.code)) { changed = err; closeDialog(dialog); return; }
          if (err.code === 'invalid_password') { input.value = ''; markInvalid(input); input.focus(); }
          throw err;
        }
        closeDialog(dialog);
      });
    });
  });
}

// A yes/no question. `run`, when given, is the request made on "yes" (its errors are shown in the
// dialog; `throttle` is the key its waits are kept under). Resolves true when it went through,
// false when the user cancelled, null when the account's 2FA changed (twoFactorChanged()).
function confirmDialog({ title, text, action, kind = 'danger', opener, run, throttle }) {
  return new Promise((resolve) => {
    let confirmed = false;
    let changed = null;
    const dialog = openDialog('tpl-confirm', {
      opener,
      onClose: () => {
        if (changed) { twoFactorChanged(changed); resolve(null); } else resolve(confirmed);
      },
    });
    $('h2', dialog).textContent = title;
    $('#confirm-text', dialog).textContent = text;
    const form = $('form', dialog);
    form.dataset.form = 'confirm-' + action.toLowerCase();
    if (throttle) form.dataset.throttle = throttle;
    resumeCountdowns(dialog);
    const button = submitButton(form);
    button.textContent = action;
    button.className = kind;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      runForm(form, async () => {
        try {
          if (run) await run();
        } catch (err) {
          if (TWO_FACTOR_CHANGED.has(err.code)) { changed = err; closeDialog(dialog); return; }
          throw err;
        }
        confirmed = true;
        closeDialog(dialog);
      });
    });
  });
}

// ---- notices

// Says `text` in the notice band (a polite live region). The band is emptied first and the text
// set a frame later, so that the same text said twice is announced twice.
let cancelNotice = () => {};
function notify(text) {
  const notice = $('#notice');
  cancelNotice();
  notice.textContent = '';
  if (text) cancelNotice = afterRender(() => { notice.textContent = text; });
}

// ---- routing

function go(hash) {
  if (location.hash !== hash) history.pushState(null, '', hash);
  render();
}

function render() {
  let hash = location.hash;
  const wanted = Object.hasOwn(VIEWS, hash) ? VIEWS[hash] : null;
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
  const leaving = leaveView;
  leaveView = null;
  leaving?.();
  leaveView = view.mount($('#view')) ?? null;
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
  const token = session;
  // Ended on the server: it said so (204), or it no longer knew the token (401).
  let ended = !token;
  button.disabled = true;
  if (token) {
    try {
      const res = await fetch('/v1/sign-out', {
        method: 'POST', cache: 'no-store',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token },
      });
      ended = res.status === 204 || res.status === 401;
    } catch { /* offline: said below */ }
  }
  button.disabled = false;
  if (session !== token) return; // dropped meanwhile: the sign-in page already says why
  // Whatever the answer (even none), this browser forgets the session.
  clearSession();
  closeAllDialogs(true);
  go('#/sign-in');
  notify(ended ? SIGNED_OUT : SIGN_OUT_UNREACHED);
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
  // The password wait is the login's: another login typed here is not shown it.
  throttleKeys.set(form, () => 'sign-in:' + login.value.trim().toLowerCase());
  syncThrottle(form);
  login.addEventListener('input', () => syncThrottle(form));
  if (signInMessage) {
    // Said once the page is drawn, so that the new alert area is there to be read out.
    const message = signInMessage;
    signInMessage = '';
    afterRender(() => {
      if (form.isConnected && !isBusy(form) && !errorArea(form).textContent) say(form, message);
    });
  }
  if (again) password.focus();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    runForm(form, async () => {
      const name = login.value.trim();
      if (!name) throw fieldProblem(login, 'Enter your login and your password.');
      if (!password.value) throw fieldProblem(password, 'Enter your login and your password.');
      let answer;
      try {
        answer = await api('POST', '/v1/sign-in', { login: name, password: password.value }, { auth: false });
      } catch (err) {
        if (err.code === 'invalid_credentials' && form.isConnected) { password.value = ''; password.focus(); }
        throw err;
      }
      password.value = '';
      if (issuedSession(answer)) { signedIn(answer); return; }
      if (answer?.status !== 'two_factor_required' || typeof answer.mfa_token !== 'string' || !answer.mfa_token) {
        throw problem(UNEXPECTED);
      }
      if (!form.isConnected) return; // the user has gone to another page meanwhile
      signInLogin = name;
      mountSecondStep(root, answer.mfa_token);
    });
  });
}

// Step two, same page: a code from the authenticator app, or a recovery code.
function mountSecondStep(root, mfaToken) {
  place(root, 'tpl-sign-in-code');
  document.title = 'Two-factor authentication – Ward';
  const form = $('form', root);
  // The second-factor wait is the account's: kept under its login.
  form.dataset.throttle = 'sign-in-code:' + signInLogin.toLowerCase();
  syncThrottle(form);
  const codeField = $('[data-field="code"]', root);
  const recoveryField = $('[data-field="recovery"]', root);
  const toggle = $('[data-toggle]', root);
  let useRecovery = false;
  recoveryField.remove();
  const input = () => $('input', useRecovery ? recoveryField : codeField);

  toggle.addEventListener('click', () => {
    if (isBusy(form)) return;
    clearInvalid(form);
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
        if (!body.recovery_code) throw fieldProblem(field, 'Enter one of your recovery codes.');
      } else {
        // A pasted "123 456" counts: the spaces are dropped here.
        body.code = field.value.replace(/\s+/g, '');
        if (!/^[0-9]{6}$/.test(body.code)) throw fieldProblem(field, 'Enter the six-digit code your authenticator app shows.');
      }
      let answer;
      try {
        answer = await api('POST', '/v1/sign-in/verify', body, { auth: false });
      } catch (err) {
        if (!form.isConnected) return; // the user has gone to another page meanwhile
        if (err.code === 'mfa_token_invalid') {
          // The token is spent or expired: back to step one, saying why.
          signInMessage = messageFor(err);
          mountSignIn(root, { again: true });
          document.title = 'Sign in – Ward';
          return;
        }
        if (err.code === 'invalid_code') { field.value = ''; markInvalid(field); field.focus(); }
        throw err;
      }
      if (!issuedSession(answer)) throw problem(UNEXPECTED);
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
        throw fieldProblem(login, 'A login is 3 to 254 characters long.');
      }
      const passwordLength = [...password.value].length;
      if (passwordLength < 8 || passwordLength > 128) {
        throw fieldProblem(password, 'A password is 8 to 128 characters long.');
      }
      try {
        await api('POST', '/v1/accounts', { login: name, password: password.value }, { auth: false });
      } catch (err) {
        if (err.code === 'login_taken') { markInvalid(login); login.focus(); }
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
      if (!issuedSession(answer)) {
        signInLogin = name;
        signInMessage = 'Your account is ready. Sign in to continue.';
        go('#/sign-in');
        return;
      }
      signedIn(answer);
      notify('Welcome to Ward. Your account is ready.');
    });
  });
}

// ---- settings: account

function mountAccount(root) {
  place(root, 'tpl-account');
  const page = {
    area: $('[data-load-error]', root),
    login: $('[data-login]', root),
    created: $('[data-created]', root),
    status: $('[data-tf-status]', root),
    whens: $$('[data-when]', root),
    setup: $('[data-setup]', root),
    view: $('[data-view]', root),
    disable: $('[data-disable]', root),
  };
  accountPage = page;
  page.setup.addEventListener('click', () => setUpTwoFactor(page.setup));
  page.view.addEventListener('click', () => viewRecoveryCodes(page.view));
  page.disable.addEventListener('click', () => disableTwoFactor(page.disable));
  loadAccount();
  return () => { if (accountPage === page) accountPage = null; };
}

// (Re)draws the account page from GET /v1/account. After a dialog flow (`refocus`), a focused
// button that the new state hides hands the focus to its successor.
// GET `path` for a settings page: the answer, or undefined when the call failed, the page's area
// then saying why (unless the failure was handled already, as a 401 is by signing out).
async function fetchFor(page, path) {
  try {
    return await api('GET', path);
  } catch (err) {
    if (!err.handled && page.area.isConnected) page.area.textContent = messageFor(err);
    return undefined;
  }
}

async function loadAccount({ refocus = false } = {}) {
  const page = accountPage;
  if (!page?.area.isConnected) return; // not on the account page
  const token = session;
  const account = await fetchFor(page, '/v1/account');
  if (!account) return;
  if (!token || session !== token) return; // signed out (or in again) meanwhile: not ours to show
  me = account;
  updateHeader();
  if (!page.area.isConnected) return; // the user has moved on meanwhile
  page.area.textContent = '';
  page.login.textContent = account.login;
  page.created.replaceChildren(timeEl(account.created_at));

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
  page.status.replaceChildren(...status);
  for (const el of page.whens) el.hidden = el.dataset.when !== (on ? 'on' : 'off');
  page.setup.hidden = on;
  page.view.hidden = !on;
  page.disable.hidden = !on;
  if (refocus) refocusIfLost(on ? page.view : page.setup);
}

async function setUpTwoFactor(opener) {
  // Cancelled, or 2FA turned out to be on already (askPassword() has then redrawn the page).
  const setup = await askPassword(opener, 'To set up two-factor authentication, confirm your password.',
    (password) => api('POST', '/v1/two-factor/setup', { password }));
  if (!setup || !session) return;
  const outcome = await setupDialog(setup, opener);
  if (outcome === 'again') setUpTwoFactor(opener);
  else if (Array.isArray(outcome)) showNewCodes(outcome, opener, 'Two-factor authentication is on.');
}

// The account name and issuer of an otpauth:// URI
// (otpauth://totp/<Issuer>:<login>?secret=…&issuer=<Issuer>, percent-encoded), for typing by hand.
function keyLabels(uri) {
  const decode = (text) => { try { return decodeURIComponent(text); } catch { return text; } };
  const match = /^otpauth:\/\/totp\/([^?#]*)(?:\?([^#]*))?/i.exec(String(uri ?? ''));
  if (!match) return { account: me?.login ?? '', issuer: '' };
  const label = decode(match[1]);
  const colon = label.indexOf(':');
  const labelIssuer = colon >= 0 ? label.slice(0, colon).trim() : '';
  const account = (colon >= 0 ? label.slice(colon + 1) : label).trim();
  const issuer = (new URLSearchParams(match[2] ?? '').get('issuer') ?? '').trim() || labelIssuer;
  return { account: account || (me?.login ?? ''), issuer };
}

// Scan (or type) the secret, then prove it with a code. Resolves with the recovery codes,
// 'again' when the pending setup expired and the user asked to start over, or null.
function setupDialog(setup, opener) {
  return new Promise((resolve) => {
    let outcome = null;
    let changed = null; // the account's 2FA turned out to be on already
    const dialog = openDialog('tpl-setup', {
      opener,
      onClose: () => { if (changed) twoFactorChanged(changed); resolve(outcome); },
    });
    const image = $('.qr img', dialog);
    if (/^data:image\/png;base64,/.test(setup.qr_png)) image.src = setup.qr_png;
    else image.closest('.qr').hidden = true;
    // Spaces every four characters for reading; authenticator apps ignore them.
    $('#manual-secret', dialog).textContent = String(setup.secret).replace(/(.{4})(?=.)/g, '$1 ');
    // Apps ask for these too when the key is typed by hand.
    const { account, issuer } = keyLabels(setup.otpauth_uri);
    $('[data-account]', dialog).textContent = account;
    $('[data-issuer]', dialog).textContent = issuer;
    $('[data-account-row]', dialog).hidden = !account;
    $('[data-issuer-row]', dialog).hidden = !issuer;
    $('[data-key-facts]', dialog).hidden = !account && !issuer;
    const form = $('form', dialog);
    const input = form.elements.code;
    const again = $('[data-again]', dialog);
    again.addEventListener('click', () => {
      if (isBusy(form)) return;
      outcome = 'again';
      closeDialog(dialog);
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      let expired = false;
      runForm(form, async () => {
        // A pasted "123 456" counts: the spaces are dropped here.
        const code = input.value.replace(/\s+/g, '');
        if (!/^[0-9]{6}$/.test(code)) throw fieldProblem(input, 'Enter the six-digit code your authenticator app shows.');
        let answer;
        try {
          answer = await api('POST', '/v1/two-factor/setup/verify', { code });
        } catch (err) {
          input.value = '';
          if (TWO_FACTOR_CHANGED.has(err.code)) { changed = err; closeDialog(dialog); return; }
          if (err.code === 'setup_not_started') {
            // The pending secret is gone: this QR code is useless now. Offer a fresh one.
            submitButton(form).hidden = true;
            input.disabled = true;
            again.hidden = false;
            expired = true; // focused once the buttons are enabled again, below
          } else {
            if (err.code === 'invalid_code') markInvalid(input);
            input.focus();
          }
          throw err;
        }
        if (!Array.isArray(answer.recovery_codes)) throw problem(UNEXPECTED);
        outcome = answer.recovery_codes;
        closeDialog(dialog);
      }).then(() => { if (expired && again.isConnected) again.focus(); });
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
      throttle: 'password', // a password-confirmed route: it shares their wait
      run: async () => {
        fresh = (await api('POST', '/v1/two-factor/recovery-codes/regenerate', { password })).recovery_codes;
        if (!Array.isArray(fresh)) throw problem(UNEXPECTED);
      },
    });
    if (confirmed === null) break; // 2FA went off meanwhile: the page has been redrawn
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

// Every function below works on the view's own elements, taken when it was mounted: a request that
// finishes after the user has moved on finds them disconnected and draws nothing.

function mountTokens(root) {
  place(root, 'tpl-tokens');
  const form = $('form', root);
  const { name, days, password } = form.elements;
  const panel = $('[data-new-token]', root);
  const page = {
    heading: $('h1', root),
    slot: $('[data-list]', root),
    area: $('[data-list-error]', root),
    panel,
    shown: $('#new-token', panel),
    copy: $('[data-copy]', panel),
  };
  const { copy, shown } = page;

  // The new token leaves the page: hidden, and its text gone from the DOM.
  page.forget = () => {
    panel.hidden = true;
    shown.textContent = '';
    delete panel.dataset.id;
    $('[data-about]', panel).replaceChildren();
    errorArea(panel).textContent = '';
    copy.textContent = 'Copy token';
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    runForm(form, async () => {
      const label = name.value.trim();
      const lifetime = Number(days.value);
      if (!label) throw fieldProblem(name, 'Give the token a name.');
      if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 366) {
        throw fieldProblem(days, 'Enter a whole number of days from 1 to 366.');
      }
      if (!password.value) throw fieldProblem(password, 'Enter your password.');
      let token;
      try {
        token = await api('POST', '/v1/tokens', { name: label, password: password.value, expires_in_days: lifetime });
      } catch (err) {
        if (err.code === 'invalid_password') { password.value = ''; markInvalid(password); password.focus(); }
        throw err;
      }
      if (!form.isConnected) {
        // Made, but the page was left before it could be shown: it cannot be shown again.
        if (session) notify(`Token “${token.name}” was created, but you left the page before it was shown. Revoke it and create a new one.`);
        return;
      }
      form.reset();
      $('[data-about]', panel).replaceChildren(`“${token.name}” expires `, timeEl(token.expires_at), '.');
      shown.textContent = token.token;
      panel.dataset.id = token.id;
      errorArea(panel).textContent = '';
      copy.textContent = 'Copy token';
      panel.hidden = false;
      copy.focus();
      notify('Token created. Copy it now: it is shown only this once.');
      loadTokens(page);
    });
  });

  copy.addEventListener('click', async () => {
    errorArea(panel).textContent = '';
    try {
      await navigator.clipboard.writeText(shown.textContent);
    } catch {
      errorArea(panel).textContent = 'Your browser did not allow copying. Select the token and copy it yourself.';
      return;
    }
    copy.textContent = 'Copied';
  });
  $('[data-dismiss]', panel).addEventListener('click', () => {
    page.forget();
    refocusIfLost($('.table-wrap', page.slot) ?? page.heading);
  });
  // Leaving the page (another route, or the browser's) forgets the token too.
  window.addEventListener('pagehide', page.forget);
  loadTokens(page);
  return () => {
    window.removeEventListener('pagehide', page.forget);
    page.forget();
  };
}

async function loadTokens(page) {
  const { slot, area } = page;
  const answer = await fetchFor(page, '/v1/tokens');
  if (!answer) return;
  const tokens = answer.tokens;
  if (!slot.isConnected) return;
  area.textContent = '';
  if (!Array.isArray(tokens) || !tokens.length) { slot.replaceChildren(h('p', { class: 'empty' }, 'No tokens yet.')); return; }
  const now = Date.now();
  slot.replaceChildren(table('Your tokens', ['Name', 'Created', 'Expires', 'Last used', actionsHeading()],
    tokens.map((t) => h('tr', {},
      h('td', {}, t.name),
      h('td', {}, timeEl(t.created_at)),
      h('td', {}, Date.parse(t.expires_at) < now ? 'Expired ' : '', timeEl(t.expires_at)),
      h('td', {}, t.last_used_at ? timeEl(t.last_used_at) : 'Never'),
      h('td', {}, h('button', {
        type: 'button', class: 'secondary small', 'aria-label': `Revoke ${t.name}`,
        onclick: (e) => revokeToken(e.currentTarget, t, page),
      }, 'Revoke'))))));
}

async function revokeToken(opener, token, page) {
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
  if (page.panel.dataset.id === token.id) page.forget();
  notify(gone ? `“${token.name}” was already revoked.` : `Token “${token.name}” revoked.`);
  if (!page.slot.isConnected) return;
  await loadTokens(page);
  if (page.slot.isConnected) refocusIfLost($('.table-wrap', page.slot));
}

// ---- settings: sessions

function mountSessions(root) {
  place(root, 'tpl-sessions');
  const page = {
    slot: $('[data-list]', root),
    area: $('[data-list-error]', root),
    endOthers: $('[data-end-others]', root),
  };
  const { endOthers } = page;
  endOthers.addEventListener('click', async () => {
    const answer = await askPassword(endOthers, 'To end every other session, confirm your password.',
      (password) => api('POST', '/v1/sessions/end-others', { password }));
    if (!answer) return;
    const n = answer.ended ?? 0;
    notify(`Ended ${n} other ${plural(n, 'session', 'sessions')}.`);
    await loadSessions(page);
  });
  loadSessions(page);
}

async function loadSessions(page) {
  const { slot, area } = page;
  if (!slot.isConnected) return;
  const answer = await fetchFor(page, '/v1/sessions');
  if (!answer) return;
  const sessions = answer.sessions;
  if (!slot.isConnected) return;
  area.textContent = '';
  slot.replaceChildren(table('Your sessions', ['Started', 'Expires', 'IP address', 'Browser', actionsHeading()],
    (sessions ?? []).map((s) => h('tr', { 'data-session-id': s.id },
      h('td', {}, timeEl(s.created_at)),
      h('td', {}, timeEl(s.expires_at)),
      h('td', {}, s.ip || 'Unknown'),
      agentCell(s.user_agent),
      h('td', {}, s.current
        ? h('span', { class: 'badge' }, 'This session')
        : h('button', {
          type: 'button', class: 'secondary small', 'aria-label': `End session started ${formatTime(s.created_at)}`,
          onclick: (e) => endSession(e.currentTarget, s, page),
        }, 'End'))))));
}

async function endSession(button, target, page) {
  const { area } = page;
  button.disabled = true;
  area.textContent = '';
  try {
    await api('DELETE', `/v1/sessions/${encodeURIComponent(target.id)}`);
    notify('Session ended.');
  } catch (err) {
    if (err.handled || !area.isConnected) return;
    if (err.code !== 'not_found') { // not_found: it ended on its own meanwhile; just redraw
      button.disabled = false;
      area.textContent = messageFor(err);
      return;
    }
  }
  if (!page.slot.isConnected) return;
  await loadSessions(page);
  if (page.slot.isConnected) refocusIfLost(page.endOthers);
}

// ---- settings: security log

function mountLog(root) {
  place(root, 'tpl-log');
  const heading = $('h1', root);
  const slot = $('[data-list]', root);
  const area = $('[data-list-error]', root);
  const more = $('[data-more]', root);
  let body = null;   // the table's tbody, once there is an event to show
  let cursor = null; // where the next (older) page starts

  async function nextPage() {
    if (!slot.isConnected) return;
    more.disabled = true;
    area.textContent = '';
    let page;
    try {
      page = await api('GET', '/v1/account/events' + (cursor ? '?cursor=' + encodeURIComponent(cursor) : ''));
    } catch (err) {
      if (!slot.isConnected) return;
      more.disabled = false;
      if (!err.handled) area.textContent = messageFor(err);
      return;
    }
    if (!slot.isConnected) return; // the user has moved on meanwhile
    const events = Array.isArray(page.events) ? page.events : [];
    if (events.length && !body) {
      const wrap = table('Security log events', ['What happened', 'When', 'IP address', 'Browser'], []);
      body = $('tbody', wrap);
      slot.replaceChildren(wrap);
    }
    body?.append(...events.map((e) => h('tr', {},
      h('td', {}, Object.hasOwn(EVENTS, e.type) ? EVENTS[e.type] : String(e.type)),
      h('td', {}, timeEl(e.at)),
      h('td', {}, e.ip || 'Unknown'),
      agentCell(e.user_agent))));
    cursor = page.next_cursor ?? null;
    if (!body && !cursor) slot.replaceChildren(h('p', { class: 'empty' }, 'No events yet.'));
    const hadFocus = document.activeElement === more;
    more.disabled = false;
    more.hidden = !cursor;
    if (hadFocus && more.hidden) (body?.closest('.table-wrap') ?? heading).focus();
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
