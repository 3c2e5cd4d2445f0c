// The surge: people arrive at a constant rate; each opens the list for a
// state (weighted by population), picks up to three open slots, submits
// with an Idempotency-Key (5% retry it, 5% submit a second form), and
// follows GET /status with backoff until the booking is decided.
//
//   k6 run -e BASE_URL=https://api.example.run.app -e RATE=200 -e DURATION=60s deploy/loadtest/surge.js
//
// k6 sees the API only: the overbooking and loss tallies need Postgres, so
// check them afterwards with the SQL in deploy/loadtest/README.md, or run
// `vaxbook loadtest surge --database-url ...` which does both.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import { BASE, states, pickState, icFor, arrivalScenario, SUMMARY_STATS } from './common.js';

const outcome = new Counter('booking_outcome');
const staleness = new Trend('listing_staleness_ms');
const run = Number(__ENV.RUN || Math.floor(Math.random() * 100));

export const options = {
  scenarios: {
    surge: arrivalScenario(100, 500, 10000),
  },
  summaryTrendStats: SUMMARY_STATS,
};

export function setup() {
  return { w: states(true) };
}

function submit(body, key) {
  const params = { headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key }, tags: { name: 'submit' } };
  for (let attempt = 0; attempt < 5; attempt++) {
    const res = http.post(`${BASE}/submit`, body, params);
    if (res.status === 202) return res.json('reference');
    if (res.status === 409) { outcome.add(1, { status: 'refused_full' }); return null; }
    if (res.status !== 429 && res.status !== 503 && res.status !== 0) { outcome.add(1, { status: `error_${res.status}` }); return null; }
    sleep(Math.min(0.1 * 2 ** attempt, 3));
  }
  outcome.add(1, { status: 'gave_up' });
  return null;
}

export default function (data) {
  const n = (__VU * 1000003 + __ITER) % (1 << 24);
  const state = pickState(data.w);
  const list = http.get(`${BASE}/listppv?state=${state}`, { tags: { name: 'listppv' } });
  if (!check(list, { 'list 200': (r) => r.status === 200 })) return;
  const doc = list.json();
  staleness.add(Date.now() - Date.parse(doc.generated_at));
  const open = [];
  for (const c of doc.centers) for (const s of c.slots) if (s.open && s.available > 0) open.push(s.id);
  if (open.length === 0) { outcome.add(1, { status: 'saw_no_room' }); return; }
  const prefs = [];
  while (prefs.length < Math.min(open.length, 1 + Math.floor(Math.random() * 3))) {
    const id = open[Math.floor(Math.random() * open.length)];
    if (!prefs.includes(id)) prefs.push(id);
  }
  const form = {
    state, name: `Orang Ujian ${n}`, id_number: icFor(run, n), phone: `+6012${String(n % 1e7).padStart(7, '0')}`,
    email: `p${n}.k6r${run}@loadtest.example`, preferences: prefs, lang: 'ms',
  };
  const key = `k6-${run}-${n}-${Math.floor(Math.random() * 1e9)}`;
  const ref = submit(JSON.stringify(form), key);
  if (!ref) return;
  const x = Math.random();
  if (x < 0.05) check(submit(JSON.stringify(form), key), { 'retry gets the same reference': (r) => r === ref });
  let wait = 0.25;
  for (let i = 0; i < 60; i++) {
    sleep(wait);
    wait = Math.min(wait * 1.5, 2);
    const st = http.get(`${BASE}/status/${ref}`, { tags: { name: 'status' } });
    const status = st.status === 200 ? st.json('status') : '';
    if (status && status !== 'pending') { outcome.add(1, { status }); return; }
  }
  outcome.add(1, { status: 'still_pending' });
}
