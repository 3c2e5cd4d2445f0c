// The booking page: state → centres and times → up to three preferences →
// details → reference → status. A state in `queue` mode shows a registration
// form instead of the times, then the registration's place; the link of an
// invitation (?invite=) books with the ID number and the times alone. Plain
// DOM, no framework: the page must load fast on a cheap phone over 3G, and
// every byte here is paid a million times.
import { t, setLang, lang, tables } from './i18n.js?v=883fddb140';
import * as api from './api.js?v=caf14ea1be';
import { validate } from './validate.js?v=82308de9b9';

const $ = (id) => document.getElementById(id);

// After a failed list call the button waits this long, so a crowd pressing
// "try again" cannot turn a hiccup into a self-inflicted denial of service.
const COOLDOWN_MS = 3000;
const MAX_PREFS = 3;
// Seconds between status checks: about a minute in all, then we stop asking
// and promise an e-mail, so a stuck queue is not hammered by every tab.
const POLL_DELAYS = [1, 2, 3, 5, 8, 13, 21];
// A registration waits for hours or days: after the first minute, ask ever
// more rarely (about 25 minutes in all), then leave it to "check again" and
// the invitation message.
const REG_DELAYS = [...POLL_DELAYS, 34, 55, 89, 144, 233, 377, 610];
// Statuses of a registration that may still change while the page watches.
const REG_WAITING = ['received', 'queued'];
const FIELDS = ['name', 'id_number', 'phone', 'email'];
// In page order, so focus goes to the first one a person would meet.
const ERROR_SLOTS = ['state', 'captcha_token', 'preferences', ...FIELDS, 'proof', 'contact'];
// The API's answers about a contact proof, shown at the code's field.
const PROOF_CODES = ['proof_required', 'proof_invalid', 'proof_expired', 'proof_attempts'];
// A new code may be asked for after this long: each is an e-mail.
const CODE_COOLDOWN_MS = 30000;

const PROVIDERS = {
  turnstile: { src: 'https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit&onload=vaxbookCaptcha', lib: () => window.turnstile },
  recaptcha: { src: 'https://www.google.com/recaptcha/api.js?render=explicit&onload=vaxbookCaptcha', lib: () => window.grecaptcha },
};
// Turnstile binds a token to the widget's action and the API refuses any
// other (deploy/api.yaml's CAPTCHA_ACTION): a token solved on another page
// with our site key does not book. One widget serves both forms.
const CAPTCHA_ACTION = 'book';

const ui = {
  states: null, // [{code, name, mode, opens_at}] once /states answered
  st: null, // the state the form below is for
  mode: 'book', // the form: 'book', 'invite' (with ui.invite) or 'register'
  invite: new URLSearchParams(location.search).get('invite'), // the token from an invitation's link
  doc: null, // the /listppv document shown
  prefs: [], // chosen slot ids, most wanted first
  key: api.newKey(), // Idempotency-Key of the form being filled in
  sending: false,
  result: null, // the /submit, /register, /status or /registration answer, plus reg and gaveUp
  captcha: null, // {provider, siteKey, widget, token} when configured
  proof: null, // {challenge, email} when the API asks for contact proof
  errors: {}, // field -> {code, message}
};

let configReady = Promise.resolve();
let pollTimer = 0;

function announce(msg) {
  const a = $('announce');
  a.textContent = '';
  // A fresh text node after a tick, so the same sentence twice is read twice.
  setTimeout(() => (a.textContent = msg), 50);
}

function el(tag, props = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids.filter((k) => k != null));
  return e;
}

// --- language

function texts() {
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  const at = ui.st?.opens_at;
  $('opens').textContent = at && Date.parse(at) > Date.now() ? t('opensAt', { t: fmtStamp(at) }) : '';
  $('code-sent').textContent = ui.proof?.challenge ? t('codeSent', { email: ui.proof.email }) : '';
}

