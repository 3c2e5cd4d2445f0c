// The booking page: state → times → details → reference → status; a queue
// state registers instead; ?invite= books with the ID alone; ?manage= shows
// a booking to change or cancel. Plain DOM: every byte is paid a million times.
import { t, setLang, lang, tables } from './i18n.js?v=4d9165fd7d';
import * as api from './api.js?v=e5c3886ec2';
import { validate } from './validate.js?v=4bcd29b8ad';

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);

// A crowd pressing "try again" must not turn a hiccup into an outage.
const COOLDOWN_MS = 3000;
const MAX_PREFS = 3;
// Status checks (s): a minute in all, then an e-mail is promised instead.
const POLL_DELAYS = [1, 2, 3, 5, 8, 13, 21];
// A registration waits for days: ask ever more rarely, then stop.
const REG_DELAYS = [...POLL_DELAYS, 34, 55, 89, 144, 233, 377, 610];
const REG_WAITING = ['received', 'queued'];
const FIELDS = ['name', 'id_number', 'phone', 'email'];
// In page order: focus goes to the first error a person meets.
const ERROR_SLOTS = ['state', 'captcha_token', 'preferences', ...FIELDS, 'proof', 'contact'];
const PROOF_CODES = ['proof_required', 'proof_invalid', 'proof_expired', 'proof_attempts'];
const CODE_COOLDOWN_MS = 30000;

const PROVIDERS = {
  turnstile: { src: 'https://challenges.cloudflare.com/turnstile/v0/api.js', lib: () => window.turnstile },
  recaptcha: { src: 'https://www.google.com/recaptcha/api.js', lib: () => window.grecaptcha },
};
// The API refuses a token of another action (CAPTCHA_ACTION).
const CAPTCHA_ACTION = 'book';

const ui = {
  states: null,
  st: null, // the state the form is for
  mode: 'book', // or 'invite', 'register', 'change'
  invite: query.get('invite'),
  tok: query.get('manage'),
  mv: null, // GET /manage, plus note or err
  doc: null,
  prefs: [], // slot ids, most wanted first
  key: api.newKey(),
  sending: false,
  result: null, // a status, plus reg, gaveUp
  captcha: null,
  proof: null,
  errors: {},
};

let configReady = Promise.resolve();
let pollTimer = 0;

function announce(msg) {
  const a = $('announce');
  a.textContent = '';
  // After a tick, so the same sentence twice is read twice.
  setTimeout(() => (a.textContent = msg), 50);
}

const busy = (r) => (r ? t('busy', { n: Math.max(r.retryAfter, 3) }) : t('network'));
const hide = (v, ...ids) => ids.forEach((id) => ($(id).hidden = v));
// label names an element's words, kept by key for a change of language.
function label(e, k) {
  e.dataset.t = k;
  e.textContent = t(k);
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
  } catch {} // private mode: this visit only
  renderErrors();
  renderList();
  renderPrefs();
  renderResult();
  renderManage();
}

function initialLang() {
  let stored;
  try {
    stored = localStorage.getItem('lang');
  } catch {}
  return [query.get('lang'), stored].find((l) => tables[l]) || 'ms';
}

const locale = () => (lang() === 'en' ? 'en-MY' : 'ms-MY');

