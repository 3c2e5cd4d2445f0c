// Shared by listppv.js and surge.js: the same population weights and IC
// numbers as `vaxbook loadtest` (internal/loadtest).
import http from 'k6/http';

// People per state in thousands (DOSM, Census 2020, rounded).
export const POPULATION = {
  selangor: 6994, johor: 4010, sabah: 3419, perak: 2496, sarawak: 2454,
  kedah: 2131, 'kuala-lumpur': 1982, kelantan: 1793, 'pulau-pinang': 1740,
  pahang: 1591, 'negeri-sembilan': 1200, terengganu: 1149, melaka: 998,
  perlis: 285, putrajaya: 109, labuan: 95,
};

// arrivalScenario is an open-model scenario (constant arrival rate, so
// queueing shows in latency) whose rate, duration and VU pool come from
// RATE, DURATION, VUS and MAX_VUS, with each script's defaults.
export function arrivalScenario(rate, vus, maxVUs) {
  return {
    executor: 'constant-arrival-rate',
    rate: Number(__ENV.RATE || rate),
    timeUnit: '1s',
    duration: __ENV.DURATION || '30s',
    preAllocatedVUs: Number(__ENV.VUS || vus),
    maxVUs: Number(__ENV.MAX_VUS || maxVUs),
  };
}

export const SUMMARY_STATS = ['avg', 'p(50)', 'p(90)', 'p(99)', 'p(99.9)', 'max'];

export const BASE = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');

// states reads /states once (in setup) and returns the codes with weights;
// with openOnly, only the states that book first come, first served (in a
// queue state /submit needs an invitation: `vaxbook dev` queues putrajaya).
export function states(openOnly = false) {
  const res = http.get(`${BASE}/states`, { tags: { name: 'states' } });
  if (res.status !== 200) throw new Error(`GET /states: ${res.status}`);
  const codes = res.json('states').filter((s) => !openOnly || s.mode !== 'queue').map((s) => s.code);
  let total = 0;
  const cum = codes.map((c) => (total += POPULATION[c] || 1800));
  return { codes, cum, total };
}

export function pickState(w) {
  const x = Math.random() * w.total;
  for (let i = 0; i < w.cum.length; i++) if (x < w.cum[i]) return w.codes[i];
  return w.codes[w.codes.length - 1];
}

// icFor gives person n of this run a valid Malaysian IC: a real birth date
// from 1940 on, a place-of-birth code from the run, a serial.
export function icFor(run, n) {
  const day = Math.floor(n / 10000) % 25000;
  const d = new Date(Date.UTC(1940, 0, 1) + day * 86400000);
  const yy = String(d.getUTCFullYear() % 100).padStart(2, '0');
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(d.getUTCDate()).padStart(2, '0');
  return `${yy}${mm}${dd}-${String(run % 100).padStart(2, '0')}-${String(n % 10000).padStart(4, '0')}`;
}