function applyLang(l) {
  l = setLang(l);
  document.documentElement.lang = l;
  document.title = t('title');
  texts();
  for (const b of document.querySelectorAll('[data-lang]')) b.setAttribute('aria-pressed', String(b.dataset.lang === l));
  try {
    localStorage.setItem('lang', l);
  } catch {
    // Private mode: the choice lasts for this visit only.
  }
  renderErrors();
  renderList();
  renderPrefs();
  renderResult();
}

function initialLang() {
  const asked = new URLSearchParams(location.search).get('lang');
  let stored = null;
  try {
    stored = localStorage.getItem('lang');
  } catch {
    // as above
  }
  return [asked, stored].find((l) => l && tables[l]) || 'ms';
}

// --- formatting

const locale = () => (lang() === 'en' ? 'en-MY' : 'ms-MY');

function fmtDate(iso) {
  const [y, m, d] = iso.split('-').map(Number);
  return new Intl.DateTimeFormat(locale(), { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, d)));
}

function fmtStamp(iso) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Kuala_Lumpur' }).format(new Date(iso));
}

const isOpen = (s) => s.open && s.available > 0;
const stateOf = (code) => ui.states?.find((s) => s.code === code);

function findSlot(id) {
  for (const c of ui.doc?.centers ?? []) {
    const s = c.slots.find((x) => x.id === id);
    if (s) return { centre: c, slot: s };
  }
  return null;
}

// --- errors next to fields

function setErrors(errs) {
  ui.errors = errs;
  renderErrors();
}