function fmtDate(iso) {
  // A date alone parses as UTC midnight.
  return new Date(iso).toLocaleDateString(locale(), { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
}

function fmtStamp(iso) {
  return new Date(iso).toLocaleString(locale(), { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Kuala_Lumpur' });
}

// Not the booking's own slot (same_slot).
const isOpen = (s) => s.open && s.available > 0 && s.id !== ui.mv?.slot?.id;
const openPrefs = () => ui.prefs.filter((id) => isOpen(findSlot(id)?.slot ?? {}));
const stateOf = (code) => ui.states?.find((s) => s.code === code);

function findSlot(id) {
  for (const c of ui.doc?.centers ?? []) {
    const s = c.slots.find((x) => x.id === id);
    if (s) return { centre: c, slot: s };
  }
  return null;
}

function setErrors(errs) {
  ui.errors = errs;
  renderErrors();
}

function renderErrors() {
  for (const f of ERROR_SLOTS) {
    const e = ui.errors[f];
    $(f + '-err').textContent = e ? t(`err.${f}.${e.code}`) ?? e.message ?? '' : '';
    const input = $(f);
    if (e) input?.setAttribute('aria-invalid', 'true');
    else input?.removeAttribute('aria-invalid');
  }
}

function clearError(f) {
  if (!ui.errors[f]) return;
  delete ui.errors[f];
  renderErrors();
}

// withRegister: the way out of an invitation that can no longer book.
function formMessage(msg, withRegister = false) {
  const m = $('form-msg');
  m.firstChild.textContent = msg || '';
  m.hidden = !msg;
  $('to-register').hidden = !withRegister;
}

const act = () => ({ register: 'registerBtn', change: 'changeBtn' })[ui.mode] ?? 'submit';

// setMode shapes the form: an invitation needs the ID alone (the
// registration holds the rest), a change of time nothing but the times.
function setMode(m) {
  ui.mode = m;
  const reg = m === 'register';
  $('slots').hidden = reg;
  $('reg-help').hidden = !reg;
  // An invitation keeps the registration's choice, a change the booking's.
  $('contact-box').hidden = m === 'invite' || m === 'change';
  for (const f of FIELDS) $(f).closest('.field').hidden = m === 'change' || (m === 'invite' && f !== 'id_number');
  $('proof-box').hidden = !needsProof();
  $('h-details').dataset.t = reg ? 'regStep' : m === 'change' ? 'changeStep' : 'step3';
  $('email-hint').dataset.t = reg ? 'emailHintReg' : 'emailHint';
  $('submit').dataset.t = act();
  texts();
  setErrors({});
  formMessage('');
}

function setListBusy(busy) {
  $('show').disabled = busy;
  $('retry').disabled = busy;
  $('slots').setAttribute('aria-busy', String(busy));
}

// listFailed apologises and holds both buttons for the cooldown.
function listFailed() {
  $('list-error').hidden = false;
  hide(true, 'slots', 'details');
  setListBusy(true);
  setTimeout(() => setListBusy(false), COOLDOWN_MS);
}

async function loadStates() {
  setListBusy(true);
  const r = await api.getStates();
  if (r?.status !== 200 || !Array.isArray(r.body?.states)) return listFailed();
  ui.states = r.body.states;
  const sel = $('state');
  sel.replaceChildren(sel.options[0], ...ui.states.map((s) => el('option', { value: s.code }, s.name)));
  // ?state= chooses but does not fetch: a mailing must not start a surge.
  const wanted = query.get('state');
  if (ui.states.some((s) => s.code === wanted)) sel.value = wanted;
  showLabel();
  $('list-error').hidden = true;
  setListBusy(false);
}

function showLabel() {
  const b = $('show');
  const st = stateOf($('state').value);
  label(b, st?.mode === 'queue' && !ui.invite ? 'toRegister' : 'showSlots');
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
  const r = await api.getListing(code);
  if (r?.status !== 200 || !Array.isArray(r.body?.centers)) return listFailed();
  const sameState = ui.doc?.state === r.body.state;
  ui.doc = r.body;
  ui.prefs = sameState ? openPrefs() : [];
  setListBusy(false);
  setMode(queue ? 'invite' : 'book');
  hide(false, 'slots', 'details');
  renderList();
  renderPrefs();
  $('h-slots').focus();
  const name = ui.states.find((s) => s.code === ui.doc.state)?.name ?? ui.doc.state;
  announce(t('loaded', { n: ui.doc.centers.length, state: name }));
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

// In place, so keyboard focus stays on the box just ticked.
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
    const what = f ? `${f.centre.name}: ${fmtDate(f.slot.date)}, ${f.slot.time}` : id;
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

function readForm() {
  const v = Object.fromEntries(({ invite: ['id_number'], change: [] }[ui.mode] ?? FIELDS).map((f) => [f, $(f).value]));
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
    label($('submit'), act());
  }, afterMs);
}

async function onSubmit(e) {
  e.preventDefault();
  // Set before anything awaits: a double click sends once.
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
  label(btn, 'sending');

  const reg = ui.mode === 'register';
  const body = { state: ui.st?.code, ...form, lang: lang() };
  if (ui.mode !== 'invite') body.contact = new FormData($('book-form')).get('contact');
  // Always sent: the page's /states may be older than the API's.
  if (!reg && ui.invite) body.invitation = ui.invite;
  if (ui.captcha) body.captcha_token = ui.captcha.token;
  if (proof) body.proof = proof;
  const chg = ui.mode === 'change';
  const r = await api.post(reg ? '/register' : chg ? '/manage/change' : '/submit', chg ? { token: ui.tok, ...form } : body, ui.key);
  if (!r) {
    formMessage(t('network'));
    return releaseSubmit(COOLDOWN_MS);
  }
  const err = r.body?.error ?? {};
  const code = err.code;
  if (PROOF_CODES.includes(code)) {
    if (code === 'proof_expired' || code === 'proof_attempts') ui.proof.challenge = '';
    formMessage(t('fixFields'));
    showFieldErrors({ proof: { code: code === 'proof_required' ? 'required' : code } });
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
      return chg ? follow(r.body) : accepted(r.body, reg);
    case 400: {
      const list = err.fields?.length ? err.fields : [err];
      const mapped = {};
      for (const fe of list) if (ERROR_SLOTS.includes(fe.field)) mapped[fe.field] = fe;
      if (mapped.captcha_token) resetCaptcha();
      // The API took the state as open: ask for everything.
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
      releaseSubmit();
      if (chg && code !== 'slots_full') return openManage();
      ui.prefs = [];
      $('state').value = ui.doc.state;
      await (chg ? changeList() : showList());
      showFieldErrors({ preferences: { code: err.code || 'slots_full' } });
      return;
    case 429:
    case 503: {
      const wait = Math.max(r.retryAfter, COOLDOWN_MS / 1000);
      formMessage(t('busy', { n: wait }));
      return releaseSubmit(wait * 1000);
    }
    default:
      if (chg && r.status < 500) return releaseSubmit(), openManage();
      formMessage(t('serverError', { code: err.code || r.status }));
      return releaseSubmit(COOLDOWN_MS);
  }
}

// reloadState shows the form of the mode the API named: its answer is
// fresher than any cached /states.
async function reloadState(mode) {
  const code = ui.st.code;
  await loadStates();
  const s = stateOf(code);
  if (!s) return;
  s.mode = mode;
  $('state').value = code;
  await showList();
}

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
  hide(true, 'slots', 'details', 'choose');
  $('result').hidden = false;
  renderResult();
  $('h-result').focus();
  poll(0);
}

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

// checkStatus reports whether the page may stop watching.
async function checkStatus() {
  const { reference, reg } = ui.result;
  const r = await (reg ? api.getRegistration : api.getStatus)(reference);
  const s = r?.status === 200 ? r.body?.status : '';
  if (!ui.result) return true; // moved on meanwhile
  if (!s || s === 'pending') return false;
  ui.result = { ...r.body, reg };
  if (s === 'full' && ui.mode === 'invite') {
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
  label(h, res.reg ? 'regResult' : 'step4');
  $('again').hidden = res.status !== (res.reg ? 'expired' : 'full');
  label($('again'), res.reg ? 'registerAgain' : 'chooseAgain');
  $('check').hidden = !(res.reg ? REG_WAITING.includes(res.status) : res.status === 'pending' && res.gaveUp);
  if (res.reg) return renderRegistration(res, box);
  switch (res.status) {
    case 'confirmed':
      box.replaceChildren(el('div', { class: 'ok' }, el('p', {}, el('strong', {}, t('confirmed'))), slotList(res.slot)));
      break;
    case 'full':
      box.replaceChildren(el('p', { class: 'alert' }, t('fullResult')));
      break;
    case 'duplicate':
      // Knowing someone's IC must not reveal their appointment.
      box.replaceChildren(el('p', { class: 'alert' }, t('duplicate')));
      break;
    default:
      box.replaceChildren(el('p', {}, t(res.gaveUp ? 'willEmail' : 'pending')));
  }
}

function slotList(s = {}, ref) {
  const row = (k, v) => [el('dt', {}, t(k)), el('dd', {}, v ?? '')];
  return el('dl', {}, ...(ref ? row('reference', ref) : []), ...row('centre', s.center_name), ...row('address', s.address),
    ...row('date', s.date && fmtDate(s.date)), ...row('time', s.time));
}

async function openManage(note) {
  const r = await api.getManage(ui.tok);
  ui.mv = r?.status === 200 ? { ...r.body, note } : { err: r?.body?.error?.code ?? 'network' };
  hide(true, 'slots', 'details', 'm-sure');
  renderManage();
  $('h-manage').focus();
}

const text = (k) => t('m.' + k) ?? t(k);

function renderManage() {
  const m = ui.mv;
  if (!m) return;
  const live = m.status === 'confirmed';
  $('m-acts').hidden = !live || m.wait;
  $('lost').open ||= !!m.err;
  if (m.err) return $('m-box').replaceChildren(el('p', { class: 'alert' }, text(m.err) ?? t('m.manage_invalid')));
  const note = m.note ?? m.status;
  $('m-box').replaceChildren(el('div', { class: note === 'full' ? 'alert' : 'ok' },
    el('p', {}, el('strong', {}, text(note))), slotList(m.slot, m.reference),
    live ? null : el('p', {}, el('a', { href: '/?state=' + m.state }, t('bookAgain')))));
}

async function changeList() {
  const r = await api.getListing(ui.mv.state);
  if (r?.status !== 200) return formMessage(t('listError'));
  ui.doc = r.body;
  ui.prefs = openPrefs();
  setMode('change');
  hide(false, 'slots', 'details');
  renderList();
  renderPrefs();
  $('h-slots').focus();
}

async function cancelBooking() {
  $('m-yes').disabled = true;
  const r = await api.post('/manage/cancel', { token: ui.tok }, api.newKey());
  $('m-yes').disabled = false;
  if (r?.status === 202) return follow(r.body);
  if (r && r.status < 500 && r.status !== 429) return openManage();
  $('m-sure').firstChild.textContent = busy(r);
}

// follow watches a cancel or change until decided, then shows the booking.
function follow(ans, i = 0) {
  ui.mv = { ...ui.mv, note: i < POLL_DELAYS.length ? 'pending' : 'willEmail', wait: true };
  hide(true, 'slots', 'details', 'm-sure');
  renderManage();
  if (!i) $('h-manage').focus();
  if (i >= POLL_DELAYS.length) return;
  pollTimer = setTimeout(async () => {
    const r = await api.getStatus(ans.request);
    const s = r?.status === 200 ? r.body?.status : '';
    if (!s || s === 'pending') return follow(ans, i + 1);
    await openManage(s);
    announce(text(s));
  }, POLL_DELAYS[i] * 1000);
}

async function sendLost(e) {
  e.preventDefault();
  const btn = $('lost-btn');
  const ref = $('lost-ref').value.trim().toUpperCase();
  const id = $('lost-id').value;
  const bad = /^[A-Z2-7]{16}$/.test(ref) ? validate({ id_number: id }).id_number : 'ref';
  $('lost-err').textContent = bad ? (bad === 'ref' ? t('lostRef') : t('err.id_number.' + bad)) : '';
  $('lost-msg').textContent = '';
  if (bad || btn.disabled) return;
  btn.disabled = true;
  const r = await api.post('/manage/resend', { reference: ref, id_number: id }, api.newKey());
  $('lost-msg').textContent = r?.status === 202 ? t('lostSent') : busy(r);
  setTimeout(() => (btn.disabled = false), COOLDOWN_MS);
}

// chooseAgain: a new key, as the old one's reference is settled for good.
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

const needsProof = () => ui.proof && !['invite', 'change'].includes(ui.mode);

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
  const r = await api.post('/proof', { email: addr, lang: lang() }, api.newKey());
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
    formMessage(busy(r));
  }
  label(btn, ui.proof?.challenge ? 'resendCode' : 'sendCode');
  setTimeout(() => (btn.disabled = false), wait);
}

// A code proves one address only.
function onEmailInput() {
  if (ui.proof?.challenge && $('email').value.trim() !== ui.proof.email) {
    ui.proof.challenge = '';
    $('code-sent').textContent = '';
  }
}

// No captcha configured, no third-party request.
async function loadCaptcha() {
  const r = await api.getConfig();
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
  document.head.append(el('script', { src: p.src + '?render=explicit&onload=vaxbookCaptcha', async: true }));
}

function resetCaptcha() {
  const c = ui.captcha;
  if (c?.widget == null) return;
  PROVIDERS[c.provider].lib().reset(c.widget);
  c.token = '';
}

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
  $('centres').addEventListener('change', onSlotChange);
  $('book-form').addEventListener('submit', onSubmit);
  $('book-form').addEventListener('input', (e) => clearError(e.target.name));
  $('email').addEventListener('input', onEmailInput);
  $('invite-note').hidden = !ui.invite;
  const clicks = {
    retry: showList,
    again: chooseAgain,
    check: checkAgain,
    'to-register': toRegister,
    'send-code': sendCode,
    'm-change': changeList,
    'm-yes': cancelBooking,
    'm-cancel': () => {
      $('m-sure').hidden = false;
      $('m-sure').firstChild.textContent = t('cancelSure');
      $('m-yes').focus();
    },
    'm-no': () => {
      $('m-sure').hidden = true;
      $('m-cancel').focus();
    },
  };
  for (const [id, f] of Object.entries(clicks)) $(id).addEventListener('click', f);
  $('lost-form').addEventListener('submit', sendLost);
  applyLang(initialLang());
  if (ui.tok) {
    $('manage').hidden = false;
    $('choose').hidden = $('intro').hidden = true;
    return openManage();
  }
  configReady = loadCaptcha();
  loadStates();
}

start();
