// GET /listppv at a constant arrival rate (open model): states weighted by
// population, 30% revalidating with the ETag they saw, 80% accepting gzip.
//
//   k6 run -e BASE_URL=https://api.example.run.app -e RATE=2000 -e DURATION=60s deploy/loadtest/listppv.js
import http from 'k6/http';
import { check } from 'k6';
import { BASE, states, pickState, arrivalScenario, SUMMARY_STATS } from './common.js';

export const options = {
  scenarios: {
    listppv: arrivalScenario(1000, 200, 5000),
  },
  summaryTrendStats: SUMMARY_STATS,
  thresholds: { 'http_req_failed{name:listppv}': ['rate<0.001'], 'http_req_duration{name:listppv}': ['p(99)<10'] },
};

export function setup() {
  const w = states();
  const etags = {};
  for (const code of w.codes) {
    etags[code] = http.get(`${BASE}/listppv?state=${code}`, { tags: { name: 'setup' } }).headers['Etag'] || '';
  }
  return { w, etags };
}

export default function (data) {
  const code = pickState(data.w);
  const headers = { 'Accept-Encoding': Math.random() < 0.8 ? 'gzip' : 'identity' };
  if (Math.random() < 0.3 && data.etags[code]) headers['If-None-Match'] = data.etags[code];
  const res = http.get(`${BASE}/listppv?state=${code}`, { headers, tags: { name: 'listppv' } });
  check(res, { '200 or 304': (r) => r.status === 200 || r.status === 304 });
}