function renderErrors() {
  for (const f of ERROR_SLOTS) {
    const e = ui.errors[f];
    $(f + '-err').textContent = e ? t(`err.${f}.${e.code}`) ?? e.message ?? '' : '';
    const input = $(f);
    if (input) {
      if (e) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
  }
}

function clearError(f) {
  if (!ui.errors[f]) return;
  delete ui.errors[f];
  renderErrors();
}

// formMessage shows a sentence above the form's button; withRegister adds
// the way out of an invitation that can no longer book.
function formMessage(msg, withRegister = false) {
  const m = $('form-msg');
  m.firstChild.textContent = msg || '';
  m.hidden = !msg;
  $('to-register').hidden = !withRegister;
}

const act = () => (ui.mode === 'register' ? 'registerBtn' : 'submit');

// setMode shapes the details form. A booking asks for everything; one with
// an invitation only the ID number, since the registration holds the rest;
// a registration has no times, and asks where the invitation should go.
function setMode(m) {
  ui.mode = m;
  const reg = m === 'register';
  $('slots').hidden = reg;
  $('reg-help').hidden = !reg;
  // Every message, booking outcomes too, goes where the person chooses;
  // an invitation's booking keeps the choice made at registration.
  $('contact-box').hidden = m === 'invite';
  for (const f of ['name', 'phone', 'email']) $(f).closest('.field').hidden = m === 'invite';
  // An invitation already reached the contact its registration proved.
  $('proof-box').hidden = !ui.proof || m === 'invite';
  $('h-details').dataset.t = reg ? 'regStep' : 'step3';
  $('email-hint').dataset.t = reg ? 'emailHintReg' : 'emailHint';
  $('submit').dataset.t = act();
  texts();
  setErrors({});
  formMessage('');
}

// --- states and the list call

function setListBusy(busy) {
  $('show').disabled = busy;
  $('retry').disabled = busy;
  $('slots').setAttribute('aria-busy', String(busy));
}

// listFailed shows the apology and the retry, and keeps both buttons
// disabled for the cooldown whatever the answer was.
function listFailed() {
  $('list-error').hidden = false;
  $('slots').hidden = true;
  $('details').hidden = true;
  setListBusy(true);
  setTimeout(() => setListBusy(false), COOLDOWN_MS);
}

async function loadStates() {
  setListBusy(true);
  const r = await api.getStates().catch(() => null);
  if (r?.status !== 200 || !Array.isArray(r.body?.states)) return listFailed();
  ui.states = r.body.states;
  const sel = $('state');
  sel.replaceChildren(sel.options[0], ...ui.states.map((s) => el('option', { value: s.code }, s.name)));
  // The e-mails link back with ?state=; choose it, but leave the fetch to
  // the person, so a mailing cannot start a surge by itself.
  const wanted = new URLSearchParams(location.search).get('state');
  if (ui.states.some((s) => s.code === wanted)) sel.value = wanted;
  showLabel();
  $('list-error').hidden = true;
  setListBusy(false);
}

// showLabel names where the state's button leads: the times, or the
// registration of a state that books by invitation.
function showLabel() {
  const b = $('show');
  const st = stateOf($('state').value);
  b.dataset.t = st?.mode === 'queue' && !ui.invite ? 'toRegister' : 'showSlots';
  b.textContent = t(b.dataset.t);
  $('state-closed').hidden = !st?.closed;
}

async function showList() {
  if ($('show').disabled) return;
  if (!ui.states) return loadStates();
  const code = $('state').value;
  if (!code) {
    setErrors({ ...ui.errors, state: { code: 'required' } });
    $('state').focus();
    return;
  }
  clearError('state');
  // Disabled from the click itself, before anything awaits.
  setListBusy(true);
  await configReady;
  if (ui.captcha && !ui.captcha.token) {
    setListBusy(false);
    setErrors({ ...ui.errors, captcha_token: { code: 'required' } });
    return;
  }
  $('list-error').hidden = true;
  ui.st = stateOf(code);
  const queue = ui.st?.mode === 'queue';
  if (queue && !ui.invite) {
    setListBusy(false);
    setMode('register');
    $('details').hidden = false;
    $('h-details').focus();
    return;
  }
  const r = await api.getListing(code).catch(() => null);
  if (r?.status !== 200 || !Array.isArray(r.body?.centers)) return listFailed();
  const sameState = ui.doc?.state === r.body.state;
  ui.doc = r.body;
  // Keep choices that still have room; a new state starts afresh.
  ui.prefs = sameState ? ui.prefs.filter((id) => { const f = findSlot(id); return f && isOpen(f.slot); }) : [];
  setListBusy(false);
  setMode(queue ? 'invite' : 'book');
  $('slots').hidden = false;
  $('details').hidden = false;
  renderList();
  renderPrefs();
  $('h-slots').focus();
  const name = ui.states.find((s) => s.code === ui.doc.state)?.name ?? ui.doc.state;
  announce(t('loaded', { n: ui.doc.centers.length, state: name }));
}

// --- centres, slots and preferences

function slotLabel(s) {
  return `${fmtDate(s.date)}, ${s.time}`;
}

function renderList() {
  if (!ui.doc) return;
  $('updated').textContent = t('updatedAt', { t: fmtStamp(ui.doc.generated_at) });
  const box = $('centres');
  box.dataset.state = ui.doc.state;
  if (!ui.doc.centers.length) {
    box.replaceChildren(el('p', {}, t('noCentres')));
    return;
  }
  box.replaceChildren(...ui.doc.centers.map((c) => el('fieldset', { class: 'centre' },
    el('legend', {}, c.name),
    el('p', { class: 'addr' }, c.address),
    el('ul', { class: 'slots' }, ...c.slots.map((s) => {
      const open = isOpen(s);
      const id = 's-' + s.id;
      return el('li', { class: open ? 'slot' : 'slot full' },
        el('label', { htmlFor: id },
          el('input', { type: 'checkbox', id, value: s.id, disabled: !open, checked: ui.prefs.includes(s.id) }),
          el('span', {}, fmtDate(s.date), el('span', { class: 't' }, s.time), el('span', { class: 'n' }, open ? t(s.available === 1 ? 'placeLeft' : 'placesLeft', { n: s.available }) : t('full'))),
          el('span', { class: 'rank', 'aria-hidden': 'true' })));
    })))));
  renderRanks();
}

// renderRanks updates the badges in place so a keyboard user's focus stays
// on the box they just ticked.
function renderRanks() {
  for (const box of $('centres').querySelectorAll('input')) {
    const i = ui.prefs.indexOf(box.value);
    box.checked = i >= 0;
    box.closest('label').querySelector('.rank').textContent = i >= 0 ? String(i + 1) : '';
  }
}

function renderPrefs() {
  const list = $('prefs');
  list.replaceChildren(...ui.prefs.map((id, i) => {
    const f = findSlot(id);
    const what = f ? `${f.centre.name}: ${slotLabel(f.slot)}` : id;
    return el('li', {},
      el('span', {}, what),
      i > 0 ? el('button', { type: 'button', class: 'secondary', onclick: () => movePref(i) }, t('moveUp')) : null,
      el('button', { type: 'button', class: 'secondary', onclick: () => removePref(id) }, t('remove')));
  }));
  $('no-choice').hidden = ui.prefs.length > 0;
  renderRanks();
}

function movePref(i) {
  [ui.prefs[i - 1], ui.prefs[i]] = [ui.prefs[i], ui.prefs[i - 1]];
  renderPrefs();
  $('prefs').children[i - 1]?.querySelector('button')?.focus();
}

function removePref(id) {
  ui.prefs = ui.prefs.filter((p) => p !== id);
  renderPrefs();
  $('h-slots').focus();
}

function onSlotChange(e) {
  const box = e.target;
  if (box.type !== 'checkbox') return;
  const f = findSlot(box.value);
  if (!box.checked) {
    ui.prefs = ui.prefs.filter((p) => p !== box.value);
  } else if (!f || !isOpen(f.slot)) {
    box.checked = false;
  } else if (ui.prefs.length >= MAX_PREFS) {
    box.checked = false;
    $('preferences-err').textContent = t('maxChoices');
    announce(t('maxChoices'));
    return;
  } else {
    ui.prefs.push(box.value);
  }
  clearError('preferences');
  renderPrefs();
}

// --- submit

function readForm() {
  const v = Object.fromEntries((ui.mode === 'invite' ? ['id_number'] : FIELDS).map((f) => [f, $(f).value]));
  return ui.mode === 'register' ? v : { ...v, preferences: [...ui.prefs] };
}

function showFieldErrors(errs) {
  setErrors(errs);
  const first = ERROR_SLOTS.find((f) => errs[f]);
  const target = first === 'preferences' ? $('h-slots') : $(first) ?? $('captcha');
  target?.focus?.();
}

function releaseSubmit(afterMs = 0) {
  setTimeout(() => {
    ui.sending = false;
    $('submit').disabled = false;
    $('submit').dataset.t = act();
    $('submit').textContent = t(act());
  }, afterMs);
}

async function onSubmit(e) {
  e.preventDefault();
  // The flag is set before anything awaits, so a double click sends once;
  // the Idempotency-Key makes even a resend after a lost answer book once.
  if (ui.sending) return;
  formMessage('');
  const form = readForm();
  const errs = Object.fromEntries(Object.entries(validate(form)).map(([f, code]) => [f, { code }]));
  if (ui.captcha && !ui.captcha.token) errs.captcha_token = { code: 'required' };
  const proof = needsProof() ? { challenge: ui.proof.challenge, code: $('proof').value.trim() } : null;
  if (proof && !errs.email) {
    if (!proof.challenge) errs.proof = { code: 'required' };
    else if (!/^\d{6}$/.test(proof.code)) errs.proof = { code: 'invalid' };
  }
  if (Object.keys(errs).length) {
    formMessage(t('fixFields'));
    showFieldErrors(errs);
    return;
  }
  setErrors({});
  ui.sending = true;
  const btn = $('submit');
  btn.disabled = true;
  btn.dataset.t = 'sending';
  btn.textContent = t('sending');

  const reg = ui.mode === 'register';
  const body = { state: ui.st.code, ...form, lang: lang() };
  if (ui.mode !== 'invite') body.contact = new FormData($('book-form')).get('contact');
  // Sent whenever the page has one: in a state the API sees as open it is
  // ignored, and the page's /states may be older than the API's.
  if (!reg && ui.invite) body.invitation = ui.invite;
  if (ui.captcha) body.captcha_token = ui.captcha.token;
  if (proof) body.proof = proof;
  const r = await api.post(reg ? '/register' : '/submit', body, ui.key).catch(() => null);
  if (!r) {
    formMessage(t('network'));
    return releaseSubmit(COOLDOWN_MS);
  }
  const err = r.body?.error ?? {};
  const code = err.code;
  if (PROOF_CODES.includes(code)) {
    // A spent or expired challenge is no use: the next step is a new code.
    if (code === 'proof_expired' || code === 'proof_attempts') ui.proof.challenge = '';
    formMessage(t('fixFields'));
    showFieldErrors({ proof: { code } });
    return releaseSubmit();
  }
  switch (code) {
    case 'invitation_not_yours':
      formMessage(t('fixFields'));
      showFieldErrors({ id_number: { code } });
      return releaseSubmit();
    case 'invitation_invalid':
    case 'invitation_used':
    case 'invitation_expired':
      formMessage(t('inv.' + code), code === 'invitation_expired');
      return releaseSubmit();
    case 'state_closed':
      // Closed since the page read /states.
      ui.st.closed = true;
      showLabel();
      formMessage(t('stateClosed'));
      return releaseSubmit(COOLDOWN_MS);
    case 'invitation_required':
    case 'not_queue_mode':
      releaseSubmit();
      await reloadState(code === 'not_queue_mode' ? 'open' : 'queue');
      formMessage(t('inv.' + code));
      return;
  }
  switch (r.status) {
    case 202:
      releaseSubmit();
      return accepted(r.body, reg);
    case 400: {
      const list = err.fields?.length ? err.fields : [err];
      const mapped = {};
      for (const fe of list) if (ERROR_SLOTS.includes(fe.field)) mapped[fe.field] = fe;
      if (mapped.captcha_token) resetCaptcha();
      // The API took the state as open and wants what the invitation stood
      // for: ask for it.
      if (ui.mode === 'invite' && ['name', 'phone', 'email'].some((f) => mapped[f])) setMode('book');
      if (Object.keys(mapped).length) {
        formMessage(t('fixFields'));
        showFieldErrors(mapped);
      } else {
        formMessage(err.message || t('serverError', { code: r.status }));
      }
      return releaseSubmit();
    }
    case 409:
      // Every choice is full: show the list as it is now and say why.
      ui.prefs = [];
      releaseSubmit();
      $('state').value = ui.doc.state;
      await showList();
      showFieldErrors({ preferences: { code: err.code || 'slots_full' } });
      return;
    case 429:
    case 503: {
      const wait = Math.max(r.retryAfter, COOLDOWN_MS / 1000);
      formMessage(t('busy', { n: wait }));
      return releaseSubmit(wait * 1000);
    }
    default:
      formMessage(t('serverError', { code: err.code || r.status }));
      return releaseSubmit(COOLDOWN_MS);
  }
}

// reloadState reads /states again after the API answered that the state's
// mode is not what the page showed, and shows the form of the mode the API
// named: its answer is fresher than any cached /states.
async function reloadState(mode) {
  const code = ui.st.code;
  await loadStates();
  const s = stateOf(code);
  if (!s) return;
  s.mode = mode;
  $('state').value = code;
  await showList();
}

// toRegister leaves an expired invitation behind: the person registers
// again in the same state.
function toRegister() {
  ui.invite = null;
  ui.key = api.newKey();
  showLabel();
  $('invite-note').hidden = true;
  const u = new URL(location.href);
  u.searchParams.delete('invite');
  history.replaceState(null, '', u);
  showList();
}

function accepted(ans, reg) {
  ui.result = { reference: ans.reference, status: ans.status, reg };
  for (const id of ['slots', 'details']) $(id).hidden = true;
  $('choose').hidden = true;
  $('result').hidden = false;
  renderResult();
  $('h-result').focus();
  poll(0);
}

// --- status

function poll(i) {
  clearTimeout(pollTimer);
  const delays = ui.result.reg ? REG_DELAYS : POLL_DELAYS;
  if (i >= delays.length) {
    ui.result.gaveUp = true;
    return renderResult();
  }
  pollTimer = setTimeout(async () => {
    const done = await checkStatus();
    if (!done) poll(i + 1);
  }, delays[i] * 1000);
}

// checkStatus asks once and reports whether the booking or registration
// reached a status the page need not watch.
async function checkStatus() {
  const { reference, reg } = ui.result;
  const r = await (reg ? api.getRegistration : api.getStatus)(reference).catch(() => null);
  const s = r?.status === 200 ? r.body?.status : '';
  if (!ui.result) return true; // the person moved on to another form meanwhile
  if (!s || s === 'pending') return false;
  ui.result = { ...r.body, reg };
  if (s === 'full' && ui.mode === 'invite') {
    // The invitation was not used: the same link chooses again.
    await chooseAgain();
    showFieldErrors({ preferences: { code: 'full_invite' } });
    return true;
  }
  renderResult();
  return !(reg && REG_WAITING.includes(s));
}

function renderRegistration(res, box) {
  const p = (k, v) => el('p', {}, t(k, v));
  const n = res.ahead;
  switch (res.status) {
    case 'queued':
      box.replaceChildren(p(n == null ? 'queuedEarly' : n > 1 ? 'queuedN' : 'queued' + n, { n: n?.toLocaleString(locale()) }), p('waitNote'));
      break;
    case 'invited':
      box.replaceChildren(el('div', { class: 'ok' }, p('invited', { t: res.expires_at ? fmtStamp(res.expires_at) : '' })));
      break;
    case 'booked':
      box.replaceChildren(el('div', { class: 'ok' }, p('regBooked'), el('p', {}, t('bookingRef') + ': ', el('strong', { class: 'ref' }, res.booking_reference ?? ''))));
      break;
    case 'expired':
    case 'duplicate':
      box.replaceChildren(el('p', { class: 'alert' }, t('reg.' + res.status)));
      break;
    default:
      box.replaceChildren(p('received'));
  }
}

function renderResult() {
  const res = ui.result;
  if (!res) return;
  $('ref').textContent = res.reference;
  const box = $('status');
  const h = $('h-result');
  h.dataset.t = res.reg ? 'regResult' : 'step4';
  h.textContent = t(h.dataset.t);
  $('again').hidden = res.status !== (res.reg ? 'expired' : 'full');
  $('again').dataset.t = res.reg ? 'registerAgain' : 'chooseAgain';
  $('again').textContent = t($('again').dataset.t);
  $('check').hidden = !(res.reg ? REG_WAITING.includes(res.status) : res.status === 'pending' && res.gaveUp);
  if (res.reg) return renderRegistration(res, box);
  switch (res.status) {
    case 'confirmed': {
      const s = res.slot ?? {};
      box.replaceChildren(el('div', { class: 'ok' }, el('p', {}, el('strong', {}, t('confirmed'))),
        el('dl', {},
          el('dt', {}, t('centre')), el('dd', {}, s.center_name ?? ''),
          el('dt', {}, t('address')), el('dd', {}, s.address ?? ''),
          el('dt', {}, t('date')), el('dd', {}, s.date ? fmtDate(s.date) : ''),
          el('dt', {}, t('time')), el('dd', {}, s.time ?? ''))));
      break;
    }
    case 'full':
      box.replaceChildren(el('p', { class: 'alert' }, t('fullResult')));
      break;
    case 'duplicate':
      // Names nothing of the booking already held under this ID: knowing
      // someone's IC must not reveal their appointment.
      box.replaceChildren(el('p', { class: 'alert' }, t('duplicate')));
      break;
    default:
      box.replaceChildren(el('p', {}, t(res.gaveUp ? 'willEmail' : 'pending')));
  }
}

// chooseAgain starts a new form after a `full` answer, or a registration
// after an `expired` one: a new key, since the old one's reference is
// settled for good.
function chooseAgain() {
  clearTimeout(pollTimer);
  ui.result = null;
  ui.key = api.newKey();
  ui.prefs = [];
  $('result').hidden = true;
  $('choose').hidden = false;
  resetCaptcha();
  $('state').value = ui.st.code;
  return showList();
}

async function checkAgain() {
  $('check').disabled = true;
  await checkStatus();
  setTimeout(() => ($('check').disabled = false), COOLDOWN_MS);
}

// --- contact proof

const needsProof = () => ui.proof && ui.mode !== 'invite';

// sendCode asks the API to e-mail a code to the address in the form, and
// keeps the challenge the booking will carry with it.
async function sendCode() {
  const btn = $('send-code');
  if (btn.disabled) return;
  const addr = $('email').value.trim();
  const bad = validate({ email: addr }).email;
  if (bad) {
    setErrors({ ...ui.errors, email: { code: bad } });
    return $('email').focus();
  }
  clearError('email');
  btn.disabled = true;
  btn.textContent = t('codeSending');
  const r = await api.post('/proof', { email: addr, lang: lang() }, api.newKey()).catch(() => null);
  let wait = 3000;
  if (r?.status === 202) {
    ui.proof = { challenge: r.body.challenge, email: addr };
    $('code-sent').textContent = t('codeSent', { email: addr });
    clearError('proof');
    $('proof').value = '';
    $('proof').focus();
    wait = CODE_COOLDOWN_MS;
  } else if (r?.body?.error?.field === 'email') {
    showFieldErrors({ email: r.body.error });
  } else {
    formMessage(r ? t('busy', { n: Math.max(r.retryAfter, 3) }) : t('network'));
  }
  btn.dataset.t = ui.proof?.challenge ? 'resendCode' : 'sendCode';
  btn.textContent = t(btn.dataset.t);
  setTimeout(() => (btn.disabled = false), wait);
}

// A code proves the address it was sent to: another address needs its own.
function onEmailInput() {
  if (ui.proof?.challenge && $('email').value.trim() !== ui.proof.email) {
    ui.proof.challenge = '';
    $('code-sent').textContent = '';
  }
}

// --- captcha

// loadCaptcha asks the API whether a human check is configured and only then
// loads the provider's script: no captcha, no third-party request.
async function loadCaptcha() {
  const r = await api.getConfig().catch(() => null);
  if (r?.body?.contact_proof) {
    ui.proof = { challenge: '', email: '' };
    $('proof-box').hidden = ui.mode === 'invite';
  }
  const c = r?.status === 200 ? r.body?.captcha : null;
  const p = PROVIDERS[c?.provider];
  if (!p) return;
  ui.captcha = { provider: c.provider, siteKey: c.site_key, widget: null, token: '' };
  $('captcha-box').hidden = false;
  window.vaxbookCaptcha = () => {
    const cap = ui.captcha;
    cap.widget = p.lib().render($('captcha'), {
      sitekey: cap.siteKey,
      ...(c.provider === 'turnstile' && { action: CAPTCHA_ACTION }),
      callback: (token) => {
        cap.token = token;
        clearError('captcha_token');
      },
      'expired-callback': () => (cap.token = ''),
      'error-callback': () => (cap.token = ''),
    });
  };
  document.head.append(el('script', { src: p.src, async: true }));
}

function resetCaptcha() {
  const c = ui.captcha;
  if (c?.widget == null) return;
  PROVIDERS[c.provider].lib().reset(c.widget);
  c.token = '';
}

// --- start

function start() {
  for (const b of document.querySelectorAll('[data-lang]')) b.addEventListener('click', () => applyLang(b.dataset.lang));
  $('state-form').addEventListener('submit', (e) => {
    e.preventDefault();
    showList();
  });
  $('state').addEventListener('change', () => {
    clearError('state');
    showLabel();
  });
  $('retry').addEventListener('click', showList);
  $('centres').addEventListener('change', onSlotChange);
  $('book-form').addEventListener('submit', onSubmit);
  $('book-form').addEventListener('input', (e) => clearError(e.target.name));
  $('again').addEventListener('click', chooseAgain);
  $('check').addEventListener('click', checkAgain);
  $('to-register').addEventListener('click', toRegister);
  $('send-code').addEventListener('click', sendCode);
  $('email').addEventListener('input', onEmailInput);
  $('invite-note').hidden = !ui.invite;
  applyLang(initialLang());
  configReady = loadCaptcha();
  loadStates();
}

start();
